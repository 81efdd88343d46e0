#include "agent/pod_link_watcher.h"

#include <fmt/format.h>
#include <fnmatch.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace meridian::agent {

Result<PodLinkWatcher> PodLinkWatcher::Open(std::vector<std::string> patterns) {
  datapath::UniqueFd sock(
      socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!sock.valid()) return Error{fmt::format("open rtnetlink socket: {}", std::strerror(errno))};
  int rcvbuf = 4 << 20;  // a burst of new pods must not overflow it
  setsockopt(sock.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR;
  if (bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Error{
        fmt::format("bind rtnetlink to link and address events: {}", std::strerror(errno))};
  }
  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
  } req{};
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  if (send(sock.get(), &req, sizeof req, 0) < 0) {
    return Error{fmt::format("request link dump: {}", std::strerror(errno))};
  }
  return PodLinkWatcher(std::move(sock), std::move(patterns));
}

bool PodLinkWatcher::Matches(const std::string& ifname) const {
  for (const auto& p : patterns_) {
    if (fnmatch(p.c_str(), ifname.c_str(), 0) == 0) return true;
  }
  return false;
}

Result<LinkEvents> PodLinkWatcher::Read() {
  LinkEvents events;
  alignas(nlmsghdr) char buf[64 * 1024];
  for (;;) {
    ssize_t n = recv(sock_.get(), buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      // ENOBUFS: events were lost; the caller resyncs from a fresh dump.
      return Error{fmt::format("read rtnetlink: {}", std::strerror(errno))};
    }
    int len = static_cast<int>(n);
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_type == RTM_NEWADDR || nh->nlmsg_type == RTM_DELADDR) {
        events.addresses_changed = true;
        continue;
      }
      if (nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK) continue;
      auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(nh));
      int attr_len = static_cast<int>(IFLA_PAYLOAD(nh));
      for (auto* rta = IFLA_RTA(ifi); RTA_OK(rta, attr_len); rta = RTA_NEXT(rta, attr_len)) {
        if (rta->rta_type != IFLA_IFNAME) continue;
        std::string name(static_cast<const char*>(RTA_DATA(rta)));
        if (Matches(name)) {
          events.links.push_back({ifi->ifi_index, name, nh->nlmsg_type == RTM_DELLINK});
        }
      }
    }
  }
  return events;
}

}  // namespace meridian::agent
