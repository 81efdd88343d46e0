// NodePort serving on this node: which of its addresses take NodePorts
// (kube-proxy's --nodeport-addresses), and the uplink settings that the
// XDP path needs. Read once at start: an address added later needs an
// agent restart.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "model/cidr.h"
#include "model/ipv4.h"

namespace meridian::agent {

// The node's IPv4 addresses inside any of `cidrs` (all but loopback when
// `cidrs` is empty), sorted and unique. An error only when the interfaces
// cannot be listed.
Result<std::vector<model::Ipv4Address>> NodePortAddresses(const std::vector<model::Cidr>& cidrs);

// Parses "--nodeport-range" text "MIN-MAX" (1 <= MIN <= MAX <= 65535).
Result<std::pair<std::uint16_t, std::uint16_t>> ParsePortRange(const std::string& text);

// net.ipv4.conf.<uplink>.accept_local=1: a SNAT'd NodePort packet that XDP
// hands to the stack (no neighbour entry yet) carries this node's address
// as its source, which the stack otherwise drops as a martian. Where the
// agent may not write it (a container's /proc/sys is read-only), it is
// enough that it is set already, for the uplink or for "all" (the kernel
// ORs the two), e.g. by a privileged init container or the node's sysctl
// configuration; otherwise the error names both ways. `proc` is the
// procfs mount (tests give a directory of their own).
Status AcceptLocalSource(const std::string& uplink, const std::string& proc = "/proc");

}  // namespace meridian::agent
