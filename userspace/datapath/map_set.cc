#include "datapath/map_set.h"

#include <bpf/libbpf.h>

#include "meridian/abi.h"

namespace meridian::datapath {

MapSet MapSetOf(const bpf_object* obj) {
  auto fd = [obj](const char* name) {
    const bpf_map* map = bpf_object__find_map_by_name(obj, name);
    return map ? bpf_map__fd(map) : -1;
  };
  MapSet set;
#define MER_MAP_FD_OF(name, ...) set.name = fd(MER_MAP_NAME(name));
  MER_MAPS(MER_MAP_FD_OF)
#undef MER_MAP_FD_OF
  set.events = fd("mer_events");
  return set;
}

}  // namespace meridian::datapath
