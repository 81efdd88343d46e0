#include "datapath/memory_map_store.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

namespace meridian::datapath {
namespace {

bool IsArray(MapId map) {
  const std::uint32_t t = ShapeOf(map).type;
  return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY;
}

std::string Bytes(const void* p, std::size_t n) {
  return std::string(static_cast<const char*>(p), n);
}

}  // namespace

MemoryMapStore::MemoryMapStore(std::uint32_t maglev_slots, std::uint32_t max_entries)
    : slots_(mer_maglev_elements(maglev_slots) * 2, 0) {
  for (std::size_t i = 0; i < kMapCount; ++i) {
    const MapId map = static_cast<MapId>(i);
    max_entries_[i] = max_entries != 0 && !IsArray(map) ? max_entries : ShapeOf(map).max_entries;
  }
  max_entries_[static_cast<std::size_t>(MapId::maglev)] = mer_maglev_elements(maglev_slots);
}

int MemoryMapStore::Update(MapId map, const void* key, const void* value) {
  const MapShape& shape = ShapeOf(map);
  const std::size_t i = static_cast<std::size_t>(map);
  if (map == MapId::maglev) {
    std::uint32_t element;
    std::memcpy(&element, key, sizeof element);
    if (element >= max_entries_[i]) return E2BIG;
    std::memcpy(&slots_[std::size_t{element} * 2], value, sizeof(mer_maglev_pair));
    ++writes_;
    return 0;
  }
  auto& entries = maps_[i];
  std::string k = Bytes(key, shape.key_size);
  if (IsArray(map)) {
    std::uint32_t index;
    std::memcpy(&index, key, sizeof index);
    if (index >= max_entries_[i]) return E2BIG;
  } else if (!entries.count(k) && entries.size() >= max_entries_[i]) {
    return E2BIG;
  }
  entries[std::move(k)] = Bytes(value, shape.value_size);
  ++writes_;
  return 0;
}

int MemoryMapStore::Delete(MapId map, const void* key) {
  if (IsArray(map)) return EINVAL;  // as the kernel: array elements cannot be deleted
  if (maps_[static_cast<std::size_t>(map)].erase(Bytes(key, ShapeOf(map).key_size)) == 0) {
    return ENOENT;
  }
  ++writes_;
  return 0;
}

int MemoryMapStore::Lookup(MapId map, const void* key, void* value) const {
  const std::size_t i = static_cast<std::size_t>(map);
  if (map == MapId::maglev) {
    std::uint32_t element;
    std::memcpy(&element, key, sizeof element);
    if (element >= max_entries_[i]) return ENOENT;
    std::memcpy(value, &slots_[std::size_t{element} * 2], sizeof(mer_maglev_pair));
    return 0;
  }
  const auto& entries = maps_[i];
  auto it = entries.find(Bytes(key, ShapeOf(map).key_size));
  if (it == entries.end()) {
    if (!IsArray(map)) return ENOENT;
    std::memset(value, 0, ShapeOf(map).value_size);  // arrays: every index exists, zeroed
    return 0;
  }
  std::memcpy(value, it->second.data(), it->second.size());
  return 0;
}

std::vector<std::uint8_t> MemoryMapStore::KeyBytes(MapId map) const {
  std::vector<std::uint8_t> out;
  for (const auto& [k, v] : maps_[static_cast<std::size_t>(map)])
    out.insert(out.end(), k.begin(), k.end());
  return out;
}

Result<MaglevSlots> MemoryMapStore::MapSlots() {
  return MaglevSlots::Borrow(slots_.data(), static_cast<std::uint32_t>(slots_.size()));
}

}  // namespace meridian::datapath
