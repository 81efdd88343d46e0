#include "sources/scheduling_decoder.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "common/utf8.h"
#include "sources/doc_node.h"
#include "sources/error_text.h"
#include "sources/field_readers.h"
#include "sources/yaml_syntax_check.h"

namespace meridian::sources {
namespace {

using internal::AsInt;
using internal::AsString;
using internal::At;
using internal::CheckSyntax;
using internal::DocNode;
using internal::ExpectList;
using internal::ExpectMap;
using internal::Get;
using internal::Join;
using internal::ObjectErrors;
using internal::Quote;
using internal::StringField;
using internal::StringMap;
using propagation::ClusterAffinity;
using propagation::LabelSelector;
using propagation::Requirement;

constexpr char kNotSupported[] = "not supported by Meridian's scheduler";

// Every key of `map` must be one of `known`; the others are named.
void OnlyKnown(const DocNode& map, const std::string& path,
               std::initializer_list<std::string_view> known, ObjectErrors& e) {
  for (const auto& [k, v] : map.Entries()) {
    const std::string key = k.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      e.Add(Join(path, key), kNotSupported);
    }
  }
}

// The documents of `text` that are not empty; an error for bad YAML, and
// for bytes that are not UTF-8 (names and labels end up in JSON output,
// which must be UTF-8: Kubernetes objects always are).
Result<std::vector<YAML::Node>> LoadDocuments(std::string_view text, const std::string& file) {
  if (const std::size_t bad = FirstInvalidUtf8(text); bad != std::string_view::npos) {
    return Error{fmt::format("{}: byte {} is not UTF-8", file, bad)};
  }
  if (auto syntax = CheckSyntax(text, file)) return Error{syntax->ToString()};
  std::vector<YAML::Node> out;
  try {
    for (auto& d : YAML::LoadAll(std::string(text))) {
      if (!d.IsNull()) out.push_back(d);
    }
  } catch (const YAML::Exception& ex) {
    return Error{fmt::format("{}: {}", file, ex.what())};
  }
  return out;
}

// apiVersion and kind must be these.
bool ExpectKind(const DocNode& doc, std::string_view api_version, std::string_view kind,
                ObjectErrors& e) {
  auto av = StringField(doc, "", "apiVersion", e);
  auto k = StringField(doc, "", "kind", e);
  if (av.value_or("") == api_version && k.value_or("") == kind) return true;
  e.Add("", fmt::format("expected {} {}, found {} {}", api_version, kind, Quote(av.value_or("")),
                        Quote(k.value_or(""))));
  return false;
}

std::vector<std::string> StringList(const DocNode& map, const std::string& base,
                                    std::string_view key, ObjectErrors& e) {
  std::vector<std::string> out;
  const std::string path = Join(base, key);
  auto n = Get(map, key);
  if (!n || !ExpectList(*n, path, e)) return out;
  const auto elems = n->Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    if (auto s = AsString(elems[i], At(path, i), e)) out.push_back(*s);
  }
  return out;
}

std::vector<Requirement> Requirements(const DocNode& list, const std::string& path,
                                      ObjectErrors& e) {
  std::vector<Requirement> out;
  if (!ExpectList(list, path, e)) return out;
  const auto elems = list.Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    const std::string item = At(path, i);
    if (!ExpectMap(elems[i], item, e)) continue;
    OnlyKnown(elems[i], item, {"key", "operator", "values"}, e);
    Requirement r;
    r.key = StringField(elems[i], item, "key", e).value_or("");
    if (r.key.empty()) e.Add(Join(item, "key"), "required");
    const std::string op = StringField(elems[i], item, "operator", e).value_or("");
    if (op == "In") {
      r.op = Requirement::Op::kIn;
    } else if (op == "NotIn") {
      r.op = Requirement::Op::kNotIn;
    } else if (op == "Exists") {
      r.op = Requirement::Op::kExists;
    } else if (op == "DoesNotExist") {
      r.op = Requirement::Op::kDoesNotExist;
    } else {
      e.Add(Join(item, "operator"),
            fmt::format("{}: accepted: In, NotIn, Exists, DoesNotExist", Quote(op)));
    }
    r.values = StringList(elems[i], item, "values", e);
    out.push_back(std::move(r));
  }
  return out;
}

