// Attaches the socket load balancer (bpf/include/meridian/sock.h) to a
// cgroup v2 directory: connect4, sendmsg4, recvmsg4 and getpeername4, each
// with BPF_F_ALLOW_MULTI so that other programs on the cgroup (a CNI's,
// systemd's) stay. An earlier agent's programs (names starting mer_sock_)
// are detached first, so a restart or an upgrade never stacks two.
#pragma once

#include <string>

#include "common/result.h"
#include "datapath/node_datapath.h"

namespace meridian::datapath {

// Errors name the cgroup and the hook: not a cgroup v2 directory, no
// permission, a kernel without the hook.
Status AttachSocketLb(const std::string& cgroup_path, const NodeDatapath::SocketLbFds& fds);

// Detaches every mer_sock_ program from the cgroup (--detach-on-exit).
Status DetachSocketLb(const std::string& cgroup_path);

}  // namespace meridian::datapath
