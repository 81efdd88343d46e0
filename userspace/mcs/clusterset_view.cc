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

ClusterSetView BuildClusterSetView(const std::vector<registry::KeyValue>& records,
                                   const std::vector<model::Cluster>& static_clusters) {
  ClusterSetView view;
  std::vector<ClusterCandidate> candidates;
  std::vector<std::pair<const registry::KeyValue*, ExportKeyParts>> export_records;
  for (const auto& kv : records) {
    auto parsed = ParseKey(kv.key);
    if (!parsed) {
      view.rejected.push_back({kv.key, parsed.error().message});
      continue;
    }
    if (const auto* info = std::get_if<ClusterInfoKeyParts>(&*parsed)) {
      auto c = DecodeClusterInfo(info->cluster, kv.value);
      if (!c) {
        view.rejected.push_back({kv.key, c.error().message});
        continue;
      }
      c->meta.source.file = kv.key;
      candidates.push_back({std::move(*c), kv.key, kv.revision});
    } else if (const auto* exp = std::get_if<ExportKeyParts>(&*parsed)) {
      export_records.emplace_back(&kv, *exp);
    } else if (const auto* imp = std::get_if<ImportKeyParts>(&*parsed)) {
      auto ip = DecodeImportRecord(imp->service, kv.value);
      if (!ip) {
        view.rejected.push_back({kv.key, ip.error().message});
        continue;
      }
      view.clusterset_ips[imp->service] = *ip;
    }
    // Decisions are read by the propagation scheduler's consumers, not here.
  }

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

  for (const auto& [kv, parts] : export_records) {
    bool known = std::any_of(accepted.begin(), accepted.end(),
                             [&](auto& c) { return c.meta.key.name == parts.cluster; });
    if (!known) {
      view.rejected.push_back(
          {kv->key, fmt::format("cluster {} has no accepted info record", parts.cluster)});
      continue;
    }
    auto e = DecodeExportedService(parts.cluster, parts.service, kv->value);
    if (!e) {
      view.rejected.push_back({kv->key, e.error().message});
      continue;
    }
    view.exports.push_back(std::move(*e));
  }
  view.clusters = std::move(accepted);
  std::sort(view.rejected.begin(), view.rejected.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });
  return view;
}

}  // namespace meridian::mcs
