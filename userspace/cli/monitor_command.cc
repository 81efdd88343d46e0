#include "cli/monitor_command.h"

#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>

#include "cli/agent_socket.h"
#include "cli/frontend_names.h"
#include "cli/monitor_event.h"
#include "datapath/monitor_session.h"
#include "datapath/pinned_maps.h"
#include "datapath/stats_reader.h"
#include "datapath/unique_fd.h"

namespace meridian::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

// Without SA_RESTART, so that a signal ends the ring's poll at once.
void CatchStopSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::int64_t RealtimeOffsetNs() {
  timespec rt{}, mono{};
  clock_gettime(CLOCK_REALTIME, &rt);
  clock_gettime(CLOCK_MONOTONIC, &mono);
  return (std::int64_t(rt.tv_sec) - mono.tv_sec) * 1'000'000'000 +
         (std::int64_t(rt.tv_nsec) - mono.tv_nsec);
}

std::uint64_t Lost(int stats_fd) {
  auto s = datapath::ReadStats(stats_fd);
  return s.ok() ? (*s)[MER_STAT_MONITOR_LOST].packets : 0;
}

// The agent's frontends with their Service names; an error when it does
// not answer (the events then show frontend ids alone).
Result<FrontendNames> FetchFrontendNames(
    const std::string& socket_path, std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  auto body = AgentGet(socket_path, "/frontends", timeout);
  if (!body.ok()) return body.error();
  return FrontendNames::Parse(*body);
}

}  // namespace

void AddMonitorCommand(CLI::App& parent, MonitorCommand& cmd) {
  cmd.app = parent.add_subcommand(
      "monitor",
      "Live events from the datapath: new flows (client -> frontend -> backend, cluster), "
      "tunnel encap/decap, drops with their reason. Events are produced only while a monitor "
      "is attached (docs/meridianctl.md)");
  cmd.app
      ->add_option("--type", cmd.types,
                   "Kinds of event: flow, drop, tunnel (repeat or comma-separate; default all). "
                   "Kinds not asked for are not produced at all")
      ->delimiter(',');
  cmd.app
      ->add_option("--sample", cmd.sample_every,
                   "Produce one event in N, chosen at random in the datapath (1: every event)")
      ->check(CLI::Range(1u, 1'000'000u))
      ->capture_default_str();
  cmd.app->add_option("--service", cmd.service,
                      "Only events to this frontend (VIP or VIP:PORT) or to any frontend of this "
                      "Service (NAMESPACE/NAME, resolved by the agent)");
  cmd.app->add_option("--pod", cmd.pod,
                      "Only events with this address as source, destination or backend");
  cmd.app->add_option("--verdict", cmd.verdict,
                      "Only events with this verdict or drop reason (a counter name of "
                      "`meridianctl stats`: lb_new_flow, reject_no_backend, encap, decap, ...)");
  cmd.app->add_option("--count", cmd.count, "Stop after N events shown (0: never)")
      ->capture_default_str();
  cmd.app->add_option("--duration", cmd.duration_s, "Stop after this many seconds (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
}

int RunMonitorCommand(const MonitorCommand& cmd, const std::string& pin_dir,
                      const std::string& lock_path, const std::string& socket_path, bool json) {
  auto types = EventTypeMask(cmd.types);
  if (!types.ok()) {
    std::cerr << "meridianctl: monitor: " << types.error().message << "\n";
    return 2;
  }
  // Names are a help, not a need: without the agent the events show ids.
  std::optional<FrontendNames> names;
  if (auto fetched = FetchFrontendNames(socket_path); fetched.ok()) {
    names = std::move(fetched).value();
  } else {
    std::cerr << "monitor: no Service names (" << fetched.error().message
              << "): events show frontend ids\n";
  }
  auto filter = ParseEventFilter(cmd.service, cmd.pod, cmd.verdict, names ? &*names : nullptr);
  if (!filter.ok()) {
    std::cerr << "meridianctl: monitor: " << filter.error().message << "\n";
    return 2;
  }
  auto pinned = datapath::PinnedMaps::Open(pin_dir);
  if (!pinned.ok()) {
    std::cerr << "meridianctl: monitor: " << pinned.error().message << "\n";
    return 1;
  }
  // The ring has one reader: a second monitor would steal events.
  datapath::UniqueFd lock(open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600));
  if (!lock.valid()) {
    std::cerr << "meridianctl: monitor: cannot open the lock " << lock_path << ": "
              << std::strerror(errno) << " (is the agent running? --state-dir)\n";
    return 1;
  }
  if (flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    std::cerr << "meridianctl: monitor: another monitor is attached to this node (it holds "
              << lock_path << "); the event ring has one reader\n";
    return 1;
  }

  const std::int64_t offset = RealtimeOffsetNs();
  std::uint64_t shown = 0, filtered = 0;
  // A flow to a frontend installed after the names were read (or read
  // while the agent did not answer): read them again, at most once a
  // second, and briefly, so that a hung agent does not hold the events up.
  std::uint64_t names_read_ns = datapath::MonotonicNs();
  auto refresh_names = [&](const mer_event& e) {
    if (e.type != MER_EVENT_FLOW || (names && names->ById(e.service_id))) return;
    if (datapath::MonotonicNs() - names_read_ns < 1'000'000'000) return;
    names_read_ns = datapath::MonotonicNs();
    if (auto fetched = FetchFrontendNames(socket_path, std::chrono::milliseconds(200));
        fetched.ok()) {
      names = std::move(fetched).value();
    }
  };
  auto on_event = [&](const mer_event& e) {
    if (cmd.count && shown >= cmd.count) return;
    if (!Matches(*filter, e)) {
      ++filtered;
      return;
    }
    ++shown;
    refresh_names(e);
    const FrontendNames* known = names ? &*names : nullptr;
    if (json) {
      std::cout << EventJson(e, offset, known).dump() << "\n";
    } else {
      std::cout << EventLine(e, offset, known) << "\n";
    }
    std::cout.flush();
  };
  const std::uint64_t lost_before = Lost(pinned->maps().stats);
  CatchStopSignals();
  auto session = datapath::MonitorSession::Attach(
      pinned->maps(), {.sample_every = cmd.sample_every, .types = *types}, on_event);
  if (!session.ok()) {
    std::cerr << "meridianctl: " << session.error().message << "\n";
    return 1;
  }
  std::cerr << "monitor: attached (sampling 1/" << cmd.sample_every << "); Ctrl-C to stop"
            << std::endl;

  const std::uint64_t deadline =
      cmd.duration_s > 0
          ? datapath::MonotonicNs() + static_cast<std::uint64_t>(cmd.duration_s * 1e9)
          : 0;
  int rc = 0;
  while (!g_stop && !(cmd.count && shown >= cmd.count) &&
         !(deadline && datapath::MonotonicNs() >= deadline)) {
    auto n = (*session)->Poll(std::chrono::milliseconds(200));
    if (!n.ok()) {
      std::cerr << "meridianctl: " << n.error().message << "\n";
      rc = 1;
      break;
    }
  }
  if (auto st = (*session)->Detach(); !st) {
    std::cerr << "meridianctl: " << st.error().message << "\n";
    rc = 1;
  }
  std::cerr << "monitor: detached; " << shown << " events shown, " << filtered << " filtered out, "
            << Lost(pinned->maps().stats) - lost_before << " lost (ring full)" << std::endl;
  return rc;
}

}  // namespace meridian::cli
