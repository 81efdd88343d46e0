// DesiredState: what one node's datapath should hold, computed from the
// model alone. Pure and deterministic: the same snapshot yields the same
// state (and the same Maglev tables) on every node.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "desired/cluster_routes.h"
#include "desired/shared_table.h"
#include "lb/maglev.h"
#include "model/ipv4.h"
#include "model/object_ref.h"
#include "model/protocol.h"
#include "model/service_import.h"
#include "model/snapshot.h"

namespace meridian::desired {

// A service frontend: what a client connects to.
struct FrontendKey {
  model::Ipv4Address vip;
  std::uint16_t port = 0;
  model::Protocol protocol = model::Protocol::kTcp;
  // The internal twin of an external frontend with externalTrafficPolicy
  // Local: what clients inside the cluster reach at the same address
  // (MER_SVC_SCOPE_INTERNAL).
  bool internal = false;

  auto operator<=>(const FrontendKey&) const = default;
  std::string ToString() const;  // "10.96.0.10:80/TCP", "192.0.2.10:80/TCP internal"
};

// A backend: where a frontend's traffic goes.
struct BackendKey {
  model::Ipv4Address address;
  std::uint16_t port = 0;
  model::Protocol protocol = model::Protocol::kTcp;

  auto operator<=>(const BackendKey&) const = default;
  std::string ToString() const;  // "10.1.1.11:8080/TCP"
};

struct Backend {
  BackendKey key;
  std::uint32_t weight = 1;  // 0: serves existing flows only (terminating)
  bool terminating = false;
  std::uint32_t cluster_id = 0;

  bool operator==(const Backend&) const = default;
};

struct Frontend {
  FrontendKey key;
  model::ObjectKey service;
  std::string port_name;
  std::vector<Backend> backends;  // sorted by key, unique
  // Slot -> index into `backends`; empty when no backend can take new flows.
  SharedTable maglev;
  // sessionAffinity ClientIP: seconds a client stays on its backend after
  // its last new flow; 0: none.
  std::uint32_t affinity_timeout_s = 0;
  // internalTrafficPolicy Local (externalTrafficPolicy Local for an
  // external frontend): with no backend on this node, packets are dropped
  // (kube-proxy's rule), not refused.
  bool drop_without_backends = false;
  // Reached from outside the cluster: a NodePort on a node address, an
  // externalIP or a LoadBalancer ingress IP. The map writer flags it
  // (MER_SVC_F_EXTERNAL) and writes no VIP marker for its address: a node
  // address serves many ports besides its NodePorts.
  bool external = false;
  // An external frontend with an internal twin (FrontendKey::internal):
  // pods and the node reach that one instead (MER_SVC_F_INTERNAL_TWIN).
  bool has_internal_twin = false;
  // Set when the backends' weights come from a propagation decision (its
  // generation); unset: every backend that takes new flows weighs 1.
  std::optional<std::int64_t> decision_generation;

  // Backends that may receive new connections.
  std::size_t active_backends() const;
  // Its address is a VIP, which gets a marker (the datapath refuses the
  // ports a VIP does not serve): neither external (a node address serves
  // many ports besides its NodePorts) nor an internal twin.
  bool marks_vip() const { return !external && !key.internal; }
  bool operator==(const Frontend&) const = default;
};

struct DesiredState {
  std::map<FrontendKey, Frontend> frontends;
  std::map<model::Cidr, TunnelRoute> remote_cidrs;
  std::map<model::Ipv4Address, std::uint32_t> tunnel_peers;
  // Local endpoints of exported services, as the tunnel delivers to them
  // (pod address, target port): the only destinations a tunnelled packet
  // may reach, besides replies to flows this node started.
  std::set<BackendKey> exported_endpoints;

  // The addresses of the frontends that mark their VIP (marks_vip).
  std::set<model::Ipv4Address> Vips() const;
  bool operator==(const DesiredState&) const = default;
};

struct DesiredOptions {
  lb::MaglevConfig maglev;
  std::string local_cluster;  // the Cluster this node belongs to; empty: single cluster
  // This node's underlay address: tells a gateway node from the others.
  std::optional<model::Ipv4Address> node_ip;
  // This node's name (endpoints' nodeName, for internalTrafficPolicy
  // Local) and zone (its Node's topology.kubernetes.io/zone, for topology
  // hints); empty: unknown, and what needs it is not done.
  std::string node_name;
  std::string node_zone;
  // This node's addresses that serve NodePorts (the ones kube-proxy's
  // --nodeport-addresses selects); empty: no NodePort frontends.
  std::vector<model::Ipv4Address> nodeport_addresses;
  // kube-proxy's --nodeport-range: nodePorts outside it are not served.
  std::uint16_t nodeport_min = 30000;
  std::uint16_t nodeport_max = 32767;
  // The previous result, if any: a frontend whose backends did not change
  // reuses its Maglev table instead of recomputing it (the table is a pure
  // function of the backends and the config), which keeps a reconcile of
  // thousands of services cheap when one of them changes.
  const struct DesiredState* previous = nullptr;
};

// A global Service (model::Service::global, from the
// service.meridian.io/global annotation) makes its ClusterIP (and so
// <svc>.<ns>.svc.cluster.local) reach the endpoints of every cluster that
// exports the same namespace/name; its global_affinity picks which.

// Builds the desired state. Endpoints that are neither ready nor serving
// are left out; serving-but-terminating endpoints stay as weight-0 backends
// so that their established flows finish, and take new flows (weight 1)
// only when no endpoint of the frontend is ready. Errors only for impossible Maglev
// inputs (e.g. more backends than the largest table).
//
// External frontends (Frontend::external): a NodePort or LoadBalancer
// Service with a ClusterIP gets one for each nodePort within the options'
// range on each of options.nodeport_addresses; every Service with a
// ClusterIP one per externalIP and Service port; a LoadBalancer Service
// one per ingress IP and Service port. Their backends follow
// externalTrafficPolicy: Cluster, every endpoint (the terminating rules
// above apply; internalTrafficPolicy and topology hints do not); Local,
// the endpoints on options.node_name only, and with none the frontend
// drops; for clients inside the cluster each such frontend gets an
// internal twin (FrontendKey::internal) over every endpoint, as
// kube-proxy sends in-cluster traffic through the Service's cluster-wide
// chain. Every ClusterIP and ClusterSet VIP frontend comes first: a key
// one of them holds stays theirs (an externalIP must not take over a
// VIP), as does the first of two external frontends with the same key.
//
// `imports` (the MCS merge of the registry's exports) add one frontend per
// port of every ClusterSetIP import with an allocated IP, balanced over the
// ready endpoints of every exporting cluster, and feed global Services.
// An import's propagation decision weights both (after a global Service's
// affinity has chosen the clusters): each cluster's share of new flows is
// its share of the decision's replicas (propagation::DecisionWeights).
Result<DesiredState> BuildDesiredState(const model::ResourceSnapshot& snapshot,
                                       const std::vector<model::ServiceImport>& imports,
                                       const DesiredOptions& options);
inline Result<DesiredState> BuildDesiredState(const model::ResourceSnapshot& snapshot,
                                              const DesiredOptions& options) {
  return BuildDesiredState(snapshot, {}, options);
}
// Single-cluster shorthand.
inline Result<DesiredState> BuildDesiredState(const model::ResourceSnapshot& snapshot,
                                              const lb::MaglevConfig& maglev) {
  return BuildDesiredState(snapshot, DesiredOptions{.maglev = maglev});
}

}  // namespace meridian::desired
