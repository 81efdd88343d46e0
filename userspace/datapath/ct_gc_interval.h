// How long the conntrack collector waits before its next run, from what
// its last run found, as Cilium's conntrack GC adapts its interval:
//  - it deleted more than 25 % of the entries it scanned: the table churns,
//    so the next run comes sooner, by as much as it deleted (deleting 60 %
//    waits 40 % as long), down to the floor;
//  - the table was 90 % full or more: the LRU is about to evict (live flows
//    among them), so the next run comes at the floor;
//  - it deleted less than 5 %: it waits 1.5 times longer, up to the
//    configured interval.
// The configured interval (--ct-gc-interval-ms) is the ceiling and the
// start; the floor is a tenth of it, but not under 1 s (and never above the
// ceiling), so a quiet node costs one walk per interval and a churning one
// at most one walk a second.
#pragma once

#include <chrono>
#include <cstddef>

namespace meridian::datapath {

struct CtGcIntervalBounds {
  std::chrono::milliseconds ceiling;
  std::chrono::milliseconds floor;
};

// The bounds for a configured interval.
CtGcIntervalBounds CtGcBoundsFor(std::chrono::milliseconds configured);

// The interval after a run that scanned `scanned` entries of a table of
// `capacity` and deleted `deleted` of them, the last interval being
// `current`.
std::chrono::milliseconds NextCtGcInterval(std::chrono::milliseconds current,
                                           const CtGcIntervalBounds& bounds, std::size_t scanned,
                                           std::size_t deleted, std::size_t capacity);

}  // namespace meridian::datapath
