// Small builders for MCS tests.
#pragma once

#include <string>

#include "model/cluster.h"
#include "model/exported_service.h"

namespace meridian::mcs::test_support {

inline model::Ipv4Address Ip(const char* text) { return *model::Ipv4Address::Parse(text); }
inline model::Cidr Net(const char* text) { return *model::Cidr::Parse(text); }

inline model::ExportedService Export(const std::string& cluster, const std::string& name,
                                     std::int64_t created_ms,
                                     std::vector<model::ExportedPort> ports = {
                                         {"http", model::Protocol::kTcp, 80}}) {
  model::ExportedService e{.cluster = cluster, .service = {"shop", name}};
  e.ports = std::move(ports);
  e.export_creation_ms = created_ms;
  return e;
}

inline model::Cluster Cluster(const std::string& name, std::uint32_t id, const char* cidr,
                              const char* node) {
  model::Cluster c;
  c.meta.key.name = name;
  c.id = id;
  c.pod_cidrs = {Net(cidr)};
  c.tunnel_endpoints = {{Ip(node), {Net(cidr)}}};
  return c;
}

}  // namespace meridian::mcs::test_support
