// PropagationDecision: how many replicas of a workload the elected
// scheduler placed in each cluster (registry key
// /meridian/v1/decisions/<ns>/<svc>, docs/propagation.md). Agents turn it
// into per-cluster traffic weights for the Service of the same name.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "model/object_ref.h"

namespace meridian::model {

struct PropagationDecision {
  ObjectKey service;
  std::map<std::string, std::uint32_t> replicas_per_cluster;  // clusters given 0 may be absent
  std::int64_t generation = 0;  // the scheduler's count of decisions for this service
  std::string affinity_name;    // the clusterAffinities group used; empty without groups
  std::string workload;         // "Deployment shop/web": what was placed

  std::uint64_t TotalReplicas() const {
    std::uint64_t n = 0;
    for (const auto& [cluster, r] : replicas_per_cluster) n += r;
    return n;
  }
  bool operator==(const PropagationDecision&) const = default;
};

}  // namespace meridian::model
