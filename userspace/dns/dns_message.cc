#include "dns/dns_message.h"

#include <map>
#include <string>

#include "dns/dns_catalog.h"

namespace meridian::dns {
namespace {

constexpr std::size_t kHeaderSize = 12;

std::uint16_t Get16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
std::uint32_t Get32(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

// Reads the name at `pos`. On success `*next` is the offset just after the
// name's bytes at `pos` (after the first pointer, if any).
DnsWireError ReadName(std::span<const std::uint8_t> b, std::size_t pos, DnsName* out,
                      std::size_t* next) {
  out->labels.clear();
  std::size_t p = pos;
  // Every pointer must go strictly before the start of the run of labels
  // that contains it. Offsets then decrease at each jump, which bounds the
  // walk and rules out loops without a visited set.
  std::size_t run_start = pos;
  bool jumped = false;
  std::size_t wire_len = 1;  // the root byte
  for (;;) {
    if (p >= b.size()) return DnsWireError::kTruncatedName;
    const std::uint8_t len = b[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= b.size()) return DnsWireError::kTruncatedName;
      const std::size_t target = ((len & 0x3F) << 8) | b[p + 1];
      if (target >= b.size()) return DnsWireError::kPointerOutOfBounds;
      if (target >= run_start) return DnsWireError::kCompressionLoop;
      if (!jumped) *next = p + 2;
      jumped = true;
      p = run_start = target;
      continue;
    }
    // 0x40 and 0x80 are the obsolete extended and reserved label types; as
    // lengths they would exceed 63, which is how they are reported.
    if (len > kMaxLabel) return DnsWireError::kLabelTooLong;
    if (len == 0) {
      if (!jumped) *next = p + 1;
      return DnsWireError::kNone;
    }
    wire_len += 1 + len;
    if (wire_len > kMaxName) return DnsWireError::kNameTooLong;
    if (p + 1 + len > b.size()) return DnsWireError::kTruncatedName;
    out->labels.emplace_back(reinterpret_cast<const char*>(&b[p + 1]), len);
    p += 1 + len;
  }
}

DnsWireError ReadRdata(std::span<const std::uint8_t> b, std::uint16_t type, std::size_t start,
                       std::size_t end, DnsRdata* out) {
  const std::size_t len = end - start;
  switch (type) {
    case rr::kA:
      if (len != 4) return DnsWireError::kBadRdata;
      *out = model::Ipv4Address(Get32(b, start));
      return DnsWireError::kNone;
    case rr::kSrv: {
      if (len < 7) return DnsWireError::kBadRdata;
      DnsSrv srv{Get16(b, start), Get16(b, start + 2), Get16(b, start + 4), {}};
      std::size_t next = 0;
      DnsWireError e = ReadName(b.first(end), start + 6, &srv.target, &next);
      if (e != DnsWireError::kNone) return e;
      if (next != end) return DnsWireError::kBadRdata;
      *out = std::move(srv);
      return DnsWireError::kNone;
    }
    case rr::kTxt: {
      DnsTxt txt;
      std::size_t p = start;
      while (p < end) {
        const std::size_t n = b[p];
        if (p + 1 + n > end) return DnsWireError::kBadRdata;
        txt.strings.emplace_back(reinterpret_cast<const char*>(&b[p + 1]), n);
        p += 1 + n;
      }
      *out = std::move(txt);
      return DnsWireError::kNone;
    }
    case rr::kSoa: {
      DnsSoa soa;
      std::size_t p = 0;
      DnsWireError e = ReadName(b.first(end), start, &soa.mname, &p);
      if (e != DnsWireError::kNone) return e;
      e = ReadName(b.first(end), p, &soa.rname, &p);
      if (e != DnsWireError::kNone) return e;
      if (p + 20 != end) return DnsWireError::kBadRdata;
      soa.serial = Get32(b, p);
      soa.refresh = Get32(b, p + 4);
      soa.retry = Get32(b, p + 8);
      soa.expire = Get32(b, p + 12);
      soa.minimum = Get32(b, p + 16);
      *out = std::move(soa);
      return DnsWireError::kNone;
    }
    default:
      *out = DnsRaw{std::vector<std::uint8_t>(b.begin() + start, b.begin() + end)};
      return DnsWireError::kNone;
  }
}

DnsWireError ReadRecords(std::span<const std::uint8_t> b, std::size_t* pos, std::uint16_t count,
                         std::vector<DnsRecord>* out) {
  for (std::uint16_t i = 0; i < count; ++i) {
    DnsRecord r;
    DnsWireError e = ReadName(b, *pos, &r.name, pos);
    if (e != DnsWireError::kNone) return e;
    if (*pos + 10 > b.size()) return DnsWireError::kTruncatedRecord;
    r.type = Get16(b, *pos);
    r.klass = Get16(b, *pos + 2);
    r.ttl = Get32(b, *pos + 4);
    const std::size_t rdlen = Get16(b, *pos + 8);
    *pos += 10;
    if (*pos + rdlen > b.size()) return DnsWireError::kTruncatedRecord;
    e = ReadRdata(b, r.type, *pos, *pos + rdlen, &r.data);
    if (e != DnsWireError::kNone) return e;
    *pos += rdlen;
    out->push_back(std::move(r));
  }
  return DnsWireError::kNone;
}

class Writer {
 public:
  void U8(std::uint8_t v) { out_.push_back(v); }
  void U16(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void U32(std::uint32_t v) {
    U16(static_cast<std::uint16_t>(v >> 16));
    U16(static_cast<std::uint16_t>(v));
  }
  void Bytes(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }

  // Writes `name`, ending in a pointer to an earlier copy of its longest
  // known suffix when `compress` is set. Every suffix written in full is
  // remembered, so uncompressed names can still be pointed at later.
  void Name(const DnsName& name, bool compress) {
    const auto& labels = name.labels;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const std::string key = SuffixKey(name, i);
      if (compress) {
        auto it = offsets_.find(key);
        if (it != offsets_.end()) {
          U16(static_cast<std::uint16_t>(0xC000 | it->second));
          return;
        }
      }
      // Pointers have 14 bits of offset.
      if (out_.size() < 0x4000) offsets_.emplace(key, out_.size());
      U8(static_cast<std::uint8_t>(labels[i].size()));
      Bytes(labels[i]);
    }
    U8(0);
  }

