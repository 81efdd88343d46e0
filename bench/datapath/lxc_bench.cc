// lxc-bench: cost per packet of the pod datapath (mer_from_pod) through
// BPF_PROG_TEST_RUN, for a conntrack miss (every packet a new flow) and a
// conntrack hit, with 1 .. 100k services installed by the real map writer;
// with --monitor, also with a monitor attached (every event, or one in N)
// against none, in the same runs.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/pkt_cls.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_abi.h"
#include "datapath/map_writer.h"
#include "datapath/monitor_session.h"
#include "datapath/stats_reader.h"
#include "desired/desired_state.h"
#include "lb/maglev.h"
#include "lxc_bench.skel.h"
#include "lxc_bench_nomon.skel.h"

namespace {

using namespace meridian;

model::Ipv4Address Vip(std::uint32_t i) {
  return model::Ipv4Address(0x0a600000u + i + 1);
}  // 10.96.0.0/12

// n services, each with `per_service` backends drawn from a pool of pods.
model::ResourceSnapshot Services(std::uint32_t n, std::uint32_t per_service) {
  model::ResourceSnapshot s;
  s.services.reserve(n);
  s.endpoint_slices.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    model::Service svc;
    svc.meta.key = {"bench", fmt::format("s{}", i)};
    svc.cluster_ip = Vip(i);
    svc.ports = {{.name = "http", .protocol = model::Protocol::kTcp, .port = 80}};
    s.services.push_back(std::move(svc));
    model::EndpointSlice sl;
    sl.meta.key = {"bench", fmt::format("s{}-1", i)};
    sl.service_name = fmt::format("s{}", i);
    sl.ports = {{.name = "http", .protocol = model::Protocol::kTcp, .port = 8080}};
    for (std::uint32_t b = 0; b < per_service; ++b) {
      model::Endpoint ep;
      ep.addresses = {model::Ipv4Address(0x0a010000u + ((i * per_service + b) % 60000) + 10)};
      sl.endpoints.push_back(ep);
    }
    s.endpoint_slices.push_back(std::move(sl));
  }
  return s;
}

std::vector<std::uint8_t> SynTo(model::Ipv4Address vip) {
  std::vector<std::uint8_t> p(54, 0);
  const std::uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
  std::memcpy(p.data(), macs, 12);
  p[12] = 0x08;
  p[14] = 0x45;
  p[17] = 40;  // tot_len
  p[22] = 64;
  p[23] = IPPROTO_TCP;
  std::uint32_t src = htonl(0x0a010164), dst = vip.network_order();  // 10.1.1.100
  std::memcpy(&p[26], &src, 4);
  std::memcpy(&p[30], &dst, 4);
  p[34] = 0x9c;  // sport 40000
  p[35] = 0x40;
  p[37] = 80;
  p[46] = 0x50;
  p[47] = 0x10;  // ACK
  return p;
}

struct Sample {
  double ns;
  std::uint32_t retval;
};

Sample RunOnce(int prog_fd, const std::vector<std::uint8_t>& pkt, std::uint32_t repeat) {
  std::vector<std::uint8_t> out(pkt.size() + 64);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt.data(), .data_out = out.data(),
              .data_size_in = static_cast<__u32>(pkt.size()),
              .data_size_out = static_cast<__u32>(out.size()), .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
    throw std::runtime_error(fmt::format("BPF_PROG_TEST_RUN: {}", std::strerror(errno)));
  }
  return {static_cast<double>(opts.duration), opts.retval};
}

std::uint64_t Counter(int stats_fd, mer_stat which) {
  auto s = datapath::ReadStats(stats_fd);
  return s.ok() ? (*s)[which].packets : 0;
}

// A monitor setting: "none" (the monitor's code compiled out: the
// baseline), "off" (no lease: what every node runs with), "full" (every
// event), "1/N" (one in N); "traffic" is "off" with the per-pair traffic
// counters on (MER_CFG_TRAFFIC, the agent's default --traffic-counters),
// so that "off" is their baseline; "prealloc" is "off" with the maps only
// the agent writes preallocated, as the release before map ABI 9's
// resizing made them (without BPF_F_NO_PREALLOC): the baseline of that
// change.
struct MonitorMode {
  std::string name;
  std::uint32_t sample_every = 0;  // 0: off
  bool compiled_out = false;       // "none": the object built without the monitor
  bool traffic = false;            // "traffic": loaded with MER_CFG_TRAFFIC
  bool prealloc = false;           // "prealloc": the agent's maps preallocated
};

