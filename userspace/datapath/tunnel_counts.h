// mer_tunnel_stats: packets and bytes through the tunnel per peer cluster
// and direction, summed over CPUs.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"

namespace meridian::datapath {

struct TunnelCount {
  std::uint32_t cluster_id = 0;
  bool rx = false;  // received from the cluster (decapsulated); else sent to it
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

// Every (cluster, direction) that carried a packet, in the map's order.
Result<std::vector<TunnelCount>> ReadTunnelCounts(int tunnel_stats_map_fd);

}  // namespace meridian::datapath
