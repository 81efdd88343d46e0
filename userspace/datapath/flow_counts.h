// mer_flows: new flows per (frontend, backend), summed over CPUs, and the
// pruning of pairs that left the desired state (the map is not an LRU: a
// pair nobody deletes holds its entry).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/result.h"

namespace meridian::datapath {

struct FlowCount {
  std::uint32_t service_id = 0;  // mer_service.id
  std::uint32_t backend_id = 0;
  std::uint64_t flows = 0;
};

// Every pair, in the map's order.
Result<std::vector<FlowCount>> ReadFlowCounts(int flows_map_fd);

// Deletes the pairs `keep` refuses; returns how many were deleted.
Result<std::size_t> PruneFlowCounts(
    int flows_map_fd,
    const std::function<bool(std::uint32_t service_id, std::uint32_t backend_id)>& keep);

}  // namespace meridian::datapath
