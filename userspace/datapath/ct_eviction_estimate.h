// How many conntrack entries the LRU evicted. The kernel does not count
// an LRU map's evictions, so the agent works them out at each collection:
// every entry the datapath added (ct_entries_added) is still there, or was
// deleted by the agent (the collector, the UDP purge), or was evicted.
//
//   evicted = added - deleted by the agent - growth of the table
//
// The table's size comes from the collector's walk, which runs while
// packets add entries, so one round's figure can be off by the entries
// added during the walk; the error is carried (signed) into the next
// round instead of being counted, so it cancels out and the total never
// counts a phantom eviction twice.
#pragma once

#include <cstdint>
#include <optional>

namespace meridian::datapath {

class CtEvictionEstimate {
 public:
  // One collection: `added_total` is the datapath's ct_entries_added as
  // read now, `deleted` the entries the agent deleted since the last call,
  // `entries` the table's size after this collection. Returns the
  // evictions newly attributed (0 on the first call: it sets the baseline).
  std::uint64_t Update(std::uint64_t added_total, std::uint64_t deleted, std::uint64_t entries);

  std::uint64_t evicted() const { return evicted_; }

 private:
  struct Baseline {
    std::uint64_t added_total;
    std::uint64_t entries;
  };
  std::optional<Baseline> last_;
  std::int64_t carried_ = 0;  // unexplained entries not yet counted
  std::uint64_t evicted_ = 0;
};

}  // namespace meridian::datapath
