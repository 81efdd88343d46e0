#include "datapath/tunnel_counts.h"

#include "datapath/percpu_hash.h"
#include "meridian/abi.h"

namespace meridian::datapath {

Result<std::vector<TunnelCount>> ReadTunnelCounts(int fd) {
  auto entries = ReadPerCpuHash<mer_tunnel_stat_key, mer_stat_value>(
      fd, "mer_tunnel_stats", [](mer_stat_value& sum, const mer_stat_value& v) {
        sum.packets += v.packets;
        sum.bytes += v.bytes;
      });
  if (!entries.ok()) return entries.error();
  std::vector<TunnelCount> out;
  out.reserve(entries->size());
  for (const auto& [k, v] : *entries) {
    out.push_back({k.cluster_id, k.dir == MER_TUNNEL_RX, v.packets, v.bytes});
  }
  return out;
}

}  // namespace meridian::datapath
