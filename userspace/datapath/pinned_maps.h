// Opens a node's pinned maps (every map of MER_MAPS, and mer_events), for
// tools that inspect a running datapath without loading anything.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "datapath/map_set.h"
#include "datapath/unique_fd.h"

namespace meridian::datapath {

class PinnedMaps {
 public:
  static Result<PinnedMaps> Open(const std::string& pin_dir);
  const MapSet& maps() const { return maps_; }

 private:
  std::vector<UniqueFd> fds_;  // one per map opened
  MapSet maps_;
};

}  // namespace meridian::datapath
