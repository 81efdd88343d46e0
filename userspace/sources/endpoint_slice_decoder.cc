#include "sources/endpoint_slice_decoder.h"

#include <fmt/format.h>

#include <map>
#include <vector>

#include "sources/error_text.h"
#include "sources/k8s_names.h"
#include "sources/object_meta.h"

namespace meridian::sources::internal {
namespace {

using model::Protocol;

model::Endpoint DecodeEndpoint(const DocNode& n, const std::string& path, ObjectErrors& e) {
  model::Endpoint ep;
  const std::string apath = Join(path, "addresses");
  auto addresses = Get(n, "addresses");
  if (addresses && ExpectList(*addresses, apath, e)) {
    const std::vector<DocNode> elems = addresses->Elements();
    for (std::size_t j = 0; j < elems.size(); ++j) {
      auto s = AsString(elems[j], At(apath, j), e);
      if (!s) continue;
      if (auto ip = AsIpv4(*s, At(apath, j), e)) ep.addresses.push_back(*ip);
    }
  }
  if (!addresses || (addresses->IsSequence() && addresses->size() == 0)) {
    e.Add(apath, "required (at least one address)");
  }

  const std::string cpath = Join(path, "conditions");
  if (auto c = Get(n, "conditions"); c && ExpectMap(*c, cpath, e)) {
    auto flag = [&](std::string_view key, bool& out) {
      if (auto v = Get(*c, key)) {
        if (auto b = AsBool(*v, Join(cpath, key), e)) out = *b;
      }
    };
    flag("ready", ep.conditions.ready);
    flag("serving", ep.conditions.serving);
    flag("terminating", ep.conditions.terminating);
  }
  ep.hostname = StringField(n, path, "hostname", e).value_or("");
  ep.node_name = StringField(n, path, "nodeName", e).value_or("");
  ep.zone = StringField(n, path, "zone", e).value_or("");
  const std::string hpath = Join(path, "hints");
  if (auto h = Get(n, "hints"); h && ExpectMap(*h, hpath, e)) {
    const std::string zpath = Join(hpath, "forZones");
    if (auto zones = Get(*h, "forZones"); zones && ExpectList(*zones, zpath, e)) {
      const std::vector<DocNode> elems = zones->Elements();
      for (std::size_t i = 0; i < elems.size(); ++i) {
        if (!ExpectMap(elems[i], At(zpath, i), e)) continue;
        if (auto z = RequiredString(elems[i], At(zpath, i), "name", e)) ep.zone_hints.push_back(*z);
      }
    }
  }
  return ep;
}

std::vector<model::EndpointPort> DecodeEndpointPorts(const DocNode& obj, const std::string& base,
                                                     ObjectErrors& e) {
  std::vector<model::EndpointPort> out;
  const std::string path = Join(base, "ports");
  auto n = Get(obj, "ports");
  if (!n || !ExpectList(*n, path, e)) return out;
  std::map<std::string, std::size_t> names;  // unique, the empty name included
  const std::vector<DocNode> elems = n->Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    const DocNode& elem = elems[i];
    const std::string ppath = At(path, i);
    if (!ExpectMap(elem, ppath, e)) continue;
    model::EndpointPort ep;
    ep.name = StringField(elem, ppath, "name", e).value_or("");
    const std::string npath = Join(ppath, "name");
    if (!ep.name.empty() && !IsDns1123Label(ep.name)) {
      e.Add(npath, fmt::format("{} {}", Quote(ep.name), kDns1123LabelRule));
    } else if (auto [prev, fresh] = names.emplace(ep.name, i); !fresh) {
      e.Add(npath, fmt::format("{} is already used by {}", Quote(ep.name), At(path, prev->second)));
    }
    ep.protocol = ProtocolField(elem, ppath, e).value_or(Protocol::kTcp);
    if (auto p = Get(elem, "port")) {
      ep.port = AsPort(*p, Join(ppath, "port"), e).value_or(0);
    } else {
      e.Add(Join(ppath, "port"), "required");
    }
    out.push_back(std::move(ep));
  }
  return out;
}

}  // namespace

std::optional<model::EndpointSlice> DecodeEndpointSlice(const DocNode& obj, const std::string& base,
                                                        const model::SourceRef& src,
                                                        ObjectErrors& e) {
  model::EndpointSlice slice;
  slice.meta = DecodeMeta(obj, base, {"EndpointSlice", NameRule::kDns1123Subdomain}, src, e);

  const std::string lpath = KeyAt(Join(Join(base, "metadata"), "labels"), model::kServiceNameLabel);
  auto label = slice.meta.labels.find(model::kServiceNameLabel);
  if (label == slice.meta.labels.end() || label->second.empty()) {
    e.Add(lpath, "required (it names the Service this slice belongs to)");
  } else if (!IsDns1035Label(label->second)) {
    e.Add(lpath, fmt::format("{} {}", Quote(label->second), kDns1035Rule));
  } else {
    slice.service_name = label->second;
  }

  if (auto type = RequiredString(obj, base, "addressType", e); type && *type != "IPv4") {
    e.Add(Join(base, "addressType"),
          fmt::format("unsupported addressType {}; accepted: IPv4", Quote(*type)));
  }

  const std::string epath = Join(base, "endpoints");
  if (auto eps = Get(obj, "endpoints"); eps && ExpectList(*eps, epath, e)) {
    const std::vector<DocNode> elems = eps->Elements();
    for (std::size_t i = 0; i < elems.size(); ++i) {
      const DocNode& elem = elems[i];
      if (ExpectMap(elem, At(epath, i), e)) {
        slice.endpoints.push_back(DecodeEndpoint(elem, At(epath, i), e));
      }
    }
  }
  slice.ports = DecodeEndpointPorts(obj, base, e);
  if (!e.empty()) return std::nullopt;
  return slice;
}

}  // namespace meridian::sources::internal
