#include "sources/service_decoder.h"

#include <fmt/format.h>

#include <map>
#include <utility>
#include <vector>

#include "sources/error_text.h"
#include "sources/k8s_names.h"
#include "sources/object_meta.h"

namespace meridian::sources::internal {
namespace {

using model::Protocol;

model::ServiceType DecodeServiceType(const DocNode& spec, const std::string& base,
                                     ObjectErrors& e) {
  auto t = StringField(spec, base, "type", e);
  if (!t || t->empty() || *t == "ClusterIP") return model::ServiceType::kClusterIP;
  if (*t == "NodePort") return model::ServiceType::kNodePort;
  if (*t == "LoadBalancer") return model::ServiceType::kLoadBalancer;
  if (*t == "ExternalName") return model::ServiceType::kExternalName;
  e.Add(Join(base, "type"),
        fmt::format("unsupported type {}; accepted: ClusterIP, NodePort, LoadBalancer, "
                    "ExternalName",
                    Quote(*t)));
  return model::ServiceType::kClusterIP;
}

const char* TypeName(model::ServiceType t) {
  switch (t) {
    case model::ServiceType::kNodePort:
      return "NodePort";
    case model::ServiceType::kLoadBalancer:
      return "LoadBalancer";
    case model::ServiceType::kExternalName:
      return "ExternalName";
    default:
      return "ClusterIP";
  }
}

bool HasNodePorts(model::ServiceType t) {
  return t == model::ServiceType::kNodePort || t == model::ServiceType::kLoadBalancer;
}

model::SessionAffinity DecodeSessionAffinity(const DocNode& spec, const std::string& base,
                                             ObjectErrors& e) {
  auto a = StringField(spec, base, "sessionAffinity", e);
  if (!a || a->empty() || *a == "None") return model::SessionAffinity::kNone;
  if (*a == "ClientIP") return model::SessionAffinity::kClientIP;
  e.Add(Join(base, "sessionAffinity"),
        fmt::format("unsupported value {}; accepted: None, ClientIP", Quote(*a)));
  return model::SessionAffinity::kNone;
}

// spec.sessionAffinityConfig.clientIP.timeoutSeconds, as the API server
// validates it: 1-86400 with ClientIP (default 10800), absent with None.
std::uint32_t DecodeAffinityTimeout(const DocNode& spec, const std::string& base,
                                    model::SessionAffinity affinity, ObjectErrors& e) {
  const std::string path = Join(base, "sessionAffinityConfig");
  auto config = Get(spec, "sessionAffinityConfig");
  if (affinity == model::SessionAffinity::kNone) {
    if (config) e.Add(path, "must not be set when sessionAffinity is None");
    return 0;
  }
  if (!config || !ExpectMap(*config, path, e)) return model::kDefaultAffinityTimeoutS;
  const std::string cpath = Join(path, "clientIP");
  auto client = Get(*config, "clientIP");
  if (!client || !ExpectMap(*client, cpath, e)) return model::kDefaultAffinityTimeoutS;
  auto t = Get(*client, "timeoutSeconds");
  if (!t) return model::kDefaultAffinityTimeoutS;
  const std::string tpath = Join(cpath, "timeoutSeconds");
  auto v = AsInt(*t, tpath, e);
  if (!v) return model::kDefaultAffinityTimeoutS;
  if (*v < 1 || *v > model::kMaxAffinityTimeoutS) {
    e.Add(tpath, fmt::format("{} is out of range 1-{}", *v, model::kMaxAffinityTimeoutS));
    return model::kDefaultAffinityTimeoutS;
  }
  return static_cast<std::uint32_t>(*v);
}

model::TrafficPolicy DecodeInternalTrafficPolicy(const DocNode& spec, const std::string& base,
                                                 ObjectErrors& e) {
  auto p = StringField(spec, base, "internalTrafficPolicy", e);
  if (!p || p->empty() || *p == "Cluster") return model::TrafficPolicy::kCluster;
  if (*p == "Local") return model::TrafficPolicy::kLocal;
  e.Add(Join(base, "internalTrafficPolicy"),
        fmt::format("unsupported value {}; accepted: Cluster, Local", Quote(*p)));
  return model::TrafficPolicy::kCluster;
}

// "Global" is the name the beta annotation (service.beta.kubernetes.io/
// external-traffic) gave Cluster; it still means Cluster.
model::TrafficPolicy DecodeExternalTrafficPolicy(const DocNode& spec, const std::string& base,
                                                 ObjectErrors& e) {
  auto p = StringField(spec, base, "externalTrafficPolicy", e);
  if (!p || p->empty() || *p == "Cluster" || *p == "Global") return model::TrafficPolicy::kCluster;
  if (*p == "Local") return model::TrafficPolicy::kLocal;
  e.Add(Join(base, "externalTrafficPolicy"),
        fmt::format("unsupported value {}; accepted: Cluster (or its old name Global), Local",
                    Quote(*p)));
  return model::TrafficPolicy::kCluster;
}

// spec.healthCheckNodePort, where the API server allows it.
std::optional<std::uint16_t> DecodeHealthCheckNodePort(const DocNode& spec, const std::string& base,
                                                       const model::Service& svc, ObjectErrors& e) {
  auto n = Get(spec, "healthCheckNodePort");
  if (!n) return std::nullopt;
  const std::string path = Join(base, "healthCheckNodePort");
  if (svc.type != model::ServiceType::kLoadBalancer ||
      svc.external_traffic_policy != model::TrafficPolicy::kLocal) {
    e.Add(path, "may only be set when type is LoadBalancer and externalTrafficPolicy is Local");
    return std::nullopt;
  }
  return AsPort(*n, path, e);
}

// spec.externalIPs. Like the API server, this refuses the addresses that
// can never reach a node from outside (unspecified, loopback, link-local):
// a frontend on 127.0.0.1 would capture the node's own traffic.
std::vector<model::Ipv4Address> DecodeExternalIps(const DocNode& spec, const std::string& base,
                                                  ObjectErrors& e) {
  std::vector<model::Ipv4Address> out;
  const std::string path = Join(base, "externalIPs");
  auto n = Get(spec, "externalIPs");
  if (!n || !ExpectList(*n, path, e)) return out;
  const std::vector<DocNode> elems = n->Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    const std::string ipath = At(path, i);
    auto text = AsString(elems[i], ipath, e);
    if (!text) continue;
    auto ip = AsIpv4SkippingIpv6(*text, ipath, e);
    if (!ip) continue;
    const std::uint32_t a = ip->host_order();
    const char* special =
        a == 0                 ? "may not be unspecified (0.0.0.0)"
        : (a >> 24) == 127     ? "may not be in the loopback range (127.0.0.0/8)"
        : (a >> 16) == 0xa9fe  ? "may not be in the link-local range (169.254.0.0/16)"
        : (a >> 8) == 0xe00000 ? "may not be in the link-local multicast range (224.0.0.0/24)"
                               : nullptr;
    if (special) {
      e.Add(ipath, fmt::format("{} {}", Quote(*text), special));
      continue;
    }
    out.push_back(*ip);
  }
  return out;
}

// status.loadBalancer.ingress[].ip, as kube-proxy takes them: entries with
// only a hostname (a cloud load balancer known by name) have nothing to
// serve, and ipMode Proxy ones send to the NodePorts, not to the IP.
std::vector<model::Ipv4Address> DecodeLoadBalancerIps(const DocNode& obj, const std::string& base,
                                                      ObjectErrors& e) {
  std::vector<model::Ipv4Address> out;
  const std::string spath = Join(base, "status");
  auto status = Get(obj, "status");
  if (!status || !ExpectMap(*status, spath, e)) return out;
  const std::string lpath = Join(spath, "loadBalancer");
  auto lb = Get(*status, "loadBalancer");
  if (!lb || !ExpectMap(*lb, lpath, e)) return out;
  const std::string path = Join(lpath, "ingress");
  auto ingress = Get(*lb, "ingress");
  if (!ingress || !ExpectList(*ingress, path, e)) return out;
  const std::vector<DocNode> elems = ingress->Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    const std::string ipath = At(path, i);
    if (!ExpectMap(elems[i], ipath, e)) continue;
    auto text = StringField(elems[i], ipath, "ip", e);
    auto mode = StringField(elems[i], ipath, "ipMode", e);
    if (mode && !mode->empty() && *mode != "VIP" && *mode != "Proxy") {
      e.Add(Join(ipath, "ipMode"),
            fmt::format("unsupported value {}; accepted: VIP, Proxy", Quote(*mode)));
      continue;
    }
    if (!text || text->empty()) continue;  // hostname only
    auto ip = AsIpv4SkippingIpv6(*text, Join(ipath, "ip"), e);
    if (ip && mode != "Proxy") out.push_back(*ip);
  }
  return out;
}

