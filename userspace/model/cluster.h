// Cluster: one member of the ClusterSet, as the datapath needs it: its id
// (the VXLAN VNI of traffic it sends), its pod CIDRs, and where to send
// tunnelled traffic for them. Until the registry exists this comes from a
// `kind: Cluster` manifest (apiVersion meridian.io/v1alpha1).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "model/cidr.h"
#include "model/ipv4.h"
#include "model/object_ref.h"

namespace meridian::model {

// A node that terminates the tunnel for the pod CIDRs it hosts.
struct TunnelEndpoint {
  Ipv4Address address;  // the node's underlay address
  std::vector<Cidr> pod_cidrs;

  bool operator==(const TunnelEndpoint&) const = default;
};

inline constexpr std::uint32_t kMaxClusterId = (1u << 24) - 1;  // a VNI is 24 bits

struct Cluster {
  ObjectMeta meta;       // meta.key.name is the cluster name; no namespace
  std::uint32_t id = 0;  // 1..kMaxClusterId, unique in the ClusterSet
  std::vector<Cidr> pod_cidrs;
  // Exactly one of the two: per-node endpoints, or one gateway that
  // decapsulates for the whole cluster (Submariner-style).
  std::vector<TunnelEndpoint> tunnel_endpoints;
  std::optional<Ipv4Address> gateway;

  bool operator==(const Cluster&) const = default;
};

}  // namespace meridian::model
