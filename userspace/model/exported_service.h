// ExportedService: what one cluster publishes to the ClusterSet for one
// exported Service (registry key /meridian/v1/clusters/<cluster>/exports/<ns>/<svc>):
// the Service's MCS-relevant spec and its endpoints.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/endpoint_slice.h"
#include "model/ipv4.h"
#include "model/object_ref.h"
#include "model/protocol.h"
#include "model/service.h"

namespace meridian::model {

enum class ImportType : std::uint8_t { kClusterSetIP, kHeadless };
inline const char* ToString(ImportType t) {
  return t == ImportType::kHeadless ? "Headless" : "ClusterSetIP";
}

// A Service port as the ClusterSet sees it (no target port: endpoints
// carry their own ports, as in an EndpointSlice).
struct ExportedPort {
  std::string name;
  Protocol protocol = Protocol::kTcp;
  std::uint16_t port = 0;

  auto operator<=>(const ExportedPort&) const = default;
};

struct ExportedEndpoint {
  Ipv4Address address;
  std::string hostname;
  std::string node;
  std::string zone;
  EndpointConditions conditions;
  std::vector<EndpointPort> ports;  // matched to ExportedPort by name and protocol

  bool operator==(const ExportedEndpoint&) const = default;
};

struct ExportedService {
  std::string cluster;  // the exporting cluster's name
  ObjectKey service;
  ImportType type = ImportType::kClusterSetIP;
  std::vector<ExportedPort> ports;
  SessionAffinity session_affinity = SessionAffinity::kNone;
  std::int64_t export_creation_ms = 0;  // the ServiceExport's creation time
  std::vector<ExportedEndpoint> endpoints;
  std::map<std::string, std::string> annotations;  // service.meridian.io/* only

  bool operator==(const ExportedService&) const = default;
};

}  // namespace meridian::model
