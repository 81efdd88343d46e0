// Attaching the pod programs to a host-side veth with tc clsact (libbpf 1.1
// has no tcx links). Attachments outlive the agent on purpose: the datapath
// keeps forwarding while the agent restarts.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace meridian::datapath {

// Whether `ifindex` has a clsact qdisc, asked on a netlink socket of our
// own so that the answer "no" is not printed by libbpf; false also when the
// interface is gone, nullopt when the kernel could not be asked.
std::optional<bool> HasClsactQdisc(int ifindex);

// Attaches (or atomically replaces) from-pod on ingress and to-pod on
// egress of `ifindex`. `ifname` is only for messages.
Status AttachPodPrograms(int ifindex, const std::string& ifname, int from_pod_fd, int to_pod_fd);

// Attaches (or replaces) the uplink program on ingress of `ifindex`.
Status AttachUplinkProgram(int ifindex, const std::string& ifname, int from_uplink_fd);

// Attaches the XDP uplink program, natively where the driver allows and
// in generic mode otherwise; returns which ("native" or "generic").
Result<std::string> AttachUplinkXdp(int ifindex, const std::string& ifname, int xdp_fd);

// Removes whichever uplink attachment is not `keep` ("tc" or "xdp"), so
// that switching --uplink-decap never leaves both decapsulating. Only
// Meridian's own program is removed.
Status DetachOtherUplinkMode(int ifindex, const std::string& ifname, const std::string& keep);

// Removes Meridian's filters from `ifindex`; a missing filter (or qdisc, or
// interface) is not an error.
Status DetachPodPrograms(int ifindex, const std::string& ifname);

}  // namespace meridian::datapath
