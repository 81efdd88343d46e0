// Weighted Maglev lookup tables (Eisenbud et al., "Maglev: A Fast and
// Reliable Software Network Load Balancer", NSDI'16). Every node builds the
// table for a service from the same backend set and gets the same table, so a
// flow hashed on any node picks the same backend. A change of the set moves
// few flows only while the table size stays the same; a new size moves nearly
// all of them. docs/maglev.md has the algorithm and the measured balance and
// disruption.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace meridian::lb {

// The datapath trusts slot indices below the per-service size and sizes its
// map for this many (MER_MAGLEV_MAX_SIZE in bpf/include/meridian/abi.h; a
// static_assert in maglev.cc keeps the two equal). It is prime.
inline constexpr std::uint32_t kMaglevMaxTableSize = 131071;

// Seed of the identity hash. It is part of the cross-node contract: nodes
// running different seeds disagree on every table, and changing it moves
// nearly every slot of every service.
inline constexpr std::uint64_t kMaglevHashSeed = 0x4d6572696469616eULL;  // "Meridian"

struct MaglevBackend {
  std::string identity;      // stable, unique per backend, e.g. "10.1.1.11:8080/TCP"
  std::uint32_t weight = 1;  // 0 = gets no slots (kept for existing flows elsewhere)
};

struct MaglevConfig {
  std::uint32_t slots_per_backend = 100;  // table size >= this * backends
  std::uint32_t min_table_size = 101;     // lower bound before rounding up to a prime
  // Hard cap (a prime); must be <= kMaglevMaxTableSize.
  std::uint32_t max_table_size = kMaglevMaxTableSize;
};

// Smallest prime >= max(min_table_size, slots_per_backend * C), where C is
// backend_count rounded up to a power of two (so M stays put, and Maglev's
// minimal disruption holds, until the count crosses a power of two),
// capped at the largest prime <= max_table_size. Never more than
// kMaglevMaxTableSize, even for a config BuildMaglevTable would reject; 0 when
// no prime is <= max_table_size (max_table_size < 2).
std::uint32_t MaglevTableSize(std::size_t backend_count, const MaglevConfig& config);

// Entry i is the index (into `backends`, as given) of the backend owning
// slot i; the table has MaglevTableSize(backends.size(), config) entries.
// Weight-0 backends count towards the size, so draining a backend (weight to
// 0) keeps the size and moves only that backend's slots.
//
// The result depends on the set of (identity, weight) pairs only, not on
// their order. Each positive-weight backend gets floor or ceil of
// M * weight / total_weight slots, and at least one; when both cannot hold
// (a backend's share is below one slot and no rounding slack is left), the
// slot it needs is taken from the backend with the most slots per unit of
// weight.
//
// Empty when no backend has a positive weight. Errors: invalid config
// (max_table_size > kMaglevMaxTableSize, max < min, max < 2,
// slots_per_backend == 0), empty or duplicate identity, more positive-weight
// backends than slots.
Result<std::vector<std::uint32_t>> BuildMaglevTable(std::span<const MaglevBackend> backends,
                                                    const MaglevConfig& config);

bool IsPrime(std::uint32_t n);

}  // namespace meridian::lb
