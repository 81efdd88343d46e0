#include "propagation/cluster_affinity.h"

#include <algorithm>

namespace meridian::propagation {
namespace {

bool Listed(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// A requirement against a map of known values (labels, or a cluster's
// provider and region; an empty property is absent).
bool Holds(const Requirement& r, const std::map<std::string, std::string>& values) {
  auto it = values.find(r.key);
  const bool has = it != values.end();
  switch (r.op) {
    case Requirement::Op::kIn:
      return has && Listed(r.values, it->second);
    case Requirement::Op::kNotIn:
      return !has || !Listed(r.values, it->second);
    case Requirement::Op::kExists:
      return has;
    case Requirement::Op::kDoesNotExist:
      return !has;
  }
  return false;
}

bool HoldsForZones(const Requirement& r, const std::vector<std::string>& zones) {
  const bool any_listed =
      std::any_of(zones.begin(), zones.end(), [&](const auto& z) { return Listed(r.values, z); });
  switch (r.op) {
    case Requirement::Op::kIn:
      return any_listed;
    case Requirement::Op::kNotIn:
      return !any_listed;
    case Requirement::Op::kExists:
      return !zones.empty();
    case Requirement::Op::kDoesNotExist:
      return zones.empty();
  }
  return false;
}

}  // namespace

bool Matches(const LabelSelector& selector, const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : selector.match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return std::all_of(selector.match_expressions.begin(), selector.match_expressions.end(),
                     [&](const Requirement& r) { return Holds(r, labels); });
}

bool Matches(const ClusterAffinity& affinity, const MemberCluster& cluster) {
  if (Listed(affinity.exclude, cluster.name)) return false;
  if (affinity.label_selector && !Matches(*affinity.label_selector, cluster.labels)) return false;
  std::map<std::string, std::string> fields;
  if (!cluster.provider.empty()) fields["provider"] = cluster.provider;
  if (!cluster.region.empty()) fields["region"] = cluster.region;
  for (const auto& r : affinity.field_expressions) {
    if (r.key == "zone" ? !HoldsForZones(r, cluster.zones) : !Holds(r, fields)) return false;
  }
  return affinity.cluster_names.empty() || Listed(affinity.cluster_names, cluster.name);
}

std::vector<RankedCluster> RankCandidates(std::vector<MemberCluster> clusters,
                                          const std::map<std::string, std::int32_t>& placed,
                                          std::int32_t workload_replicas) {
  std::int64_t placed_sum = 0;
  for (const auto& [name, n] : placed) placed_sum += n;
  std::vector<RankedCluster> ranked;
  ranked.reserve(clusters.size());
  for (auto& c : clusters) {
    auto it = placed.find(c.name);
    const std::int64_t held = it == placed.end() ? 0 : it->second;
    const std::int64_t score = placed_sum > 0 && it != placed.end() ? 100 : 0;
    const std::int64_t available =
        std::int64_t{c.available_replicas.value_or(workload_replicas)} + held;
    ranked.push_back({std::move(c), score, available});
  }
  std::sort(ranked.begin(), ranked.end(), [](const RankedCluster& a, const RankedCluster& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.available != b.available) return a.available > b.available;
    return a.cluster.name < b.cluster.name;
  });
  return ranked;
}

}  // namespace meridian::propagation
