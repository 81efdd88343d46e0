#include "mcs/clusterset_view.h"

#include <fmt/format.h>

#include <algorithm>

#include "mcs/records.h"
#include "mcs/registry_keys.h"

namespace meridian::mcs {
namespace {

struct ClusterCandidate {
  model::Cluster cluster;
  std::string key;
  std::int64_t revision = 0;
};

// Why `c` cannot join alongside `accepted`, or "" if it can.
std::string ClashWith(const model::Cluster& c, const std::vector<model::Cluster>& accepted) {
  for (const auto& a : accepted) {
    if (a.meta.key.name == c.meta.key.name) {
      return fmt::format("cluster name {} is already registered", c.meta.key.name);
    }
    if (a.id == c.id) {
      return fmt::format("cluster id {} of cluster {} is already used by cluster {}", c.id,
                         c.meta.key.name, a.meta.key.name);
    }
    for (const auto& mine : c.pod_cidrs) {
      for (const auto& theirs : a.pod_cidrs) {
        if (mine.Overlaps(theirs)) {
          return fmt::format("pod CIDR {} of cluster {} overlaps {} of cluster {}", mine.ToString(),
                             c.meta.key.name, theirs.ToString(), a.meta.key.name);
        }
      }
    }
  }
  return "";
}

}  // namespace

namespace {

// Parses the key and decodes the value; both are cached by revision.
RecordCache::Entry Decode(const registry::KeyValue& kv) {
  RecordCache::Entry e;
  auto parsed_key = ParseKey(kv.key);
  if (!parsed_key) {
    e.error = parsed_key.error().message;
    return e;
  }
  const ParsedKey& parsed = *parsed_key;
  if (const auto* dec = std::get_if<DecisionKeyParts>(&parsed)) {
    auto d = DecodeDecision(dec->service, kv.value);
    if (d) {
      e.decision = std::move(*d);
    } else {
      e.error = d.error().message;
    }
  } else if (const auto* info = std::get_if<ClusterInfoKeyParts>(&parsed)) {
    auto c = DecodeClusterInfo(info->cluster, kv.value);
    if (c) {
      c->meta.source.file = kv.key;
      e.cluster = std::move(*c);
    } else {
      e.error = c.error().message;
    }
  } else if (const auto* exp = std::get_if<ExportKeyParts>(&parsed)) {
    auto x = DecodeExportedService(exp->cluster, exp->service, kv.value);
    if (x) {
      e.exported = std::move(*x);
    } else {
      e.error = x.error().message;
    }
  } else if (const auto* imp = std::get_if<ImportKeyParts>(&parsed)) {
    auto ip = DecodeImportRecord(imp->service, kv.value);
    if (ip) {
      e.ip = *ip;
      e.import_key = imp->service;
    } else {
      e.error = ip.error().message;
    }
  }
  return e;
}

}  // namespace

ClusterSetView BuildClusterSetView(const std::vector<registry::KeyValue>& records,
                                   const std::vector<model::Cluster>& static_clusters,
                                   RecordCache* cache) {
  ClusterSetView view;
  RecordCache local;
  RecordCache& decoded = cache ? *cache : local;
  std::vector<ClusterCandidate> candidates;
  std::vector<std::pair<const RecordCache::Entry*, const registry::KeyValue*>> export_records;
  for (const auto& kv : records) {
    const auto& e = decoded.Get(kv.key, kv.revision, [&] { return Decode(kv); });
    if (!e.error.empty()) {
      view.rejected.push_back({kv.key, e.error});
      continue;
    }
    if (e.cluster) {
      candidates.push_back({*e.cluster, kv.key, kv.revision});
    } else if (e.exported) {
      export_records.emplace_back(&e, &kv);
    } else if (e.ip) {
      view.clusterset_ips[*e.import_key] = *e.ip;
    } else if (e.decision) {
      view.decisions[e.decision->service] = *e.decision;
    }
  }
  decoded.Sweep();

  // First come, first served: a cluster that registers later cannot take
  // over an id or a CIDR. Static (manifest) clusters are trusted first.
  std::vector<model::Cluster> accepted = static_clusters;
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return std::tie(a.revision, a.key) < std::tie(b.revision, b.key);
  });
  for (auto& cand : candidates) {
    bool is_static = std::any_of(static_clusters.begin(), static_clusters.end(), [&](auto& s) {
      return s.meta.key.name == cand.cluster.meta.key.name && s.id == cand.cluster.id &&
             s.pod_cidrs == cand.cluster.pod_cidrs;
    });
    if (is_static) continue;  // the same cluster, described twice: fine
    std::string clash = ClashWith(cand.cluster, accepted);
    if (!clash.empty()) {
      view.rejected.push_back({cand.key, clash});
      continue;
    }
    accepted.push_back(std::move(cand.cluster));
  }
  std::sort(accepted.begin(), accepted.end(),
            [](const auto& a, const auto& b) { return a.meta.key.name < b.meta.key.name; });

  for (const auto& [entry, kv] : export_records) {
    const std::string& cluster = entry->exported->cluster;
    bool known = std::any_of(accepted.begin(), accepted.end(),
                             [&](auto& c) { return c.meta.key.name == cluster; });
    if (!known) {
      view.rejected.push_back(
          {kv->key, fmt::format("cluster {} has no accepted info record", cluster)});
      continue;
    }
    view.exports.push_back(*entry->exported);
  }
  view.clusters = std::move(accepted);
  std::sort(view.rejected.begin(), view.rejected.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });
  return view;
}

}  // namespace meridian::mcs