LabelSelector DecodeLabelSelector(const DocNode& n, const std::string& path, ObjectErrors& e) {
  LabelSelector s;
  if (!ExpectMap(n, path, e)) return s;
  OnlyKnown(n, path, {"matchLabels", "matchExpressions"}, e);
  s.match_labels = StringMap(n, path, "matchLabels", e);
  if (auto m = Get(n, "matchExpressions")) {
    s.match_expressions = Requirements(*m, Join(path, "matchExpressions"), e);
  }
  return s;
}

// A ClusterAffinity; a clusterAffinities term also has its affinityName.
ClusterAffinity DecodeAffinity(const DocNode& n, const std::string& path, ObjectErrors& e,
                               bool term = false) {
  ClusterAffinity a;
  if (!ExpectMap(n, path, e)) return a;
  if (term) {
    OnlyKnown(n, path,
              {"affinityName", "clusterNames", "exclude", "labelSelector", "fieldSelector"}, e);
  } else {
    OnlyKnown(n, path, {"clusterNames", "exclude", "labelSelector", "fieldSelector"}, e);
  }
  a.cluster_names = StringList(n, path, "clusterNames", e);
  a.exclude = StringList(n, path, "exclude", e);
  if (auto l = Get(n, "labelSelector")) {
    a.label_selector = DecodeLabelSelector(*l, Join(path, "labelSelector"), e);
  }
  if (auto f = Get(n, "fieldSelector")) {
    const std::string fpath = Join(path, "fieldSelector");
    if (ExpectMap(*f, fpath, e)) {
      OnlyKnown(*f, fpath, {"matchExpressions"}, e);
      if (auto m = Get(*f, "matchExpressions")) {
        a.field_expressions = Requirements(*m, Join(fpath, "matchExpressions"), e);
        for (std::size_t i = 0; i < a.field_expressions.size(); ++i) {
          const auto& key = a.field_expressions[i].key;
          if (key != "provider" && key != "region" && key != "zone") {
            e.Add(At(Join(fpath, "matchExpressions"), i) + ".key",
                  fmt::format("{}: accepted: provider, region, zone", Quote(key)));
          }
        }
      }
    }
  }
  return a;
}

void DecodeReplicaScheduling(const DocNode& n, const std::string& path, propagation::Policy& p,
                             ObjectErrors& e) {
  if (!ExpectMap(n, path, e)) return;
  OnlyKnown(n, path, {"replicaSchedulingType", "replicaDivisionPreference", "weightPreference"}, e);
  const std::string type = StringField(n, path, "replicaSchedulingType", e).value_or("Duplicated");
  const std::string pref = StringField(n, path, "replicaDivisionPreference", e).value_or("");
  if (type == "Duplicated") {
    p.strategy = propagation::Strategy::kDuplicated;
    return;
  }
  if (type != "Divided") {
    e.Add(Join(path, "replicaSchedulingType"),
          fmt::format("{}: accepted: Duplicated, Divided", Quote(type)));
    return;
  }
  auto weight = Get(n, "weightPreference");
  if (pref == "Aggregated") {
    p.strategy = propagation::Strategy::kAggregated;
    return;
  }
  if (pref != "Weighted") {
    // Karmada's own words for an empty or unknown preference.
    e.Add(Join(path, "replicaDivisionPreference"),
          fmt::format("unsupported replica scheduling strategy, replicaSchedulingType: Divided, "
                      "replicaDivisionPreference: {}, please try another scheduling strategy",
                      pref));
    return;
  }
  p.strategy = propagation::Strategy::kStaticWeight;
  if (!weight) return;
  const std::string wpath = Join(path, "weightPreference");
  if (!ExpectMap(*weight, wpath, e)) return;
  OnlyKnown(*weight, wpath, {"staticWeightList", "dynamicWeight"}, e);
  if (auto dyn = StringField(*weight, wpath, "dynamicWeight", e)) {
    if (*dyn != "AvailableReplicas") {
      e.Add(Join(wpath, "dynamicWeight"),
            fmt::format("{}: accepted: AvailableReplicas", Quote(*dyn)));
    }
    p.strategy = propagation::Strategy::kDynamicWeight;
    return;
  }
  auto list = Get(*weight, "staticWeightList");
  const std::string lpath = Join(wpath, "staticWeightList");
  if (!list || !ExpectList(*list, lpath, e)) return;
  const auto elems = list->Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    const std::string item = At(lpath, i);
    if (!ExpectMap(elems[i], item, e)) continue;
    OnlyKnown(elems[i], item, {"targetCluster", "weight"}, e);
    propagation::StaticWeightRule rule;
    if (auto t = Get(elems[i], "targetCluster")) {
      rule.target = DecodeAffinity(*t, Join(item, "targetCluster"), e);
    } else {
      e.Add(Join(item, "targetCluster"), "required");
    }
    auto w = Get(elems[i], "weight");
    if (!w) {
      e.Add(Join(item, "weight"), "required");
    } else if (auto v = AsInt(*w, Join(item, "weight"), e)) {
      if (*v < 1) e.Add(Join(item, "weight"), fmt::format("{}: must be at least 1", *v));
      rule.weight = *v;
    }
    p.static_weights.push_back(std::move(rule));
  }
}

