#include "datapath/flow_counts.h"

#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "datapath/map_iter.h"
#include "datapath/percpu_hash.h"
#include "meridian/abi.h"

namespace meridian::datapath {

Result<std::vector<FlowCount>> ReadFlowCounts(int fd) {
  auto entries = ReadPerCpuHash<mer_flow_key, mer_flow_count>(
      fd, "mer_flows", [](mer_flow_count& sum, const mer_flow_count& v) { sum.flows += v.flows; });
  if (!entries.ok()) return entries.error();
  std::vector<FlowCount> out;
  out.reserve(entries->size());
  for (const auto& [k, v] : *entries) out.push_back({k.service_id, k.backend_id, v.flows});
  return out;
}

Result<std::vector<PairTraffic>> ReadPairTraffic(int fd) {
  auto entries = ReadPerCpuHash<mer_flow_key, mer_traffic>(
      fd, "mer_traffic", [](mer_traffic& sum, const mer_traffic& v) {
        for (int dir : {MER_CT_FORWARD, MER_CT_REPLY}) {
          sum.packets[dir] += v.packets[dir];
          sum.bytes[dir] += v.bytes[dir];
        }
      });
  if (!entries.ok()) return entries.error();
  std::vector<PairTraffic> out;
  out.reserve(entries->size());
  for (const auto& [k, v] : *entries) {
    out.push_back({.service_id = k.service_id,
                   .backend_id = k.backend_id,
                   .packets = {v.packets[0], v.packets[1]},
                   .bytes = {v.bytes[0], v.bytes[1]}});
  }
  return out;
}

Result<std::size_t> PrunePairs(int fd, const char* name, const KeepPair& keep) {
  // The keys first, then the deletes (map_iter.h).
  std::vector<mer_flow_key> keys;
  if (int err = CollectMapKeys(fd, keys); err != 0) {
    return Error{fmt::format("walk {}: {}", name, std::strerror(err))};
  }
  std::size_t deleted = 0;
  for (const auto& k : keys) {
    if (keep(k.service_id, k.backend_id)) continue;
    if (bpf_map_delete_elem(fd, &k) == 0) {
      ++deleted;
    } else if (errno != ENOENT) {
      return Error{fmt::format("delete from {}: {}", name, std::strerror(errno))};
    }
  }
  return deleted;
}

}  // namespace meridian::datapath