  void Record(const DnsRecord& r) {
    Name(r.name, true);
    U16(r.type);
    U16(r.klass);
    U32(r.ttl);
    const std::size_t len_at = out_.size();
    U16(0);
    const std::size_t start = out_.size();
    if (const auto* a = std::get_if<model::Ipv4Address>(&r.data)) {
      U32(a->host_order());
    } else if (const auto* srv = std::get_if<DnsSrv>(&r.data)) {
      U16(srv->priority);
      U16(srv->weight);
      U16(srv->port);
      Name(srv->target, false);  // RFC 2782: the target is never compressed
    } else if (const auto* txt = std::get_if<DnsTxt>(&r.data)) {
      for (const std::string& s : txt->strings) {
        const std::size_t n = std::min<std::size_t>(s.size(), 255);
        U8(static_cast<std::uint8_t>(n));
        Bytes(std::string_view(s).substr(0, n));
      }
    } else if (const auto* soa = std::get_if<DnsSoa>(&r.data)) {
      Name(soa->mname, true);
      Name(soa->rname, true);
      U32(soa->serial);
      U32(soa->refresh);
      U32(soa->retry);
      U32(soa->expire);
      U32(soa->minimum);
    } else if (const auto* raw = std::get_if<DnsRaw>(&r.data)) {
      out_.insert(out_.end(), raw->bytes.begin(), raw->bytes.end());
    }
    const std::size_t len = out_.size() - start;
    out_[len_at] = static_cast<std::uint8_t>(len >> 8);
    out_[len_at + 1] = static_cast<std::uint8_t>(len);
  }

  std::vector<std::uint8_t> Take() { return std::move(out_); }

 private:
  // Lower-cased wire form of labels[from..]: the compression key. Lower-case
  // because pointing at a differently-cased copy is allowed (RFC 4343).
  static std::string SuffixKey(const DnsName& name, std::size_t from) {
    std::string key;
    for (std::size_t i = from; i < name.labels.size(); ++i) {
      key.push_back(static_cast<char>(name.labels[i].size()));
      key += AsciiLower(name.labels[i]);
    }
    return key;
  }

