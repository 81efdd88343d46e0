// EndpointSlice: the discovery.k8s.io/v1 fields Meridian acts on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/ipv4.h"
#include "model/object_ref.h"
#include "model/protocol.h"

namespace meridian::model {

// The label that ties a slice to its Service.
inline constexpr const char* kServiceNameLabel = "kubernetes.io/service-name";

struct EndpointPort {
  std::string name;  // matches ServicePort::name
  Protocol protocol = Protocol::kTcp;
  std::uint16_t port = 0;

  bool operator==(const EndpointPort&) const = default;
};

// Kubernetes semantics: an absent "ready" or "serving" means true, an absent
// "terminating" means false.
struct EndpointConditions {
  bool ready = true;
  bool serving = true;
  bool terminating = false;

  bool operator==(const EndpointConditions&) const = default;
};

struct Endpoint {
  std::vector<Ipv4Address> addresses;  // IPv4 slices only for now
  EndpointConditions conditions;
  std::string hostname;
  std::string node_name;
  std::string zone;
  std::vector<std::string> zone_hints;  // hints.forZones[].name

  bool operator==(const Endpoint&) const = default;
};

struct EndpointSlice {
  ObjectMeta meta;
  std::string service_name;  // from kServiceNameLabel
  std::vector<Endpoint> endpoints;
  std::vector<EndpointPort> ports;

  bool operator==(const EndpointSlice&) const = default;
};

}  // namespace meridian::model
