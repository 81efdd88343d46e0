// Traffic weights from a propagation decision: a ClusterSet service's new
// flows split across clusters in proportion to the replicas the decision
// places in each (docs/propagation.md, "Traffic weights"), each cluster's
// share divided evenly among its backends that take new flows.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/propagation_decision.h"

namespace meridian::propagation {

// One backend that takes new flows, by the cluster it runs in.
struct ActiveBackend {
  std::string cluster;
};

// Weights for `active` (same order), in proportion to
// replicas(cluster) / active backends of that cluster: with 6/3/1
// replicas and two backends per cluster, 6, 6, 3, 3, 1, 1. Exact while
// the least common multiple of the per-cluster counts stays small (below
// 2^20); rounded, never below 1 for a cluster with replicas, beyond it.
//
// A backend of a cluster the decision gives no replicas gets 0: it
// finishes its flows and takes no new ones (the scheduler is moving the
// workload away). A cluster the decision places replicas in but that has
// no active backend takes nothing (its share goes to the others in
// proportion), so pods that are not ready yet never black-hole traffic.
//
// nullopt when the decision places no replica in any cluster of
// `active` (e.g. every cluster it names is down): weighting by it would
// refuse traffic that ready endpoints can serve, so the caller keeps equal
// weights.
std::optional<std::vector<std::uint32_t>> DecisionWeights(std::span<const ActiveBackend> active,
                                                          const model::PropagationDecision& d);

}  // namespace meridian::propagation