  std::vector<std::uint8_t> out_;
  std::map<std::string, std::size_t> offsets_;
};

std::vector<std::uint8_t> Encode(const DnsMessage& m, bool tc_only) {
  Writer w;
  const DnsHeader& h = m.header;
  std::vector<const DnsRecord*> additional;
  for (const DnsRecord& r : m.additional) {
    if (!tc_only || r.type == rr::kOpt) additional.push_back(&r);
  }
  w.U16(h.id);
  w.U8(static_cast<std::uint8_t>((h.qr ? 0x80 : 0) | ((h.opcode & 0x0F) << 3) | (h.aa ? 0x04 : 0) |
                                 ((h.tc || tc_only) ? 0x02 : 0) | (h.rd ? 0x01 : 0)));
  w.U8(static_cast<std::uint8_t>((h.ra ? 0x80 : 0) | (h.rcode & 0x0F)));
  w.U16(static_cast<std::uint16_t>(m.questions.size()));
  w.U16(static_cast<std::uint16_t>(tc_only ? 0 : m.answers.size()));
  w.U16(static_cast<std::uint16_t>(tc_only ? 0 : m.authority.size()));
  w.U16(static_cast<std::uint16_t>(additional.size()));
  for (const DnsQuestion& q : m.questions) {
    w.Name(q.name, true);
    w.U16(q.type);
    w.U16(q.klass);
  }
  if (!tc_only) {
    for (const DnsRecord& r : m.answers) w.Record(r);
    for (const DnsRecord& r : m.authority) w.Record(r);
  }
  for (const DnsRecord* r : additional) w.Record(*r);
  return w.Take();
}

}  // namespace

DnsName DnsName::FromDotted(std::string_view text) {
  DnsName name;
  while (!text.empty()) {
    const std::size_t dot = text.find('.');
    if (dot != 0) name.labels.emplace_back(text.substr(0, dot));
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return name;
}

std::string DnsName::ToString() const {
  if (labels.empty()) return ".";
  std::string s;
  for (const std::string& l : labels) {
    s += l;
    s += '.';
  }
  return s;
}

bool DnsName::EqualsIgnoreCase(const DnsName& other) const {
  if (labels.size() != other.labels.size()) return false;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (AsciiLower(labels[i]) != AsciiLower(other.labels[i])) return false;
  }
  return true;
}

std::size_t DnsName::WireLength() const {
  std::size_t n = 1;
  for (const std::string& l : labels) n += 1 + l.size();
  return n;
}

std::string_view ToString(DnsWireError error) {
  switch (error) {
    case DnsWireError::kNone:
      return "none";
    case DnsWireError::kShortHeader:
      return "short_header";
    case DnsWireError::kTruncatedName:
      return "truncated_name";
    case DnsWireError::kTruncatedQuestion:
      return "truncated_question";
    case DnsWireError::kTruncatedRecord:
      return "truncated_record";
    case DnsWireError::kCompressionLoop:
      return "compression_loop";
    case DnsWireError::kPointerOutOfBounds:
      return "pointer_out_of_bounds";
    case DnsWireError::kLabelTooLong:
      return "label_too_long";
    case DnsWireError::kNameTooLong:
      return "name_too_long";
    case DnsWireError::kBadRdata:
      return "bad_rdata";
    case DnsWireError::kTrailingBytes:
      return "trailing_bytes";
    case DnsWireError::kQuestionCount:
      return "question_count";
    case DnsWireError::kBadOpt:
      return "bad_opt";
    case DnsWireError::kCount:
      break;
  }
  return "unknown";
}

DnsDecoded DecodeMessage(std::span<const std::uint8_t> b) {
  DnsDecoded d;
  if (b.size() < kHeaderSize) {
    d.error = DnsWireError::kShortHeader;
    return d;
  }
  DnsHeader h;
  h.id = Get16(b, 0);
  h.qr = (b[2] & 0x80) != 0;
  h.opcode = (b[2] >> 3) & 0x0F;
  h.aa = (b[2] & 0x04) != 0;
  h.tc = (b[2] & 0x02) != 0;
  h.rd = (b[2] & 0x01) != 0;
  h.ra = (b[3] & 0x80) != 0;
  h.rcode = b[3] & 0x0F;
  h.qdcount = Get16(b, 4);
  h.ancount = Get16(b, 6);
  h.nscount = Get16(b, 8);
  h.arcount = Get16(b, 10);
  d.header = h;
  d.message.header = h;

  std::size_t pos = kHeaderSize;
  for (std::uint16_t i = 0; i < h.qdcount; ++i) {
    DnsQuestion q;
    d.error = ReadName(b, pos, &q.name, &pos);
    if (!d.ok()) return d;
    if (pos + 4 > b.size()) {
      d.error = DnsWireError::kTruncatedQuestion;
      return d;
    }
    q.type = Get16(b, pos);
    q.klass = Get16(b, pos + 2);
    pos += 4;
    d.message.questions.push_back(std::move(q));
  }
  d.error = ReadRecords(b, &pos, h.ancount, &d.message.answers);
  if (!d.ok()) return d;
  d.error = ReadRecords(b, &pos, h.nscount, &d.message.authority);
  if (!d.ok()) return d;
  d.error = ReadRecords(b, &pos, h.arcount, &d.message.additional);
  if (!d.ok()) return d;
  if (pos != b.size()) d.error = DnsWireError::kTrailingBytes;
  return d;
}

std::vector<std::uint8_t> EncodeMessage(const DnsMessage& message, std::size_t max_size) {
  std::vector<std::uint8_t> full = Encode(message, /*tc_only=*/false);
  if (full.size() <= max_size) return full;
  return Encode(message, /*tc_only=*/true);
}

}  // namespace meridian::dns
