// Which member clusters a PropagationPolicy's placement admits, and in
// which order Karmada considers them (docs/propagation-karmada.md, sections
// 2.2 and 4: its util.ClusterMatches and the candidate sort).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace meridian::propagation {

// spec.taints[] of a Karmada Cluster (corev1.Taint without timeAdded).
struct Taint {
  std::string key, value;
  std::string effect;  // NoSchedule, PreferNoSchedule or NoExecute
  bool operator==(const Taint&) const = default;
};

// A member cluster as the scheduler sees it (Karmada's Cluster object).
struct MemberCluster {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string provider, region;
  std::vector<std::string> zones;  // spec.zones, or spec.zone alone
  // How many more replicas of the workload it can take (our stand-in for
  // Karmada's replica estimator); nullopt: unknown, which Karmada counts as
  // the workload's replicas.
  std::optional<std::int32_t> available_replicas;
  std::vector<Taint> taints;  // in the object's order
};

// A label- or field-selector requirement (key, operator, values), with
// Kubernetes' operators In, NotIn, Exists, DoesNotExist.
struct Requirement {
  enum class Op : std::uint8_t { kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kIn;
  std::vector<std::string> values;
};

struct LabelSelector {
  std::map<std::string, std::string> match_labels;
  std::vector<Requirement> match_expressions;
};

// placement.clusterAffinity (and a staticWeightList rule's targetCluster).
struct ClusterAffinity {
  std::vector<std::string> cluster_names;  // empty: any name
  std::vector<std::string> exclude;
  std::optional<LabelSelector> label_selector;
  // fieldSelector.matchExpressions on provider, region or zone.
  std::vector<Requirement> field_expressions;
};

bool Matches(const LabelSelector& selector, const std::map<std::string, std::string>& labels);

// Karmada's ClusterMatches: not excluded, the label selector and every
// field expression hold, and the name is listed when names are. For zone,
// In holds when any of the cluster's zones is listed (Karmada v1.18), NotIn
// when none is; Exists/DoesNotExist test that it has zones.
bool Matches(const ClusterAffinity& affinity, const MemberCluster& cluster);

// A candidate with what Karmada orders and spreads it by.
struct RankedCluster {
  MemberCluster cluster;
  // ClusterLocality: 100 for a cluster of the placement in force (when that
  // holds any replica), else 0.
  std::int64_t score = 0;
  // The estimate (unknown: the workload's replicas) plus the replicas the
  // placement in force has there: Karmada's ClusterDetailInfo.AvailableReplicas.
  std::int64_t available = 0;
};

// Karmada's candidate order: by score, descending (already placed first),
// then by available, descending, then by name.
std::vector<RankedCluster> RankCandidates(std::vector<MemberCluster> clusters,
                                          const std::map<std::string, std::int32_t>& placed,
                                          std::int32_t workload_replicas);

}  // namespace meridian::propagation
