#include "datapath/cgroup_attach.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "datapath/unique_fd.h"

namespace meridian::datapath {
namespace {

constexpr std::pair<bpf_attach_type, const char*> kHooks[] = {
    {BPF_CGROUP_INET4_CONNECT, "connect4"},
    {BPF_CGROUP_UDP4_SENDMSG, "sendmsg4"},
    {BPF_CGROUP_UDP4_RECVMSG, "recvmsg4"},
    {BPF_CGROUP_INET4_GETPEERNAME, "getpeername4"},
};

Result<UniqueFd> OpenCgroup(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return Error{fmt::format("--socket-lb-cgroup {}: {}", path, std::strerror(errno))};
  }
  return fd;
}

// Detaches the programs named mer_sock_* from one hook of the cgroup.
Status DetachOurs(int cgroup_fd, bpf_attach_type type, const std::string& where) {
  std::uint32_t ids[64] = {};
  std::uint32_t count = 64, flags = 0;
  if (bpf_prog_query(cgroup_fd, type, 0, &flags, ids, &count) != 0) {
    return Error{fmt::format("{}: query attached programs: {}", where, std::strerror(errno))};
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    UniqueFd prog(bpf_prog_get_fd_by_id(ids[i]));
    if (!prog.valid()) continue;  // detached meanwhile
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog.get(), &info, &len) != 0) continue;
    if (std::strncmp(info.name, "mer_sock_", 9) != 0) continue;
    if (bpf_prog_detach2(prog.get(), cgroup_fd, type) != 0) {
      return Error{fmt::format("{}: detach {}: {}", where, info.name, std::strerror(errno))};
    }
  }
  return Status::Ok();
}

}  // namespace

Status AttachSocketLb(const std::string& cgroup_path, const NodeDatapath::SocketLbFds& fds) {
  auto cgroup = OpenCgroup(cgroup_path);
  if (!cgroup.ok()) return cgroup.error();
  const int prog_fds[] = {fds.connect4, fds.sendmsg4, fds.recvmsg4, fds.getpeername4};
  for (std::size_t i = 0; i < std::size(kHooks); ++i) {
    const auto [type, name] = kHooks[i];
    const std::string where = fmt::format("--socket-lb-cgroup {} ({})", cgroup_path, name);
    if (auto s = DetachOurs(cgroup->get(), type, where); !s) return s;
    if (bpf_prog_attach(prog_fds[i], cgroup->get(), type, BPF_F_ALLOW_MULTI) != 0) {
      return Error{fmt::format("{}: attach: {}", where, std::strerror(errno))};
    }
  }
  return Status::Ok();
}

Status DetachSocketLb(const std::string& cgroup_path) {
  auto cgroup = OpenCgroup(cgroup_path);
  if (!cgroup.ok()) return cgroup.error();
  for (const auto& [type, name] : kHooks) {
    const std::string where = fmt::format("--socket-lb-cgroup {} ({})", cgroup_path, name);
    if (auto s = DetachOurs(cgroup->get(), type, where); !s) return s;
  }
  return Status::Ok();
}

}  // namespace meridian::datapath
