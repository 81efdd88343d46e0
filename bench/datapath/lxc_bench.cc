// lxc-bench: cost per packet of the pod datapath (mer_from_pod) through
// BPF_PROG_TEST_RUN, for a conntrack miss (every packet a new flow) and a
// conntrack hit, with 1 .. 100k services installed by the real map writer.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fmt/format.h>
#include <linux/pkt_cls.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench_abi.h"
#include "datapath/map_writer.h"
#include "datapath/stats_reader.h"
#include "desired/desired_state.h"
#include "lb/maglev.h"
#include "lxc_bench.skel.h"

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

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
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
  CLI11_PARSE(app, argc, argv);

  // Every scale is loaded first and the runs are interleaved across scales,
  // so that this VM's slow and fast phases (the whole machine shifts by up to
  // 1.5x for seconds at a time) fall on every scale alike. Each run times the
  // restore-only program right before the datapath program; the figure is
  // the median of the per-run differences.
  struct Scale {
    std::uint32_t n = 0;
    lxc_bench* skel = nullptr;
    datapath::MapSet maps;
    double install_s = 0;
    std::vector<std::uint8_t> pkt;
  };
  std::vector<Scale> loaded;
  for (std::uint32_t n : scales) {
    Scale sc{.n = n};
    sc.skel = lxc_bench__open();
    if (!sc.skel) return 1;
    std::uint32_t entries = std::max<std::uint32_t>(1024, 2 * n + 16);
    bpf_map__set_max_entries(sc.skel->maps.mer_services, entries);
    // Every table once (two Maglev slots per element), plus slack.
    bpf_map__set_max_entries(sc.skel->maps.mer_maglev,
                             n * lb::MaglevTableSize(per_service, lb::MaglevConfig{}) / 2 + 1024);
    bpf_map__set_max_entries(sc.skel->maps.mer_backends,
                             std::max<std::uint32_t>(1024, n * per_service + 16));
    bpf_map__set_max_entries(sc.skel->maps.mer_ct, 262144);
    if (lxc_bench__load(sc.skel) != 0) {
      std::cerr << "load lxc_bench failed\n";
      return 1;
    }
    sc.maps = datapath::MapSetOf(sc.skel->obj);
    auto writer = datapath::MapWriter::Recover(sc.maps);
    auto t0 = std::chrono::steady_clock::now();
    auto state = desired::BuildDesiredState(Services(n, per_service), lb::MaglevConfig{});
    if (!state.ok()) {
      std::cerr << state.error().message << "\n";
      return 1;
    }
    auto applied = writer->Apply(*state);
    if (!applied.ok()) {
      std::cerr << applied.error().message << "\n";
      return 1;
    }
    sc.install_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Traffic targets a service in the middle of the set.
    sc.pkt = SynTo(Vip(n / 2));
    std::memcpy(sc.skel->bss->tmpl.bytes, sc.pkt.data(), sc.pkt.size());
    std::cerr << fmt::format("{} services installed in {:.2f} s\n", n, sc.install_s);
    loaded.push_back(std::move(sc));
  }

  std::vector<std::string> rows;
  std::vector<std::string> csv_rows = {"services,mode,ns_per_packet,restore_ns,min_ns,max_ns"};
  for (const char* mode : {"miss", "hit"}) {
    bool miss = std::string(mode) == "miss";
    mer_stat path = miss ? MER_STAT_LB_NEW_FLOW : MER_STAT_LB_CT_HIT;
    std::vector<std::vector<double>> net(loaded.size()), base(loaded.size());
    for (auto& sc : loaded) {
      sc.skel->bss->tmpl.vary_sport = miss ? 1 : 0;
      sc.skel->bss->tmpl.seq = 0;
      if (!miss) RunOnce(bpf_program__fd(sc.skel->progs.bench_from_pod), sc.pkt, 1);
    }
    for (std::uint32_t r = 0; r < runs; ++r) {
      for (std::size_t i = 0; i < loaded.size(); ++i) {
        auto& sc = loaded[i];
        double b = RunOnce(bpf_program__fd(sc.skel->progs.bench_restore), sc.pkt, repeat).ns;
        std::uint64_t before = Counter(sc.maps.stats, path);
        Sample s = RunOnce(bpf_program__fd(sc.skel->progs.bench_from_pod), sc.pkt, repeat);
        std::uint64_t after = Counter(sc.maps.stats, path);
        if (s.retval != TC_ACT_OK || after - before != repeat) {
          std::cerr << fmt::format(
              "{} services, {}: timed the wrong path (retval {}, {} of {} runs counted)\n", sc.n,
              mode, s.retval, after - before, repeat);
          return 1;
        }
        net[i].push_back(s.ns - b);
        base[i].push_back(b);
      }
    }
    for (std::size_t i = 0; i < loaded.size(); ++i) {
      double lo = *std::min_element(net[i].begin(), net[i].end());
      double hi = *std::max_element(net[i].begin(), net[i].end());
      rows.push_back(fmt::format(
          "| {:>8} | {:<4} | {:>6.1f} | {:>10.1f} | {:>6.1f}–{:<6.1f} | {:>9.2f} |", loaded[i].n,
          mode, Median(net[i]), Median(base[i]), lo, hi, loaded[i].install_s));
      csv_rows.push_back(fmt::format("{},{},{:.1f},{:.1f},{:.1f},{:.1f}", loaded[i].n, mode,
                                     Median(net[i]), Median(base[i]), lo, hi));
      std::cerr << rows.back() << "\n";
    }
  }
  for (auto& sc : loaded) lxc_bench__destroy(sc.skel);

  std::cout << fmt::format("repeat={} runs={} backends/service={}\n\n", repeat, runs, per_service);
  std::cout << "| services | ct   | ns/pkt | restore ns | spread (min–max) | install s |\n";
  std::cout << "|---------:|------|-------:|-----------:|-----------------:|----------:|\n";
  for (const auto& r : rows) std::cout << r << "\n";
  if (!csv.empty()) {
    std::ofstream f(csv);
    for (const auto& r : csv_rows) f << r << "\n";
  }
  return 0;
}
