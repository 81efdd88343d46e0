#include "datapath/tc_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

}  // namespace

Status AttachPodPrograms(int ifindex, const std::string& ifname, int from_pod_fd, int to_pod_fd) {
  DECLARE_LIBBPF_OPTS(
      bpf_tc_hook, hook, .ifindex = ifindex,
      .attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS));
  if (int err = bpf_tc_hook_create(&hook); err && err != -EEXIST) {
    return Error{fmt::format("create clsact qdisc on {}: {}", ifname, std::strerror(-err))};
  }
  if (auto s = AttachOne(ifindex, ifname, BPF_TC_INGRESS, from_pod_fd); !s) return s;
  return AttachOne(ifindex, ifname, BPF_TC_EGRESS, to_pod_fd);
}

Status AttachUplinkProgram(int ifindex, const std::string& ifname, int from_uplink_fd) {
  DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
  if (int err = bpf_tc_hook_create(&hook); err && err != -EEXIST) {
    return Error{fmt::format("create clsact qdisc on {}: {}", ifname, std::strerror(-err))};
  }
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
