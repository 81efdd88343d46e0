// Service: the Kubernetes core/v1 Service fields Meridian acts on.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/ipv4.h"
#include "model/object_ref.h"
#include "model/protocol.h"

namespace meridian::model {

struct ServicePort {
  std::string name;  // may be empty when the Service has a single port
  Protocol protocol = Protocol::kTcp;
  std::uint16_t port = 0;
  // spec.ports[].targetPort: a number, or a name resolved through the
  // EndpointSlice ports. Neither set means "same as port".
  std::optional<std::uint16_t> target_port_number;
  std::string target_port_name;
  // spec.ports[].nodePort (NodePort and LoadBalancer Services): the port
  // this Service answers on at every node address kube-proxy's
  // --nodeport-addresses selects. Absent: none, e.g. a LoadBalancer with
  // allocateLoadBalancerNodePorts: false (the agent allocates none).
  std::optional<std::uint16_t> node_port;

  bool operator==(const ServicePort&) const = default;
};

enum class ServiceType : std::uint8_t { kClusterIP, kNodePort, kLoadBalancer, kExternalName };

// spec.sessionAffinity. ClientIP is honoured by the datapath (mer_affinity)
// and merged by MCS.
enum class SessionAffinity : std::uint8_t { kNone, kClientIP };
inline constexpr std::uint32_t kDefaultAffinityTimeoutS = 10800;  // Kubernetes' default
inline constexpr std::uint32_t kMaxAffinityTimeoutS = 86400;      // its validation's limit
inline const char* ToString(SessionAffinity a) {
  return a == SessionAffinity::kClientIP ? "ClientIP" : "None";
}

// Meridian's own Service annotations (docs/manifests.md), decoded into
// these fields by the one decoder every source uses; the annotation text
// is not read anywhere else.
inline constexpr char kAnnotationPrefix[] = "service.meridian.io/";
inline constexpr char kGlobalAnnotation[] = "service.meridian.io/global";
inline constexpr char kAffinityAnnotation[] = "service.meridian.io/affinity";

// Which backends a global Service uses: its own cluster's while it has any
// (local), the other clusters' while they have any (remote), or all (none).
enum class GlobalAffinity : std::uint8_t { kLocal, kRemote, kNone };
inline const char* ToString(GlobalAffinity a) {
  switch (a) {
    case GlobalAffinity::kRemote:
      return "remote";
    case GlobalAffinity::kNone:
      return "none";
    default:
      return "local";
  }
}

// spec.internalTrafficPolicy: Local sends a node's pods only to endpoints
// on the same node (none there: dropped, as kube-proxy does).
// spec.externalTrafficPolicy, the same for traffic that enters the node
// from outside (NodePorts, LoadBalancer ingress IPs, externalIPs): Local
// keeps the client's address, as nothing is forwarded to another node.
enum class TrafficPolicy : std::uint8_t { kCluster, kLocal };

// Topology-aware routing (KEP-2433/KEP-4444): spec.trafficDistribution
// PreferClose (or PreferSameZone, its newer name) or the annotation
// service.kubernetes.io/topology-mode: Auto lets a node use only the
// endpoints whose hints name its zone, under kube-proxy's conditions.
inline constexpr char kTopologyModeAnnotation[] = "service.kubernetes.io/topology-mode";
inline constexpr char kTopologyHintsAnnotation[] = "service.kubernetes.io/topology-aware-hints";

struct Service {
  ObjectMeta meta;
  // service.meridian.io/global: "true": the ClusterIP also reaches the
  // other clusters' exports of this namespace/name.
  bool global = false;
  // service.meridian.io/affinity (meaningful with global only).
  GlobalAffinity global_affinity = GlobalAffinity::kLocal;
  ServiceType type = ServiceType::kClusterIP;
  // nullopt for a headless Service (spec.clusterIP: None): no VIP.
  std::optional<Ipv4Address> cluster_ip;
  std::vector<ServicePort> ports;
  SessionAffinity session_affinity = SessionAffinity::kNone;
  // spec.sessionAffinityConfig.clientIP.timeoutSeconds, with ClientIP:
  // 1-86400, Kubernetes' default 10800 (3 h); 0 without affinity.
  std::uint32_t session_affinity_timeout_s = 0;
  TrafficPolicy internal_traffic_policy = TrafficPolicy::kCluster;
  bool prefer_close = false;  // topology hints apply (see above)
  // spec.externalIPs: addresses routed to the nodes by something outside
  // Kubernetes; every node serves the Service's ports on them, whatever
  // the type (but ExternalName). IPv4 only: IPv6 entries are left out.
  std::vector<Ipv4Address> external_ips;
  // status.loadBalancer.ingress[].ip, as the load-balancer controller
  // published them (ingress entries with only a hostname, IPv6 ones, and
  // ipMode Proxy ones, whose load balancer sends to the NodePorts, are
  // left out). Served for type LoadBalancer only.
  std::vector<Ipv4Address> load_balancer_ips;
  // spec.externalTrafficPolicy: which endpoints external traffic reaches
  // (see TrafficPolicy). internalTrafficPolicy and topology hints are for
  // traffic from the cluster's own pods; they do not apply to it.
  TrafficPolicy external_traffic_policy = TrafficPolicy::kCluster;
  // spec.healthCheckNodePort (LoadBalancer with externalTrafficPolicy
  // Local): where the load balancer asks a node whether it has local
  // endpoints. Decoded but not served yet.
  std::optional<std::uint16_t> health_check_node_port;

  bool operator==(const Service&) const = default;
};

}  // namespace meridian::model
