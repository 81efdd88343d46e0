// Test packets that read like the packet: Packet().Eth().Ipv4().Tcp().
// Checksums are computed from scratch here, independently of the datapath's
// incremental updates, so a test can prove every rewritten byte.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace meridian::testing {

using Bytes = std::vector<std::uint8_t>;

inline std::uint32_t Ip(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a.s_addr;  // network order
}

// RFC 1071 over `len` bytes starting at `data`, plus an initial sum.
inline std::uint16_t InternetChecksum(const std::uint8_t* data, std::size_t len,
                                      std::uint32_t sum = 0) {
  for (std::size_t i = 0; i + 1 < len; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (len & 1) sum += data[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

inline constexpr std::size_t kEthLen = 14;

struct PacketView {
  const Bytes& b;
  std::size_t ihl() const { return (b[kEthLen] & 0x0f) * 4; }
  std::size_t l4() const { return kEthLen + ihl(); }
  std::uint8_t proto() const { return b[kEthLen + 9]; }
  std::uint32_t saddr() const {
    std::uint32_t v;
    std::memcpy(&v, &b[kEthLen + 12], 4);
    return v;
  }
  std::uint32_t daddr() const {
    std::uint32_t v;
    std::memcpy(&v, &b[kEthLen + 16], 4);
    return v;
  }
  std::uint16_t sport() const { return static_cast<std::uint16_t>((b[l4()] << 8) | b[l4() + 1]); }
  std::uint16_t dport() const {
    return static_cast<std::uint16_t>((b[l4() + 2] << 8) | b[l4() + 3]);
  }
  std::size_t ip_total() const { return (b[kEthLen + 2] << 8) | b[kEthLen + 3]; }
  // 0 when the IPv4 header checksum verifies.
  std::uint16_t ip_csum_residue() const { return InternetChecksum(&b[kEthLen], ihl()); }
  // 0 when the TCP/UDP checksum verifies over the pseudo-header.
  std::uint16_t l4_csum_residue() const {
    std::size_t len = ip_total() - ihl();
    std::uint32_t sum = 0;
    for (int i = 12; i < 20; i += 2) sum += (b[kEthLen + i] << 8) | b[kEthLen + i + 1];
    sum += proto();
    sum += static_cast<std::uint32_t>(len);
    return InternetChecksum(&b[l4()], len, sum);
  }
  std::uint16_t l4_csum_field() const {
    std::size_t off = l4() + (proto() == IPPROTO_TCP ? 16 : 6);
    return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
  }
};

class Packet {
 public:
  Packet& Eth(const char* src = "02:00:00:00:00:01", const char* dst = "02:00:00:00:00:02",
              std::uint16_t type = 0x0800) {
    ParseMac(dst, eth_dst_);
    ParseMac(src, eth_src_);
    eth_type_ = type;
    return *this;
  }
  Packet& Ipv4(const char* src, const char* dst, Bytes options = {}) {
    saddr_ = Ip(src);
    daddr_ = Ip(dst);
    ip_options_ = std::move(options);
    return *this;
  }
  Packet& Frag(std::uint16_t frag_field) {
    frag_ = frag_field;
    return *this;
  }
  Packet& Tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags = 0x02) {
    proto_ = IPPROTO_TCP;
    sport_ = sport;
    dport_ = dport;
    tcp_flags_ = flags;
    return *this;
  }
  Packet& Udp(std::uint16_t sport, std::uint16_t dport, bool zero_checksum = false) {
    proto_ = IPPROTO_UDP;
    sport_ = sport;
    dport_ = dport;
    udp_zero_csum_ = zero_checksum;
    return *this;
  }
  Packet& Icmp() {
    proto_ = IPPROTO_ICMP;
    return *this;
  }
  Packet& Payload(std::string p) {
    payload_ = std::move(p);
    return *this;
  }

  Bytes Build() const {
    Bytes b(kEthLen);
    std::memcpy(&b[0], eth_dst_, 6);
    std::memcpy(&b[6], eth_src_, 6);
    b[12] = eth_type_ >> 8;
    b[13] = eth_type_ & 0xff;
    if (eth_type_ != 0x0800) {
      b.insert(b.end(), payload_.begin(), payload_.end());
      return b;
    }
    Bytes l4;
    if (proto_ == IPPROTO_TCP) {
      l4.assign(20, 0);
      Put16(l4, 0, sport_);
      Put16(l4, 2, dport_);
      Put32(l4, 4, 0x01020304);  // seq
      l4[12] = 5 << 4;
      l4[13] = tcp_flags_;
      Put16(l4, 14, 64240);
    } else if (proto_ == IPPROTO_UDP) {
      l4.assign(8, 0);
      Put16(l4, 0, sport_);
      Put16(l4, 2, dport_);
      Put16(l4, 4, static_cast<std::uint16_t>(8 + payload_.size()));
    } else {
      l4 = {8, 0, 0, 0, 0, 1, 0, 1};  // echo request
    }
    l4.insert(l4.end(), payload_.begin(), payload_.end());

    std::size_t ihl = 20 + ip_options_.size();
    Bytes ip(ihl, 0);
    ip[0] = 0x40 | static_cast<std::uint8_t>(ihl / 4);
    Put16(ip, 2, static_cast<std::uint16_t>(ihl + l4.size()));
    Put16(ip, 4, 0x1234);
    Put16(ip, 6, frag_);
    ip[8] = 64;
    ip[9] = proto_;
    std::memcpy(&ip[12], &saddr_, 4);
    std::memcpy(&ip[16], &daddr_, 4);
    std::copy(ip_options_.begin(), ip_options_.end(), ip.begin() + 20);
    Put16(ip, 10, InternetChecksum(ip.data(), ihl));

    // L4 checksum over the pseudo-header.
    std::uint32_t sum = 0;
    for (int i = 12; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
    sum += proto_;
    sum += static_cast<std::uint32_t>(l4.size());
    if (proto_ == IPPROTO_TCP) {
      Put16(l4, 16, InternetChecksum(l4.data(), l4.size(), sum));
    } else if (proto_ == IPPROTO_UDP && !udp_zero_csum_) {
      std::uint16_t c = InternetChecksum(l4.data(), l4.size(), sum);
      Put16(l4, 6, c == 0 ? 0xffff : c);
    } else if (proto_ == IPPROTO_ICMP) {
      Put16(l4, 2, InternetChecksum(l4.data(), l4.size()));
    }
    b.insert(b.end(), ip.begin(), ip.end());
    b.insert(b.end(), l4.begin(), l4.end());
    return b;
  }

 private:
  static void Put16(Bytes& b, std::size_t off, std::uint16_t v) {
    b[off] = v >> 8;
    b[off + 1] = v & 0xff;
  }
  static void Put32(Bytes& b, std::size_t off, std::uint32_t v) {
    Put16(b, off, v >> 16);
    Put16(b, off + 2, v & 0xffff);
  }
  static void ParseMac(const char* s, std::uint8_t out[6]) {
    unsigned v[6];
    std::sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
    for (int i = 0; i < 6; ++i) out[i] = static_cast<std::uint8_t>(v[i]);
  }

  std::uint8_t eth_dst_[6]{}, eth_src_[6]{};
  std::uint16_t eth_type_ = 0x0800;
  std::uint32_t saddr_ = 0, daddr_ = 0;
  Bytes ip_options_;
  std::uint16_t frag_ = 0;
  std::uint8_t proto_ = IPPROTO_TCP;
  std::uint16_t sport_ = 0, dport_ = 0;
  std::uint8_t tcp_flags_ = 0x02;
  bool udp_zero_csum_ = false;
  std::string payload_;
};

// An ICMP error from src to dst (type, code; `mtu` in the last 2 bytes of
// the header, for fragmentation-needed) quoting the IPv4 packet of
// `quoted_frame` (an Ethernet frame): its header and the first `quote_l4`
// bytes after it (RFC 792 asks for 8; Linux quotes up to 576 bytes).
inline Bytes IcmpError(const char* src, const char* dst, std::uint8_t type, std::uint8_t code,
                       const Bytes& quoted_frame, std::size_t quote_l4 = 8, std::uint16_t mtu = 0) {
  const std::size_t ihl = (quoted_frame[kEthLen] & 0x0f) * 4;
  const std::size_t avail = quoted_frame.size() - kEthLen;
  const std::size_t quote = std::min(avail, ihl + quote_l4);
  Bytes icmp(8, 0);
  icmp[0] = type;
  icmp[1] = code;
  icmp[6] = mtu >> 8;
  icmp[7] = mtu & 0xff;
  icmp.insert(icmp.end(), quoted_frame.begin() + kEthLen,
              quoted_frame.begin() + static_cast<std::ptrdiff_t>(kEthLen + quote));
  const std::uint16_t c = InternetChecksum(icmp.data(), icmp.size());
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  Bytes b = Packet().Eth().Ipv4(src, dst).Icmp().Build();
  b.resize(kEthLen + 20);
  b[kEthLen + 9] = IPPROTO_ICMP;
  b[kEthLen + 2] = static_cast<std::uint8_t>((20 + icmp.size()) >> 8);
  b[kEthLen + 3] = static_cast<std::uint8_t>((20 + icmp.size()) & 0xff);
  b[kEthLen + 10] = b[kEthLen + 11] = 0;
  const std::uint16_t ic = InternetChecksum(&b[kEthLen], 20);
  b[kEthLen + 10] = ic >> 8;
  b[kEthLen + 11] = ic & 0xff;
  b.insert(b.end(), icmp.begin(), icmp.end());
  return b;
}

// The ICMP checksum of an ICMP frame: 0 when it verifies over the whole
// message.
inline std::uint16_t IcmpCsumResidue(const Bytes& b) {
  PacketView v{b};
  return InternetChecksum(&b[v.l4()], v.ip_total() - v.ihl());
}

// The packet an ICMP error quotes, as a frame of its own (a zero Ethernet
// header in front), for PacketView.
inline Bytes Quoted(const Bytes& icmp_frame) {
  PacketView v{icmp_frame};
  Bytes b(kEthLen, 0);
  b[12] = 0x08;
  b.insert(b.end(), icmp_frame.begin() + static_cast<std::ptrdiff_t>(v.l4() + 8), icmp_frame.end());
  return b;
}

// Wraps an inner Ethernet frame (as Packet().Build() makes it) in
// outer Ethernet / IPv4 / UDP / VXLAN, the way RFC 7348 frames it: the
// inner frame keeps its own Ethernet header.
inline Bytes Vxlan(const char* outer_src, const char* outer_dst, std::uint32_t vni,
                   const Bytes& inner_frame, std::uint16_t dport = 4789,
                   std::uint8_t flags = 0x08) {
  Bytes b(kEthLen + 20 + 8 + 8, 0);
  const std::uint8_t macs[12] = {0x02, 0xcc, 0, 0, 0, 1, 0x02, 0xdd, 0, 0, 0, 2};
  std::memcpy(b.data(), macs, 12);
  b[12] = 0x08;
  std::size_t udp_len = 8 + 8 + inner_frame.size();
  std::uint8_t* ip = &b[kEthLen];
  ip[0] = 0x45;
  ip[2] = static_cast<std::uint8_t>((20 + udp_len) >> 8);
  ip[3] = static_cast<std::uint8_t>((20 + udp_len) & 0xff);
  ip[6] = 0x40;  // DF
  ip[8] = 64;
  ip[9] = IPPROTO_UDP;
  std::uint32_t src = Ip(outer_src), dst = Ip(outer_dst);
  std::memcpy(ip + 12, &src, 4);
  std::memcpy(ip + 16, &dst, 4);
  std::uint16_t c = InternetChecksum(ip, 20);
  ip[10] = c >> 8;
  ip[11] = c & 0xff;
  std::uint8_t* udp = ip + 20;
  udp[0] = 0xc0;  // source port 49152
  udp[2] = dport >> 8;
  udp[3] = dport & 0xff;
  udp[4] = static_cast<std::uint8_t>(udp_len >> 8);
  udp[5] = static_cast<std::uint8_t>(udp_len & 0xff);
  std::uint8_t* vx = udp + 8;
  vx[0] = flags;
  vx[4] = (vni >> 16) & 0xff;
  vx[5] = (vni >> 8) & 0xff;
  vx[6] = vni & 0xff;
  b.insert(b.end(), inner_frame.begin(), inner_frame.end());
  return b;
}

}  // namespace meridian::testing
