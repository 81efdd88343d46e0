// ClusterRoutes: how this node reaches the other clusters of the ClusterSet
// and whom it accepts tunnelled traffic from, derived from the Cluster
// objects and the name of the local cluster.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/result.h"
#include "model/cidr.h"
#include "model/ipv4.h"
#include "model/snapshot.h"

namespace meridian::desired {

struct TunnelRoute {
  model::Ipv4Address tunnel_ip;  // remote node, or the remote cluster's gateway
  std::uint32_t cluster_id = 0;

  bool operator==(const TunnelRoute&) const = default;
};

struct ClusterRoutes {
  const model::Cluster* local = nullptr;  // null without --cluster
  bool gateway = false;  // this node is its cluster's gateway (relays for the others)
  std::map<model::Cidr, TunnelRoute> remote_cidrs;    // other clusters' pod CIDRs
  std::map<model::Ipv4Address, std::uint32_t> peers;  // tunnel endpoint -> cluster id
};

// Fails when `local_cluster` is set but no Cluster has that name. With no
// local cluster, there are no routes (single-cluster mode).
//
// When the local cluster publishes a gateway, only the gateway node (the
// one whose `node_ip` it is) tunnels: it gets the routes and peers, plus
// the local pod CIDRs marked with tunnel IP 0 (the source check of relayed
// traffic). Its other nodes get neither: they route remote pod CIDRs to the
// gateway (a route the CNI sets; the lab does with --gateway).
Result<ClusterRoutes> BuildClusterRoutes(const model::ResourceSnapshot& snapshot,
                                         const std::string& local_cluster,
                                         std::optional<model::Ipv4Address> node_ip = {});

}  // namespace meridian::desired
