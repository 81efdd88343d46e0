// Ipv4Address: an IPv4 address as a value, kept in host byte order.
#pragma once

#include <arpa/inet.h>

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meridian::model {

class Ipv4Address {
 public:
  constexpr Ipv4Address() = default;
  constexpr explicit Ipv4Address(std::uint32_t host_order) : host_(host_order) {}

  // Parses dotted-quad text; nullopt for anything else (no leading zeros
  // interpreted as octal, no trailing garbage: inet_pton rules).
  static std::optional<Ipv4Address> Parse(std::string_view text) {
    std::string s(text);
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
    return Ipv4Address(ntohl(a.s_addr));
  }

  constexpr std::uint32_t host_order() const { return host_; }
  std::uint32_t network_order() const { return htonl(host_); }
  static Ipv4Address FromNetworkOrder(std::uint32_t be) { return Ipv4Address(ntohl(be)); }

  std::string ToString() const {
    char buf[INET_ADDRSTRLEN];
    in_addr a{htonl(host_)};
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
  }

  constexpr auto operator<=>(const Ipv4Address&) const = default;

 private:
  std::uint32_t host_ = 0;
};

}  // namespace meridian::model
