#include "propagation/scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

namespace meridian::propagation {

namespace {
constexpr char kAffinityReason[] = "did not match the placement cluster affinity constraint";
}

namespace {

// One pass of the pipeline with one cluster affinity.
Result<Decision> ScheduleWith(const ClusterAffinity& affinity, const Policy& policy,
                              const Workload& workload, const std::vector<MemberCluster>& clusters,
                              const std::vector<ClusterReplicas>& previous) {
  Decision decision;
  std::vector<MemberCluster> feasible;
  for (const auto& c : clusters) {
    if (Matches(affinity, c)) {
      feasible.push_back(c);
    } else {
      decision.excluded.push_back({c.name, fmt::format("cluster {}", kAffinityReason)});
    }
  }
  std::sort(decision.excluded.begin(), decision.excluded.end(),
            [](const Exclusion& a, const Exclusion& b) { return a.name < b.name; });
  if (feasible.empty()) {
    if (clusters.empty()) return Error{"0/0 clusters are available: no cluster exists."};
    return Error{fmt::format("0/{} clusters are available: {} cluster(s) {}.", clusters.size(),
                             clusters.size(), kAffinityReason)};
  }

  std::map<std::string, std::int32_t> placed;
  for (const auto& p : previous) placed[p.name] += p.replicas;
  AssignmentInput in{.strategy = policy.strategy,
                     .replicas = workload.replicas,
                     .uid = workload.uid,
                     .previous = previous};
  for (const auto& c : OrderCandidates(std::move(feasible), placed, workload.replicas)) {
    Candidate cand{
        .name = c.name, .available = c.available_replicas.value_or(workload.replicas), .weight = 1};
    if (policy.strategy == Strategy::kStaticWeight && !policy.static_weights.empty()) {
      // The largest weight of the rules that match; 0: none does.
      cand.weight = 0;
      for (const auto& rule : policy.static_weights) {
        if (Matches(rule.target, c)) cand.weight = std::max(cand.weight, rule.weight);
      }
    }
    in.candidates.push_back(std::move(cand));
  }
  auto assigned = AssignReplicas(in);
  if (!assigned.ok()) return Error{"failed to assign replicas: " + assigned.error().message};
  for (auto& c : *assigned) {
    if (c.replicas > 0) decision.clusters.push_back(std::move(c));
  }
  return decision;
}

}  // namespace

Result<Decision> Schedule(const Policy& policy, const Workload& workload,
                          const std::vector<MemberCluster>& clusters,
                          const PreviousDecision& previous) {
  if (!Selects(policy, workload)) {
    return Error{fmt::format("PropagationPolicy {}/{} does not select {} {}/{}", policy.ns,
                             policy.name, workload.kind, workload.ns, workload.name)};
  }
  if (policy.affinity_terms.empty()) {
    return ScheduleWith(policy.affinity, policy, workload, clusters, previous.clusters);
  }
  std::size_t i = 0;
  for (std::size_t k = 0; k < policy.affinity_terms.size(); ++k) {
    if (policy.affinity_terms[k].name == previous.affinity_name) i = k;
  }
  std::optional<Error> first_error;
  for (; i < policy.affinity_terms.size(); ++i) {
    const AffinityTerm& term = policy.affinity_terms[i];
    auto d = ScheduleWith(term.affinity, policy, workload, clusters, previous.clusters);
    if (d.ok()) {
      d->affinity_name = term.name;
      return d;
    }
    if (!first_error) first_error = d.error();
  }
  return *first_error;
}

}  // namespace meridian::propagation
