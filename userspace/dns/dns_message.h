// DNS wire format (RFC 1035, EDNS0 from RFC 6891): decoding of messages with
// every bound checked, and encoding of responses with name compression and
// truncation. Only the record types the clusterset zone serves have typed
// RDATA; everything else is kept as raw bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/ipv4.h"

namespace meridian::dns {

namespace rr {
inline constexpr std::uint16_t kA = 1;
inline constexpr std::uint16_t kNs = 2;
inline constexpr std::uint16_t kSoa = 6;
inline constexpr std::uint16_t kPtr = 12;
inline constexpr std::uint16_t kTxt = 16;
inline constexpr std::uint16_t kAaaa = 28;
inline constexpr std::uint16_t kSrv = 33;
inline constexpr std::uint16_t kOpt = 41;
inline constexpr std::uint16_t kAny = 255;
inline constexpr std::uint16_t kClassIn = 1;
}  // namespace rr

enum class Rcode : std::uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};
inline constexpr std::uint8_t kOpcodeQuery = 0;

// Limits from RFC 1035 section 2.3.4.
inline constexpr std::size_t kMaxLabel = 63;
inline constexpr std::size_t kMaxName = 255;  // wire length, root byte included
inline constexpr std::size_t kClassicUdpSize = 512;

// A domain name as its labels, root excluded, case as received. Labels are
// kept apart (not joined with dots) because a wire label may contain a dot.
struct DnsName {
  std::vector<std::string> labels;

  // "a.b.c" or "a.b.c." -> labels; no escapes (our names are hostnames).
  static DnsName FromDotted(std::string_view text);
  // Presentation form with the trailing dot ("." for the root).
  std::string ToString() const;
  // Case-insensitive comparison (RFC 4343).
  bool EqualsIgnoreCase(const DnsName& other) const;
  std::size_t WireLength() const;  // labels + length bytes + root
  bool operator==(const DnsName&) const = default;
};

struct DnsHeader {
  std::uint16_t id = 0;
  bool qr = false;
  std::uint8_t opcode = 0;
  bool aa = false;
  bool tc = false;
  bool rd = false;
  bool ra = false;
  std::uint8_t rcode = 0;  // low 4 bits only; EDNS extends it in OPT
  std::uint16_t qdcount = 0;
  std::uint16_t ancount = 0;
  std::uint16_t nscount = 0;
  std::uint16_t arcount = 0;
  bool operator==(const DnsHeader&) const = default;
};

struct DnsQuestion {
  DnsName name;
  std::uint16_t type = rr::kA;
  std::uint16_t klass = rr::kClassIn;
  bool operator==(const DnsQuestion&) const = default;
};

struct DnsSrv {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  DnsName target;
  bool operator==(const DnsSrv&) const = default;
};
struct DnsTxt {
  std::vector<std::string> strings;  // each at most 255 bytes on the wire
  bool operator==(const DnsTxt&) const = default;
};
struct DnsSoa {
  DnsName mname;
  DnsName rname;
  std::uint32_t serial = 0;
  std::uint32_t refresh = 0;
  std::uint32_t retry = 0;
  std::uint32_t expire = 0;
  std::uint32_t minimum = 0;
  bool operator==(const DnsSoa&) const = default;
};
struct DnsRaw {
  std::vector<std::uint8_t> bytes;
  bool operator==(const DnsRaw&) const = default;
};
using DnsRdata = std::variant<model::Ipv4Address, DnsSrv, DnsTxt, DnsSoa, DnsRaw>;

// One resource record. For OPT (RFC 6891) klass is the UDP payload size and
// ttl carries the extended rcode, version and flags, as on the wire.
struct DnsRecord {
  DnsName name;
  std::uint16_t type = rr::kA;
  std::uint16_t klass = rr::kClassIn;
  std::uint32_t ttl = 0;
  DnsRdata data;
  bool operator==(const DnsRecord&) const = default;
};

struct DnsMessage {
  DnsHeader header;  // counts are recomputed by EncodeMessage
  std::vector<DnsQuestion> questions;
  std::vector<DnsRecord> answers;
  std::vector<DnsRecord> authority;
  std::vector<DnsRecord> additional;
  bool operator==(const DnsMessage&) const = default;
};

// Why a message did not decode. Each has its own counter in the server.
enum class DnsWireError : std::uint8_t {
  kNone = 0,
  kShortHeader,         // fewer than 12 bytes: no id to answer, dropped
  kTruncatedName,       // a name runs past the end of the message
  kTruncatedQuestion,   // type/class missing
  kTruncatedRecord,     // a record's fixed part or RDATA runs past the end
  kCompressionLoop,     // pointers revisit an offset (or point forward)
  kPointerOutOfBounds,  // a pointer beyond the message
  kLabelTooLong,        // label > 63 (or the reserved 0x40/0x80 label types)
  kNameTooLong,         // name > 255 bytes
  kBadRdata,            // typed RDATA that does not match its length
  kTrailingBytes,       // bytes after the last section
  kQuestionCount,       // a query with qdcount other than 1 (set by the handler)
  kBadOpt,              // two OPT records, or one not owned by the root (handler)
  kCount,
};
std::string_view ToString(DnsWireError error);

struct DnsDecoded {
  DnsWireError error = DnsWireError::kNone;
  // Present whenever 12 bytes could be read, even if the rest failed, so the
  // server can still answer FORMERR with the query id.
  std::optional<DnsHeader> header;
  DnsMessage message;  // complete only when error == kNone
  bool ok() const { return error == DnsWireError::kNone; }
};

// Decodes a whole message; never reads outside `bytes`.
DnsDecoded DecodeMessage(std::span<const std::uint8_t> bytes);

// Encodes `message`, compressing owner names and SOA names against earlier
// ones (SRV targets stay uncompressed, RFC 2782). If the result would exceed
// `max_size`, encodes instead the header with TC set, the questions and the
// OPT record of the additional section (RFC 2181 section 9, RFC 6891 7).
std::vector<std::uint8_t> EncodeMessage(const DnsMessage& message, std::size_t max_size = 65535);

}  // namespace meridian::dns
