// Karmada's TaintToleration filter: a cluster with a NoSchedule or
// NoExecute taint that the placement's clusterTolerations do not tolerate
// takes no new workload (docs/propagation-karmada.md, section 2.1). The
// matching is Kubernetes' Toleration.ToleratesTaint.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "propagation/cluster_affinity.h"

namespace meridian::propagation {

// placement.clusterTolerations[] (corev1.Toleration). tolerationSeconds
// bounds how long a NoExecute taint is tolerated before eviction, which is
// Karmada's taint manager, not its scheduler: it has no effect here.
struct Toleration {
  std::string key;  // empty: every key (with operator Exists)
  enum class Op : std::uint8_t { kEqual, kExists } op = Op::kEqual;
  std::string value;
  std::string effect;  // empty: every effect
};

bool Tolerates(const Toleration& toleration, const Taint& taint);

// The first of the cluster's NoSchedule or NoExecute taints no toleration
// tolerates, or nullopt. (Karmada skips this filter for a cluster the
// placement in force already uses; the caller does that.)
std::optional<Taint> UntoleratedTaint(const std::vector<Taint>& taints,
                                      const std::vector<Toleration>& tolerations);

// The filter's reason, as Karmada prints the taint (Go's %v of a
// corev1.Taint): "had untolerated taint {key value NoSchedule <nil>}"
// (Karmada writes it after "N cluster(s) ").
std::string UntoleratedTaintReason(const Taint& taint);

}  // namespace meridian::propagation
