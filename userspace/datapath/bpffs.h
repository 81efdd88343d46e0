// The BPF filesystem, where Meridian pins its maps and programs.
#pragma once

#include <string>

#include "common/result.h"

namespace meridian::datapath {

inline constexpr const char* kDefaultBpffs = "/sys/fs/bpf";

// Mounts bpffs at `path` unless one is mounted there already.
Status EnsureBpffsMounted(const std::string& path);

// <bpffs>/meridian/<node>: one directory per node, so that several
// simulated nodes on one machine never share maps.
std::string NodePinDir(const std::string& bpffs, const std::string& node);

// Node names become path components and map-name prefixes.
Status ValidateNodeName(const std::string& node);

}  // namespace meridian::datapath
