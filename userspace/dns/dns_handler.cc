#include "dns/dns_handler.h"

#include <algorithm>
#include <utility>

namespace meridian::dns {
namespace {

const DnsRecord* FindOpt(const DnsMessage& m, bool* valid) {
  const DnsRecord* opt = nullptr;
  *valid = true;
  for (const DnsRecord& r : m.additional) {
    if (r.type != rr::kOpt) continue;
    // RFC 6891 6.1.1: one OPT at most, owned by the root.
    if (opt != nullptr || !r.name.labels.empty()) *valid = false;
    opt = &r;
  }
  return opt;
}

DnsRecord OurOpt(std::uint16_t udp_size) {
  // Root owner, class = our payload size, ttl 0 (no extended rcode, version
  // 0, DO clear: we do not sign), no options.
  return DnsRecord{DnsName{}, rr::kOpt, udp_size, 0, DnsRaw{}};
}

std::vector<std::uint8_t> Finish(DnsMessage& response, DnsTransport transport,
                                 std::size_t udp_limit, DnsCounters& counters) {
  const std::size_t limit = transport == DnsTransport::kTcp ? 65535 : udp_limit;
  std::vector<std::uint8_t> bytes = EncodeMessage(response, limit);
  if (bytes.size() > 2 && (bytes[2] & 0x02) != 0) {
    // The additional section is optional (RFC 2181 9): drop it before
    // truncating the answer itself.
    std::erase_if(response.additional, [](const DnsRecord& r) { return r.type != rr::kOpt; });
    bytes = EncodeMessage(response, limit);
  }
  // EncodeMessage sets TC itself when it had to cut; read it back to count.
  if (bytes.size() > 2 && (bytes[2] & 0x02) != 0) ++counters.truncated;
  ++counters.responses_by_rcode[response.header.rcode & 0x0F];
  return bytes;
}

}  // namespace

std::optional<std::vector<std::uint8_t>> HandleDnsQuery(const DnsCatalog& catalog,
                                                        std::span<const std::uint8_t> query,
                                                        DnsTransport transport,
                                                        const DnsHandlerOptions& options,
                                                        DnsCounters& counters) {
  ++(transport == DnsTransport::kUdp ? counters.udp_queries : counters.tcp_queries);
  const DnsDecoded decoded = DecodeMessage(query);
  if (!decoded.header) {
    ++counters.malformed[static_cast<std::size_t>(decoded.error)];
    ++counters.dropped;
    return std::nullopt;
  }
  const DnsHeader& qh = *decoded.header;
  // Never answer a response: two servers could otherwise bounce a packet
  // between them forever.
  if (qh.qr) {
    ++counters.dropped;
    return std::nullopt;
  }

  DnsMessage response;
  response.header.id = qh.id;
  response.header.qr = true;
  response.header.opcode = qh.opcode;
  response.header.rd = qh.rd;
  std::size_t udp_limit = kClassicUdpSize;

  if (qh.opcode != kOpcodeQuery) {
    // NOTIMP before looking at the body: other opcodes (NOTIFY, UPDATE)
    // have bodies of their own shapes.
    response.header.rcode = static_cast<std::uint8_t>(Rcode::kNotImp);
    return Finish(response, transport, udp_limit, counters);
  }

  DnsWireError error = decoded.error;
  if (error == DnsWireError::kNone && decoded.message.questions.size() != 1) {
    // qdcount 0 or >1: RFC 1035 allows it on paper, nobody implements it.
    error = DnsWireError::kQuestionCount;
  }
  bool opt_valid = true;
  const DnsRecord* opt =
      error == DnsWireError::kNone ? FindOpt(decoded.message, &opt_valid) : nullptr;
  if (!opt_valid) error = DnsWireError::kBadOpt;
  if (error != DnsWireError::kNone) {
    ++counters.malformed[static_cast<std::size_t>(error)];
    ++counters.formerr;
    response.header.rcode = static_cast<std::uint8_t>(Rcode::kFormErr);
    return Finish(response, transport, udp_limit, counters);
  }

  const DnsQuestion& question = decoded.message.questions.front();
  response.questions.push_back(question);
  ++counters.queries_by_type[static_cast<std::size_t>(ClassifyQueryType(question.type))];
  if (opt != nullptr) {
    // RFC 6891: values below 512 are treated as 512.
    const std::size_t offered = std::max<std::size_t>(opt->klass, kClassicUdpSize);
    udp_limit = std::min<std::size_t>(offered, options.edns_udp_size);
    response.additional.push_back(OurOpt(options.edns_udp_size));
    if (((opt->ttl >> 16) & 0xFF) != 0) {
      // We speak EDNS version 0 only: BADVERS (16) is the extended rcode
      // 1 in OPT's upper TTL byte with 0 in the header (RFC 6891 6.1.3).
      response.additional.back().ttl = 1u << 24;
      ++counters.badvers;
      return Finish(response, transport, udp_limit, counters);
    }
  }

  DnsAnswer answer = Resolve(catalog, question, options.resolver);
  response.header.rcode = static_cast<std::uint8_t>(answer.rcode);
  response.header.aa = answer.authoritative;
  response.answers = std::move(answer.answers);
  response.authority = std::move(answer.authority);
  // Additional A records go before OPT; order does not matter on the wire
  // but truncation keeps only OPT, so nothing else is lost silently.
  response.additional.insert(response.additional.begin(), answer.additional.begin(),
                             answer.additional.end());
  return Finish(response, transport, udp_limit, counters);
}

}  // namespace meridian::dns
