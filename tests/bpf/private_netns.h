// The main() of the BPF test binaries whose programs do FIB lookups: they
// run in a private network namespace of their own, set up by a shell
// command list, so that bpf_fib_lookup gives the same answer everywhere
// and nothing outside the namespace is touched (it goes with the process).
#pragma once

#include <gtest/gtest.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>

namespace meridian::testing {

// One veth "uplink" up0 (172.16.1.11/24, MAC 02:bb:00:00:00:01), a route to
// 172.16.2.0/24 via 172.16.1.1 and a static neighbour for it, forwarding on.
inline constexpr const char* kUplinkNetnsSetup =
    "ip link set lo up && "
    "ip link add up0 address 02:bb:00:00:00:01 type veth peer name up1 && "
    "ip link set up0 up && ip link set up1 up && "
    "ip addr add 172.16.1.11/24 dev up0 && "
    "ip route add 172.16.2.0/24 via 172.16.1.1 dev up0 && "
    "ip neigh replace 172.16.1.1 lladdr 02:aa:00:00:00:01 dev up0 nud permanent && "
    "sysctl -qw net.ipv4.ip_forward=1";

// Moves the process into a new network namespace, runs `setup` there,
// then every test.
inline int RunAllTestsInPrivateNetns(int argc, char** argv, const char* setup) {
  ::testing::InitGoogleTest(&argc, argv);
  if (unshare(CLONE_NEWNET) != 0) {
    std::perror("unshare(CLONE_NEWNET)");
    return 1;
  }
  if (std::system(setup) != 0) {
    std::fprintf(stderr, "network namespace set-up failed\n");
    return 1;
  }
  return RUN_ALL_TESTS();
}

}  // namespace meridian::testing
