// Transport protocols Meridian load-balances. Values are IANA protocol
// numbers so they go into BPF keys unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meridian::model {

// SCTP is decoded, exported and imported, but not translated: its packets
// to a Service address pass untouched (docs/services.md, "SCTP").
enum class Protocol : std::uint8_t { kTcp = 6, kUdp = 17, kSctp = 132 };

// Kubernetes spelling ("TCP", "UDP", "SCTP").
inline std::optional<Protocol> ParseProtocol(std::string_view s) {
  if (s == "TCP") return Protocol::kTcp;
  if (s == "UDP") return Protocol::kUdp;
  if (s == "SCTP") return Protocol::kSctp;
  return std::nullopt;
}

inline std::string ToString(Protocol p) {
  switch (p) {
    case Protocol::kTcp:
      return "TCP";
    case Protocol::kUdp:
      return "UDP";
    case Protocol::kSctp:
      return "SCTP";
  }
  return "protocol " + std::to_string(static_cast<int>(p));
}

// The protocols the datapath translates (TCP and UDP).
inline bool IsProxied(Protocol p) { return p == Protocol::kTcp || p == Protocol::kUdp; }

}  // namespace meridian::model
