// placement.spreadConstraints, as Karmada's scheduler applies them
// (docs/propagation-karmada.md, sections 2.1 and 5): a filter that drops
// clusters lacking the property a constraint spreads by, then a selection
// of the candidates by cluster (how many clusters, with enough capacity)
// or by region (how many regions, then how many clusters in them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "propagation/assignment.h"
#include "propagation/cluster_affinity.h"

namespace meridian::propagation {

enum class SpreadField : std::uint8_t { kCluster, kRegion, kZone, kProvider };

std::string_view FieldName(SpreadField field);

// One spreadConstraints[] entry, after Karmada's defaults (spreadByField
// cluster when neither field is given, minGroups 1 when 0). maxGroups 0 is
// kept as 0, as Karmada keeps it: a cluster constraint then selects none.
struct SpreadConstraint {
  SpreadField field = SpreadField::kCluster;
  int min_groups = 1;
  int max_groups = 0;
};

// The SpreadConstraint filter's reason, "didn't have region property"
// (provider, zone; Karmada writes it after "N cluster(s) ") for the first constraint whose property
// the cluster lacks, in the constraints' order; nullopt when it has them all.
std::optional<std::string> MissingSpreadProperty(const std::vector<SpreadConstraint>& constraints,
                                                 const MemberCluster& cluster);

// Karmada's SelectBestClusters: every candidate (in the given order) when
// there is no constraint or the strategy is StaticWeight, which ignores
// them; else the selection by region when a region constraint exists,
// else by cluster. Capacity (each candidate's `available`) is checked
// against the workload's replicas except for Duplicated. Errors are
// Karmada's ("no enough resource when selecting 2 clusters").
Result<std::vector<RankedCluster>> SelectBestClusters(
    const std::vector<SpreadConstraint>& constraints, Strategy strategy, std::int32_t replicas,
    std::vector<RankedCluster> ranked);

// The parts, for tests with Karmada's own inputs.
// By cluster: the first maxGroups candidates; while they lack capacity for
// `need_replicas` (-1: capacity ignored), the last not yet reconsidered
// is swapped for the remaining candidate with the most capacity above it.
Result<std::vector<RankedCluster>> SelectByCluster(const SpreadConstraint& cluster,
                                                   std::vector<RankedCluster> ranked,
                                                   std::int32_t need_replicas);

struct RegionGroup {
  std::string name;
  std::int64_t score = 0;
  std::vector<RankedCluster> clusters;  // candidate order
};

// Karmada's calcGroupScore for one group's clusters (candidate order):
// Duplicated: 1000 per cluster able to run all replicas, plus their mean
// score; Divided: capacity toward replicas/minGroups + 1, in thousands,
// plus the mean score of the clusters needed to reach it.
std::int64_t GroupScore(const std::vector<RankedCluster>& clusters, std::int32_t replicas,
                        bool duplicated, int min_groups);

// By region: the regions (SelectGroups over cluster counts, targeting the
// cluster constraint's minGroups), the best cluster of each, then the
// others of those regions by score, capacity and name up to the cluster
// constraint's maxGroups.
Result<std::vector<RankedCluster>> SelectByRegion(const SpreadConstraint& region,
                                                  const SpreadConstraint& cluster,
                                                  const std::vector<RegionGroup>& regions);

}  // namespace meridian::propagation
