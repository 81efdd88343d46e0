#include "sources/cluster_decoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "sources/error_text.h"
#include "sources/object_meta.h"

namespace meridian::sources::internal {
namespace {

// A CIDR that decoded, with the path it came from, for later checks.
struct PathCidr {
  std::string path;
  model::Cidr cidr;
};

// A required, non-empty list of CIDRs at `base`.`key`. Returns the elements
// that decoded; `complete` tells whether all of them did.
std::vector<PathCidr> CidrList(const DocNode& map, const std::string& base, std::string_view key,
                               bool& complete, ObjectErrors& e) {
  std::vector<PathCidr> out;
  complete = false;
  const std::string path = Join(base, key);
  auto n = Get(map, key);
  if (n && !ExpectList(*n, path, e)) return out;
  if (!n || n->size() == 0) {
    e.Add(path, "required (at least one IPv4 CIDR)");
    return out;
  }
  complete = true;
  const std::vector<DocNode> elems = n->Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    const DocNode& elem = elems[i];
    const std::string item = At(path, i);
    std::optional<model::Cidr> cidr;
    if (auto text = AsString(elem, item, e)) cidr = AsCidr(*text, item, e);
    if (cidr) {
      out.push_back({item, *cidr});
    } else {
      complete = false;
    }
  }
  return out;
}

// Reports `c` when it overlaps a CIDR of `seen`; otherwise adds it there.
void CheckDisjoint(const PathCidr& c, std::vector<PathCidr>& seen, ObjectErrors& e) {
  for (const PathCidr& s : seen) {
    if (s.cidr.Overlaps(c.cidr)) {
      e.Add(c.path,
            fmt::format("{} overlaps {} at {}", c.cidr.ToString(), s.cidr.ToString(), s.path));
      return;
    }
  }
  seen.push_back(c);
}

// spec.id: the VXLAN VNI of the cluster's traffic, so 24 bits and not 0.
std::optional<std::uint32_t> DecodeId(const DocNode& spec, const std::string& base,
                                      ObjectErrors& e) {
  const std::string path = Join(base, "id");
  auto n = Get(spec, "id");
  if (!n) {
    e.Add(path, "required");
    return std::nullopt;
  }
  auto v = AsInt(*n, path, e);
  if (!v) return std::nullopt;
  if (*v < 1 || *v > model::kMaxClusterId) {
    e.Add(path, fmt::format("{} is out of range 1-{} (it is the cluster's 24-bit VXLAN VNI)",
                            n->Scalar(), model::kMaxClusterId));
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(*v);
}

// spec.tunnelEndpoints. `pod_cidrs` is null when spec.podCIDRs had errors:
// then whether an endpoint CIDR lies inside them cannot be told.
std::vector<model::TunnelEndpoint> DecodeTunnelEndpoints(const DocNode& list,
                                                         const std::string& spec_path,
                                                         const std::vector<PathCidr>* pod_cidrs,
                                                         ObjectErrors& e) {
  std::vector<model::TunnelEndpoint> out;
  const std::string path = Join(spec_path, "tunnelEndpoints");
  const std::string pod_path = Join(spec_path, "podCIDRs");
  std::map<model::Ipv4Address, std::size_t> addresses;
  std::vector<PathCidr> endpoint_cidrs;  // of all endpoints so far
  const std::vector<DocNode> elems = list.Elements();
  for (std::size_t i = 0; i < elems.size(); ++i) {
    const DocNode& elem = elems[i];
    const std::string epath = At(path, i);
    if (!ExpectMap(elem, epath, e)) continue;
    model::TunnelEndpoint ep;
    const std::string apath = Join(epath, "address");
    if (auto text = RequiredString(elem, epath, "address", e)) {
      if (auto ip = AsIpv4(*text, apath, e)) {
        ep.address = *ip;
        if (auto [prev, fresh] = addresses.emplace(*ip, i); !fresh) {
          e.Add(apath,
                fmt::format("{} is already used by {}", ip->ToString(), At(path, prev->second)));
        }
      }
    }
    bool complete = false;
    for (const PathCidr& c : CidrList(elem, epath, "podCIDRs", complete, e)) {
      ep.pod_cidrs.push_back(c.cidr);
      if (pod_cidrs != nullptr &&
          std::none_of(pod_cidrs->begin(), pod_cidrs->end(),
                       [&](const PathCidr& p) { return p.cidr.Contains(c.cidr); })) {
        e.Add(c.path, fmt::format("{} is not inside {}", Quote(c.cidr.ToString()), pod_path));
      }
      CheckDisjoint(c, endpoint_cidrs, e);
    }
    out.push_back(std::move(ep));
  }
  return out;
}

}  // namespace

std::optional<model::Cluster> DecodeCluster(const DocNode& obj, const std::string& base,
                                            const model::SourceRef& src, ObjectErrors& e) {
  model::Cluster cluster;
  cluster.meta =
      DecodeMeta(obj, base, {"Cluster", NameRule::kDns1123Label, /*namespaced=*/false}, src, e);
  const std::string path = Join(base, "spec");
  auto spec = RequiredMap(obj, base, "spec", e);
  if (!spec) return std::nullopt;

  cluster.id = DecodeId(*spec, path, e).value_or(0);

  bool pod_complete = false;
  std::vector<PathCidr> pod = CidrList(*spec, path, "podCIDRs", pod_complete, e);
  std::vector<PathCidr> disjoint;
  for (const PathCidr& c : pod) {
    cluster.pod_cidrs.push_back(c.cidr);
    CheckDisjoint(c, disjoint, e);
  }

  // Exactly one of per-node endpoints and a gateway. An empty list of
  // endpoints counts as not given.
  auto endpoints = Get(*spec, "tunnelEndpoints");
  const bool has_endpoints = endpoints && !(endpoints->IsSequence() && endpoints->size() == 0);
  if (endpoints && ExpectList(*endpoints, Join(path, "tunnelEndpoints"), e)) {
    cluster.tunnel_endpoints =
        DecodeTunnelEndpoints(*endpoints, path, pod_complete ? &pod : nullptr, e);
  }
  auto gateway = Get(*spec, "gateway");
  if (gateway) {
    const std::string gpath = Join(path, "gateway");
    if (auto text = AsString(*gateway, gpath, e)) cluster.gateway = AsIpv4(*text, gpath, e);
  }
  constexpr std::string_view kOneOf = "exactly one of tunnelEndpoints and gateway must be given";
  if (has_endpoints && gateway) {
    e.Add(path, fmt::format("{}, got both", kOneOf));
  } else if (!has_endpoints && !gateway) {
    e.Add(path,
          fmt::format("{}, got neither{}", kOneOf, endpoints ? " (tunnelEndpoints is empty)" : ""));
  }

  if (!e.empty()) return std::nullopt;
  return cluster;
}

}  // namespace meridian::sources::internal
