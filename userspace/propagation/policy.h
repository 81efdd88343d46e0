// A PropagationPolicy (policy.karmada.io/v1alpha1) as far as Meridian
// implements it, and the workload it places. The decoder
// (sources/scheduling_decoder.h) refuses every field not listed here, by
// name, rather than ignoring it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "propagation/assignment.h"
#include "propagation/cluster_affinity.h"
#include "propagation/spread_constraint.h"
#include "propagation/taint_toleration.h"

namespace meridian::propagation {

// spec.resourceSelectors[]: apiVersion and kind must equal the workload's;
// name, namespace and labelSelector narrow it when given.
struct ResourceSelector {
  std::string api_version, kind, name, ns;
  std::optional<LabelSelector> label_selector;
};

// replicaScheduling.weightPreference.staticWeightList[].
struct StaticWeightRule {
  ClusterAffinity target;
  std::int64_t weight = 1;
};

// placement.clusterAffinities[]: one group of an ordered failover list.
struct AffinityTerm {
  std::string name;  // affinityName
  ClusterAffinity affinity;
};

struct Policy {
  std::string name, ns;
  std::vector<ResourceSelector> selectors;
  ClusterAffinity affinity;  // placement.clusterAffinity (empty: every cluster)
  // placement.clusterAffinities (exclusive with clusterAffinity): tried in
  // order from the group in force, the next one when scheduling fails.
  std::vector<AffinityTerm> affinity_terms;
  // placement.spreadConstraints (at most one per field) and
  // placement.clusterTolerations.
  std::vector<SpreadConstraint> spread_constraints;
  std::vector<Toleration> tolerations;
  Strategy strategy = Strategy::kDuplicated;
  // StaticWeight only; empty: every candidate weighs 1.
  std::vector<StaticWeightRule> static_weights;
};

// The workload a policy places (a Deployment, say): what selection and
// division read.
struct Workload {
  std::string api_version, kind, name, ns, uid;
  std::map<std::string, std::string> labels;
  std::int32_t replicas = 1;  // spec.replicas; a Deployment's default is 1
};

// Does one of the policy's resourceSelectors select the workload? (A policy
// in a namespace selects only that namespace's workloads.)
bool Selects(const Policy& policy, const Workload& workload);
// Does this one selector of the policy select the workload?
bool SelectorMatches(const Policy& policy, const ResourceSelector& selector,
                     const Workload& workload);

}  // namespace meridian::propagation
