// DNS queries from any client: the wire decoder, and the whole handler
// (over UDP and TCP) on a small catalog.
#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/dns_handler.h"
#include "dns/dns_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace meridian::dns;
  const std::span<const std::uint8_t> bytes(data, size);
  (void)DecodeMessage(bytes);
  static const DnsCatalog catalog;
  DnsCounters counters;
  for (auto transport : {DnsTransport::kUdp, DnsTransport::kTcp}) {
    (void)HandleDnsQuery(catalog, bytes, transport, DnsHandlerOptions{}, counters);
  }
  return 0;
}