// spec.trafficDistribution, or the older topology-mode annotation (and
// its predecessor), as kube-proxy reads them. Annotation values other
// than Auto leave hints off, as in kube-proxy.
bool DecodePreferClose(const DocNode& spec, const std::string& base, const model::Service& svc,
                       ObjectErrors& e) {
  if (auto d = StringField(spec, base, "trafficDistribution", e); d && !d->empty()) {
    if (*d == "PreferClose" || *d == "PreferSameZone") return true;
    e.Add(Join(base, "trafficDistribution"),
          fmt::format("unsupported value {}; accepted: PreferClose, PreferSameZone", Quote(*d)));
    return false;
  }
  for (const char* key : {model::kTopologyModeAnnotation, model::kTopologyHintsAnnotation}) {
    auto it = svc.meta.annotations.find(key);
    if (it != svc.meta.annotations.end()) return it->second == "Auto" || it->second == "auto";
  }
  return false;
}

// spec.clusterIPs is what dual-stack clusters write; its first element must
// agree with spec.clusterIP. Later elements (an IPv6 family) are ignored.
void CheckClusterIps(const DocNode& spec, const std::string& base, const std::string& ip,
                     ObjectErrors& e) {
  auto n = Get(spec, "clusterIPs");
  const std::string path = Join(base, "clusterIPs");
  if (!n || !ExpectList(*n, path, e)) return;
  if (n->size() == 0) {
    e.Add(path, fmt::format("must start with {} {}", Join(base, "clusterIP"), Quote(ip)));
    return;
  }
  auto first = AsString(n->Elements().front(), At(path, 0), e);
  if (first && *first != ip) {
    e.Add(At(path, 0), fmt::format("{} does not match {} {}", Quote(*first),
                                   Join(base, "clusterIP"), Quote(ip)));
  }
}

