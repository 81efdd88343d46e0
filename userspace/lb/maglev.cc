#include "lb/maglev.h"

#include <xxhash.h>

#include <algorithm>
#include <cassert>
#include <limits>
#include <numeric>
#include <queue>
#include <string>
#include <utility>
#include <vector>

#include "meridian/abi.h"

namespace meridian::lb {

static_assert(kMaglevMaxTableSize == MER_MAGLEV_MAX_SIZE,
              "userspace and datapath disagree on the largest Maglev table");

namespace {

constexpr std::uint32_t kEmptySlot = std::numeric_limits<std::uint32_t>::max();

std::uint32_t LargestPrimeAtMost(std::uint32_t n) {
  for (; n >= 2; --n) {
    if (IsPrime(n)) return n;
  }
  return 0;
}

Status ValidateConfig(const MaglevConfig& config) {
  const auto invalid = [](const std::string& why) {
    return Status(Error{"invalid Maglev config: " + why});
  };
  if (config.max_table_size > kMaglevMaxTableSize) {
    return invalid("max_table_size " + std::to_string(config.max_table_size) + " exceeds " +
                   std::to_string(kMaglevMaxTableSize));
  }
  if (config.max_table_size < config.min_table_size) {
    return invalid("max_table_size " + std::to_string(config.max_table_size) +
                   " < min_table_size " + std::to_string(config.min_table_size));
  }
  if (config.max_table_size < 2) {
    return invalid("max_table_size " + std::to_string(config.max_table_size) +
                   " leaves no prime table size");
  }
  if (config.slots_per_backend == 0) return invalid("slots_per_backend is 0");
  return Status::Ok();
}

// a_taken / a_weight < b_taken / b_weight, exactly: both products are below
// 2^17 * 2^32, and floating point would let nodes with different rounding
// disagree on ties.
bool RatioLess(std::uint64_t a_taken, std::uint64_t a_weight, std::uint64_t b_taken,
               std::uint64_t b_weight) {
  return a_taken * b_weight < b_taken * a_weight;
}

// Slots each backend ends up with: largest-remainder apportionment of M by
// weight, at least one each. The fill order alone (smallest taken/weight
// first) rounds every share up until the table runs out, which can leave the
// heaviest backends below their floor when weights differ (17 of 100 random
// weight sets with N=50, M=5003).
std::vector<std::uint32_t> Apportion(const std::vector<std::uint32_t>& weights, std::uint32_t m) {
  const std::size_t n = weights.size();
  const std::uint64_t total = std::accumulate(weights.begin(), weights.end(), std::uint64_t{0});
  std::vector<std::uint32_t> quota(n);
  std::vector<std::uint64_t> remainder(n);
  std::uint64_t assigned = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t share = std::uint64_t{m} * weights[i];  // < 2^49
    quota[i] = static_cast<std::uint32_t>(share / total);
    remainder[i] = share % total;
    if (quota[i] == 0) {
      // Its ceiling is 1 already, so it takes no part in the remainder round.
      quota[i] = 1;
      remainder[i] = 0;
    }
    assigned += quota[i];
  }

  if (assigned <= m) {
    std::vector<std::uint32_t> order;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (remainder[i] > 0) order.push_back(i);
    }
    // The missing slots are at most the sum of the candidates' fractional
    // shares, each below one, so there are enough candidates.
    const std::size_t missing = m - assigned;
    assert(missing <= order.size());
    std::partial_sort(order.begin(), order.begin() + missing, order.end(),
                      [&](std::uint32_t a, std::uint32_t b) {
                        return remainder[a] != remainder[b] ? remainder[a] > remainder[b] : a < b;
                      });
    for (std::size_t k = 0; k < missing; ++k) ++quota[order[k]];
    return quota;
  }

  // The backends raised to one slot took more than the rounding slack: take
  // the excess from whoever holds the most slots per unit of weight, which
  // keeps the others' shares as proportional as the table allows.
  const auto served_less = [&](std::uint32_t a, std::uint32_t b) {
    if (RatioLess(quota[a], weights[a], quota[b], weights[b])) return true;
    if (RatioLess(quota[b], weights[b], quota[a], weights[a])) return false;
    return a < b;  // ties give up slots from the end of the canonical order
  };
  std::priority_queue<std::uint32_t, std::vector<std::uint32_t>, decltype(served_less)> donors(
      served_less);
  for (std::uint32_t i = 0; i < n; ++i) {
    if (quota[i] >= 2) donors.push(i);
  }
  for (; assigned > m; --assigned) {
    // Never empty: n <= m is checked by the caller, so one slot each fits.
    const std::uint32_t i = donors.top();
    donors.pop();
    if (--quota[i] >= 2) donors.push(i);
  }
  return quota;
}

}  // namespace

bool IsPrime(std::uint32_t n) {
  if (n < 4) return n >= 2;
  if (n % 2 == 0 || n % 3 == 0) return false;
  // 64-bit square: d * d would wrap for d near 65536.
  for (std::uint64_t d = 5; d * d <= n; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return false;
  }
  return true;
}

