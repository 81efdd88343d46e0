#include "dns/dns_resolver.h"

#include <set>
#include <string>
#include <utility>

namespace meridian::dns {
namespace {

DnsName Zone() { return DnsName::FromDotted(kClusterSetZone); }

DnsRecord Soa(const DnsCatalog& catalog, const DnsResolverOptions& o) {
  // Values follow CoreDNS's kubernetes plugin (ns.dns.<zone>, hostmaster);
  // the TTL equals MINIMUM so negative answers are cached for exactly that.
  DnsSoa soa{DnsName::FromDotted("ns.dns.clusterset.local"),
             DnsName::FromDotted("hostmaster.clusterset.local"),
             catalog.serial(),
             7200,
             1800,
             86400,
             o.soa_minimum};
  return DnsRecord{Zone(), rr::kSoa, rr::kClassIn, o.soa_minimum, std::move(soa)};
}

// The records of one name; `exists` distinguishes an empty non-terminal
// (NODATA) from a name that is not there at all (NXDOMAIN).
struct NameRecords {
  bool exists = false;
  std::vector<DnsRecord> records;  // of every type; filtered by the caller
  std::vector<DnsRecord> additional;
};

std::string ServiceName(const DnsImport& imp) { return imp.name + "." + imp.ns + ".svc"; }

DnsName EndpointName(const DnsImport& imp, const DnsEndpoint& ep) {
  return DnsName::FromDotted(ep.hostname + "." + ep.cluster + "." + ServiceName(imp) + "." +
                             kClusterSetZone);
}

std::vector<const DnsEndpoint*> ReadyEndpoints(const DnsImport& imp) {
  std::vector<const DnsEndpoint*> out;
  for (const DnsEndpoint& ep : imp.endpoints) {
    if (ep.ready) out.push_back(&ep);
  }
  return out;
}

// rel: the lower-cased labels in front of "svc", i.e. [... , svc, ns].
NameRecords LookupService(const DnsCatalog& catalog, const DnsName& qname,
                          const std::vector<std::string>& rel, const DnsResolverOptions& o) {
  NameRecords out;
  const std::size_t n = rel.size();
  if (n == 1) {  // <ns>.svc
    out.exists = catalog.HasNamespace(rel[0]);
    return out;
  }
  const DnsImport* imp = catalog.Find(rel[n - 1], rel[n - 2]);
  if (imp == nullptr) return out;  // not exported (or not imported here)
  const auto ready = ReadyEndpoints(*imp);
  auto a = [&](const DnsName& owner, model::Ipv4Address ip) {
    return DnsRecord{owner, rr::kA, rr::kClassIn, o.ttl, ip};
  };

  if (n == 2) {  // <svc>.<ns>.svc
    if (!imp->headless) {
      out.exists = true;
      if (imp->clusterset_ip) out.records.push_back(a(qname, *imp->clusterset_ip));
    } else {
      // Spec 2.4.1: a headless service without ready endpoints is NXDOMAIN.
      out.exists = !ready.empty();
      for (const DnsEndpoint* ep : ready) out.records.push_back(a(qname, ep->address));
    }
    return out;
  }

  const std::string& first = rel[0];
  const bool underscore = !first.empty() && first[0] == '_';
  if (underscore) {
    // _<port>._<proto>.<svc>.<ns>.svc (n == 4) or the _<proto> non-terminal.
    const std::string& proto_label = n == 4 ? rel[1] : rel[0];
    if (n != 3 && n != 4) return out;
    if (proto_label.size() < 2 || proto_label[0] != '_') return out;
    const std::string proto = proto_label.substr(1);
    std::set<std::string> seen_targets;
    for (const DnsPort& port : imp->ports) {
      if (port.name.empty()) continue;  // unnamed ports have no SRV record
      if (AsciiLower(model::ToString(port.protocol)) != proto) continue;
      if (n == 3) {
        out.exists = true;
        continue;
      }
      if ("_" + AsciiLower(port.name) != first) continue;
      if (!imp->headless) {
        out.exists = true;
        const DnsName target = DnsName::FromDotted(ServiceName(*imp) + "." + kClusterSetZone);
        out.records.push_back(
            DnsRecord{qname, rr::kSrv, rr::kClassIn, o.ttl, DnsSrv{0, 100, port.port, target}});
        if (imp->clusterset_ip && seen_targets.insert(target.ToString()).second) {
          out.additional.push_back(a(target, *imp->clusterset_ip));
        }
        continue;
      }
      // Headless (spec 2.4.2): one SRV per ready endpoint and named port,
      // pointing at the endpoint's own name; endpoints without a hostname
      // have no name to point at and are left out.
      for (const DnsEndpoint* ep : ready) {
        if (ep->hostname.empty() || ep->cluster.empty()) continue;
        out.exists = true;
        const DnsName target = EndpointName(*imp, *ep);
        const std::string key = target.ToString() + "/" + std::to_string(port.port);
        if (seen_targets.insert(key).second) {
          out.records.push_back(
              DnsRecord{qname, rr::kSrv, rr::kClassIn, o.ttl, DnsSrv{0, 100, port.port, target}});
        }
        out.additional.push_back(a(target, ep->address));
      }
    }
    return out;
  }

  // Per-cluster names exist only for headless imports (spec 2.3.4).
  if (!imp->headless) return out;
  if (n == 3) {  // <clusterid>.<svc>.<ns>.svc: a non-terminal
    for (const DnsEndpoint* ep : ready) {
      if (!ep->hostname.empty() && AsciiLower(ep->cluster) == first) out.exists = true;
    }
    return out;
  }
  if (n == 4) {  // <hostname>.<clusterid>.<svc>.<ns>.svc
    for (const DnsEndpoint* ep : ready) {
      if (AsciiLower(ep->hostname) == first && AsciiLower(ep->cluster) == rel[1]) {
        out.exists = true;
        out.records.push_back(a(qname, ep->address));
      }
    }
  }
  return out;
}

}  // namespace

DnsAnswer Resolve(const DnsCatalog& catalog, const DnsQuestion& question,
                  const DnsResolverOptions& options) {
  DnsAnswer answer;
  const DnsName zone = Zone();
  const auto& labels = question.name.labels;
  const std::size_t zn = zone.labels.size();
  bool in_zone = labels.size() >= zn;
  for (std::size_t i = 0; in_zone && i < zn; ++i) {
    in_zone = AsciiLower(labels[labels.size() - zn + i]) == zone.labels[i];
  }
  if (!in_zone || question.klass != rr::kClassIn) {
    answer.rcode = Rcode::kRefused;
    return answer;
  }
  answer.authoritative = true;

  std::vector<std::string> rel;
  for (std::size_t i = 0; i + zn < labels.size(); ++i) rel.push_back(AsciiLower(labels[i]));

  NameRecords found;
  if (rel.empty()) {  // the apex
    found.exists = true;
    found.records.push_back(Soa(catalog, options));
  } else if (rel.size() == 1 && rel[0] == "dns-version") {
    found.exists = true;
    found.records.push_back(
        DnsRecord{question.name, rr::kTxt, rr::kClassIn, options.ttl, DnsTxt{{kDnsSchemaVersion}}});
  } else if (rel.back() == "svc") {
    rel.pop_back();
    if (rel.empty()) {
      found.exists = true;  // svc.clusterset.local: always a non-terminal
    } else {
      found = LookupService(catalog, question.name, rel, options);
    }
  }

  if (!found.exists) {
    answer.rcode = Rcode::kNxDomain;
    answer.authority.push_back(Soa(catalog, options));
    return answer;
  }
  for (DnsRecord& r : found.records) {
    if (question.type == rr::kAny || r.type == question.type) answer.answers.push_back(r);
  }
  if (answer.answers.empty()) {
    answer.authority.push_back(Soa(catalog, options));  // NODATA (RFC 2308)
  } else if (question.type == rr::kSrv || question.type == rr::kAny) {
    answer.additional = std::move(found.additional);
  }
  return answer;
}

}  // namespace meridian::dns