// nullopt for headless and ExternalName Services, and after an error.
std::optional<model::Ipv4Address> DecodeClusterIp(const DocNode& spec, const std::string& base,
                                                  model::ServiceType type, ObjectErrors& e) {
  const std::string path = Join(base, "clusterIP");
  std::string ip;
  if (auto n = Get(spec, "clusterIP")) {
    auto s = AsString(*n, path, e);
    if (!s) return std::nullopt;
    ip = *s;
  }
  if (type == model::ServiceType::kExternalName) {
    if (!ip.empty() && ip != "None") {
      e.Add(path, fmt::format("{}: must be empty or \"None\" for type ExternalName", Quote(ip)));
    }
    return std::nullopt;
  }
  if (ip.empty()) {
    e.Add(path, "required (the agent does not allocate ClusterIPs)");
    return std::nullopt;
  }
  CheckClusterIps(spec, base, ip, e);
  if (ip == "None") return std::nullopt;
  return AsIpv4(ip, path, e);
}

// targetPort: a number, or a name resolved through the EndpointSlice ports.
void DecodeTargetPort(const DocNode& port, const std::string& base, model::ServicePort& out,
                      ObjectErrors& e) {
  auto n = Get(port, "targetPort");
  if (!n) return;
  const std::string path = Join(base, "targetPort");
  if (!n->IsScalar()) {
    e.Add(path, fmt::format("expected an integer or a port name, got {}", Describe(*n)));
  } else if (n->IsPlain() && ParseInteger(n->Scalar())) {
    out.target_port_number = AsPort(*n, path, e);
  } else if (IsIanaSvcName(n->Scalar())) {
    out.target_port_name = n->Scalar();
  } else {
    e.Add(path, fmt::format("{} {}", Quote(n->Scalar()), kIanaSvcNameRule));
  }
}

// spec.ports[].nodePort: for NodePort and LoadBalancer Services only, as
// the API server validates it; one port and protocol per Service.
void DecodeNodePort(const DocNode& port, const std::string& base, model::ServiceType type,
                    model::ServicePort& out, ObjectErrors& e) {
  auto n = Get(port, "nodePort");
  if (!n) return;
  const std::string path = Join(base, "nodePort");
  if (!HasNodePorts(type)) {
    e.Add(path, fmt::format("may not be used when type is {}", TypeName(type)));
    return;
  }
  out.node_port = AsPort(*n, path, e);
}

