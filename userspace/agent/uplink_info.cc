#include "agent/uplink_info.h"

#include <fmt/format.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace meridian::agent {

Result<UplinkInfo> ReadUplink(const std::string& name) {
  UplinkInfo info{.name = name};
  info.ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  if (info.ifindex == 0) return Error{fmt::format("uplink {}: no such interface", name)};

  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq req{};
  std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
  int rc = sock >= 0 ? ioctl(sock, SIOCGIFMTU, &req) : -1;
  int err = errno;
  if (sock >= 0) close(sock);
  if (rc != 0) return Error{fmt::format("uplink {}: read MTU: {}", name, std::strerror(err))};
  info.mtu = static_cast<std::uint32_t>(req.ifr_mtu);

  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return Error{fmt::format("uplink {}: list addresses: {}", name, std::strerror(errno))};
  }
  bool found = false;
  for (ifaddrs* a = list; a && !found; a = a->ifa_next) {
    if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET && name == a->ifa_name) {
      info.address = model::Ipv4Address::FromNetworkOrder(
          reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr.s_addr);
      found = true;
    }
  }
  freeifaddrs(list);
  if (!found) return Error{fmt::format("uplink {}: no IPv4 address (or give --node-ip)", name)};
  return info;
}

}  // namespace meridian::agent
