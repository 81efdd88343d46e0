// Opens a node's pinned maps, for tools that inspect a running datapath
// without loading anything.
#pragma once

#include <string>

#include "common/result.h"
#include "datapath/map_set.h"
#include "datapath/unique_fd.h"

namespace meridian::datapath {

class PinnedMaps {
 public:
  static Result<PinnedMaps> Open(const std::string& pin_dir);
  const MapSet& maps() const { return maps_; }

 private:
  UniqueFd services_, backends_, maglev_, ct_, stats_, remote_cidrs_, tunnel_peers_, exported_eps_,
      affinity_;
  MapSet maps_;
};

}  // namespace meridian::datapath
