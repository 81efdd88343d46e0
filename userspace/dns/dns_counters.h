// DnsCounters: what the DNS server did, for status and /metrics. Plain
// integers: the server and its readers share the agent's io_context thread.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "dns/dns_message.h"

namespace meridian::dns {

// The query types counted one by one; every other type is kOther.
enum class QueryType : std::uint8_t { kA, kAaaa, kSrv, kPtr, kAny, kOther, kCount };
QueryType ClassifyQueryType(std::uint16_t qtype);
std::string_view ToString(QueryType type);  // "A", "AAAA", "SRV", "PTR", "ANY", "other"

struct DnsCounters {
  std::uint64_t udp_queries = 0;  // datagrams received
  std::uint64_t tcp_queries = 0;  // length-prefixed messages received
  // Responses sent, indexed by the 4-bit rcode (NOERROR, FORMERR, ...).
  std::array<std::uint64_t, 16> responses_by_rcode{};
  std::uint64_t formerr = 0;  // malformed queries answered with FORMERR
  std::uint64_t dropped = 0;  // malformed without a readable header, or QR set
  // Every malformed query by reason, whether answered or dropped.
  std::array<std::uint64_t, static_cast<std::size_t>(DnsWireError::kCount)> malformed{};
  std::uint64_t badvers = 0;    // EDNS version other than 0 (BADVERS, counted as NOERROR)
  std::uint64_t truncated = 0;  // UDP responses cut to the question with TC
  std::uint64_t udp_send_errors = 0;
  std::uint64_t rate_limited = 0;     // UDP queries dropped: their client was over its rate
  std::uint64_t tcp_connections = 0;  // accepted
  std::uint64_t tcp_connections_rejected = 0;  // closed at once: over the bound
  std::uint64_t tcp_connections_active = 0;
  std::uint64_t tcp_idle_timeouts = 0;
  // Well-formed queries by QTYPE (the one question's).
  std::array<std::uint64_t, static_cast<std::size_t>(QueryType::kCount)> queries_by_type{};

  std::uint64_t responses(Rcode rcode) const {
    return responses_by_rcode[static_cast<std::size_t>(rcode)];
  }
  std::uint64_t malformed_count(DnsWireError e) const {
    return malformed[static_cast<std::size_t>(e)];
  }
};

}  // namespace meridian::dns
