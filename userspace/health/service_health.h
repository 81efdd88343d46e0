// Service health checks (spec.healthCheckNodePort), kube-proxy's contract:
// a LoadBalancer Service with externalTrafficPolicy: Local gets a port on
// every node where a load balancer asks "do you have endpoints of this
// Service?". The node answers 200 when it has ready local endpoints and its
// proxy is healthy, 503 otherwise, so the load balancer sends only to nodes
// that will not drop the traffic. This file is the pure part: which ports
// to serve, with which counts, and the reply in kube-proxy's shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "health/health_server.h"
#include "model/object_ref.h"
#include "model/snapshot.h"

namespace meridian::health {

struct ServiceHealthTarget {
  std::uint16_t port = 0;  // the healthCheckNodePort
  model::ObjectKey service;
  std::uint32_t local_endpoints = 0;  // ready endpoints on this node

  bool operator==(const ServiceHealthTarget&) const = default;
};

struct ServiceHealthTargets {
  std::vector<ServiceHealthTarget> targets;  // sorted by port, one per port
  std::vector<std::string> errors;           // e.g. two Services claiming one port
};

// Every LoadBalancer Service with externalTrafficPolicy: Local and a
// healthCheckNodePort, with its ready endpoints whose nodeName is
// `node_name` (distinct addresses across its EndpointSlices, as kube-proxy
// counts them). A port claimed twice stays with the Service that sorts
// first (namespace/name) and the other is reported.
ServiceHealthTargets ComputeServiceHealthTargets(const model::ResourceSnapshot& snapshot,
                                                 const std::string& node_name);

// kube-proxy's answer (pkg/proxy/healthcheck): JSON
// {"service":{"namespace","name"},"localEndpoints":N,"serviceProxyHealthy":B},
// headers X-Content-Type-Options: nosniff and
// X-Load-Balancing-Endpoint-Weight: N; 200 when N > 0 and the proxy is
// healthy, else 503.
HealthReply ServiceHealthReply(const ServiceHealthTarget& target, bool proxy_healthy);

}  // namespace meridian::health
