// Before the datapath is loaded over maps pinned by an earlier agent: are
// they the maps this build would create? libbpf refuses a mismatch with a
// bare "Invalid argument"; this says which map differs, how, and what to do.
// Maps that differ only in capacity or flags were set aside before this
// check (datapath/map_resize.h): a mismatch left means another Meridian
// version (MER_ABI_VERSION).
#pragma once

#include <bpf/libbpf.h>

#include <string>

#include "common/result.h"

namespace meridian::datapath {

// Compares every mer_* map of `obj` (opened, sized, not loaded) with the
// map pinned under `pin_dir` by the same name, if any: type, key and value
// size, capacity and flags. Ok when nothing is pinned or everything matches.
Status CheckPinnedMaps(bpf_object* obj, const std::string& pin_dir);

}  // namespace meridian::datapath
