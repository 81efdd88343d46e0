#include "datapath/kernel_map_store.h"

#include <bpf/bpf.h>

#include <cerrno>

#include "datapath/map_iter.h"

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
  return MapKeyBytes(fd(map), ShapeOf(map).key_size);
}

Result<MaglevSlots> KernelMapStore::MapSlots() { return MaglevSlots::Map(fd(MapId::maglev)); }

}  // namespace meridian::datapath
