// Maps in memory, with the kernel's answers: a full hash map refuses a new
// key with E2BIG, a missing key is ENOENT, an array index past the end is
// E2BIG. The map writer runs on it unchanged, so its reconcile is tested
// (and benchmarked) without root or BPF; tests inspect the entries
// through the same MapStore calls the writer makes.
#pragma once

#include <array>
#include <map>
#include <string>

#include "datapath/map_store.h"

namespace meridian::datapath {

class MemoryMapStore final : public MapStore {
 public:
  // Sizes as MER_MAPS gives them, except the Maglev slots (the agent's
  // --maglev-slots) and, when nonzero, `max_entries` for every hash map.
  explicit MemoryMapStore(std::uint32_t maglev_slots = 1u << 16, std::uint32_t max_entries = 0);

  int Update(MapId map, const void* key, const void* value) override;
  int Delete(MapId map, const void* key) override;
  int Lookup(MapId map, const void* key, void* value) const override;
  std::vector<std::uint8_t> KeyBytes(MapId map) const override;
  Result<MaglevSlots> MapSlots() override;

  std::size_t size(MapId map) const { return maps_[static_cast<std::size_t>(map)].size(); }
  // How many calls changed anything (update or delete that succeeded).
  std::uint64_t writes() const { return writes_; }

 private:
  std::array<std::map<std::string, std::string>, kMapCount> maps_;
  std::array<std::uint32_t, kMapCount> max_entries_{};
  std::vector<std::uint32_t> slots_;  // mer_maglev: slot s is slots_[s]
  std::uint64_t writes_ = 0;
};

}  // namespace meridian::datapath
