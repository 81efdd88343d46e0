#include "datapath/ct_gc_interval.h"

#include <algorithm>

namespace meridian::datapath {

CtGcIntervalBounds CtGcBoundsFor(std::chrono::milliseconds configured) {
  const auto floor =
      std::min(configured, std::max(std::chrono::milliseconds(1000), configured / 10));
  return {.ceiling = configured, .floor = floor};
}

std::chrono::milliseconds NextCtGcInterval(std::chrono::milliseconds current,
                                           const CtGcIntervalBounds& bounds, std::size_t scanned,
                                           std::size_t deleted, std::size_t capacity) {
  using std::chrono::milliseconds;
  current = std::clamp(current, bounds.floor, bounds.ceiling);
  if (capacity > 0 && scanned * 10 >= capacity * 9) return bounds.floor;
  if (scanned == 0) return std::min(bounds.ceiling, milliseconds(current.count() * 3 / 2));
  const double deleted_ratio = static_cast<double>(deleted) / static_cast<double>(scanned);
  if (deleted_ratio > 0.25) {
    const double kept = 1.0 - std::min(deleted_ratio, 0.9);
    return std::max(bounds.floor,
                    milliseconds(static_cast<milliseconds::rep>(current.count() * kept)));
  }
  if (deleted_ratio < 0.05) return std::min(bounds.ceiling, milliseconds(current.count() * 3 / 2));
  return current;
}

}  // namespace meridian::datapath
