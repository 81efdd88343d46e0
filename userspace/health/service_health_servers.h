// ServiceHealthServers: the listeners of the service health checks
// (health/service_health.h), one HTTP server per healthCheckNodePort and
// node address. Sync makes them match the wanted targets with work in
// proportion to the change: a port that stays keeps its sockets and its
// connections, and only its answer changes.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/io_context.hpp>
// clang-format on
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "health/health_server.h"
#include "health/service_health.h"

namespace meridian::health {

class ServiceHealthServers {
 public:
  // `addresses`: where to listen (the node's NodePort addresses, as
  // kube-proxy binds its health check ports); `proxy_healthy`: whether the
  // agent's maps are programmed (serviceProxyHealthy), asked per request.
  ServiceHealthServers(boost::asio::io_context& io, std::vector<std::string> addresses,
                       std::function<bool()> proxy_healthy)
      : io_(io), addresses_(std::move(addresses)), proxy_healthy_(std::move(proxy_healthy)) {}

  // Opens the ports of new targets on every address, closes those no
  // longer wanted, updates the others in place. A port that cannot be
  // opened (in use by another process, say) is reported and tried again
  // by the next Sync. Call on the io_context's thread.
  std::vector<std::string> Sync(const std::vector<ServiceHealthTarget>& targets);

  // The node's NodePort addresses changed: every port is closed and the
  // next Sync opens it on the new addresses.
  void SetAddresses(std::vector<std::string> addresses) {
    if (addresses == addresses_) return;
    addresses_ = std::move(addresses);
    ports_.clear();
  }

  std::size_t ports() const { return ports_.size(); }

 private:
  struct Port {
    std::shared_ptr<ServiceHealthTarget> target;  // read by the handler
    std::vector<std::unique_ptr<HealthServer>> servers;
  };

  boost::asio::io_context& io_;
  std::vector<std::string> addresses_;
  std::function<bool()> proxy_healthy_;
  std::map<std::uint16_t, Port> ports_;
};

}  // namespace meridian::health
