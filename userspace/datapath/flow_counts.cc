#include "datapath/flow_counts.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "meridian/abi.h"

namespace meridian::datapath {
namespace {

// The keys first, then the work: deleting while walking with
// get_next_key would restart the walk.
Result<std::vector<mer_flow_key>> Keys(int fd) {
  std::vector<mer_flow_key> keys;
  mer_flow_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return Error{fmt::format("walk mer_flows: {}", std::strerror(errno))};
  return keys;
}

}  // namespace

Result<std::vector<FlowCount>> ReadFlowCounts(int fd) {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return Error{fmt::format("count possible CPUs: {}", std::strerror(-cpus))};
  auto keys = Keys(fd);
  if (!keys.ok()) return keys.error();
  std::vector<mer_flow_count> per_cpu(static_cast<std::size_t>(cpus));
  std::vector<FlowCount> out;
  out.reserve(keys->size());
  for (const auto& k : *keys) {
    if (bpf_map_lookup_elem(fd, &k, per_cpu.data()) != 0) {
      if (errno == ENOENT) continue;  // deleted since the walk
      return Error{fmt::format("read mer_flows: {}", std::strerror(errno))};
    }
    FlowCount c{k.service_id, k.backend_id, 0};
    for (const auto& v : per_cpu) c.flows += v.flows;
    out.push_back(c);
  }
  return out;
}

Result<std::size_t> PruneFlowCounts(int fd,
                                    const std::function<bool(std::uint32_t, std::uint32_t)>& keep) {
  auto keys = Keys(fd);
  if (!keys.ok()) return keys.error();
  std::size_t deleted = 0;
  for (const auto& k : *keys) {
    if (keep(k.service_id, k.backend_id)) continue;
    if (bpf_map_delete_elem(fd, &k) == 0) {
      ++deleted;
    } else if (errno != ENOENT) {
      return Error{fmt::format("delete from mer_flows: {}", std::strerror(errno))};
    }
  }
  return deleted;
}

}  // namespace meridian::datapath
