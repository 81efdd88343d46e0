#include "agent/nodeport_config.h"

#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace meridian::agent {

Result<std::vector<model::Ipv4Address>> NodePortAddresses(const std::vector<model::Cidr>& cidrs) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return Error{fmt::format("--nodeport-addresses: list addresses: {}", std::strerror(errno))};
  }
  std::vector<model::Ipv4Address> out;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    auto addr = model::Ipv4Address::FromNetworkOrder(
        reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
    bool wanted = cidrs.empty() ? (addr.host_order() >> 24) != 127
                                : std::any_of(cidrs.begin(), cidrs.end(),
                                              [&](const auto& c) { return c.Contains(addr); });
    if (wanted) out.push_back(addr);
  }
  freeifaddrs(list);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::pair<std::uint16_t, std::uint16_t>> ParsePortRange(const std::string& text) {
  auto dash = text.find('-');
  auto number = [](std::string_view s) -> std::optional<unsigned> {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v < 1 || v > 65535) return std::nullopt;
    return v;
  };
  if (dash != std::string::npos) {
    auto lo = number(std::string_view(text).substr(0, dash));
    auto hi = number(std::string_view(text).substr(dash + 1));
    if (lo && hi && *lo <= *hi) {
      return std::pair{static_cast<std::uint16_t>(*lo), static_cast<std::uint16_t>(*hi)};
    }
  }
  return Error{
      fmt::format("\"{}\" is not a port range MIN-MAX with 1 <= MIN <= MAX <= 65535", text)};
}

// The first character of a procfs value file, or 0 when it cannot be read.
static char ReadFlag(const std::string& path) {
  std::ifstream f(path);
  char c = 0;
  f >> c;
  return f ? c : 0;
}

Status AcceptLocalSource(const std::string& uplink, const std::string& proc) {
  const std::string conf = proc + "/sys/net/ipv4/conf/";
  const std::string path = conf + uplink + "/accept_local";
  std::ofstream f(path);
  f << "1\n";
  f.flush();
  if (f) return Status::Ok();
  const std::string why = std::strerror(errno);
  if (ReadFlag(path) == '1' || ReadFlag(conf + "all/accept_local") == '1') return Status::Ok();
  return Error{fmt::format(
      "set {}: {}; set net.ipv4.conf.{}.accept_local=1 (or net.ipv4.conf.all.accept_local=1) "
      "before the agent starts, e.g. in a privileged init container",
      path, why, uplink)};
}

}  // namespace meridian::agent
