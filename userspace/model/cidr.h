// Cidr: an IPv4 prefix as a value.
#pragma once

#include <charconv>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/ipv4.h"

namespace meridian::model {

class Cidr {
 public:
  constexpr Cidr() = default;
  Cidr(Ipv4Address network, std::uint8_t prefix_len) : prefix_len_(prefix_len) {
    network_ = Ipv4Address(network.host_order() & Mask(prefix_len));
  }

  // "10.1.0.0/16". Host bits must be zero ("10.1.0.1/16" is rejected), as
  // Kubernetes requires for podCIDRs.
  static std::optional<Cidr> Parse(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto addr = Ipv4Address::Parse(text.substr(0, slash));
    auto len_text = text.substr(slash + 1);
    unsigned len = 0;
    auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (!addr || ec != std::errc() || end != len_text.data() + len_text.size() || len > 32 ||
        len_text.empty()) {
      return std::nullopt;
    }
    Cidr c(*addr, static_cast<std::uint8_t>(len));
    if (c.network() != *addr) return std::nullopt;
    return c;
  }

  Ipv4Address network() const { return network_; }
  std::uint8_t prefix_len() const { return prefix_len_; }
  bool Contains(Ipv4Address a) const {
    return (a.host_order() & Mask(prefix_len_)) == network_.host_order();
  }
  bool Contains(const Cidr& other) const {
    return other.prefix_len_ >= prefix_len_ && Contains(other.network_);
  }
  bool Overlaps(const Cidr& other) const { return Contains(other) || other.Contains(*this); }
  std::string ToString() const { return network_.ToString() + "/" + std::to_string(prefix_len_); }

  auto operator<=>(const Cidr&) const = default;

 private:
  static constexpr std::uint32_t Mask(std::uint8_t len) {
    return len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
  }
  Ipv4Address network_;
  std::uint8_t prefix_len_ = 0;
};

}  // namespace meridian::model