// placement.spreadConstraints, with Karmada's defaults and the checks of
// its webhook (ValidateSpreadConstraint), in its words.
void DecodeSpreadConstraints(const DocNode& n, const std::string& path, propagation::Policy& p,
                             ObjectErrors& e) {
  using propagation::SpreadField;
  if (!ExpectList(n, path, e)) return;
  std::set<SpreadField> fields;
  const auto elems = n.Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    const std::string item = At(path, i);
    if (!ExpectMap(elems[i], item, e)) continue;
    OnlyKnown(elems[i], item, {"spreadByField", "spreadByLabel", "maxGroups", "minGroups"}, e);
    propagation::SpreadConstraint c;
    const auto field = StringField(elems[i], item, "spreadByField", e);
    if (auto label = StringField(elems[i], item, "spreadByLabel", e)) {
      // Karmada's API has it, its scheduler never selects by it.
      e.Add(Join(item, "spreadByLabel"), kNotSupported);
      if (field) {
        e.Add(item, fmt::format("invalid constraints: SpreadByLabel({}) should not co-exist with "
                                "spreadByField({})",
                                *label, *field));
      }
    }
    if (field) {
      bool known = false;
      for (SpreadField f : {SpreadField::kCluster, SpreadField::kRegion, SpreadField::kZone,
                            SpreadField::kProvider}) {
        if (*field == propagation::FieldName(f)) {
          c.field = f;
          known = true;
        }
      }
      if (!known) {
        e.Add(Join(item, "spreadByField"),
              fmt::format("{}: accepted: cluster, region, zone, provider", Quote(*field)));
        continue;
      }
    }
    for (auto [key, out] : {std::pair{"minGroups", &c.min_groups}, {"maxGroups", &c.max_groups}}) {
      auto v = Get(elems[i], key);
      if (!v) continue;
      auto n = AsInt(*v, Join(item, key), e);
      if (!n) continue;
      if (*n < 0 || *n > std::numeric_limits<int>::max()) {
        e.Add(Join(item, key), fmt::format("{} lower than 0 is not allowed", key));
        continue;
      }
      *out = static_cast<int>(*n);
    }
    if (c.min_groups == 0) c.min_groups = 1;  // Karmada's default
    if (c.max_groups > 0 && c.max_groups < c.min_groups) {
      e.Add(item, fmt::format("maxGroups({}) lower than minGroups({}) is not allowed", c.max_groups,
                              c.min_groups));
    }
    if (!fields.insert(c.field).second) {
      e.Add(path, fmt::format("multiple {} spread constraints are not allowed",
                              propagation::FieldName(c.field)));
    }
    p.spread_constraints.push_back(c);
  }
  if (!fields.empty() && !fields.count(SpreadField::kCluster)) {
    e.Add(path,
          "the cluster spread constraint must be enabled in one of the constraints in case of "
          "SpreadByField is enabled");
  }
}

