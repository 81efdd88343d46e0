#include "datapath/kernel_map_store.h"

#include <bpf/bpf.h>

#include <cerrno>

namespace meridian::datapath {
namespace {

// bpf_map_*_elem give -1 and errno (libbpf 1.x: a negative error code).
int Err(int rc) { return rc == 0 ? 0 : (errno != 0 ? errno : -rc); }

}  // namespace

KernelMapStore::KernelMapStore(const MapSet& maps) {
#define MER_MAP_STORE_FD(name, ...) fds_[static_cast<std::size_t>(MapId::name)] = maps.name;
  MER_MAPS(MER_MAP_STORE_FD)
#undef MER_MAP_STORE_FD
}

int KernelMapStore::Update(MapId map, const void* key, const void* value) {
  errno = 0;
  return Err(bpf_map_update_elem(fd(map), key, value, BPF_ANY));
}

int KernelMapStore::Delete(MapId map, const void* key) {
  errno = 0;
  return Err(bpf_map_delete_elem(fd(map), key));
}

int KernelMapStore::Lookup(MapId map, const void* key, void* value) const {
  errno = 0;
  return Err(bpf_map_lookup_elem(fd(map), key, value));
}

std::vector<std::uint8_t> KernelMapStore::KeyBytes(MapId map) const {
  const std::size_t size = ShapeOf(map).key_size;
  std::vector<std::uint8_t> keys;
  std::vector<std::uint8_t> key(size), next(size);
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd(map), prev, next.data()) == 0) {
    keys.insert(keys.end(), next.begin(), next.end());
    key = next;
    prev = key.data();
  }
  return keys;
}

Result<MaglevSlots> KernelMapStore::MapSlots() { return MaglevSlots::Map(fd(MapId::maglev)); }

}  // namespace meridian::datapath
