// ADDRESS:PORT of a server the agent or the controller runs (--dns-listen,
// --health-listen), parsed once by the command line check and by the
// server's start.
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace meridian {

struct ListenAddress {
  std::string address;
  std::uint16_t port = 0;
};

// "127.0.0.1:53535" -> {127.0.0.1, 53535}. The port is parsed with
// from_chars: a long digit string is an error, not an exception.
inline Result<ListenAddress> ParseListenAddress(const std::string& flag, const std::string& text) {
  const auto colon = text.rfind(':');
  ListenAddress out;
  bool ok = colon != std::string::npos && colon > 0 && colon + 1 < text.size();
  if (ok) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data() + colon + 1, end, out.port);
    ok = ec == std::errc() && ptr == end;
  }
  if (!ok) {
    return Error{fmt::format("{} {}: expected ADDRESS:PORT (port 0-65535) or off", flag, text)};
  }
  out.address = text.substr(0, colon);
  return out;
}

}  // namespace meridian