// A taint's or a toleration's effect, when given: one of Kubernetes' three.
void CheckTaintEffect(const std::string& effect, const std::string& path, ObjectErrors& e) {
  if (effect.empty() || effect == "NoSchedule" || effect == "PreferNoSchedule" ||
      effect == "NoExecute") {
    return;
  }
  e.Add(path, fmt::format("{}: accepted: NoSchedule, PreferNoSchedule, NoExecute", Quote(effect)));
}

// placement.clusterTolerations (corev1.Toleration).
void DecodeTolerations(const DocNode& n, const std::string& path, propagation::Policy& p,
                       ObjectErrors& e) {
  using propagation::Toleration;
  if (!ExpectList(n, path, e)) return;
  const auto elems = n.Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    const std::string item = At(path, i);
    if (!ExpectMap(elems[i], item, e)) continue;
    OnlyKnown(elems[i], item, {"key", "operator", "value", "effect", "tolerationSeconds"}, e);
    Toleration t;
    t.key = StringField(elems[i], item, "key", e).value_or("");
    t.value = StringField(elems[i], item, "value", e).value_or("");
    t.effect = StringField(elems[i], item, "effect", e).value_or("");
    const std::string op = StringField(elems[i], item, "operator", e).value_or("Equal");
    if (op == "Exists") {
      t.op = Toleration::Op::kExists;
      if (!t.value.empty()) {
        e.Add(Join(item, "value"), "must be empty when `operator` is 'Exists'");
      }
    } else if (op != "Equal") {
      e.Add(Join(item, "operator"), fmt::format("{}: accepted: Equal, Exists", Quote(op)));
    } else if (t.key.empty()) {
      e.Add(Join(item, "operator"), "must be Exists when `key` is empty");
    }
    CheckTaintEffect(t.effect, Join(item, "effect"), e);
    if (auto s = Get(elems[i], "tolerationSeconds")) AsInt(*s, Join(item, "tolerationSeconds"), e);
    p.tolerations.push_back(std::move(t));
  }
}

// A Cluster's spec.taints (corev1.Taint).
std::vector<propagation::Taint> DecodeTaints(const DocNode& n, const std::string& path,
                                             ObjectErrors& e) {
  std::vector<propagation::Taint> out;
  if (!ExpectList(n, path, e)) return out;
  const auto elems = n.Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    const std::string item = At(path, i);
    if (!ExpectMap(elems[i], item, e)) continue;
    OnlyKnown(elems[i], item, {"key", "value", "effect", "timeAdded"}, e);
    propagation::Taint t;
    t.key = internal::RequiredString(elems[i], item, "key", e).value_or("");
    t.value = StringField(elems[i], item, "value", e).value_or("");
    t.effect = internal::RequiredString(elems[i], item, "effect", e).value_or("");
    CheckTaintEffect(t.effect, Join(item, "effect"), e);
    out.push_back(std::move(t));
  }
  return out;
}

// A replica count at `path`: an integer in 0..2147483647 (an int32, as
// Kubernetes' replicas are); nullopt after an error.
std::optional<std::int32_t> AsReplicas(const DocNode& n, const std::string& path, ObjectErrors& e) {
  auto v = AsInt(n, path, e);
  if (!v) return std::nullopt;
  if (*v < 0 || *v > std::numeric_limits<std::int32_t>::max()) {
    e.Add(path, fmt::format("{}: must be 0 to 2147483647", *v));
    return std::nullopt;
  }
  return static_cast<std::int32_t>(*v);
}

// The errors, one line each; or nothing.
std::optional<Error> Collect(ObjectErrors& e, const std::string& file, int document) {
  if (e.empty()) return std::nullopt;
  std::vector<DecodeError> errors;
  e.MoveTo(model::SourceRef{file, document}, errors);
  std::string text;
  for (const auto& err : errors) text += (text.empty() ? "" : "\n") + err.ToString();
  return Error{text};
}

