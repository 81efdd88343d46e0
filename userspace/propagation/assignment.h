// Replica assignment: how many replicas of a workload each candidate
// cluster runs, by Karmada's strategies (its assignment.go and
// division_algorithm.go; docs/propagation-karmada.md, section 6), so that
// the same inputs give Karmada's decision. The candidates are the clusters
// that passed filtering and spread selection, in Karmada's candidate
// order; choosing them is the caller's part.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace meridian::propagation {

enum class Strategy : std::uint8_t {
  kDuplicated,     // every candidate runs all replicas
  kStaticWeight,   // Divided, Weighted, staticWeightList (or none: all weight 1)
  kDynamicWeight,  // Divided, Weighted, dynamicWeight: AvailableReplicas
  kAggregated,     // Divided, Aggregated: as few clusters as possible
};

struct Candidate {
  std::string name;
  // How many more replicas of this workload the cluster can take (Karmada's
  // estimator answer, AllocatableReplicas). Dynamic strategies only.
  std::int32_t available = 0;
  // StaticWeight: the largest weight of the staticWeightList rules that
  // match the cluster; 0 when none matches (the cluster is left out, unless
  // no candidate matches any rule: then every one weighs 1).
  std::int64_t weight = 1;
};

struct ClusterReplicas {
  std::string name;
  std::int32_t replicas = 0;
  bool operator==(const ClusterReplicas&) const = default;
};

struct AssignmentInput {
  Strategy strategy = Strategy::kDuplicated;
  std::int32_t replicas = 0;  // the workload's spec.replicas
  std::string uid;            // the workload's metadata.uid: breaks ties
  std::vector<Candidate> candidates;
  // The placement in force (ResourceBinding spec.clusters, in its order):
  // dynamic strategies keep it, growing or shrinking it by the change.
  std::vector<ClusterReplicas> previous;
  // An explicit reschedule (Karmada's rescheduleTriggeredAt): dynamic
  // strategies divide everything afresh by free plus held capacity.
  bool fresh = false;
};

// The decision, in name order, clusters with 0 replicas left out (with 0
// replicas wanted: every candidate, with 0, for the Duplicated and
// StaticWeight strategies, as Karmada returns them). Errors: not enough
// capacity for a dynamic strategy, in Karmada's words: "failed to scale up:
// Clusters available replicas 3 are not enough to schedule." (scale down,
// fresh scale likewise).
Result<std::vector<ClusterReplicas>> AssignReplicas(const AssignmentInput& in);

}  // namespace meridian::propagation
