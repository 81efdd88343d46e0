// Reads the per-CPU verdict counters and sums them over CPUs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "meridian/abi.h"

namespace meridian::datapath {

struct Counter {
  std::string name;  // as in MER_STATS, e.g. "lb_new_flow"
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

// The name of each enum mer_stat, in order.
const std::vector<std::string>& StatNames();

// One Counter per enum mer_stat value, in enum order.
Result<std::vector<Counter>> ReadStats(int stats_map_fd);

}  // namespace meridian::datapath
