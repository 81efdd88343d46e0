#include "datapath/map_set.h"

#include <bpf/libbpf.h>

#include "meridian/abi.h"

namespace meridian::datapath {

MapSet MapSetOf(const bpf_object* obj) {
  auto fd = [obj](const char* name) {
    const bpf_map* map = bpf_object__find_map_by_name(obj, name);
    return map ? bpf_map__fd(map) : -1;
  };
  return MapSet{.services = fd(MER_MAP_SERVICES),
                .backends = fd(MER_MAP_BACKENDS),
                .maglev = fd(MER_MAP_MAGLEV),
                .ct = fd(MER_MAP_CT),
                .stats = fd(MER_MAP_STATS),
                .remote_cidrs = fd(MER_MAP_REMOTE_CIDRS),
                .tunnel_peers = fd(MER_MAP_TUNNEL_PEERS),
                .exported_eps = fd(MER_MAP_EXPORTED_EPS),
                .affinity = fd(MER_MAP_AFFINITY)};
}

}  // namespace meridian::datapath