std::vector<model::ServicePort> DecodeServicePorts(const DocNode& spec, const std::string& base,
                                                   model::ServiceType type, bool required,
                                                   ObjectErrors& e) {
  std::vector<model::ServicePort> out;
  const std::string path = Join(base, "ports");
  auto n = Get(spec, "ports");
  if (n && !ExpectList(*n, path, e)) return out;
  if (!n || n->size() == 0) {
    if (required) e.Add(path, "required (a Service with a ClusterIP needs at least one port)");
    return out;
  }
  const std::size_t count = n->size();
  std::map<std::string, std::size_t> names;
  std::map<std::pair<std::uint16_t, Protocol>, std::size_t> frontends;
  std::map<std::pair<std::uint16_t, Protocol>, std::size_t> node_ports;
  const std::vector<DocNode> elems = n->Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    const DocNode& elem = elems[i];
    const std::string ppath = At(path, i);
    if (!ExpectMap(elem, ppath, e)) continue;
    model::ServicePort sp;

    sp.name = StringField(elem, ppath, "name", e).value_or("");
    const std::string npath = Join(ppath, "name");
    if (sp.name.empty()) {
      if (count > 1) e.Add(npath, "required when the Service has more than one port");
    } else if (!IsDns1123Label(sp.name)) {
      e.Add(npath, fmt::format("{} {}", Quote(sp.name), kDns1123LabelRule));
    } else if (auto [prev, fresh] = names.emplace(sp.name, i); !fresh) {
      e.Add(npath, fmt::format("{} is already used by {}", Quote(sp.name), At(path, prev->second)));
    }

    auto protocol = ProtocolField(elem, ppath, e);
    std::optional<std::uint16_t> port;
    if (auto p = Get(elem, "port")) {
      port = AsPort(*p, Join(ppath, "port"), e);
    } else {
      e.Add(Join(ppath, "port"), "required");
    }
    DecodeTargetPort(elem, ppath, sp, e);
    DecodeNodePort(elem, ppath, type, sp, e);

    if (port && protocol) {
      sp.port = *port;
      sp.protocol = *protocol;
      if (auto [prev, fresh] = frontends.emplace(std::pair(*port, *protocol), i); !fresh) {
        e.Add(ppath, fmt::format("{}/{} is already used by {}", *port, model::ToString(*protocol),
                                 At(path, prev->second)));
      }
      if (sp.node_port) {
        if (auto [prev, fresh] = node_ports.emplace(std::pair(*sp.node_port, *protocol), i);
            !fresh) {
          e.Add(Join(ppath, "nodePort"),
                fmt::format("{}/{} is already used by {}", *sp.node_port,
                            model::ToString(*protocol), At(path, prev->second)));
        }
      }
    }
    out.push_back(std::move(sp));
  }
  return out;
}

// The service.meridian.io/* annotations into typed fields. A key or value
// we do not know is an error naming it: a typo must not silently turn a
// global Service into a local one.
void DecodeMeridianAnnotations(const std::string& base, model::Service& svc, ObjectErrors& e) {
  const std::string path = Join(Join(base, "metadata"), "annotations");
  for (const auto& [key, value] : svc.meta.annotations) {
    if (key.rfind(model::kAnnotationPrefix, 0) != 0) continue;
    const std::string field = KeyAt(path, key);
    if (key == model::kGlobalAnnotation) {
      if (value == "true" || value == "false") {
        svc.global = value == "true";
      } else {
        e.Add(field,
              fmt::format("unsupported value {}; accepted: \"true\", \"false\"", Quote(value)));
      }
    } else if (key == model::kAffinityAnnotation) {
      if (value == "local") {
        svc.global_affinity = model::GlobalAffinity::kLocal;
      } else if (value == "remote") {
        svc.global_affinity = model::GlobalAffinity::kRemote;
      } else if (value == "none") {
        svc.global_affinity = model::GlobalAffinity::kNone;
      } else {
        e.Add(field,
              fmt::format("unsupported value {}; accepted: local, remote, none", Quote(value)));
      }
    } else {
      e.Add(field, fmt::format("unknown annotation; accepted: {}, {}", model::kGlobalAnnotation,
                               model::kAffinityAnnotation));
    }
  }
}

}  // namespace

std::optional<model::Service> DecodeService(const DocNode& obj, const std::string& base,
                                            const model::SourceRef& src, ObjectErrors& e) {
  model::Service svc;
  svc.meta = DecodeMeta(obj, base, {"Service", NameRule::kDns1035Label}, src, e);
  DecodeMeridianAnnotations(base, svc, e);
  const std::string path = Join(base, "spec");
  auto spec = RequiredMap(obj, base, "spec", e);
  if (!spec) return std::nullopt;
  svc.type = DecodeServiceType(*spec, path, e);
  svc.cluster_ip = DecodeClusterIp(*spec, path, svc.type, e);
  svc.session_affinity = DecodeSessionAffinity(*spec, path, e);
  svc.session_affinity_timeout_s = DecodeAffinityTimeout(*spec, path, svc.session_affinity, e);
  svc.internal_traffic_policy = DecodeInternalTrafficPolicy(*spec, path, e);
  svc.prefer_close = DecodePreferClose(*spec, path, svc, e);
  // Headless and ExternalName Services may have no ports; with a VIP,
  // a Service without ports could never receive traffic.
  svc.ports = DecodeServicePorts(*spec, path, svc.type, svc.cluster_ip.has_value(), e);
  svc.external_ips = DecodeExternalIps(*spec, path, e);
  svc.external_traffic_policy = DecodeExternalTrafficPolicy(*spec, path, e);
  svc.health_check_node_port = DecodeHealthCheckNodePort(*spec, path, svc, e);
  svc.load_balancer_ips = DecodeLoadBalancerIps(obj, base, e);
  if (!e.empty()) return std::nullopt;
  return svc;
}

}  // namespace meridian::sources::internal
