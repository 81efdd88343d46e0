// The inputs of a scheduling decision, decoded from Karmada's own object
// shapes: a PropagationPolicy (policy.karmada.io/v1alpha1), a workload
// (any kind with metadata.uid and spec.replicas, e.g. apps/v1 Deployment)
// and member Clusters (cluster.karmada.io/v1alpha1), plus a previous
// decision as `meridianctl schedule -o json` prints it. A field the
// scheduler does not implement is an error that names it, never ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "propagation/assignment.h"
#include "propagation/cluster_affinity.h"
#include "propagation/policy.h"
#include "propagation/scheduler.h"

namespace meridian::sources {

// One document holding one PropagationPolicy. Errors: one line each, as
// the manifest decoder words them ("<file>: document 1: PropagationPolicy
// default/web: spec.placement.spreadConstraints[0].spreadByLabel: not
// supported ...").
Result<propagation::Policy> DecodePropagationPolicy(std::string_view text, const std::string& file);

// One document holding one workload: apiVersion, kind, metadata (name,
// namespace, uid, labels) and spec.replicas (1 when absent).
Result<propagation::Workload> DecodeWorkload(std::string_view text, const std::string& file);

// Every document a Karmada Cluster: metadata.name and .labels,
// spec.provider, .region, .zone or .zones, and status.availableReplicas
// (how many more replicas of the workload it can take: our stand-in for
// Karmada's replica estimator; absent: unknown) and spec.taints (key,
// value, effect; timeAdded is read and ignored). Other spec and status fields
// (apiEndpoint, syncMode, conditions, ...) do not take part and are ignored.
Result<std::vector<propagation::MemberCluster>> DecodeMemberClusters(std::string_view text,
                                                                     const std::string& file);

// What a scheduler's manifest directory holds (meridian-controller
// --scheduler-manifests): PropagationPolicies, Karmada Clusters
// (cluster.karmada.io) and workloads (any other document with
// metadata.uid and, optionally, spec.replicas).
struct SchedulingManifests {
  std::vector<propagation::Policy> policies;
  std::vector<propagation::Workload> workloads;
  std::vector<propagation::MemberCluster> clusters;
};

// Decodes every document of `text` into `out`, each by its kind. Errors,
// one line per bad document; the good documents are kept in `out`.
Status DecodeSchedulingManifests(std::string_view text, const std::string& file,
                                 SchedulingManifests& out);

// {"clusters": [{"name": "member1", "replicas": 6}, ...], "affinityName":
// "primary", ...}: the placement in force and, with clusterAffinities, the
// group it used.
Result<propagation::PreviousDecision> DecodeDecisionJson(std::string_view text,
                                                         const std::string& file);

}  // namespace meridian::sources
