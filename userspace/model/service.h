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

  bool operator==(const ServicePort&) const = default;
};

enum class ServiceType : std::uint8_t { kClusterIP, kNodePort, kLoadBalancer, kExternalName };

// spec.sessionAffinity. Recorded and exported (MCS merges it); the datapath
// does not honour ClientIP yet.
enum class SessionAffinity : std::uint8_t { kNone, kClientIP };
inline const char* ToString(SessionAffinity a) {
  return a == SessionAffinity::kClientIP ? "ClientIP" : "None";
}

struct Service {
  ObjectMeta meta;
  ServiceType type = ServiceType::kClusterIP;
  // nullopt for a headless Service (spec.clusterIP: None): no VIP.
  std::optional<Ipv4Address> cluster_ip;
  std::vector<ServicePort> ports;
  SessionAffinity session_affinity = SessionAffinity::kNone;

  bool operator==(const Service&) const = default;
};

}  // namespace meridian::model
