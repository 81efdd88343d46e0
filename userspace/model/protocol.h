// Transport protocols Meridian load-balances. Values are IANA protocol
// numbers so they go into BPF keys unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meridian::model {

enum class Protocol : std::uint8_t { kTcp = 6, kUdp = 17 };

// Kubernetes spelling ("TCP", "UDP"); SCTP is not supported yet.
inline std::optional<Protocol> ParseProtocol(std::string_view s) {
  if (s == "TCP") return Protocol::kTcp;
  if (s == "UDP") return Protocol::kUdp;
  return std::nullopt;
}

inline std::string ToString(Protocol p) { return p == Protocol::kTcp ? "TCP" : "UDP"; }

}  // namespace meridian::model
