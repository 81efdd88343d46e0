#include "datapath/monitor_session.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace meridian::datapath {
namespace {

constexpr std::uint64_t kLeaseNs = std::uint64_t{MER_MONITOR_LEASE_MS} * 1'000'000;

int OnEvent(void* ctx, void* data, size_t size) {
  if (size < sizeof(mer_event)) return 0;  // not ours: ignored
  mer_event e;
  std::memcpy(&e, data, sizeof(e));
  (*static_cast<MonitorSession::Handler*>(ctx))(e);
  return 0;
}

}  // namespace

std::uint64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::uint64_t(ts.tv_sec) * 1'000'000'000 + std::uint64_t(ts.tv_nsec);
}

MonitorSession::MonitorSession(int monitor_fd, const MonitorSettings& settings, Handler handler)
    : monitor_fd_(monitor_fd), settings_(settings), handler_(std::move(handler)) {}

Result<std::unique_ptr<MonitorSession>> MonitorSession::Attach(const MapSet& maps,
                                                               const MonitorSettings& settings,
                                                               Handler handler) {
  if (maps.monitor < 0 || maps.events < 0) {
    return Error{"monitor: the datapath has no mer_monitor / mer_events (an older agent?)"};
  }
  if (settings.types == 0) return Error{"monitor: no event kind selected"};
  std::unique_ptr<MonitorSession> s(new MonitorSession(maps.monitor, settings, std::move(handler)));
  s->ring_ = ring_buffer__new(maps.events, OnEvent, &s->handler_, nullptr);
  if (!s->ring_) {
    return Error{fmt::format("monitor: open the ring mer_events: {}", std::strerror(errno))};
  }
  // Events left from an earlier monitor that died are not this session's.
  ring_buffer__consume(s->ring_);
  s->renewed_ns_ = MonotonicNs();
  if (auto st = s->WriteLease(s->renewed_ns_ + kLeaseNs); !st) return st.error();
  s->attached_ = true;
  return s;
}

MonitorSession::~MonitorSession() {
  (void)Detach();
  if (ring_) ring_buffer__free(ring_);
}

Status MonitorSession::WriteLease(std::uint64_t until_ns) {
  const std::uint32_t key = 0;
  mer_monitor_config cfg{};
  cfg.until_ns = until_ns;
  cfg.sample_every = settings_.sample_every;
  cfg.types = settings_.types;
  if (bpf_map_update_elem(monitor_fd_, &key, &cfg, BPF_ANY) != 0) {
    return Error{fmt::format("monitor: write mer_monitor: {}", std::strerror(errno))};
  }
  return Status::Ok();
}

Result<int> MonitorSession::Poll(std::chrono::milliseconds timeout) {
  const std::uint64_t now = MonotonicNs();
  if (attached_ && now - renewed_ns_ >= kLeaseNs / 3) {
    if (auto st = WriteLease(now + kLeaseNs); !st) return st.error();
    renewed_ns_ = now;
  }
  // The datapath wakes the reader only when the ring fills up (see
  // mer_event_submit): after the wait, whatever is there is read.
  int n = ring_buffer__poll(ring_, static_cast<int>(timeout.count()));
  if (n < 0 && n != -EINTR) {
    return Error{fmt::format("monitor: poll mer_events: {}", std::strerror(-n))};
  }
  const int more = ring_buffer__consume(ring_);
  if (more < 0) return Error{fmt::format("monitor: read mer_events: {}", std::strerror(-more))};
  return std::max(n, 0) + more;
}

Status MonitorSession::Detach() {
  if (!attached_) return Status::Ok();
  attached_ = false;
  // Drain what was written before the lease ended.
  auto st = WriteLease(0);
  if (ring_) ring_buffer__consume(ring_);
  return st;
}

}  // namespace meridian::datapath
