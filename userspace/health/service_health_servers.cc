#include "health/service_health_servers.h"

#include <fmt/format.h>

#include <set>

namespace meridian::health {

std::vector<std::string> ServiceHealthServers::Sync(
    const std::vector<ServiceHealthTarget>& targets) {
  std::vector<std::string> errors;
  std::set<std::uint16_t> wanted;
  for (const auto& t : targets) wanted.insert(t.port);
  for (auto it = ports_.begin(); it != ports_.end();) {
    it = wanted.count(it->first) ? std::next(it) : ports_.erase(it);
  }
  for (const auto& t : targets) {
    auto found = ports_.find(t.port);
    if (found != ports_.end()) {
      *found->second.target = t;
      continue;
    }
    Port port{.target = std::make_shared<ServiceHealthTarget>(t), .servers = {}};
    std::string failed;
    for (const auto& address : addresses_) {
      auto server = HealthServer::Start(
          io_, address, t.port,
          [target = port.target, healthy = proxy_healthy_](const std::string&) {
            return ServiceHealthReply(*target, healthy ? healthy() : true);
          },
          HealthServer::Paths::kAny);
      if (!server.ok()) {
        failed = server.error().message;
        break;
      }
      port.servers.push_back(std::move(server).value());
    }
    if (!failed.empty()) {
      errors.push_back(fmt::format("service {}: healthCheckNodePort {}: {}", t.service.ToString(),
                                   t.port, failed));
      continue;  // the servers opened so far close here; the next Sync retries
    }
    ports_.emplace(t.port, std::move(port));
  }
  return errors;
}

}  // namespace meridian::health
