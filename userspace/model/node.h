// Node: what the agent takes from its own Node object -- the addresses
// kube-proxy would use for NodePorts and the topology labels that
// zone-aware routing reads.
#pragma once

#include <optional>
#include <string>

#include "model/ipv4.h"
#include "model/object_ref.h"

namespace meridian::model {

inline constexpr char kZoneLabel[] = "topology.kubernetes.io/zone";
inline constexpr char kRegionLabel[] = "topology.kubernetes.io/region";

struct Node {
  ObjectMeta meta;  // cluster-scoped: meta.key.ns is empty
  // The first IPv4 address of each type in status.addresses (IPv6 ones,
  // on dual-stack nodes, are skipped).
  std::optional<Ipv4Address> internal_ip;
  std::optional<Ipv4Address> external_ip;
  std::string zone;    // topology.kubernetes.io/zone, or empty
  std::string region;  // topology.kubernetes.io/region, or empty

  bool operator==(const Node&) const = default;
};

}  // namespace meridian::model
