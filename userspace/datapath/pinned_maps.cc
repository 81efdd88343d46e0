#include "datapath/pinned_maps.h"

#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "meridian/abi.h"

namespace meridian::datapath {

Result<PinnedMaps> PinnedMaps::Open(const std::string& pin_dir) {
  PinnedMaps p;
  struct Slot {
    const char* name;
    UniqueFd* fd;
    int* raw;
  } slots[] = {
      {MER_MAP_SERVICES, &p.services_, &p.maps_.services},
      {MER_MAP_BACKENDS, &p.backends_, &p.maps_.backends},
      {MER_MAP_MAGLEV, &p.maglev_, &p.maps_.maglev},
      {MER_MAP_CT, &p.ct_, &p.maps_.ct},
      {MER_MAP_STATS, &p.stats_, &p.maps_.stats},
      {MER_MAP_REMOTE_CIDRS, &p.remote_cidrs_, &p.maps_.remote_cidrs},
      {MER_MAP_TUNNEL_PEERS, &p.tunnel_peers_, &p.maps_.tunnel_peers},
      {MER_MAP_EXPORTED_EPS, &p.exported_eps_, &p.maps_.exported_eps},
      {MER_MAP_AFFINITY, &p.affinity_, &p.maps_.affinity},
  };
  for (auto& s : slots) {
    std::string path = pin_dir + "/" + s.name;
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) {
      return Error{fmt::format("open pinned map {}: {} (is the agent running for this node?)", path,
                               std::strerror(errno))};
    }
    s.fd->Reset(fd);
    *s.raw = fd;
  }
  return p;
}

}  // namespace meridian::datapath
