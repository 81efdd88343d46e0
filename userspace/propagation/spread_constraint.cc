#include "propagation/spread_constraint.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "propagation/select_groups.h"

namespace meridian::propagation {
namespace {

// Karmada weighs a group's capacity in thousands so that it counts before
// the mean score (0 or 100).
constexpr std::int64_t kWeightUnit = 1000;

bool Enough(const std::vector<RankedCluster>& clusters, std::int32_t need) {
  std::int64_t total = 0;
  for (const auto& c : clusters) total += c.available;
  return total >= need;
}

}  // namespace

std::string_view FieldName(SpreadField field) {
  switch (field) {
    case SpreadField::kCluster:
      return "cluster";
    case SpreadField::kRegion:
      return "region";
    case SpreadField::kZone:
      return "zone";
    case SpreadField::kProvider:
      return "provider";
  }
  return "";
}

std::optional<std::string> MissingSpreadProperty(const std::vector<SpreadConstraint>& constraints,
                                                 const MemberCluster& cluster) {
  for (const auto& c : constraints) {
    const bool missing = (c.field == SpreadField::kProvider && cluster.provider.empty()) ||
                         (c.field == SpreadField::kRegion && cluster.region.empty()) ||
                         (c.field == SpreadField::kZone && cluster.zones.empty());
    if (missing) return fmt::format("didn't have {} property", FieldName(c.field));
  }
  return std::nullopt;
}

Result<std::vector<RankedCluster>> SelectByCluster(const SpreadConstraint& cluster,
                                                   std::vector<RankedCluster> ranked,
                                                   std::int32_t need_replicas) {
  const std::size_t total = ranked.size();
  if (total < static_cast<std::size_t>(cluster.min_groups)) {
    return Error{"the number of feasible clusters is less than spreadConstraint.MinGroups"};
  }
  const std::size_t need_count = std::min(total, static_cast<std::size_t>(cluster.max_groups));
  std::vector<RankedCluster> rest(std::make_move_iterator(ranked.begin() + need_count),
                                  std::make_move_iterator(ranked.end()));
  ranked.resize(need_count);
  if (need_replicas < 0) return ranked;
  // From the last selected up: swap in the remaining candidate with the
  // most capacity, when it has more, until the selection has enough.
  for (std::size_t k = need_count; k-- > 0 && !Enough(ranked, need_replicas);) {
    std::int64_t most = ranked[k].available;
    std::optional<std::size_t> best;
    for (std::size_t j = 0; j < rest.size(); ++j) {
      if (rest[j].available > most) {
        most = rest[j].available;
        best = j;
      }
    }
    if (best) std::swap(ranked[k], rest[*best]);
  }
  if (ranked.empty() || !Enough(ranked, need_replicas)) {
    return Error{fmt::format("no enough resource when selecting {} clusters", need_count)};
  }
  return ranked;
}

std::int64_t GroupScore(const std::vector<RankedCluster>& clusters, std::int32_t replicas,
                        bool duplicated, int min_groups) {
  if (clusters.empty()) return 0;
  if (duplicated) {
    std::int64_t valid = 0, valid_score = 0;
    for (const auto& c : clusters) {
      if (c.available >= replicas) {
        ++valid;
        valid_score += c.score;
      }
    }
    // Karmada divides by `valid` unchecked (a Go panic when no cluster of
    // the group can run every replica); such a group scores 0 here.
    return valid == 0 ? 0 : valid * kWeightUnit + valid_score / valid;
  }
  const std::int32_t groups = std::max(min_groups, 1);
  const std::int64_t target = (replicas - replicas % groups) / groups + 1;
  std::int64_t sum_available = 0, sum_score = 0, used = 0;
  for (const auto& c : clusters) {
    sum_available += c.available;
    sum_score += c.score;
    ++used;
    if (sum_available >= target) break;
  }
  if (sum_available < target) {
    return sum_available * kWeightUnit + sum_score / static_cast<std::int64_t>(clusters.size());
  }
  return target * kWeightUnit + sum_score / used;
}

Result<std::vector<RankedCluster>> SelectByRegion(const SpreadConstraint& region,
                                                  const SpreadConstraint& cluster,
                                                  const std::vector<RegionGroup>& regions) {
  if (regions.size() < static_cast<std::size_t>(region.min_groups)) {
    return Error{"the number of feasible region is less than spreadConstraint.MinGroups"};
  }
  std::vector<SpreadGroup> groups;
  std::map<std::string, const RegionGroup*> by_name;
  for (const auto& r : regions) {
    groups.push_back({r.name, static_cast<std::int64_t>(r.clusters.size()), r.score});
    by_name[r.name] = &r;
  }
  auto chosen =
      SelectGroups(std::move(groups), region.min_groups, region.max_groups, cluster.min_groups);
  if (!chosen.ok()) return chosen.error();
  if (chosen->empty()) {
    return Error{"the number of clusters is less than the cluster spreadConstraint.MinGroups"};
  }
  std::vector<RankedCluster> selected, candidates;
  for (const auto& g : *chosen) {
    const auto& clusters = by_name.at(g.name)->clusters;
    selected.push_back(clusters.front());
    candidates.insert(candidates.end(), clusters.begin() + 1, clusters.end());
  }
  const std::size_t need_count =
      std::min(selected.size() + candidates.size(),
               static_cast<std::size_t>(std::max(cluster.max_groups, 0)));
  if (need_count > selected.size()) {
    std::sort(candidates.begin(), candidates.end(),
              [](const RankedCluster& a, const RankedCluster& b) {
                if (a.score != b.score) return a.score > b.score;
                if (a.available != b.available) return a.available > b.available;
                return a.cluster.name < b.cluster.name;
              });
    const std::size_t more = need_count - selected.size();
    selected.insert(selected.end(), candidates.begin(), candidates.begin() + more);
  }
  return selected;
}

Result<std::vector<RankedCluster>> SelectBestClusters(
    const std::vector<SpreadConstraint>& constraints, Strategy strategy, std::int32_t replicas,
    std::vector<RankedCluster> ranked) {
  if (constraints.empty() || strategy == Strategy::kStaticWeight) return ranked;
  const bool duplicated = strategy == Strategy::kDuplicated;
  auto find = [&](SpreadField f) -> std::optional<SpreadConstraint> {
    for (const auto& c : constraints) {
      if (c.field == f) return c;
    }
    return std::nullopt;
  };
  // A missing cluster constraint reads as Go's zero value (the decoder
  // requires one whenever a field is spread by, as Karmada's webhook does).
  const SpreadConstraint cluster =
      find(SpreadField::kCluster).value_or(SpreadConstraint{.min_groups = 0, .max_groups = 0});
  if (auto region = find(SpreadField::kRegion)) {
    std::vector<RegionGroup> regions;
    std::map<std::string, std::size_t> index;
    for (auto& c : ranked) {
      if (c.cluster.region.empty()) continue;  // the filter has dropped these
      auto [it, added] = index.try_emplace(c.cluster.region, regions.size());
      if (added) regions.push_back({.name = c.cluster.region});
      regions[it->second].clusters.push_back(std::move(c));
    }
    for (auto& r : regions)
      r.score = GroupScore(r.clusters, replicas, duplicated, region->min_groups);
    return SelectByRegion(*region, cluster, regions);
  }
  if (find(SpreadField::kCluster)) {
    return SelectByCluster(cluster, std::move(ranked), duplicated ? -1 : replicas);
  }
  return Error{"just support cluster and region spread constraint"};
}

}  // namespace meridian::propagation
