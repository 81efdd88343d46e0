// What the agent reads off the node's uplink interface at start.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "model/ipv4.h"

namespace meridian::agent {

struct UplinkInfo {
  std::string name;
  int ifindex = 0;
  std::uint32_t mtu = 0;
  model::Ipv4Address address;  // its first IPv4 address
};

// Fails, naming the interface, when it does not exist or has no IPv4
// address (and none is given).
Result<UplinkInfo> ReadUplink(const std::string& name);

}  // namespace meridian::agent
