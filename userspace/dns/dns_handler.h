// HandleDnsQuery: one query's bytes in, one response's bytes out. Holds the
// protocol rules that sit between the codec and the resolver (FORMERR,
// NOTIMP, EDNS, truncation) so they are testable without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "dns/dns_catalog.h"
#include "dns/dns_counters.h"
#include "dns/dns_resolver.h"

namespace meridian::dns {

enum class DnsTransport { kUdp, kTcp };

struct DnsHandlerOptions {
  DnsResolverOptions resolver;
  // The UDP payload size we advertise in OPT and the most we send over UDP
  // even if a client offers more: 1232 avoids IP fragmentation (DNS flag
  // day 2020).
  std::uint16_t edns_udp_size = 1232;
};

// Returns the response, or nullopt when nothing must be sent (fewer than 12
// bytes, or a message that is itself a response). Counts into `counters`.
std::optional<std::vector<std::uint8_t>> HandleDnsQuery(const DnsCatalog& catalog,
                                                        std::span<const std::uint8_t> query,
                                                        DnsTransport transport,
                                                        const DnsHandlerOptions& options,
                                                        DnsCounters& counters);

}  // namespace meridian::dns
