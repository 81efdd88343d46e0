// Resolve: the clusterset.local zone as a pure function of the catalog and
// one question, per the Kubernetes multicluster DNS specification (KEP-1645
// specification.md, schema 1.0.0). No I/O, so every answer is unit-testable.
#pragma once

#include <cstdint>
#include <vector>

#include "dns/dns_catalog.h"
#include "dns/dns_message.h"

namespace meridian::dns {

inline constexpr const char* kClusterSetZone = "clusterset.local";
inline constexpr const char* kDnsSchemaVersion = "1.0.0";

struct DnsResolverOptions {
  // Short TTLs: endpoints move between clusters and a cache must not keep
  // sending clients to a withdrawn cluster for long.
  std::uint32_t ttl = 5;
  // SOA MINIMUM, which bounds how long NXDOMAIN/NODATA is cached (RFC 2308).
  std::uint32_t soa_minimum = 5;
};

struct DnsAnswer {
  Rcode rcode = Rcode::kNoError;
  bool authoritative = false;  // AA: set for every name inside the zone
  std::vector<DnsRecord> answers;
  std::vector<DnsRecord> authority;   // the zone SOA on NXDOMAIN and NODATA
  std::vector<DnsRecord> additional;  // A records of SRV targets
};

// Answers `question`. Names outside clusterset.local are REFUSED (the agent
// is not a recursive resolver); classes other than IN are REFUSED too.
DnsAnswer Resolve(const DnsCatalog& catalog, const DnsQuestion& question,
                  const DnsResolverOptions& options);

}  // namespace meridian::dns
