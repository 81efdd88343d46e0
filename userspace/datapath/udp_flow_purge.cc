#include "datapath/udp_flow_purge.h"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "datapath/map_iter.h"
#include "datapath/map_writer.h"
#include "meridian/abi.h"

namespace meridian::datapath {

std::set<ServiceBackend> RemovedUdpEndpoints(const desired::DesiredState& before,
                                             const desired::DesiredState& after,
                                             const MapWriter& writer) {
  return RemovedEndpoints(before, after, writer, [](const desired::Frontend& fe) {
    return fe.key.protocol == model::Protocol::kUdp;
  });
}

std::set<ServiceBackend> RemovedEndpoints(
    const desired::DesiredState& before, const desired::DesiredState& after,
    const MapWriter& writer, const std::function<bool(const desired::Frontend&)>& which) {
  std::set<ServiceBackend> out;
  for (const auto& [key, fe] : before.frontends) {
    if (!which(fe)) continue;
    auto now = after.frontends.find(key);
    if (now == after.frontends.end()) continue;
    const std::uint32_t service_id = writer.service_id(key);
    if (service_id == 0) continue;
    for (const auto& be : fe.backends) {
      const auto& kept = now->second.backends;
      if (std::any_of(kept.begin(), kept.end(), [&](const auto& b) { return b.key == be.key; })) {
        continue;
      }
      if (std::uint32_t id = writer.backend_id(be.key); id != 0) out.emplace(service_id, id);
    }
  }
  return out;
}

Result<std::size_t> PurgeUdpFlows(int ct_fd, const std::set<ServiceBackend>& flows) {
  std::size_t deleted = 0;
  if (flows.empty()) return deleted;
  for (const mer_ct_key& key : MapKeys<mer_ct_key>(ct_fd)) {
    if (key.proto != IPPROTO_UDP) continue;
    mer_ct_entry entry{};
    if (bpf_map_lookup_elem(ct_fd, &key, &entry) != 0) continue;  // gone meanwhile
    if (entry.flags & MER_CT_F_TUNNEL_FLOW) continue;
    if (!flows.count({entry.service_id, entry.backend_id})) continue;
    if (bpf_map_delete_elem(ct_fd, &key) == 0) {
      ++deleted;
    } else if (errno != ENOENT) {
      return Error{
          fmt::format("mer_ct: delete a UDP flow of a removed endpoint: {}", std::strerror(errno))};
    }
  }
  return deleted;
}

}  // namespace meridian::datapath
