#include "datapath/tunnel_counts.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "meridian/abi.h"

namespace meridian::datapath {

Result<std::vector<TunnelCount>> ReadTunnelCounts(int fd) {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return Error{fmt::format("count possible CPUs: {}", std::strerror(-cpus))};
  // The keys first: at most two per peer cluster.
  std::vector<mer_tunnel_stat_key> keys;
  mer_tunnel_stat_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return Error{fmt::format("walk mer_tunnel_stats: {}", std::strerror(errno))};
  std::vector<mer_stat_value> per_cpu(static_cast<std::size_t>(cpus));
  std::vector<TunnelCount> out;
  for (const auto& k : keys) {
    if (bpf_map_lookup_elem(fd, &k, per_cpu.data()) != 0) {
      if (errno == ENOENT) continue;
      return Error{fmt::format("read mer_tunnel_stats: {}", std::strerror(errno))};
    }
    TunnelCount c{k.cluster_id, k.dir == MER_TUNNEL_RX, 0, 0};
    for (const auto& v : per_cpu) {
      c.packets += v.packets;
      c.bytes += v.bytes;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace meridian::datapath