// Exactly one document in `text`.
Result<YAML::Node> OneDocument(std::string_view text, const std::string& file,
                               std::string_view what) {
  auto docs = LoadDocuments(text, file);
  if (!docs.ok()) return docs.error();
  if (docs->size() != 1) {
    return Error{fmt::format("{}: expected one {}, found {} documents", file, what, docs->size())};
  }
  return (*docs)[0];
}

// One PropagationPolicy document (document `index` of `file`).
Result<propagation::Policy> PolicyFromDoc(const DocNode& doc, const std::string& file, int index) {
  ObjectErrors e;
  propagation::Policy p;
  if (!ExpectMap(doc, "", e) ||
      !ExpectKind(doc, "policy.karmada.io/v1alpha1", "PropagationPolicy", e)) {
    return *Collect(e, file, index);
  }
  if (auto meta = Get(doc, "metadata"); meta && ExpectMap(*meta, "metadata", e)) {
    p.name = StringField(*meta, "metadata", "name", e).value_or("");
    p.ns = StringField(*meta, "metadata", "namespace", e).value_or("default");
  }
  e.set_object(fmt::format("PropagationPolicy {}/{}", p.ns, p.name));
  auto spec = internal::RequiredMap(doc, "", "spec", e);
  if (spec) {
    OnlyKnown(*spec, "spec", {"resourceSelectors", "placement"}, e);
    auto sel = Get(*spec, "resourceSelectors");
    if (!sel || sel->size() == 0) {
      e.Add("spec.resourceSelectors", "required (at least one)");
    } else if (ExpectList(*sel, "spec.resourceSelectors", e)) {
      const auto elems = sel->Elements();
      for (std::size_t i = 0; i < elems.size(); ++i) {
        const std::string item = At("spec.resourceSelectors", i);
        if (!ExpectMap(elems[i], item, e)) continue;
        OnlyKnown(elems[i], item, {"apiVersion", "kind", "name", "namespace", "labelSelector"}, e);
        propagation::ResourceSelector s;
        s.api_version = internal::RequiredString(elems[i], item, "apiVersion", e).value_or("");
        s.kind = internal::RequiredString(elems[i], item, "kind", e).value_or("");
        s.name = StringField(elems[i], item, "name", e).value_or("");
        s.ns = StringField(elems[i], item, "namespace", e).value_or("");
        if (auto l = Get(elems[i], "labelSelector")) {
          s.label_selector = DecodeLabelSelector(*l, Join(item, "labelSelector"), e);
        }
        p.selectors.push_back(std::move(s));
      }
    }
    if (auto placement = Get(*spec, "placement");
        placement && ExpectMap(*placement, "spec.placement", e)) {
      OnlyKnown(*placement, "spec.placement",
                {"clusterAffinity", "clusterAffinities", "spreadConstraints", "clusterTolerations",
                 "replicaScheduling"},
                e);
      if (auto sc = Get(*placement, "spreadConstraints")) {
        DecodeSpreadConstraints(*sc, "spec.placement.spreadConstraints", p, e);
      }
      if (auto t = Get(*placement, "clusterTolerations")) {
        DecodeTolerations(*t, "spec.placement.clusterTolerations", p, e);
      }
      if (auto a = Get(*placement, "clusterAffinity")) {
        p.affinity = DecodeAffinity(*a, "spec.placement.clusterAffinity", e);
      }
      if (auto terms = Get(*placement, "clusterAffinities")) {
        const std::string tpath = "spec.placement.clusterAffinities";
        if (Get(*placement, "clusterAffinity")) {
          e.Add(tpath, "clusterAffinity and clusterAffinities cannot both be set");
        }
        if (ExpectList(*terms, tpath, e)) {
          std::set<std::string> names;
          const auto elems = terms->Elements();
          for (std::size_t i = 0; i < elems.size(); ++i) {
            const std::string item = At(tpath, i);
            propagation::AffinityTerm term;
            term.affinity = DecodeAffinity(elems[i], item, e, /*term=*/true);
            if (elems[i].IsMap()) {
              term.name = internal::RequiredString(elems[i], item, "affinityName", e).value_or("");
              if (!term.name.empty() && !names.insert(term.name).second) {
                e.Add(Join(item, "affinityName"),
                      fmt::format("{} is used twice", Quote(term.name)));
              }
            }
            p.affinity_terms.push_back(std::move(term));
          }
        }
      }
      if (auto r = Get(*placement, "replicaScheduling")) {
        DecodeReplicaScheduling(*r, "spec.placement.replicaScheduling", p, e);
      }
    }
  }
  if (auto err = Collect(e, file, index)) return *err;
  return p;
}

