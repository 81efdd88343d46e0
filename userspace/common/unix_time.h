// The wall clock in milliseconds since the Unix epoch: what status files,
// registry records and leases stamp (readers compare it across processes,
// so it is the system clock, not a monotonic one).
#pragma once

#include <chrono>
#include <cstdint>

namespace meridian {

inline std::int64_t UnixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace meridian
