// Counters the agent adds to mer_stats for events the datapath cannot see
// (conntrack entries its collector deleted): kept in the pinned map with
// the datapath's own, so they survive an agent restart and every reader
// (meridianctl stats, status) finds them in one place.
#pragma once

#include <cstdint>

#include "common/result.h"
#include "meridian/abi.h"

namespace meridian::datapath {

// Adds `packets` to counter `stat`, in CPU 0's slot of the per-CPU array.
Status AddStatEvents(int stats_fd, mer_stat stat, std::uint64_t packets);

}  // namespace meridian::datapath
