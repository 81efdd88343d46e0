#include "propagation/assignment.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "propagation/webster.h"

namespace meridian::propagation {
namespace {

using Placement = std::map<std::string, std::int32_t>;

std::vector<ClusterReplicas> ToList(const Placement& p, bool keep_zero) {
  std::vector<ClusterReplicas> out;
  for (const auto& [name, n] : p) {
    if (n > 0 || keep_zero) out.push_back({name, n});
  }
  return out;
}

std::vector<ClusterReplicas> Duplicated(const AssignmentInput& in) {
  Placement p;
  for (const auto& c : in.candidates) p[c.name] = in.replicas;
  return ToList(p, /*keep_zero=*/true);
}

std::vector<ClusterReplicas> StaticWeight(const AssignmentInput& in) {
  std::map<std::string, std::int64_t> votes;
  for (const auto& c : in.candidates) {
    if (c.weight > 0) votes[c.name] = c.weight;
  }
  if (votes.empty()) {
    for (const auto& c : in.candidates) votes[c.name] = 1;
  }
  return ToList(AllocateWebsterSeats(in.replicas, votes, {}, TieOrderForUid(in.uid)),
                /*keep_zero=*/in.replicas == 0);
}

// One cluster's number in a dynamic division: its free capacity (scale up),
// its previous replicas (scale down), or both (fresh).
struct Available {
  std::string name;
  std::int64_t replicas;
};

// Karmada's dynamicDivideReplicas: the capacity check, Aggregated's
// shortest prefix, Webster over what is left, merged onto `scheduled`.
Result<Placement> Divide(const AssignmentInput& in, std::vector<Available> available,
                         std::int32_t target, const Placement& scheduled) {
  // Descending, ties in input order (Go's sort.Sort is an insertion sort,
  // so stable, for the dozen clusters a decision usually has).
  std::stable_sort(available.begin(), available.end(),
                   [](const Available& a, const Available& b) { return a.replicas > b.replicas; });
  std::int64_t sum = 0;
  for (const auto& a : available) sum += a.replicas;
  if (sum < target) {
    return Error{fmt::format("Clusters available replicas {} are not enough to schedule.", sum)};
  }
  if (in.strategy == Strategy::kAggregated) {
    // Clusters already running replicas first, then as few as cover it.
    std::stable_partition(available.begin(), available.end(), [&](const Available& a) {
      auto it = scheduled.find(a.name);
      return it != scheduled.end() && it->second > 0;
    });
    std::int64_t running = 0;
    std::size_t keep = 0;
    while (keep < available.size() && running < target) running += available[keep++].replicas;
    available.resize(keep);
  }
  std::map<std::string, std::int64_t> votes;
  for (const auto& a : available) votes[a.name] += a.replicas;
  Placement out = scheduled;
  for (const auto& [name, n] : AllocateWebsterSeats(target, votes, {}, TieOrderForUid(in.uid))) {
    out[name] += n;
  }
  return out;
}

Result<std::vector<ClusterReplicas>> Dynamic(const AssignmentInput& in) {
  std::set<std::string> candidates;
  for (const auto& c : in.candidates) candidates.insert(c.name);
  // The placement in force, on clusters that are still candidates.
  Placement scheduled;
  std::int32_t assigned = 0;
  for (const auto& p : in.previous) {
    if (!candidates.count(p.name)) continue;
    scheduled[p.name] += p.replicas;
    assigned += p.replicas;
  }
  std::vector<Available> available;
  Result<Placement> divided = Placement{};
  if (in.fresh) {
    for (const auto& c : in.candidates) {
      auto held = scheduled.find(c.name);
      available.push_back(
          {c.name, std::int64_t{c.available} + (held == scheduled.end() ? 0 : held->second)});
    }
    divided = Divide(in, std::move(available), in.replicas, {});
    if (!divided.ok()) return Error{"failed to do fresh scale: " + divided.error().message};
  } else if (assigned > in.replicas) {
    // Scale down: the placement in force is the weight (every cluster of
    // it, as Karmada reads spec.clusters unfiltered).
    for (const auto& p : in.previous) available.push_back({p.name, p.replicas});
    divided = Divide(in, std::move(available), in.replicas, {});
    if (!divided.ok()) return Error{"failed to scale down: " + divided.error().message};
  } else if (assigned < in.replicas) {
    // Scale up (a first decision is one, from 0): only the missing replicas
    // are divided, by free capacity, and added to what runs.
    for (const auto& c : in.candidates) available.push_back({c.name, c.available});
    divided = Divide(in, std::move(available), in.replicas - assigned, scheduled);
    if (!divided.ok()) return Error{"failed to scale up: " + divided.error().message};
  } else {
    divided = scheduled;
  }
  return ToList(*divided, /*keep_zero=*/false);
}

}  // namespace

Result<std::vector<ClusterReplicas>> AssignReplicas(const AssignmentInput& in) {
  if (in.replicas < 0) return Error{fmt::format("replicas {}: must not be negative", in.replicas)};
  switch (in.strategy) {
    case Strategy::kDuplicated:
      return Duplicated(in);
    case Strategy::kStaticWeight:
      return StaticWeight(in);
    case Strategy::kDynamicWeight:
    case Strategy::kAggregated:
      return Dynamic(in);
  }
  return Error{"unknown strategy"};
}

}  // namespace meridian::propagation
