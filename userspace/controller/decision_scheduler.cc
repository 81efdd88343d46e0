#include "controller/decision_scheduler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "mcs/records.h"
#include "mcs/registry_keys.h"
#include "propagation/scheduler.h"
#include "sources/scheduling_directory.h"

namespace meridian::controller {
namespace {

// Karmada's implicit priority of a policy for a workload: 3 when a
// selector that matches names it, 2 when one has a labelSelector, 1 when
// one matches kind (and namespace) alone; 0 when none matches.
int Specificity(const propagation::Policy& p, const propagation::Workload& w) {
  int best = 0;
  for (const auto& s : p.selectors) {
    if (!propagation::SelectorMatches(p, s, w)) continue;
    best = std::max(best, !s.name.empty() ? 3 : s.label_selector ? 2 : 1);
  }
  return best;
}

const propagation::Policy* PolicyFor(const std::vector<propagation::Policy>& policies,
                                     const propagation::Workload& w) {
  const propagation::Policy* chosen = nullptr;
  int chosen_score = 0;
  for (const auto& p : policies) {
    int score = Specificity(p, w);
    if (score == 0) continue;
    if (!chosen || score > chosen_score ||
        (score == chosen_score && std::tie(p.ns, p.name) < std::tie(chosen->ns, chosen->name))) {
      chosen = &p;
      chosen_score = score;
    }
  }
  return chosen;
}

std::vector<propagation::MemberCluster> Members(const sources::SchedulingManifests& manifests,
                                                const std::vector<model::Cluster>& live) {
  std::vector<propagation::MemberCluster> out;
  for (const auto& c : live) {
    auto it = std::find_if(manifests.clusters.begin(), manifests.clusters.end(),
                           [&](const auto& m) { return m.name == c.meta.key.name; });
    propagation::MemberCluster m;
    if (it != manifests.clusters.end()) m = *it;
    m.name = c.meta.key.name;
    if (m.labels.empty()) m.labels = c.meta.labels;
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

std::vector<PlannedDecision> PlanDecisions(
    const sources::SchedulingManifests& manifests, const std::vector<model::Cluster>& live,
    const std::map<model::ObjectKey, model::PropagationDecision>& in_force) {
  const auto members = Members(manifests, live);
  std::vector<PlannedDecision> out;
  for (const auto& w : manifests.workloads) {
    const auto* policy = PolicyFor(manifests.policies, w);
    if (!policy) continue;
    const model::ObjectKey key{w.ns, w.name};
    PlannedDecision plan;
    plan.policy = policy->ns + "/" + policy->name;
    propagation::PreviousDecision previous;
    const model::PropagationDecision* current = nullptr;
    if (auto it = in_force.find(key); it != in_force.end()) {
      current = &it->second;
      for (const auto& [cluster, replicas] : current->replicas_per_cluster) {
        if (replicas > 0)
          previous.clusters.push_back({cluster, static_cast<std::int32_t>(replicas)});
      }
      previous.affinity_name = current->affinity_name;
    }
    plan.decision = current ? *current : model::PropagationDecision{.service = key};
    auto decided = propagation::Schedule(*policy, w, members, previous);
    if (!decided.ok()) {
      plan.error = fmt::format("{} {}/{}: {}", w.kind, w.ns, w.name, decided.error().message);
      out.push_back(std::move(plan));
      continue;
    }
    model::PropagationDecision next{.service = key,
                                    .generation = current ? current->generation : 0,
                                    .affinity_name = decided->affinity_name,
                                    .workload = fmt::format("{} {}/{}", w.kind, w.ns, w.name)};
    for (const auto& c : decided->clusters) {
      if (c.replicas > 0)
        next.replicas_per_cluster[c.name] = static_cast<std::uint32_t>(c.replicas);
    }
    plan.changed = !current || next.replicas_per_cluster != current->replicas_per_cluster ||
                   next.affinity_name != current->affinity_name ||
                   next.workload != current->workload;
    if (plan.changed) ++next.generation;
    plan.decision = std::move(next);
    out.push_back(std::move(plan));
  }
  return out;
}

ScheduleRound RunScheduleRound(
    registry::Registry& registry, const std::string& manifest_dir,
    const std::vector<model::Cluster>& live,
    const std::map<model::ObjectKey, model::PropagationDecision>& in_force) {
  ScheduleRound round;
  auto dir = sources::ReadSchedulingDirectory(manifest_dir);
  const bool manifests_clean = dir.errors.empty();
  round.errors = std::move(dir.errors);
  round.planned = PlanDecisions(dir.manifests, live, in_force);
  std::map<model::ObjectKey, bool> accounted;
  for (const auto& p : round.planned) {
    accounted[p.decision.service] = true;
    if (!p.error.empty()) {
      round.errors.push_back(p.error + " (the decision in force stays)");
      continue;
    }
    if (!p.changed) continue;
    auto put = registry.Put(mcs::DecisionKey(p.decision.service), mcs::EncodeDecision(p.decision));
    if (!put.ok()) {
      round.errors.push_back(put.error().message);
      continue;
    }
    ++round.published;
    std::vector<std::string> parts;
    for (const auto& [c, r] : p.decision.replicas_per_cluster)
      parts.push_back(fmt::format("{}={}", c, r));
    spdlog::info("scheduler: {} generation {}: {} (policy {})", p.decision.workload,
                 p.decision.generation, fmt::join(parts, " "), p.policy);
  }
  // A bad manifest must not withdraw what it used to place: deletes only
  // when every manifest read cleanly (an unschedulable workload is
  // accounted for: its decision stays).
  if (!manifests_clean) return round;
  for (const auto& [key, d] : in_force) {
    if (accounted.count(key)) continue;
    if (auto s = registry.Delete(mcs::DecisionKey(key)); !s) {
      round.errors.push_back(s.error().message);
      continue;
    }
    ++round.deleted;
    spdlog::info("scheduler: {} has no workload and policy any more: decision deleted",
                 key.ToString());
  }
  return round;
}

}  // namespace meridian::controller
