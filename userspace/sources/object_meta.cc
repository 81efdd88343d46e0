#include "sources/object_meta.h"

#include <fmt/format.h>

#include "sources/error_text.h"
#include "sources/k8s_names.h"

namespace meridian::sources::internal {
namespace {

bool NameOk(NameRule rule, std::string_view name) {
  switch (rule) {
    case NameRule::kDns1035Label:
      return IsDns1035Label(name);
    case NameRule::kDns1123Label:
      return IsDns1123Label(name);
    case NameRule::kDns1123Subdomain:
      return IsDns1123Subdomain(name);
  }
  return false;
}

const char* RuleText(NameRule rule) {
  switch (rule) {
    case NameRule::kDns1035Label:
      return kDns1035Rule;
    case NameRule::kDns1123Label:
      return kDns1123LabelRule;
    case NameRule::kDns1123Subdomain:
      return kDns1123SubdomainRule;
  }
  return "";
}

void DecodeNamespace(const DocNode& m, const std::string& path, const MetaRules& rules,
                     model::ObjectMeta& meta, ObjectErrors& e) {
  const std::string ns_path = Join(path, "namespace");
  if (!rules.namespaced) {
    // An empty namespace is no namespace, as in Kubernetes.
    if (auto ns = Get(m, "namespace"); ns && !(ns->IsScalar() && ns->Scalar().empty())) {
      e.Add(ns_path, fmt::format("{} is cluster-scoped; remove metadata.namespace", rules.kind));
    }
    return;
  }
  meta.key.ns = StringField(m, path, "namespace", e).value_or("");
  if (meta.key.ns.empty()) {
    meta.key.ns = "default";
  } else if (!IsDns1123Label(meta.key.ns)) {
    e.Add(ns_path, fmt::format("{} {}", Quote(meta.key.ns), kDns1123LabelRule));
  }
}

}  // namespace

model::ObjectMeta DecodeMeta(const DocNode& obj, const std::string& base, const MetaRules& rules,
                             const model::SourceRef& src, ObjectErrors& e) {
  model::ObjectMeta meta;
  meta.source = src;
  const std::string path = Join(base, "metadata");
  auto m = Get(obj, "metadata");
  if (!m) {
    e.Add(Join(path, "name"), "required");
    return meta;
  }
  if (!ExpectMap(*m, path, e)) return meta;

  auto name = RequiredString(*m, path, "name", e);
  DecodeNamespace(*m, path, rules, meta, e);
  if (name) {
    meta.key.name = *name;
    e.set_object(ObjectName(rules.kind, meta.key));
    if (!NameOk(rules.name_rule, *name)) {
      e.Add(Join(path, "name"), fmt::format("{} {}", Quote(*name), RuleText(rules.name_rule)));
    }
  }
  meta.labels = StringMap(*m, path, "labels", e);
  meta.annotations = StringMap(*m, path, "annotations", e);
  meta.creation_timestamp = StringField(*m, path, "creationTimestamp", e).value_or("");
  return meta;
}

}  // namespace meridian::sources::internal
