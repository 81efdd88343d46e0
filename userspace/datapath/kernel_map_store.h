// The map store of a running datapath: every call is the bpf() syscall on
// the descriptors of a MapSet (borrowed: the loader or PinnedMaps owns them).
#pragma once

#include <array>

#include "datapath/map_set.h"
#include "datapath/map_store.h"

namespace meridian::datapath {

class KernelMapStore final : public MapStore {
 public:
  explicit KernelMapStore(const MapSet& maps);

  int Update(MapId map, const void* key, const void* value) override;
  int Delete(MapId map, const void* key) override;
  int Lookup(MapId map, const void* key, void* value) const override;
  std::vector<std::uint8_t> KeyBytes(MapId map) const override;
  Result<MaglevSlots> MapSlots() override;

 private:
  int fd(MapId map) const { return fds_[static_cast<std::size_t>(map)]; }
  std::array<int, kMapCount> fds_{};
};

}  // namespace meridian::datapath
