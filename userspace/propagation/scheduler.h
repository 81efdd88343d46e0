// One scheduling decision, as Karmada's scheduler makes it for a
// ResourceBinding (docs/propagation-karmada.md, section 1): filter the
// clusters by the placement's affinity, order the candidates, divide the
// replicas by the policy's strategy, keeping the placement in force where
// the strategy does.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "propagation/assignment.h"
#include "propagation/cluster_affinity.h"
#include "propagation/policy.h"

namespace meridian::propagation {

struct Exclusion {
  std::string name;
  std::string reason;
  bool operator==(const Exclusion&) const = default;
};

struct Decision {
  std::vector<ClusterReplicas> clusters;  // name order, 0 replicas left out
  std::vector<Exclusion> excluded;        // clusters the placement filtered out, name order
  // With clusterAffinities: the group this decision used (Karmada's
  // status.schedulerObservedAffinityName); empty otherwise.
  std::string affinity_name;
  bool operator==(const Decision&) const = default;
};

// The decision in force, as a previous run gave it.
struct PreviousDecision {
  std::vector<ClusterReplicas> clusters;
  std::string affinity_name;
};

// An error means the workload cannot be scheduled; its message is one line
// naming why, in Karmada's words where Karmada has them ("0/3 clusters are
// available: 3 cluster(s) did not match the placement cluster affinity
// constraint.", "failed to assign replicas: failed to scale up: Clusters
// available replicas 3 are not enough to schedule."). The previous
// decision then stays in force: the caller keeps it.
//
// With clusterAffinities, Karmada's failover between groups: scheduling
// starts with the group in force (previous.affinity_name; the first when
// none or unknown) and moves to the next group when it fails for any
// reason, never back to an earlier one by itself; when every remaining
// group fails, the first failure is the error.
Result<Decision> Schedule(const Policy& policy, const Workload& workload,
                          const std::vector<MemberCluster>& clusters,
                          const PreviousDecision& previous);

}  // namespace meridian::propagation
