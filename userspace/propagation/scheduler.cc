#include "propagation/scheduler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <optional>

namespace meridian::propagation {

namespace {

constexpr char kAffinityReason[] = "did not match the placement cluster affinity constraint";

// Karmada's filter plugins in its order (TaintToleration, ClusterAffinity,
// SpreadConstraint); the first that rejects gives the reason, without its
// subject: "did not match ...".
std::optional<std::string> Rejection(const ClusterAffinity& affinity, const Policy& policy,
                                     const MemberCluster& c,
                                     const std::map<std::string, std::int32_t>& placed) {
  // TaintToleration passes a cluster the placement in force already uses.
  if (!placed.count(c.name)) {
    if (auto taint = UntoleratedTaint(c.taints, policy.tolerations)) {
      return UntoleratedTaintReason(*taint);
    }
  }
  if (!Matches(affinity, c)) return kAffinityReason;
  return MissingSpreadProperty(policy.spread_constraints, c);
}

// Karmada's FitError: "0/4 clusters are available: 1 cluster(s) had ...,
// 3 cluster(s) did not match ...." (a histogram of reasons, sorted as text).
std::string NoClusterAvailable(std::size_t all, const std::map<std::string, int>& reasons) {
  if (all == 0) return "0/0 clusters are available: no cluster exists.";
  std::vector<std::string> parts;
  for (const auto& [reason, n] : reasons) {
    parts.push_back(fmt::format("{} cluster(s) {}", n, reason));
  }
  std::sort(parts.begin(), parts.end());
  return fmt::format("0/{} clusters are available: {}.", all, fmt::join(parts, ", "));
}

// One pass of the pipeline with one cluster affinity.
Result<Decision> ScheduleWith(const ClusterAffinity& affinity, const Policy& policy,
                              const Workload& workload, const std::vector<MemberCluster>& clusters,
                              const std::vector<ClusterReplicas>& previous) {
  Decision decision;
  std::map<std::string, std::int32_t> placed;
  for (const auto& p : previous) placed[p.name] += p.replicas;
  std::vector<MemberCluster> feasible;
  std::map<std::string, int> reasons;
  for (const auto& c : clusters) {
    if (auto reason = Rejection(affinity, policy, c, placed)) {
      decision.excluded.push_back({c.name, "cluster " + *reason});
      ++reasons[*reason];
    } else {
      feasible.push_back(c);
    }
  }
  std::sort(decision.excluded.begin(), decision.excluded.end(),
            [](const Exclusion& a, const Exclusion& b) { return a.name < b.name; });
  if (feasible.empty()) return Error{NoClusterAvailable(clusters.size(), reasons)};

  auto selected =
      SelectBestClusters(policy.spread_constraints, policy.strategy, workload.replicas,
                         RankCandidates(std::move(feasible), placed, workload.replicas));
  if (!selected.ok()) return Error{"failed to select clusters: " + selected.error().message};
  AssignmentInput in{.strategy = policy.strategy,
                     .replicas = workload.replicas,
                     .uid = workload.uid,
                     .previous = previous};
  for (const auto& r : *selected) {
    const MemberCluster& c = r.cluster;
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
