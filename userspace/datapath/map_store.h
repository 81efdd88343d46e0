// Where the map writer reads and writes its maps: the kernel's (KernelMapStore,
// over a MapSet), or memory (MemoryMapStore: unit tests and benchmarks run
// the writer's whole reconcile without root). Maps are named by MapId, one
// per entry of MER_MAPS; keys and values are the ABI structs, passed as
// bytes of the sizes the list gives.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "common/result.h"
#include "datapath/maglev_slots.h"
#include "meridian/abi.h"

namespace meridian::datapath {

// One per map of MER_MAPS, named as the list names it (MapId::services is
// mer_services).
enum class MapId : std::uint8_t {
#define MER_MAP_ID(name, ...) name,
  MER_MAPS(MER_MAP_ID)
#undef MER_MAP_ID
};

inline constexpr std::size_t kMapCount = 0
#define MER_MAP_COUNT(...) +1
    MER_MAPS(MER_MAP_COUNT)
#undef MER_MAP_COUNT
    ;

// What MER_MAPS says of a map.
struct MapShape {
  const char* name;  // mer_services, ...
  std::uint32_t type, max_entries, flags, key_size, value_size;
};
const MapShape& ShapeOf(MapId map);

class MapStore {
 public:
  virtual ~MapStore() = default;
  // 0, or the errno value the kernel's bpf_map_*_elem would give (E2BIG:
  // a hash map is full; ENOENT: no such key).
  virtual int Update(MapId map, const void* key, const void* value) = 0;
  virtual int Delete(MapId map, const void* key) = 0;
  virtual int Lookup(MapId map, const void* key, void* value) const = 0;
  // Every key of the map, back to back (ShapeOf(map).key_size bytes each).
  virtual std::vector<std::uint8_t> KeyBytes(MapId map) const = 0;
  // The flat Maglev slot array (mer_maglev), writable.
  virtual Result<MaglevSlots> MapSlots() = 0;
};

// The keys of a map, typed. Collected before any lookup, so that a caller
// may delete entries while it walks.
template <class K>
std::vector<K> KeysOf(const MapStore& store, MapId map) {
  const std::vector<std::uint8_t> bytes = store.KeyBytes(map);
  std::vector<K> keys(bytes.size() / sizeof(K));
  if (!keys.empty()) std::memcpy(keys.data(), bytes.data(), keys.size() * sizeof(K));
  return keys;
}

// Calls fn(key, value) for every entry; entries deleted meanwhile are skipped.
template <class K, class V, class F>
void ForEachEntry(const MapStore& store, MapId map, F&& fn) {
  for (const K& key : KeysOf<K>(store, map)) {
    V value{};
    if (store.Lookup(map, &key, &value) == 0) fn(key, value);
  }
}

}  // namespace meridian::datapath
