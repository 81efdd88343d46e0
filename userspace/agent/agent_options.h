// Everything meridian-agent is told on its command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "datapath/lxc_datapath.h"
#include "lb/maglev.h"

namespace meridian::agent {

struct AgentOptions {
  std::string node;           // node name; pins live in <bpffs>/meridian/<node>
  std::string manifests_dir;  // Service / EndpointSlice manifests
  std::vector<std::string> pod_interfaces = {"lxc*"};  // globs of host-side pod veths
  std::string bpffs = "/sys/fs/bpf";
  std::string state_dir;  // status.json; default /run/meridian/<node>
  datapath::MapSizes map_sizes;
  lb::MaglevConfig maglev;
  std::chrono::milliseconds resync_interval{10000};
  std::chrono::milliseconds debounce{50};
  bool detach_on_exit = false;
  bool once = false;  // reconcile once, attach existing pods, exit
};

}  // namespace meridian::agent
