// The per-(frontend, backend) counters, summed over CPUs: mer_flows (new
// flows) and mer_traffic (packets and bytes by direction), and the pruning
// of pairs that left the desired state (neither map is an LRU: a pair
// nobody deletes holds its entry).
#pragma once

#include <array>
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

// Every pair of mer_flows, in the map's order.
Result<std::vector<FlowCount>> ReadFlowCounts(int flows_map_fd);

struct PairTraffic {
  std::uint32_t service_id = 0;  // mer_service.id
  std::uint32_t backend_id = 0;
  // By enum mer_ct_dir: [MER_CT_FORWARD] client -> backend,
  // [MER_CT_REPLY] backend -> client.
  std::array<std::uint64_t, 2> packets{};
  std::array<std::uint64_t, 2> bytes{};
};

// Every pair of mer_traffic, in the map's order.
Result<std::vector<PairTraffic>> ReadPairTraffic(int traffic_map_fd);

using KeepPair = std::function<bool(std::uint32_t service_id, std::uint32_t backend_id)>;

// Deletes the pairs `keep` refuses from mer_flows or mer_traffic (both
// keyed by mer_flow_key; `name` is for errors); returns how many were
// deleted.
Result<std::size_t> PrunePairs(int fd, const char* name, const KeepPair& keep);

}  // namespace meridian::datapath
