#include "mcs/records.h"

#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>

#include <algorithm>
#include <set>

#include "common/utf8.h"
#include "meridian/v1/registry.pb.h"

namespace meridian::mcs {
namespace {

namespace pb = ::meridian::v1;
using google::protobuf::Message;
using google::protobuf::UnknownFieldSet;

// Unknown fields whose number IS known to our schema mean the bytes were
// written as another message type (e.g. an import record stored under an
// info key): protobuf parses such bytes "successfully" and moves the
// mismatched fields aside. Fields with numbers we do not know are tolerated,
// so that a newer writer can add fields.
Status CheckWireTypes(const Message& m, const std::string& path) {
  const auto& unknown = m.GetReflection()->GetUnknownFields(m);
  for (int i = 0; i < unknown.field_count(); ++i) {
    int number = unknown.field(i).number();
    if (const auto* f = m.GetDescriptor()->FindFieldByNumber(number)) {
      return Error{fmt::format("{}: field {} ({}) has the wrong wire type: not a {}", path, number,
                               f->name(), m.GetDescriptor()->full_name())};
    }
  }
  const auto* d = m.GetDescriptor();
  {
    for (int i = 0; i < d->field_count(); ++i) {
      const auto* field = d->field(i);
      if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
      if (field->is_map()) continue;
      const auto* r = m.GetReflection();
      if (field->is_repeated()) {
        for (int j = 0; j < r->FieldSize(m, field); ++j) {
          if (auto s = CheckWireTypes(r->GetRepeatedMessage(m, field, j),
                                      fmt::format("{}.{}[{}]", path, field->name(), j));
              !s) {
            return s;
          }
        }
      } else if (r->HasField(m, field)) {
        if (auto s = CheckWireTypes(r->GetMessage(m, field), path + "." + field->name()); !s)
          return s;
      }
    }
  }
  return Status::Ok();
}

Status Parse(const std::string& bytes, Message& m) {
  if (bytes.size() > kMaxRecordBytes) {
    return Error{
        fmt::format("oversize record: {} bytes (limit {})", bytes.size(), kMaxRecordBytes)};
  }
  if (!m.ParseFromString(bytes)) {
    return Error{fmt::format("not a {}: the bytes do not parse as Protobuf",
                             m.GetDescriptor()->full_name())};
  }
  return CheckWireTypes(m, m.GetDescriptor()->name());
}

Result<model::Protocol> DecodeProtocol(pb::Protocol p, const std::string& path) {
  if (p == pb::PROTOCOL_TCP) return model::Protocol::kTcp;
  if (p == pb::PROTOCOL_UDP) return model::Protocol::kUdp;
  if (p == pb::PROTOCOL_SCTP) return model::Protocol::kSctp;
  return Error{fmt::format("{}: unsupported protocol {}", path, static_cast<int>(p))};
}

pb::Protocol EncodeProtocol(model::Protocol p) {
  switch (p) {
    case model::Protocol::kUdp:
      return pb::PROTOCOL_UDP;
    case model::Protocol::kSctp:
      return pb::PROTOCOL_SCTP;
    case model::Protocol::kTcp:
      break;
  }
  return pb::PROTOCOL_TCP;
}

Result<std::uint16_t> DecodePort(std::uint32_t port, const std::string& path) {
  if (port == 0 || port > 65535) return Error{fmt::format("{}: port {} out of range", path, port)};
  return static_cast<std::uint16_t>(port);
}

Result<model::Ipv4Address> DecodeIp(const std::string& text, const std::string& path) {
  auto ip = model::Ipv4Address::Parse(text);
  if (!ip) return Error{fmt::format("{}: '{}' is not an IPv4 address", path, text)};
  return *ip;
}

Result<model::Cidr> DecodeCidr(const std::string& text, const std::string& path) {
  auto c = model::Cidr::Parse(text);
  if (!c) return Error{fmt::format("{}: '{}' is not an IPv4 CIDR with zero host bits", path, text)};
  return *c;
}

}  // namespace

std::string EncodeClusterInfo(const model::Cluster& cluster, std::int64_t heartbeat_ms) {
  pb::ClusterInfo m;
  m.set_id(cluster.id);
  m.set_name(cluster.meta.key.name);
  for (const auto& [k, v] : cluster.meta.labels) (*m.mutable_labels())[k] = v;
  for (const auto& c : cluster.pod_cidrs) m.add_pod_cidrs(c.ToString());
  if (cluster.gateway) m.set_gateway(cluster.gateway->ToString());
  for (const auto& ep : cluster.tunnel_endpoints) {
    auto* t = m.add_tunnel_endpoints();
    t->set_address(ep.address.ToString());
    for (const auto& c : ep.pod_cidrs) t->add_pod_cidrs(c.ToString());
  }
  m.set_heartbeat_unix_ms(heartbeat_ms);
  return m.SerializeAsString();
}

Result<model::Cluster> DecodeClusterInfo(const std::string& cluster, const std::string& bytes) {
  pb::ClusterInfo m;
  if (auto s = Parse(bytes, m); !s) return s.error();
  model::Cluster out;
  if (m.name() != cluster) {
    return Error{fmt::format("ClusterInfo.name '{}' does not match the key's cluster '{}'",
                             m.name(), cluster)};
  }
  out.meta.key.name = cluster;
  for (const auto& [k, v] : m.labels()) out.meta.labels[k] = v;
  if (m.id() == 0 || m.id() > model::kMaxClusterId) {
    return Error{fmt::format("ClusterInfo.id {} out of range 1..{}", m.id(), model::kMaxClusterId)};
  }
  out.id = m.id();
  if (m.pod_cidrs().empty()) return Error{"ClusterInfo.pod_cidrs: required"};
  for (int i = 0; i < m.pod_cidrs_size(); ++i) {
    auto c = DecodeCidr(m.pod_cidrs(i), fmt::format("ClusterInfo.pod_cidrs[{}]", i));
    if (!c) return c.error();
    out.pod_cidrs.push_back(*c);
  }
  if (!m.gateway().empty()) {
    auto gw = DecodeIp(m.gateway(), "ClusterInfo.gateway");
    if (!gw) return gw.error();
    out.gateway = *gw;
  }
  for (int i = 0; i < m.tunnel_endpoints_size(); ++i) {
    const auto& t = m.tunnel_endpoints(i);
    const std::string path = fmt::format("ClusterInfo.tunnel_endpoints[{}]", i);
    auto addr = DecodeIp(t.address(), path + ".address");
    if (!addr) return addr.error();
    model::TunnelEndpoint ep{.address = *addr, .pod_cidrs = {}};
    for (int j = 0; j < t.pod_cidrs_size(); ++j) {
      auto c = DecodeCidr(t.pod_cidrs(j), fmt::format("{}.pod_cidrs[{}]", path, j));
      if (!c) return c.error();
      ep.pod_cidrs.push_back(*c);
    }
    out.tunnel_endpoints.push_back(std::move(ep));
  }
  if (out.gateway.has_value() == !out.tunnel_endpoints.empty()) {
    return Error{"ClusterInfo: exactly one of gateway and tunnel_endpoints must be set"};
  }
  return out;
}

std::string EncodeExportedService(const model::ExportedService& e) {
  pb::ExportedService m;
  m.set_namespace_(e.service.ns);
  m.set_name(e.service.name);
  m.set_type(e.type == model::ImportType::kHeadless ? pb::ExportedService::HEADLESS
                                                    : pb::ExportedService::CLUSTER_SET_IP);
  for (const auto& p : e.ports) {
    auto* port = m.add_ports();
    port->set_name(p.name);
    port->set_protocol(EncodeProtocol(p.protocol));
    port->set_port(p.port);
  }
  m.set_session_affinity(model::ToString(e.session_affinity));
  m.set_export_creation_unix_ms(e.export_creation_ms);
  for (const auto& ep : e.endpoints) {
    auto* out = m.add_endpoints();
    out->set_address(ep.address.ToString());
    out->set_hostname(ep.hostname);
    out->set_node(ep.node);
    out->set_zone(ep.zone);
    out->set_ready(ep.conditions.ready);
    out->set_serving(ep.conditions.serving);
    out->set_terminating(ep.conditions.terminating);
    for (const auto& p : ep.ports) {
      auto* port = out->add_ports();
      port->set_name(p.name);
      port->set_protocol(EncodeProtocol(p.protocol));
      port->set_port(p.port);
    }
  }
  for (const auto& [k, v] : e.annotations) (*m.mutable_annotations())[k] = v;
  return m.SerializeAsString();
}

Result<model::ExportedService> DecodeExportedService(const std::string& cluster,
                                                     const model::ObjectKey& service,
                                                     const std::string& bytes) {
  pb::ExportedService m;
  if (auto s = Parse(bytes, m); !s) return s.error();
  if (m.namespace_() != service.ns || m.name() != service.name) {
    return Error{fmt::format("ExportedService is {}/{} but the key names {}", m.namespace_(),
                             m.name(), service.ToString())};
  }
  model::ExportedService out{.cluster = cluster, .service = service};
  switch (m.type()) {
    case pb::ExportedService::CLUSTER_SET_IP:
      out.type = model::ImportType::kClusterSetIP;
      break;
    case pb::ExportedService::HEADLESS:
      out.type = model::ImportType::kHeadless;
      break;
    default:
      return Error{fmt::format("ExportedService.type {} is not CLUSTER_SET_IP or HEADLESS",
                               static_cast<int>(m.type()))};
  }
  std::set<std::string> names;
  for (int i = 0; i < m.ports_size(); ++i) {
    const std::string path = fmt::format("ExportedService.ports[{}]", i);
    auto proto = DecodeProtocol(m.ports(i).protocol(), path);
    if (!proto) return proto.error();
    auto port = DecodePort(m.ports(i).port(), path);
    if (!port) return port.error();
    if (!names.insert(m.ports(i).name()).second) {
      return Error{fmt::format("{}: duplicate port name '{}'", path, m.ports(i).name())};
    }
    out.ports.push_back({m.ports(i).name(), *proto, *port});
  }
  if (m.session_affinity() == "ClientIP") {
    out.session_affinity = model::SessionAffinity::kClientIP;
  } else if (m.session_affinity() != "None" && !m.session_affinity().empty()) {
    return Error{fmt::format("ExportedService.session_affinity '{}' is not None or ClientIP",
                             m.session_affinity())};
  }
  out.export_creation_ms = m.export_creation_unix_ms();
  for (int i = 0; i < m.endpoints_size(); ++i) {
    const auto& in = m.endpoints(i);
    const std::string path = fmt::format("ExportedService.endpoints[{}]", i);
    auto addr = DecodeIp(in.address(), path + ".address");
    if (!addr) return addr.error();
    model::ExportedEndpoint ep{.address = *addr,
                               .hostname = in.hostname(),
                               .node = in.node(),
                               .zone = in.zone(),
                               .conditions = {in.ready(), in.serving(), in.terminating()},
                               .ports = {}};
    for (int j = 0; j < in.ports_size(); ++j) {
      const std::string ppath = fmt::format("{}.ports[{}]", path, j);
      auto proto = DecodeProtocol(in.ports(j).protocol(), ppath);
      if (!proto) return proto.error();
      auto port = DecodePort(in.ports(j).port(), ppath);
      if (!port) return port.error();
      ep.ports.push_back({in.ports(j).name(), *proto, *port});
    }
    out.endpoints.push_back(std::move(ep));
  }
  for (const auto& [k, v] : m.annotations()) out.annotations[k] = v;
  return out;
}

std::string EncodeImportRecord(const model::ObjectKey& service, model::Ipv4Address ip) {
  pb::ServiceImportRecord m;
  m.set_namespace_(service.ns);
  m.set_name(service.name);
  m.set_clusterset_ip(ip.ToString());
  return m.SerializeAsString();
}

Result<model::Ipv4Address> DecodeImportRecord(const model::ObjectKey& service,
                                              const std::string& bytes) {
  pb::ServiceImportRecord m;
  if (auto s = Parse(bytes, m); !s) return s.error();
  if (m.namespace_() != service.ns || m.name() != service.name) {
    return Error{fmt::format("ServiceImportRecord is {}/{} but the key names {}", m.namespace_(),
                             m.name(), service.ToString())};
  }
  return DecodeIp(m.clusterset_ip(), "ServiceImportRecord.clusterset_ip");
}

namespace {

// RFC 1123 label: what Kubernetes and Karmada accept as a cluster name.
bool IsClusterName(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace

std::string EncodeDecision(const model::PropagationDecision& decision) {
  pb::PropagationDecision m;
  m.set_namespace_(decision.service.ns);
  m.set_name(decision.service.name);
  for (const auto& [cluster, replicas] : decision.replicas_per_cluster)
    (*m.mutable_replicas_per_cluster())[cluster] = replicas;
  m.set_generation(decision.generation);
  m.set_affinity_name(decision.affinity_name);
  m.set_workload(decision.workload);
  return m.SerializeAsString();
}

Result<model::PropagationDecision> DecodeDecision(const model::ObjectKey& service,
                                                  const std::string& bytes) {
  pb::PropagationDecision m;
  if (auto s = Parse(bytes, m); !s) return s.error();
  if (m.namespace_() != service.ns || m.name() != service.name) {
    return Error{fmt::format("PropagationDecision is {}/{} but the key names {}",
                             EscapeInvalidUtf8(m.namespace_()), EscapeInvalidUtf8(m.name()),
                             service.ToString())};
  }
  model::PropagationDecision out{.service = service,
                                 .generation = m.generation(),
                                 .affinity_name = m.affinity_name(),
                                 .workload = EscapeInvalidUtf8(m.workload())};
  for (const auto& [cluster, replicas] : m.replicas_per_cluster()) {
    if (!IsClusterName(cluster)) {
      return Error{fmt::format(
          "PropagationDecision.replicas_per_cluster: '{}' is not a cluster name (an RFC 1123 "
          "label)",
          EscapeInvalidUtf8(cluster))};
    }
    out.replicas_per_cluster[cluster] = replicas;
  }
  return out;
}

}  // namespace meridian::mcs
