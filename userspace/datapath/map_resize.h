// Maps pinned with another capacity or other flags than this agent makes
// them (other --max-* or --maglev-slots sizes, or a release that stopped
// preallocating a map): recreated with their entries, instead of refused.
//
// A pinned map of the same type, key size and value size, but another
// capacity or other flags, is renamed <name>_resized in the pin directory
// before the new programs load, so that the load creates the map anew;
// its entries are copied into the new map right after the load, before
// any program uses it. Maps only the agent writes (services, backends,
// Maglev tables, tunnel peers...) are then complete: their old pin is
// removed at once, and the old programs keep reading the old map until
// they are replaced. Maps the programs write (conntrack, affinity, the
// socket load balancer's reverse entries, the counters) are copied once
// more after the new programs replaced the old ones on every interface
// (what the old programs wrote meanwhile), and then let go, as the map
// ABI 8 conntrack is (datapath/ct_migration.h). An agent killed in between
// finds the <name>_resized pins at its next start and finishes the copy.
//
// A resize that would lose entries is refused, with nothing renamed: an
// array smaller than its pin (Maglev tables in use may lie past the new
// end), or a map the agent writes that holds more entries than its new
// capacity. LRU maps may shrink: they forget their coldest entries, as
// when they fill; the per-pair counters keep the pairs that fit.
#pragma once

#include <bpf/libbpf.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace meridian::datapath {

// One map being recreated.
struct MapResize {
  std::string name;  // mer_affinity
  std::uint32_t from_entries = 0, to_entries = 0;
  std::uint32_t from_flags = 0, to_flags = 0;
  // "mer_affinity: 262144 -> 65536 entries, flags 0x0 -> 0x1"
  std::string Describe() const;
};

// Where a map being recreated waits while its entries are copied (not
// "mer_x.resized": the BPF filesystem refuses names with a dot).
std::string ResizedPin(const std::string& pin_dir, const std::string& name);

// True for the maps the BPF programs write (their second copy waits for
// the new programs); the others only the agent writes.
bool WrittenByPrograms(const std::string& name);

// Before load: renames every mer_* map pinned under `pin_dir` that `obj`
// (opened and sized, not loaded) wants with another capacity or other
// flags, and nothing else different. Returns the maps renamed. A refused
// resize returns an error naming the map, its entries and the flag to
// change, and renames nothing. Maps of another type, key or value size
// are left for the pin check (datapath/pin_check.h).
Result<std::vector<MapResize>> SetAsideResizedMaps(bpf_object* obj, const std::string& pin_dir);

// Undoes SetAsideResizedMaps when the load does not happen.
void RestoreResizedMaps(const std::string& pin_dir, const std::vector<MapResize>& set_aside);

// The two copies. kAfterLoad copies every waiting map into its successor
// and removes the pins of the maps only the agent writes; kAfterAttach
// copies the maps the programs write once more and removes their pins.
enum class CopyPass { kAfterLoad, kAfterAttach };

// Copies the entries of the <name>_resized pins under `pin_dir` that
// `pass` takes into the maps of `obj` (loaded) of the same names. Hash
// maps: an entry the new map already has is kept (BPF_NOEXIST); arrays:
// the first min(old, new) elements are copied. Returns the entries copied.
Result<std::size_t> CopyResizedMaps(const bpf_object* obj, const std::string& pin_dir,
                                    CopyPass pass);

// Whether any <name>_resized pin waits under `pin_dir` for its second copy.
bool ResizedMapsPending(const std::string& pin_dir);

}  // namespace meridian::datapath
