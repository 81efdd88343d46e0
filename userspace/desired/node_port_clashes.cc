#include "desired/node_port_clashes.h"

#include <fmt/format.h>

#include <map>
#include <utility>

namespace meridian::desired {

std::vector<std::string> NodePortClashes(const std::vector<model::Service>& services) {
  std::map<std::pair<std::uint16_t, model::Protocol>, const model::Service*> owner;
  std::vector<std::string> out;
  for (const auto& svc : services) {
    if (!svc.cluster_ip) continue;  // headless: no frontends, no NodePorts
    if (svc.type != model::ServiceType::kNodePort &&
        svc.type != model::ServiceType::kLoadBalancer) {
      continue;
    }
    for (std::size_t i = 0; i < svc.ports.size(); ++i) {
      const auto& sp = svc.ports[i];
      if (!sp.node_port) continue;
      auto [it, fresh] = owner.emplace(std::pair(*sp.node_port, sp.protocol), &svc);
      if (fresh || it->second == &svc) continue;  // within one Service the decoder checks
      out.push_back(fmt::format(
          "Service {}: spec.ports[{}].nodePort: {}/{} is already allocated to Service {}; not "
          "served for {}",
          svc.meta.key.ToString(), i, *sp.node_port, model::ToString(sp.protocol),
          it->second->meta.key.ToString(), svc.meta.key.ToString()));
    }
  }
  return out;
}

}  // namespace meridian::desired