std::uint32_t MaglevTableSize(std::size_t backend_count, const MaglevConfig& config) {
  const std::uint32_t cap =
      LargestPrimeAtMost(std::min(config.max_table_size, kMaglevMaxTableSize));
  if (cap == 0) return 0;
  // Any count above the cap gives a wanted size above the cap (or 0 when
  // slots_per_backend is 0); saturating here keeps the product in 64 bits.
  const std::uint64_t count = std::min<std::uint64_t>(backend_count, kMaglevMaxTableSize + 1ULL);
  // Sized for the next power of two of backends: M is a function of the
  // count alone (the same on every node), yet adding or removing a backend
  // keeps M, and so Maglev's minimal disruption, unless the count crosses a
  // power of two. A size that followed every count would reshuffle ~all
  // flows on each change.
  std::uint64_t size_class = 1;
  while (size_class < count) size_class <<= 1;
  const std::uint64_t wanted =
      std::max<std::uint64_t>(config.min_table_size, config.slots_per_backend * size_class);
  if (wanted >= cap) return cap;
  // Terminates at the latest on cap, which is prime.
  auto m = static_cast<std::uint32_t>(std::max<std::uint64_t>(wanted, 2));
  while (!IsPrime(m)) ++m;
  return m;
}

Result<std::vector<std::uint32_t>> BuildMaglevTable(std::span<const MaglevBackend> backends,
                                                    const MaglevConfig& config) {
  if (Status status = ValidateConfig(config); !status.ok()) return status.error();
  if (backends.size() > std::numeric_limits<std::uint32_t>::max()) {
    return Error{"too many Maglev backends: " + std::to_string(backends.size())};
  }

  // Canonical order: by identity, so every node sees the same order whatever
  // order its sources delivered. std::string compares chars as unsigned, so
  // the order is the same on every platform.
  std::vector<std::uint32_t> canonical(backends.size());
  std::iota(canonical.begin(), canonical.end(), 0U);
  std::sort(canonical.begin(), canonical.end(), [&](std::uint32_t a, std::uint32_t b) {
    const int order = backends[a].identity.compare(backends[b].identity);
    return order != 0 ? order < 0 : a < b;  // equal ones are errors; report the first
  });
  for (std::size_t k = 0; k < canonical.size(); ++k) {
    const MaglevBackend& backend = backends[canonical[k]];
    if (backend.identity.empty()) {
      return Error{"Maglev backend at index " + std::to_string(canonical[k]) +
                   " has an empty identity"};
    }
    if (k > 0 && backend.identity == backends[canonical[k - 1]].identity) {
      return Error{"duplicate Maglev backend identity \"" + backend.identity + "\""};
    }
  }

  // Caller indices of the backends that get slots, in canonical order.
  std::vector<std::uint32_t> active;
  std::vector<std::uint32_t> weights;
  for (std::uint32_t index : canonical) {
    if (backends[index].weight > 0) {
      active.push_back(index);
      weights.push_back(backends[index].weight);
    }
  }
  if (active.empty()) return std::vector<std::uint32_t>{};

  const std::uint32_t m = MaglevTableSize(backends.size(), config);
  if (active.size() > m) {
    return Error{std::to_string(active.size()) +
                 " Maglev backends with positive weight do not fit a table of " +
                 std::to_string(m) + " slots"};
  }

  const std::vector<std::uint32_t> quota = Apportion(weights, m);

  // Each backend's preference list is the permutation offset, offset + skip,
  // ... (mod m); m prime and 1 <= skip < m make it visit every slot once.
  struct Cursor {
    std::uint32_t next;
    std::uint32_t skip;
    std::uint32_t taken;
  };
  std::vector<Cursor> cursors(active.size());
  for (std::size_t k = 0; k < active.size(); ++k) {
    const std::string& id = backends[active[k]].identity;
    const XXH128_hash_t h = XXH3_128bits_withSeed(id.data(), id.size(), kMaglevHashSeed);
    cursors[k] = Cursor{static_cast<std::uint32_t>(h.low64 % m),
                        static_cast<std::uint32_t>(h.high64 % (m - 1) + 1), 0};
  }

  // Owner by canonical active index while filling; the quotas sum to m, so
  // the fill ends exactly when the table is full.
  std::vector<std::uint32_t> table(m, kEmptySlot);
  // next + skip < 2m: a subtraction instead of a division per probe.
  const auto advance = [m](std::uint32_t x, std::uint32_t skip) {
    x += skip;
    return x >= m ? x - m : x;
  };
  const auto place = [&](std::uint32_t k) {
    Cursor& c = cursors[k];
    while (table[c.next] != kEmptySlot) c.next = advance(c.next, c.skip);
    table[c.next] = k;
    c.next = advance(c.next, c.skip);
    ++c.taken;
  };

  // Next to pick is the backend with the smallest taken/weight, then the
  // earliest in canonical order. With equal weights that is Maglev's round
  // robin, done here without the heap (the common case, and the heap was a
  // third of the build); otherwise a heap keeps each pick O(log n).
  if (std::all_of(weights.begin(), weights.end(),
                  [&](std::uint32_t w) { return w == weights[0]; })) {
    for (std::uint32_t filled = 0; filled < m;) {
      for (std::uint32_t k = 0; k < active.size(); ++k) {
        if (cursors[k].taken < quota[k]) {
          place(k);
          ++filled;
        }
      }
    }
    for (std::uint32_t& owner : table) owner = active[owner];
    return table;
  }
  const auto picks_later = [&](std::uint32_t a, std::uint32_t b) {
    if (RatioLess(cursors[b].taken, weights[b], cursors[a].taken, weights[a])) return true;
    if (RatioLess(cursors[a].taken, weights[a], cursors[b].taken, weights[b])) return false;
    return a > b;
  };
  std::priority_queue<std::uint32_t, std::vector<std::uint32_t>, decltype(picks_later)> turn(
      picks_later);
  for (std::uint32_t k = 0; k < active.size(); ++k) turn.push(k);

  while (!turn.empty()) {
    const std::uint32_t k = turn.top();
    turn.pop();
    place(k);
    if (cursors[k].taken < quota[k]) turn.push(k);
  }

  for (std::uint32_t& owner : table) owner = active[owner];
  return table;
}

}  // namespace meridian::lb
