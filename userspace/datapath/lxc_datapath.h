// LxcDatapath: the pod-veth tc programs (bpf/lxc.bpf.c) loaded into the
// kernel, with their maps. With a pin directory, maps that are already
// pinned there are reused (so conntrack and services survive an agent
// restart) and the programs are pinned beside them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "datapath/map_set.h"

struct lxc;  // the bpftool skeleton

namespace meridian::datapath {

struct MapSizes {
  std::uint32_t services = 65536;
  std::uint32_t backends = 131072;
  std::uint32_t ct = 262144;
};

struct LoadOptions {
  std::string pin_dir;  // empty: nothing pinned (tests, benchmarks)
  MapSizes sizes;
};

class LxcDatapath {
 public:
  static Result<std::unique_ptr<LxcDatapath>> Load(const LoadOptions& options);
  ~LxcDatapath();
  LxcDatapath(const LxcDatapath&) = delete;
  LxcDatapath& operator=(const LxcDatapath&) = delete;

  int from_pod_fd() const;
  int to_pod_fd() const;
  const MapSet& maps() const { return maps_; }
  // True when the maps were found pinned (an agent restart).
  bool reused_pins() const { return reused_pins_; }

 private:
  explicit LxcDatapath(lxc* skel) : skel_(skel) {}
  lxc* skel_;
  MapSet maps_;
  bool reused_pins_ = false;
};

}  // namespace meridian::datapath