std::optional<MonitorMode> ParseMonitorMode(const std::string& s) {
  if (s == "none") return MonitorMode{s, 0, true};
  if (s == "off") return MonitorMode{s, 0};
  if (s == "traffic") return MonitorMode{.name = s, .traffic = true};
  if (s == "prealloc") return MonitorMode{.name = s, .prealloc = true};
  if (s == "full") return MonitorMode{s, 1};
  unsigned n = 0;
  if (std::sscanf(s.c_str(), "1/%u", &n) == 1 && n >= 1) return MonitorMode{s, n};
  return std::nullopt;
}

// Writes mer_monitor as an attached monitor would (a lease an hour long),
// or clears it.
void SetMonitor(int monitor_fd, const MonitorMode& m) {
  const std::uint32_t key = 0;
  mer_monitor_config cfg{};
  if (m.sample_every) {
    cfg.until_ns = datapath::MonotonicNs() + 3600ull * 1'000'000'000;
    cfg.sample_every = m.sample_every;
    cfg.types = MER_EVENT_ALL_TYPES;
  }
  bpf_map_update_elem(monitor_fd, &key, &cfg, BPF_ANY);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One scale loaded: a benchmark object (with or without the monitor code)
// and its services installed by the real map writer.
struct Scale {
  std::uint32_t n = 0;
  datapath::MapSet maps;
  int restore_fd = -1;
  int from_pod_fd = -1;
  bench_tmpl* tmpl = nullptr;
  std::shared_ptr<void> skel;  // destroys the skeleton
  double install_s = 0;
  std::vector<std::uint8_t> pkt;
};

template <typename Skel>
std::optional<Scale> LoadScale(Skel* (*open)(), int (*load)(Skel*), void (*destroy)(Skel*),
                               std::uint32_t n, std::uint32_t per_service, bool traffic = false,
                               bool prealloc = false) {
  Skel* skel = open();
  if (!skel) return std::nullopt;
  if (traffic) skel->rodata->mer_cfg.flags |= MER_CFG_TRAFFIC;
  if (prealloc) {
    for (bpf_map* m : {skel->maps.mer_services, skel->maps.mer_backends,
                       skel->maps.mer_tunnel_peers, skel->maps.mer_exported_eps}) {
      bpf_map__set_map_flags(m, bpf_map__map_flags(m) & ~BPF_F_NO_PREALLOC);
    }
  }
  Scale sc{.n = n};
  sc.skel = std::shared_ptr<void>(skel, [destroy](void* p) { destroy(static_cast<Skel*>(p)); });
  std::uint32_t entries = std::max<std::uint32_t>(1024, 2 * n + 16);
  bpf_map__set_max_entries(skel->maps.mer_services, entries);
  // Every table once (two Maglev slots per element), plus slack.
  bpf_map__set_max_entries(skel->maps.mer_maglev,
                           n * lb::MaglevTableSize(per_service, lb::MaglevConfig{}) / 2 + 1024);
  bpf_map__set_max_entries(skel->maps.mer_backends,
                           std::max<std::uint32_t>(1024, n * per_service + 16));
  bpf_map__set_max_entries(skel->maps.mer_ct, 262144);
  if (load(skel) != 0) {
    std::cerr << "load the benchmark object failed\n";
    return std::nullopt;
  }
  sc.maps = datapath::MapSetOf(skel->obj);
  sc.restore_fd = bpf_program__fd(skel->progs.bench_restore);
  sc.from_pod_fd = bpf_program__fd(skel->progs.bench_from_pod);
  sc.tmpl = &skel->bss->tmpl;
  auto writer = datapath::MapWriter::Recover(sc.maps);
  auto t0 = std::chrono::steady_clock::now();
  auto state = desired::BuildDesiredState(Services(n, per_service), lb::MaglevConfig{});
  if (!state.ok()) {
    std::cerr << state.error().message << "\n";
    return std::nullopt;
  }
  auto applied = writer->Apply(*state);
  if (!applied.ok()) {
    std::cerr << applied.error().message << "\n";
    return std::nullopt;
  }
  sc.install_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Traffic targets a service in the middle of the set.
  sc.pkt = SynTo(Vip(n / 2));
  std::memcpy(sc.tmpl->bytes, sc.pkt.data(), sc.pkt.size());
  std::cerr << fmt::format("{} services installed in {:.2f} s\n", n, sc.install_s);
  return sc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "lxc-bench: per-packet cost of mer_from_pod (BPF_PROG_TEST_RUN) vs services installed"};
  std::vector<std::uint32_t> scales = {1, 1000, 10000, 100000};
  std::uint32_t repeat = 1000000, runs = 5, per_service = 2;
  std::string csv;
  app.add_option("--services", scales, "Service counts to measure")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--repeat", repeat, "BPF_PROG_TEST_RUN repeat per run")->capture_default_str();
  app.add_option("--runs", runs, "Runs per figure (median reported)")->capture_default_str();
  app.add_option("--backends-per-service", per_service, "Backends behind each service")
      ->capture_default_str();
  app.add_option("--csv", csv, "Also write the results as CSV to this file");
  std::vector<std::string> monitor_names = {"off"};
  app.add_option(
         "--monitor", monitor_names,
         "Monitor settings to compare, in the same runs: none (monitor code compiled out), "
         "off, full, 1/N (e.g. none,off,full,1/100), traffic (off, with the per-pair traffic "
         "counters on), prealloc (off, with the agent's maps preallocated as before "
         "they were allocated on use); a reader thread drains the events")
      ->delimiter(',')
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::vector<MonitorMode> monitors;
  for (const auto& name : monitor_names) {
    auto m = ParseMonitorMode(name);
    if (!m) {
      std::cerr << "lxc-bench: --monitor " << name
                << ": expected none, off, full, 1/N, traffic or prealloc\n";
      return 2;
    }
    monitors.push_back(*m);
  }

  // Every scale is loaded first and the runs are interleaved across scales,
  // so that this VM's slow and fast phases (the whole machine shifts by up to
  // 1.5x for seconds at a time) fall on every scale alike. Each run times the
  // restore-only program right before the datapath program; the figure is
  // the median of the per-run differences. "--monitor none" loads a second
  // copy of every scale built without the monitor code, the baseline of
  // what the monitor costs while nobody is attached.
  const bool want_none = std::any_of(monitors.begin(), monitors.end(),
                                     [](const MonitorMode& m) { return m.compiled_out; });
  const bool want_traffic =
      std::any_of(monitors.begin(), monitors.end(), [](const MonitorMode& m) { return m.traffic; });
  const bool want_prealloc = std::any_of(monitors.begin(), monitors.end(),
                                         [](const MonitorMode& m) { return m.prealloc; });
  std::vector<Scale> loaded, loaded_none, loaded_traffic, loaded_prealloc;
  for (std::uint32_t n : scales) {
    auto sc =
        LoadScale<lxc_bench>(lxc_bench__open, lxc_bench__load, lxc_bench__destroy, n, per_service);
    if (!sc) return 1;
    loaded.push_back(std::move(*sc));
    if (want_none) {
      auto none = LoadScale<lxc_bench_nomon>(lxc_bench_nomon__open, lxc_bench_nomon__load,
                                             lxc_bench_nomon__destroy, n, per_service);
      if (!none) return 1;
      loaded_none.push_back(std::move(*none));
    }
    if (want_traffic) {
      auto traffic = LoadScale<lxc_bench>(lxc_bench__open, lxc_bench__load, lxc_bench__destroy, n,
                                          per_service, true);
      if (!traffic) return 1;
      loaded_traffic.push_back(std::move(*traffic));
    }
    if (want_prealloc) {
      auto prealloc = LoadScale<lxc_bench>(lxc_bench__open, lxc_bench__load, lxc_bench__destroy, n,
                                           per_service, false, true);
      if (!prealloc) return 1;
      loaded_prealloc.push_back(std::move(*prealloc));
    }
  }

  // The monitor's reader: drains every scale's ring while the runs go on,
  // as meridianctl monitor would (it only counts the events).
  std::atomic<bool> stop_reader{false};
  std::atomic<std::uint64_t> read_events{0};
  // One reader over every ring (one epoll), so a ring that fills up wakes
  // it at once whichever it is.
  ring_buffer* rings = nullptr;
  auto count_event = [](void* ctx, void*, size_t) {
    static_cast<std::atomic<std::uint64_t>*>(ctx)->fetch_add(1, std::memory_order_relaxed);
    return 0;
  };
  for (auto* set : {&loaded, &loaded_none, &loaded_traffic, &loaded_prealloc}) {
    for (auto& sc : *set) {
      if (!rings) {
        rings = ring_buffer__new(sc.maps.events, count_event, &read_events, nullptr);
      } else {
        ring_buffer__add(rings, sc.maps.events, count_event, &read_events);
      }
    }
  }
  std::thread reader([&] {
    while (!stop_reader) {
      ring_buffer__poll(rings, 10);
      ring_buffer__consume(rings);
    }
  });

  // Runs interleave the monitor settings too: run r measures every
  // setting at every scale before run r + 1 starts.
  const std::size_t n_monitors = monitors.size(), n_scales = loaded.size();
  auto set_of = [&](const MonitorMode& m) -> std::vector<Scale>& {
    return m.compiled_out ? loaded_none
           : m.traffic    ? loaded_traffic
           : m.prealloc   ? loaded_prealloc
                          : loaded;
  };
  std::vector<std::string> rows;
  std::vector<std::string> csv_rows = {
      "services,mode,monitor,ns_per_packet,restore_ns,min_ns,max_ns,events,lost"};
  for (const char* mode : {"miss", "hit"}) {
    bool miss = std::string(mode) == "miss";
    mer_stat path = miss ? MER_STAT_LB_NEW_FLOW : MER_STAT_LB_CT_HIT;
    using Series = std::vector<std::vector<double>>;
    std::vector<Series> net(n_monitors, Series(n_scales)), base(n_monitors, Series(n_scales));
    std::vector<std::vector<std::uint64_t>> events(n_monitors,
                                                   std::vector<std::uint64_t>(n_scales)),
        lost(n_monitors, std::vector<std::uint64_t>(n_scales));
    for (auto* set : {&loaded, &loaded_none, &loaded_traffic, &loaded_prealloc}) {
      for (auto& sc : *set) {
        sc.tmpl->vary_sport = miss ? 1 : 0;
        sc.tmpl->seq = 0;
        SetMonitor(sc.maps.monitor, MonitorMode{"off"});
        if (!miss) RunOnce(sc.from_pod_fd, sc.pkt, 1);
      }
    }
    for (std::uint32_t r = 0; r < runs; ++r) {
      for (std::size_t m = 0; m < n_monitors; ++m) {
        for (std::size_t i = 0; i < n_scales; ++i) {
          auto& sc = set_of(monitors[m])[i];
          SetMonitor(sc.maps.monitor, monitors[m]);
          double b = RunOnce(sc.restore_fd, sc.pkt, repeat).ns;
          std::uint64_t before = Counter(sc.maps.stats, path);
          const std::uint64_t ev0 = Counter(sc.maps.stats, MER_STAT_MONITOR_EVENTS);
          const std::uint64_t lost0 = Counter(sc.maps.stats, MER_STAT_MONITOR_LOST);
          Sample s = RunOnce(sc.from_pod_fd, sc.pkt, repeat);
          std::uint64_t after = Counter(sc.maps.stats, path);
          events[m][i] += Counter(sc.maps.stats, MER_STAT_MONITOR_EVENTS) - ev0;
          lost[m][i] += Counter(sc.maps.stats, MER_STAT_MONITOR_LOST) - lost0;
          if (s.retval != TC_ACT_OK || after - before != repeat) {
            std::cerr << fmt::format(
                "{} services, {}: timed the wrong path (retval {}, {} of {} runs counted)\n", sc.n,
                mode, s.retval, after - before, repeat);
            return 1;
          }
          net[m][i].push_back(s.ns - b);
          base[m][i].push_back(b);
        }
      }
    }
    for (std::size_t i = 0; i < n_scales; ++i) {
      for (std::size_t m = 0; m < n_monitors; ++m) {
        const auto& v = net[m][i];
        double lo = *std::min_element(v.begin(), v.end());
        double hi = *std::max_element(v.begin(), v.end());
        rows.push_back(fmt::format(
            "| {:>8} | {:<4} | {:<7} | {:>6.1f} | {:>10.1f} | {:>6.1f}–{:<6.1f} | {:>9.2f} | "
            "{:>9} | {:>9} |",
            loaded[i].n, mode, monitors[m].name, Median(v), Median(base[m][i]), lo, hi,
            loaded[i].install_s, events[m][i], lost[m][i]));
        csv_rows.push_back(fmt::format("{},{},{},{:.1f},{:.1f},{:.1f},{:.1f},{},{}", loaded[i].n,
                                       mode, monitors[m].name, Median(v), Median(base[m][i]), lo,
                                       hi, events[m][i], lost[m][i]));
        std::cerr << rows.back() << "\n";
      }
    }
  }
  stop_reader = true;
  reader.join();
  ring_buffer__free(rings);
  loaded.clear();
  loaded_none.clear();
  loaded_traffic.clear();
  loaded_prealloc.clear();

  std::cout << fmt::format("repeat={} runs={} backends/service={}\n\n", repeat, runs, per_service);
  std::cout << "| services | ct   | monitor | ns/pkt | restore ns | spread (min–max) | install s |"
               "    events |      lost |\n";
  std::cout << "|---------:|------|---------|-------:|-----------:|-----------------:|----------:|"
               "----------:|----------:|\n";
  for (const auto& r : rows) std::cout << r << "\n";
  if (!csv.empty()) {
    std::ofstream f(csv);
    for (const auto& r : csv_rows) f << r << "\n";
  }
  return 0;
}
