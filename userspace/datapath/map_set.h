// MapSet: file descriptors of one node's datapath maps. Owned by whoever
// opened them (the loader, or OpenPinnedMaps for tools); a MapSet only
// borrows them, so the map writer works the same on a freshly loaded
// skeleton, on pinned maps, and on a benchmark's private maps.
#pragma once

struct bpf_object;

namespace meridian::datapath {

struct MapSet {
  int services = -1;      // mer_services
  int backends = -1;      // mer_backends
  int maglev = -1;        // mer_maglev (hash of maps)
  int ct = -1;            // mer_ct
  int stats = -1;         // mer_stats
  int remote_cidrs = -1;  // mer_remote_cidrs (LPM)
  int tunnel_peers = -1;  // mer_tunnel_peers
  int exported_eps = -1;  // mer_exported_eps
  int affinity = -1;      // mer_affinity (LRU)
};

// The mer_* maps of a loaded BPF object (any object that includes
// meridian/maps.h: the node's programs, a benchmark's private copy).
MapSet MapSetOf(const bpf_object* obj);

}  // namespace meridian::datapath