// One workload document.
Result<propagation::Workload> WorkloadFromDoc(const DocNode& doc, const std::string& file,
                                              int index) {
  ObjectErrors e;
  propagation::Workload w;
  if (!ExpectMap(doc, "", e)) return *Collect(e, file, index);
  w.api_version = internal::RequiredString(doc, "", "apiVersion", e).value_or("");
  w.kind = internal::RequiredString(doc, "", "kind", e).value_or("");
  if (auto meta = internal::RequiredMap(doc, "", "metadata", e)) {
    w.name = internal::RequiredString(*meta, "metadata", "name", e).value_or("");
    w.ns = StringField(*meta, "metadata", "namespace", e).value_or("default");
    w.uid = internal::RequiredString(*meta, "metadata", "uid", e).value_or("");
    w.labels = StringMap(*meta, "metadata", "labels", e);
  }
  e.set_object(fmt::format("{} {}/{}", w.kind, w.ns, w.name));
  if (auto spec = Get(doc, "spec"); spec && ExpectMap(*spec, "spec", e)) {
    if (auto r = Get(*spec, "replicas")) {
      if (auto v = AsReplicas(*r, "spec.replicas", e)) w.replicas = *v;
    }
  }
  if (auto err = Collect(e, file, index)) return *err;
  return w;
}

// One Karmada Cluster document; `names` (the names seen so far) catches
// one name used twice.
Result<propagation::MemberCluster> ClusterFromDoc(const DocNode& doc, const std::string& file,
                                                  int index, std::set<std::string>& names) {
  ObjectErrors e;
  propagation::MemberCluster c;
  if (ExpectMap(doc, "", e) && ExpectKind(doc, "cluster.karmada.io/v1alpha1", "Cluster", e)) {
    if (auto meta = internal::RequiredMap(doc, "", "metadata", e)) {
      c.name = internal::RequiredString(*meta, "metadata", "name", e).value_or("");
      c.labels = StringMap(*meta, "metadata", "labels", e);
    }
    e.set_object("Cluster " + c.name);
    if (!c.name.empty() && !names.insert(c.name).second) e.Add("metadata.name", "used twice");
    if (auto spec = Get(doc, "spec"); spec && ExpectMap(*spec, "spec", e)) {
      if (auto t = Get(*spec, "taints")) c.taints = DecodeTaints(*t, "spec.taints", e);
      c.provider = StringField(*spec, "spec", "provider", e).value_or("");
      c.region = StringField(*spec, "spec", "region", e).value_or("");
      c.zones = StringList(*spec, "spec", "zones", e);
      if (auto zone = StringField(*spec, "spec", "zone", e); zone && c.zones.empty()) {
        c.zones.push_back(*zone);
      }
    }
    if (auto status = Get(doc, "status"); status && ExpectMap(*status, "status", e)) {
      if (auto a = Get(*status, "availableReplicas")) {
        c.available_replicas = AsReplicas(*a, "status.availableReplicas", e);
      }
    }
  }
  if (auto err = Collect(e, file, index)) return *err;
  return c;
}

// The string at doc[key] when doc is a map holding one, else "".
std::string TopString(const DocNode& doc, const char* key) {
  if (!doc.IsMap()) return "";
  auto v = Get(doc, key);
  return v && v->IsScalar() ? v->Scalar() : "";
}

}  // namespace

