// MonitorSession: the reading side of the datapath's monitor. Attaching
// writes a lease into mer_monitor (until when, which kinds, one in how
// many); the datapath writes events to the ring mer_events only while the
// lease runs. Polling hands each event to the handler and renews the
// lease; detaching (or the destructor) ends it at once. A monitor that
// dies without detaching stops costing when its lease runs out
// (MER_MONITOR_LEASE_MS).
//
// The ring has one reader: two sessions on one node would each see part
// of the events. `meridianctl monitor` therefore holds a lock while
// attached (see docs/meridianctl.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "common/result.h"
#include "datapath/map_set.h"
#include "meridian/abi.h"

struct ring_buffer;

namespace meridian::datapath {

struct MonitorSettings {
  std::uint32_t sample_every = 1;  // 1: every event; N: one in N
  std::uint32_t types = MER_EVENT_ALL_TYPES;
};

class MonitorSession {
 public:
  using Handler = std::function<void(const mer_event&)>;

  // Needs maps.monitor and maps.events. The handler runs inside Poll.
  static Result<std::unique_ptr<MonitorSession>> Attach(const MapSet& maps,
                                                        const MonitorSettings& settings,
                                                        Handler handler);
  ~MonitorSession();
  MonitorSession(const MonitorSession&) = delete;
  MonitorSession& operator=(const MonitorSession&) = delete;

  // Waits up to `timeout` (the datapath wakes a waiting reader only when
  // its ring is a quarter full), then handles the events there are; renews
  // the lease when a third of it has passed. Returns how many it handled.
  Result<int> Poll(std::chrono::milliseconds timeout);
  // Ends the lease: the datapath stops producing events.
  Status Detach();

 private:
  MonitorSession(int monitor_fd, const MonitorSettings& settings, Handler handler);
  Status WriteLease(std::uint64_t until_ns);

  int monitor_fd_;
  MonitorSettings settings_;
  Handler handler_;
  ring_buffer* ring_ = nullptr;
  std::uint64_t renewed_ns_ = 0;
  bool attached_ = false;
};

// CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns().
std::uint64_t MonotonicNs();

}  // namespace meridian::datapath
