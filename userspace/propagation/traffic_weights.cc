#include "propagation/traffic_weights.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace meridian::propagation {
namespace {

// Beyond this common denominator weights are rounded: Maglev resolves a
// share to one slot in ~100 per backend, so finer weights change nothing.
constexpr std::uint64_t kMaxDenominator = 1u << 20;
// Weights are kept below this so that Maglev's products stay in 64 bits.
constexpr std::uint64_t kMaxWeight = 1u << 24;

std::uint32_t Replicas(const model::PropagationDecision& d, const std::string& cluster) {
  auto it = d.replicas_per_cluster.find(cluster);
  return it == d.replicas_per_cluster.end() ? 0 : it->second;
}

}  // namespace

std::optional<std::vector<std::uint32_t>> DecisionWeights(std::span<const ActiveBackend> active,
                                                          const model::PropagationDecision& d) {
  std::map<std::string, std::uint64_t> count;  // active backends per cluster
  for (const auto& b : active) ++count[b.cluster];
  std::uint64_t denominator = 1;  // lcm of the counts of clusters with replicas
  bool any = false;
  for (const auto& [cluster, n] : count) {
    if (Replicas(d, cluster) == 0) continue;
    any = true;
    if (denominator <= kMaxDenominator) denominator = std::lcm(denominator, n);
  }
  if (!any) return std::nullopt;
  const bool exact = denominator <= kMaxDenominator;
  if (!exact) denominator = kMaxDenominator;

  std::vector<std::uint64_t> raw;
  raw.reserve(active.size());
  for (const auto& b : active) {
    const std::uint64_t r = Replicas(d, b.cluster);
    const std::uint64_t n = count[b.cluster];
    raw.push_back(r == 0 ? 0 : std::max<std::uint64_t>(1, r * denominator / n));
  }
  // Smallest integers in the same proportion: 6/3/1 over two backends
  // each reads 6, 6, 3, 3, 1, 1 (denominator 2 cancels).
  std::uint64_t g = 0;
  for (auto w : raw) g = std::gcd(g, w);
  std::uint64_t top = 0;
  for (auto& w : raw) {
    w /= g;
    top = std::max(top, w);
  }
  std::vector<std::uint32_t> out;
  out.reserve(raw.size());
  const std::uint64_t shrink = top >= kMaxWeight ? top / kMaxWeight + 1 : 1;
  for (auto w : raw) {
    out.push_back(static_cast<std::uint32_t>(w == 0 ? 0 : std::max<std::uint64_t>(1, w / shrink)));
  }
  return out;
}

}  // namespace meridian::propagation
