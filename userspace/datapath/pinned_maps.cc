#include "datapath/pinned_maps.h"

#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "meridian/abi.h"

namespace meridian::datapath {

Result<PinnedMaps> PinnedMaps::Open(const std::string& pin_dir) {
  PinnedMaps p;
  auto open = [&](const char* name, int& raw) -> Status {
    std::string path = pin_dir + "/" + name;
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) {
      return Error{fmt::format("open pinned map {}: {} (is the agent running for this node?)", path,
                               std::strerror(errno))};
    }
    p.fds_.emplace_back(fd);
    raw = fd;
    return Status::Ok();
  };
#define MER_OPEN_PINNED(name, ...) \
  if (auto s = open(MER_MAP_NAME(name), p.maps_.name); !s) return s.error();
  MER_MAPS(MER_OPEN_PINNED)
#undef MER_OPEN_PINNED
  if (auto s = open("mer_events", p.maps_.events); !s) return s.error();
  return p;
}

}  // namespace meridian::datapath
