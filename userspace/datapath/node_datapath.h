// NodeDatapath: one node's BPF programs loaded into the kernel, with their
// maps: the pod-veth programs (bpf/lxc.bpf.c) and the uplink program
// (bpf/uplink.bpf.c), which shares every map with them. With a pin
// directory, maps that are already pinned there are reused (so conntrack
// and services survive an agent restart) and the programs are pinned
// beside them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "datapath/map_resize.h"
#include "datapath/map_set.h"
#include "meridian/abi.h"

struct lxc;  // bpftool skeletons
struct uplink;

namespace meridian::datapath {

struct MapSizes {
  std::uint32_t services = 65536;
  std::uint32_t backends = 131072;
  std::uint32_t ct = 262144;
  // Slots of the flat Maglev array (4 bytes each, allocated at load): room
  // for every service's table plus the ones being replaced.
  std::uint32_t maglev_slots = 1u << 23;
  // Clients of ClientIP frontends remembered (mer_affinity, LRU: a full
  // map forgets the coldest); Cilium's default.
  std::uint32_t affinity = 65536;
};

struct LoadOptions {
  std::string pin_dir;  // empty: nothing pinned (tests, benchmarks)
  MapSizes sizes;
  mer_config config{};  // node_ip_be == 0: no tunnel
};

class NodeDatapath {
 public:
  static Result<std::unique_ptr<NodeDatapath>> Load(const LoadOptions& options);
  ~NodeDatapath();
  NodeDatapath(const NodeDatapath&) = delete;
  NodeDatapath& operator=(const NodeDatapath&) = delete;

  int from_pod_fd() const;
  int to_pod_fd() const;
  int from_uplink_fd() const;      // tc ingress
  int xdp_from_uplink_fd() const;  // XDP
  // The socket load balancer's cgroup programs (meridian/sock.h).
  struct SocketLbFds {
    int connect4, sendmsg4, recvmsg4, getpeername4;
  };
  SocketLbFds socket_lb_fds() const;
  const MapSet& maps() const { return maps_; }
  // True when the maps were found pinned (an agent restart).
  bool reused_pins() const { return reused_pins_; }
  // Conntrack entries copied from a map ABI 8 mer_ct at load
  // (datapath/ct_migration.h); the copy is finished by FinishCtMigration.
  bool ct_migration_pending() const { return ct_migration_pending_; }
  std::size_t ct_entries_migrated() const { return ct_entries_migrated_; }
  // Once the new programs replaced the old ones everywhere: copies what
  // the old programs wrote meanwhile and removes the old map's pin.
  // Returns the entries copied by this second pass (0 when nothing was
  // pending).
  Result<std::size_t> FinishCtMigration();
  // Maps pinned with another capacity or other flags, recreated by this
  // load with their entries (datapath/map_resize.h); empty when none.
  const std::vector<MapResize>& resized_maps() const { return resized_maps_; }
  // Entries copied into recreated maps so far.
  std::size_t resized_entries_copied() const { return resized_entries_copied_; }
  // Maps the programs write wait for their second copy (FinishMapResizes).
  bool resize_pending() const { return resize_pending_; }
  // Once the new programs replaced the old ones everywhere: copies what
  // the old programs wrote meanwhile into the recreated maps and removes
  // the old pins. Returns the entries this second pass copied.
  Result<std::size_t> FinishMapResizes();

 private:
  NodeDatapath() = default;
  lxc* lxc_ = nullptr;
  uplink* uplink_ = nullptr;
  MapSet maps_;
  bool reused_pins_ = false;
  std::string pin_dir_;
  mer_ct_timeouts ct_timeouts_{};
  bool ct_migration_pending_ = false;
  std::size_t ct_entries_migrated_ = 0;
  std::vector<MapResize> resized_maps_;
  std::size_t resized_entries_copied_ = 0;
  bool resize_pending_ = false;
};

}  // namespace meridian::datapath
