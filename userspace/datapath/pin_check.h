// Before the datapath is loaded over maps pinned by an earlier agent: are
// they the maps this build would create? libbpf refuses a mismatch with a
// bare "Invalid argument"; this says which map differs, how, and what to do.
// Maps that differ only in capacity or flags were set aside before this
// check (datapath/map_resize.h): a mismatch left means another Meridian
// version (MER_ABI_VERSION).
#pragma once

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <optional>
#include <string>

#include "common/result.h"
#include "datapath/unique_fd.h"

namespace meridian::datapath {

// A pinned map, open, with its shape.
struct PinnedMap {
  UniqueFd fd;
  bpf_map_info info{};
};

// The info of the map `fd` (pinned at `path`, which errors name).
Result<bpf_map_info> ReadMapInfo(int fd, const std::string& path);

// Opens the map pinned at `path` and reads its info; nullopt when nothing
// is pinned there (the load will create it). The pin check, the map resize
// and the ABI 8 conntrack migration each look at the pins this way.
Result<std::optional<PinnedMap>> OpenPinnedMap(const std::string& path);

// Compares every mer_* map of `obj` (opened, sized, not loaded) with the
// map pinned under `pin_dir` by the same name, if any: type, key and value
// size, capacity and flags. Ok when nothing is pinned or everything matches.
Status CheckPinnedMaps(bpf_object* obj, const std::string& pin_dir);

}  // namespace meridian::datapath
