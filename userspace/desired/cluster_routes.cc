#include "desired/cluster_routes.h"

#include <fmt/format.h>

namespace meridian::desired {

Result<ClusterRoutes> BuildClusterRoutes(const model::ResourceSnapshot& snapshot,
                                         const std::string& local_cluster,
                                         std::optional<model::Ipv4Address> node_ip) {
  ClusterRoutes routes;
  if (local_cluster.empty()) return routes;
  for (const auto& c : snapshot.clusters) {
    if (c.meta.key.name == local_cluster) routes.local = &c;
  }
  if (!routes.local) {
    return Error{fmt::format("local cluster \"{}\" has no Cluster manifest", local_cluster)};
  }
  if (routes.local->gateway) {
    routes.gateway = node_ip && *node_ip == *routes.local->gateway;
    if (!routes.gateway) return routes;  // everything goes through the gateway
    for (const auto& cidr : routes.local->pod_cidrs) {
      routes.remote_cidrs[cidr] = {model::Ipv4Address(), routes.local->id};
    }
  }
  for (const auto& c : snapshot.clusters) {
    if (&c == routes.local) continue;
    if (c.gateway) {
      // Everything for the cluster goes to its gateway, which forwards
      // inside its own cluster.
      routes.peers[*c.gateway] = c.id;
      for (const auto& cidr : c.pod_cidrs) routes.remote_cidrs[cidr] = {*c.gateway, c.id};
      continue;
    }
    for (const auto& ep : c.tunnel_endpoints) {
      routes.peers[ep.address] = c.id;
      for (const auto& cidr : ep.pod_cidrs) routes.remote_cidrs[cidr] = {ep.address, c.id};
    }
  }
  return routes;
}

}  // namespace meridian::desired
