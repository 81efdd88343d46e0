#include "health/service_health.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace meridian::health {

ServiceHealthTargets ComputeServiceHealthTargets(const model::ResourceSnapshot& snapshot,
                                                 const std::string& node_name) {
  // Services in key order, so a port claimed twice goes to the same one on
  // every node and every run.
  std::vector<const model::Service*> services;
  for (const auto& svc : snapshot.services) {
    if (svc.type == model::ServiceType::kLoadBalancer &&
        svc.external_traffic_policy == model::TrafficPolicy::kLocal && svc.health_check_node_port) {
      services.push_back(&svc);
    }
  }
  std::sort(services.begin(), services.end(),
            [](const auto* a, const auto* b) { return a->meta.key < b->meta.key; });
  std::map<model::ObjectKey, std::set<std::uint32_t>> local_ready;  // service -> addresses
  for (const auto& slice : snapshot.endpoint_slices) {
    for (const auto& ep : slice.endpoints) {
      if (!ep.conditions.ready || node_name.empty() || ep.node_name != node_name) continue;
      auto& addrs = local_ready[{slice.meta.key.ns, slice.service_name}];
      for (const auto& a : ep.addresses) addrs.insert(a.network_order());
    }
  }
  ServiceHealthTargets out;
  std::map<std::uint16_t, model::ObjectKey> owner;
  for (const auto* svc : services) {
    const std::uint16_t port = *svc->health_check_node_port;
    auto [it, fresh] = owner.emplace(port, svc->meta.key);
    if (!fresh) {
      out.errors.push_back(fmt::format(
          "service {}: healthCheckNodePort {} is already {}'s; not served for this Service",
          svc->meta.key.ToString(), port, it->second.ToString()));
      continue;
    }
    auto ready = local_ready.find(svc->meta.key);
    out.targets.push_back(
        {.port = port,
         .service = svc->meta.key,
         .local_endpoints =
             ready == local_ready.end() ? 0u : static_cast<std::uint32_t>(ready->second.size())});
  }
  std::sort(out.targets.begin(), out.targets.end(),
            [](const auto& a, const auto& b) { return a.port < b.port; });
  return out;
}

HealthReply ServiceHealthReply(const ServiceHealthTarget& target, bool proxy_healthy) {
  nlohmann::ordered_json body = {
      {"service", {{"namespace", target.service.ns}, {"name", target.service.name}}},
      {"localEndpoints", target.local_endpoints},
      {"serviceProxyHealthy", proxy_healthy},
  };
  HealthReply reply;
  reply.status = target.local_endpoints > 0 && proxy_healthy ? 200 : 503;
  reply.content_type = "application/json";
  reply.body = body.dump(1, '\t') + "\n";
  reply.headers = {{"X-Content-Type-Options", "nosniff"},
                   {"X-Load-Balancing-Endpoint-Weight", std::to_string(target.local_endpoints)}};
  return reply;
}

}  // namespace meridian::health
