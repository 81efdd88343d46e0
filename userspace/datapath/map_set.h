// MapSet: file descriptors of one node's datapath maps. Owned by whoever
// opened them (the loader, or OpenPinnedMaps for tools); a MapSet only
// borrows them, so the map writer works the same on a freshly loaded
// skeleton, on pinned maps, and on a benchmark's private maps.
#pragma once

#include "meridian/abi.h"

struct bpf_object;

namespace meridian::datapath {

// One descriptor per map of MER_MAPS (meridian/abi.h): `services` is
// mer_services, and so on; -1 when absent.
struct MapSet {
#define MER_MAP_FD(name, ...) int name = -1;
  MER_MAPS(MER_MAP_FD)
#undef MER_MAP_FD
  int events = -1;  // mer_events: the monitor's ring buffer (outside MER_MAPS)
};

// The mer_* maps of a loaded BPF object (any object that includes
// meridian/maps.h: the node's programs, a benchmark's private copy).
MapSet MapSetOf(const bpf_object* obj);

}  // namespace meridian::datapath
