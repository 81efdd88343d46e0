#include "datapath/tc_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace meridian::datapath {
namespace {

// Fixed handle and priority: a restarted agent replaces its own filter
// instead of stacking a second one.
constexpr __u32 kHandle = 0x4d52;  // "MR"
constexpr __u32 kPriority = 1;

Status AttachOne(int ifindex, const std::string& ifname, bpf_tc_attach_point point, int fd) {
  DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
  DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = fd, .flags = BPF_TC_F_REPLACE,
                      .handle = kHandle, .priority = kPriority);
  if (int err = bpf_tc_attach(&hook, &opts); err) {
    return Error{fmt::format("attach tc {} on {}: {}",
                             point == BPF_TC_INGRESS ? "ingress" : "egress", ifname,
                             std::strerror(-err))};
  }
  return Status::Ok();
}

// Creates the clsact qdisc unless it is there already. Not just
// bpf_tc_hook_create and ignoring EEXIST: its request is create-exclusive,
// and for an existing qdisc (every restart: the qdisc and our filters
// outlive the agent) the kernel answers EEXIST with the extended ack
// "Exclusivity flag on, cannot modify", which libbpf prints to stderr as
// "libbpf: Kernel error message: ..." before returning.
Status EnsureClsact(int ifindex, const std::string& ifname) {
  if (HasClsactQdisc(ifindex) == true) return Status::Ok();
  DECLARE_LIBBPF_OPTS(
      bpf_tc_hook, hook, .ifindex = ifindex,
      .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  // EEXIST: created since the query, or another qdisc (ingress) holds the
  // slot; attaching the filters then says whether it is usable.
  if (int err = bpf_tc_hook_create(&hook); err && err != -EEXIST) {
    return Error{fmt::format("create clsact qdisc on {}: {}", ifname, std::strerror(-err))};
  }
  return Status::Ok();
}

}  // namespace

std::optional<bool> HasClsactQdisc(int ifindex) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return std::nullopt;
  // The kernel answers before sendto returns; the timeout only guards
  // against a reply that never comes.
  timeval timeout{.tv_sec = 1, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  struct {
    nlmsghdr nh;
    tcmsg tc;
  } req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(tcmsg));
  req.nh.nlmsg_type = RTM_GETQDISC;
  // A qdisc GET answers through the notification path (RTNLGRP_TC
  // listeners such as `tc monitor` see it too): without ECHO the requester
  // gets nothing back.
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ECHO;
  req.nh.nlmsg_seq = 1;
  req.tc.tcm_family = AF_UNSPEC;
  req.tc.tcm_ifindex = ifindex;
  req.tc.tcm_parent = TC_H_CLSACT;  // the ingress slot, where clsact (or ingress) lives
  req.tc.tcm_handle = TC_H_MAKE(TC_H_CLSACT, 0);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, &req, req.nh.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) <
      0) {
    close(fd);
    return std::nullopt;
  }
  alignas(nlmsghdr) char buf[8192];
  ssize_t n;
  do {
    n = recv(fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return std::nullopt;
  int len = static_cast<int>(n);
  for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
    if (nh->nlmsg_seq != req.nh.nlmsg_seq) continue;
    if (nh->nlmsg_type == NLMSG_ERROR) {
      if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return std::nullopt;
      const int err = static_cast<const nlmsgerr*>(NLMSG_DATA(nh))->error;
      // ENOENT: no qdisc in the slot; EINVAL: only the built-in noop qdisc
      // (a qdisc there was deleted); ENODEV: no such interface.
      if (err == -ENOENT || err == -EINVAL || err == -ENODEV) return false;
      return std::nullopt;
    }
    if (nh->nlmsg_type != RTM_NEWQDISC) continue;
    if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(tcmsg))) return std::nullopt;
    auto* tc = static_cast<tcmsg*>(NLMSG_DATA(nh));
    int attr_len = static_cast<int>(nh->nlmsg_len - NLMSG_LENGTH(sizeof(tcmsg)));
    for (auto* a = TCA_RTA(tc); RTA_OK(a, attr_len); a = RTA_NEXT(a, attr_len)) {
      if (a->rta_type != TCA_KIND) continue;
      std::string_view kind(static_cast<const char*>(RTA_DATA(a)), RTA_PAYLOAD(a));
      if (!kind.empty() && kind.back() == '\0') kind.remove_suffix(1);
      return kind == "clsact";
    }
    return std::nullopt;
  }
  return std::nullopt;
}

Status AttachPodPrograms(int ifindex, const std::string& ifname, int from_pod_fd, int to_pod_fd) {
  if (auto s = EnsureClsact(ifindex, ifname); !s) return s;
  if (auto s = AttachOne(ifindex, ifname, BPF_TC_INGRESS, from_pod_fd); !s) return s;
  return AttachOne(ifindex, ifname, BPF_TC_EGRESS, to_pod_fd);
}

Status AttachUplinkProgram(int ifindex, const std::string& ifname, int from_uplink_fd) {
  if (auto s = EnsureClsact(ifindex, ifname); !s) return s;
  return AttachOne(ifindex, ifname, BPF_TC_INGRESS, from_uplink_fd);
}

Result<std::string> AttachUplinkXdp(int ifindex, const std::string& ifname, int xdp_fd) {
  if (bpf_xdp_attach(ifindex, xdp_fd, XDP_FLAGS_DRV_MODE, nullptr) == 0)
    return std::string("native");
  if (int err = bpf_xdp_attach(ifindex, xdp_fd, XDP_FLAGS_SKB_MODE, nullptr); err) {
    return Error{fmt::format("attach XDP on {}: {}", ifname, std::strerror(-err))};
  }
  return std::string("generic");
}

Status DetachOtherUplinkMode(int ifindex, const std::string& ifname, const std::string& keep) {
  if (keep == "xdp") {
    // Without clsact there is no filter to remove; asking libbpf anyway
    // would print the kernel's complaint about the missing qdisc.
    if (HasClsactQdisc(ifindex) == false) return Status::Ok();
    DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
    DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kHandle, .priority = kPriority);
    int err = bpf_tc_detach(&hook, &opts);
    if (err && err != -ENOENT && err != -EINVAL) {
      return Error{fmt::format("detach tc from {}: {}", ifname, std::strerror(-err))};
    }
    return Status::Ok();
  }
  for (__u32 mode : {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE}) {
    __u32 id = 0;
    if (bpf_xdp_query_id(ifindex, static_cast<int>(mode), &id) != 0 || id == 0) continue;
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_prog_info info{};
    __u32 len = sizeof info;
    bool ours = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
                std::string(info.name).rfind("mer_xdp_", 0) == 0;
    close(fd);
    if (ours) bpf_xdp_detach(ifindex, static_cast<int>(mode), nullptr);
  }
  return Status::Ok();
}

Status DetachPodPrograms(int ifindex, const std::string& ifname) {
  // No qdisc (or no interface): nothing of ours to remove, and libbpf
  // would print the kernel's complaint about the missing qdisc.
  if (HasClsactQdisc(ifindex) == false) return Status::Ok();
  for (auto point : {BPF_TC_INGRESS, BPF_TC_EGRESS}) {
    DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
    DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kHandle, .priority = kPriority);
    int err = bpf_tc_detach(&hook, &opts);
    if (err && err != -ENOENT && err != -EINVAL && err != -ENODEV) {
      return Error{fmt::format("detach tc from {}: {}", ifname, std::strerror(-err))};
    }
  }
  return Status::Ok();
}

}  // namespace meridian::datapath