Result<propagation::Policy> DecodePropagationPolicy(std::string_view text,
                                                    const std::string& file) {
  auto node = OneDocument(text, file, "PropagationPolicy");
  if (!node.ok()) return node.error();
  return PolicyFromDoc(DocNode(*node), file, 0);
}

Result<propagation::Workload> DecodeWorkload(std::string_view text, const std::string& file) {
  auto node = OneDocument(text, file, "workload");
  if (!node.ok()) return node.error();
  return WorkloadFromDoc(DocNode(*node), file, 0);
}

Result<std::vector<propagation::MemberCluster>> DecodeMemberClusters(std::string_view text,
                                                                     const std::string& file) {
  auto docs = LoadDocuments(text, file);
  if (!docs.ok()) return docs.error();
  std::vector<propagation::MemberCluster> out;
  std::set<std::string> names;
  std::string errors;
  for (std::size_t i = 0; i < docs->size(); ++i) {
    auto c = ClusterFromDoc(DocNode((*docs)[i]), file, static_cast<int>(i), names);
    if (!c.ok()) {
      errors += (errors.empty() ? "" : "\n") + c.error().message;
    } else {
      out.push_back(std::move(*c));
    }
  }
  if (!errors.empty()) return Error{errors};
  return out;
}

Status DecodeSchedulingManifests(std::string_view text, const std::string& file,
                                 SchedulingManifests& out) {
  auto docs = LoadDocuments(text, file);
  if (!docs.ok()) return docs.error();
  std::set<std::string> names;
  for (const auto& c : out.clusters) names.insert(c.name);
  std::string errors;
  auto add_error = [&](const Error& err) { errors += (errors.empty() ? "" : "\n") + err.message; };
  for (std::size_t i = 0; i < docs->size(); ++i) {
    const DocNode doc((*docs)[i]);
    const int index = static_cast<int>(i);
    const std::string kind = TopString(doc, "kind");
    const std::string api = TopString(doc, "apiVersion");
    if (kind == "PropagationPolicy") {
      if (auto p = PolicyFromDoc(doc, file, index); p.ok()) {
        out.policies.push_back(std::move(*p));
      } else {
        add_error(p.error());
      }
    } else if (kind == "Cluster" && api.rfind("cluster.karmada.io/", 0) == 0) {
      if (auto c = ClusterFromDoc(doc, file, index, names); c.ok()) {
        out.clusters.push_back(std::move(*c));
      } else {
        add_error(c.error());
      }
    } else if (auto w = WorkloadFromDoc(doc, file, index); w.ok()) {
      out.workloads.push_back(std::move(*w));
    } else {
      add_error(w.error());
    }
  }
  if (!errors.empty()) return Error{errors};
  return Status::Ok();
}

Result<propagation::PreviousDecision> DecodeDecisionJson(std::string_view text,
                                                         const std::string& file) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Error{file + ": not a JSON object"};
  auto clusters = j.find("clusters");
  if (clusters == j.end() || !clusters->is_array()) {
    return Error{file + ": \"clusters\": required, a list"};
  }
  propagation::PreviousDecision out;
  if (auto name = j.find("affinityName"); name != j.end()) {
    if (!name->is_string()) return Error{file + ": \"affinityName\": must be a string"};
    out.affinity_name = name->get<std::string>();
  }
  for (std::size_t i = 0; i < clusters->size(); ++i) {
    const auto& c = (*clusters)[i];
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string() ||
        !c.contains("replicas") || !c["replicas"].is_number_integer() ||
        c["replicas"].get<std::int64_t>() < 0 ||
        c["replicas"].get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
      return Error{
          fmt::format("{}: clusters[{}]: needs \"name\" (a string) and \"replicas\" (an "
                      "integer, 0 to 2147483647)",
                      file, i)};
    }
    out.clusters.push_back({c["name"].get<std::string>(), c["replicas"].get<std::int32_t>()});
  }
  return out;
}

}  // namespace meridian::sources
