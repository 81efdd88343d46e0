// DecisionScheduler: the ClusterSet's propagation scheduler, run by the
// elected meridian-controller (--scheduler; controller/scheduler_lease.h).
// Each round it reads the scheduler's manifests (PropagationPolicies,
// workloads, Karmada Clusters), takes the member clusters that are alive
// (a ClusterInfo under its lease in the registry), schedules every
// workload a policy selects (propagation/scheduler.h: Karmada's
// algorithm, from the decision in force) and publishes the decisions that
// changed under /meridian/v1/decisions/<ns>/<name>. Agents weight the
// Service of the workload's name by them (docs/propagation.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/cluster.h"
#include "model/object_ref.h"
#include "model/propagation_decision.h"
#include "registry/registry.h"
#include "sources/scheduling_decoder.h"

namespace meridian::controller {

// What one round decided, per workload: the decision to publish (with its
// generation), or why the workload could not be scheduled (the decision
// in force then stays).
struct PlannedDecision {
  model::PropagationDecision decision;
  bool changed = false;  // differs from the decision in force: publish it
  std::string policy;    // ns/name of the policy that placed it
  std::string error;     // non-empty: unschedulable, nothing is published
};

// The pure part of a round. `live` are the clusters with a live
// ClusterInfo; a Karmada Cluster of the same name in `manifests` gives
// its provider, region, zones and available replicas (its labels are
// ClusterInfo's when it has none). A workload is placed by the policy that
// selects it most specifically (Karmada's implicit priority: a selector
// naming it, then one with a labelSelector, then one matching its kind
// alone; ties go to the policy name first in order). Workloads no policy
// selects get no decision.
std::vector<PlannedDecision> PlanDecisions(
    const sources::SchedulingManifests& manifests, const std::vector<model::Cluster>& live,
    const std::map<model::ObjectKey, model::PropagationDecision>& in_force);

struct ScheduleRound {
  std::vector<PlannedDecision> planned;
  std::size_t published = 0;
  std::size_t deleted = 0;  // decisions of workloads that no longer exist
  std::vector<std::string> errors;
};

// One round against the registry: plan, then write what changed and
// delete the decisions no workload accounts for.
ScheduleRound RunScheduleRound(
    registry::Registry& registry, const std::string& manifest_dir,
    const std::vector<model::Cluster>& live,
    const std::map<model::ObjectKey, model::PropagationDecision>& in_force);

}  // namespace meridian::controller
