// nodeport-bench: NodePort forwarding rate on one core, Meridian's XDP path
// against kube-proxy's iptables rules, with the same frames in the same run.
//
// Run it inside the network namespace bench/run-nodeport-bench.sh prepares:
// the ingress veth (the node's uplink, with the node address and a route to
// the backends' node) and its peer, the sink. Frames are made by
// BPF_PROG_RUN in live-frame mode (BPF_F_TEST_XDP_LIVE_FRAMES, as
// xdp-trafficgen does), "received" on the ingress veth:
//   meridian   npb_meridian: the uplink's NodePort path rewrites (SNAT to a
//              remote backend) and transmits them back out of the veth
//   iptables   npb_gen_pass: the frames enter the stack, kube-proxy's nat
//              rules (loaded by the script) DNAT and masquerade them, the
//              stack forwards them out of the same veth
//   generator  npb_gen_drop: the generator alone (the ceiling)
//   xdp-drop   npb_meridian on an externalTrafficPolicy: Local NodePort
//              without a local endpoint: Meridian's drop path
//   no-match   frames to a port that is no NodePort: npb_meridian passes
//              them to the stack, npb_gen_pass gives the stack's own cost
// The sink (npb_sink on the peer) counts what arrived; the datapath's
// counters prove which path ran. Rate = frames arrived at the sink (or
// dropped, for the drop paths) / wall time of the run.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "bench_nodeport_abi.h"  // sorts before the skeleton, which uses struct npb_tmpl
#include "datapath/map_writer.h"
#include "datapath/stats_reader.h"
#include "desired/desired_state.h"
#include "nodeport_bench.skel.h"

namespace {

// Some kernels (or sandboxes around them) refuse live-frame mode while
// allowing plain BPF_PROG_RUN: the benchmark is skipped, not failed.
struct LiveFramesRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using namespace meridian;

constexpr std::uint16_t kNodePort = 30080;       // eTP Cluster, two remote backends
constexpr std::uint16_t kLocalNodePort = 30081;  // eTP Local, no local backend: XDP drop
constexpr std::uint16_t kNoMatchPort = 30999;    // no Service
constexpr std::uint16_t kSportBase = 10000;

struct Config {
  std::string ingress = "npb-in";
  std::string sink = "npb-sink";
  std::string node_ip = "172.16.1.11";
  std::string client_ip = "172.16.1.200";
  std::vector<std::string> backends = {"10.1.2.11", "10.1.2.12"};
  std::vector<std::uint32_t> frames = {64, 1500};
  std::vector<std::string> paths = {"generator", "iptables", "meridian", "xdp-drop", "no-match"};
  std::uint32_t repeat = 2000000;
  std::uint32_t runs = 5;
  std::uint32_t flows = 1024;
  int cpu = 1;
  std::string csv;
};

std::array<std::uint8_t, 6> MacOf(const std::string& ifname) {
  std::array<std::uint8_t, 6> mac{};
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname.c_str());
  if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    throw std::runtime_error(
        fmt::format("cannot read the MAC of {}: {}", ifname, std::strerror(errno)));
  }
  close(fd);
  std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, 6);
  return mac;
}

std::uint32_t Addr(const std::string& s) {
  auto a = model::Ipv4Address::Parse(s);
  if (!a) throw std::runtime_error("bad address " + s);
  return a->network_order();
}

std::uint16_t Csum16(const std::uint8_t* p, std::size_t n) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// A UDP frame of `frame_len` bytes on the wire (FCS included, as "64-byte
// frames" are counted) from the client to node:dport. The UDP checksum is
// 0 ("none"), so that varying the source port needs no checksum work on
// either side; both translators then update only the IPv4 header checksum.
std::vector<std::uint8_t> Frame(const Config& c, std::uint32_t frame_len, std::uint16_t dport) {
  const std::size_t len = frame_len - 4;  // the FCS is the NIC's
  std::vector<std::uint8_t> p(len, 0);
  auto dst = MacOf(c.ingress);
  const std::uint8_t src[6] = {0x02, 0xcc, 0, 0, 0, 0xc8};
  std::memcpy(&p[0], dst.data(), 6);
  std::memcpy(&p[6], src, 6);
  p[12] = 0x08;
  std::uint8_t* ip = &p[14];
  ip[0] = 0x45;
  std::uint16_t tot = htons(static_cast<std::uint16_t>(len - 14));
  std::memcpy(&ip[2], &tot, 2);
  ip[6] = 0x40;  // DF
  ip[8] = 64;
  ip[9] = IPPROTO_UDP;
  std::uint32_t saddr = Addr(c.client_ip), daddr = Addr(c.node_ip);
  std::memcpy(&ip[12], &saddr, 4);
  std::memcpy(&ip[16], &daddr, 4);
  std::uint16_t csum = htons(Csum16(ip, 20));
  std::memcpy(&ip[10], &csum, 2);
  std::uint8_t* udp = &p[34];
  std::uint16_t sport = htons(kSportBase), dp = htons(dport),
                ulen = htons(static_cast<std::uint16_t>(len - 34));
  std::memcpy(&udp[0], &sport, 2);
  std::memcpy(&udp[2], &dp, 2);
  std::memcpy(&udp[4], &ulen, 2);
  return p;
}

model::ResourceSnapshot Services(const Config& c) {
  model::ResourceSnapshot s;
  auto add = [&](const std::string& name, const std::string& vip, std::uint16_t node_port,
                 model::TrafficPolicy etp) {
    model::Service svc;
    svc.meta.key = {"bench", name};
    svc.type = model::ServiceType::kNodePort;
    svc.cluster_ip = model::Ipv4Address::Parse(vip);
    svc.ports = {{.name = "udp", .protocol = model::Protocol::kUdp, .port = 80}};
    svc.ports[0].target_port_number = NPB_BACKEND_PORT;
    svc.ports[0].node_port = node_port;
    svc.external_traffic_policy = etp;
    s.services.push_back(svc);
    model::EndpointSlice sl;
    sl.meta.key = {"bench", name + "-1"};
    sl.service_name = name;
    sl.ports = {{.name = "udp", .protocol = model::Protocol::kUdp, .port = NPB_BACKEND_PORT}};
    for (const auto& b : c.backends) {
      model::Endpoint ep;
      ep.addresses = {*model::Ipv4Address::Parse(b)};
      ep.node_name = "node-2";
      sl.endpoints.push_back(ep);
    }
    s.endpoint_slices.push_back(sl);
  };
  add("web", "10.96.0.10", kNodePort, model::TrafficPolicy::kCluster);
  add("local", "10.96.0.11", kLocalNodePort, model::TrafficPolicy::kLocal);
  return s;
}

struct Path {
  std::string name;
  int prog_fd;
  std::uint16_t dport;
  // What proves the path: a datapath counter that must grow by one per
  // frame, or none (MER_STAT_MAX) for the stack-only paths.
  mer_stat counter;
  bool counts_at_sink;  // frames must arrive at the sink
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  CLI::App app{
      "nodeport-bench: NodePort forwarding rate on one core, Meridian's XDP SNAT path vs "
      "kube-proxy-shaped iptables rules, live frames (BPF_F_TEST_XDP_LIVE_FRAMES). Run inside "
      "the namespace bench/run-nodeport-bench.sh prepares."};
  app.add_option("--ingress", c.ingress, "The veth the frames arrive on (the node's uplink)")
      ->capture_default_str();
  app.add_option("--sink", c.sink, "Its peer, where forwarded frames are counted")
      ->capture_default_str();
  app.add_option("--node-ip", c.node_ip, "The node address (NodePort destination, SNAT source)")
      ->capture_default_str();
  app.add_option("--client-ip", c.client_ip, "The outside client's address")->capture_default_str();
  app.add_option("--backends", c.backends, "Backend pod addresses (on another node)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--frames", c.frames, "Frame sizes in bytes, FCS included (64..1518)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--paths", c.paths,
                 "Paths to measure: generator,iptables,meridian,xdp-drop,no-match")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--repeat", c.repeat, "Frames per run")->capture_default_str();
  app.add_option("--runs", c.runs, "Runs per figure (median reported)")->capture_default_str();
  app.add_option("--flows", c.flows, "Distinct flows (client source ports)")->capture_default_str();
  app.add_option("--cpu", c.cpu, "The one CPU everything runs on")->capture_default_str();
  app.add_option("--csv", c.csv, "Also write the results as CSV to this file");
  CLI11_PARSE(app, argc, argv);
  for (auto f : c.frames) {
    if (f < 64 || f > 1518) {
      std::cerr << "--frames: " << f << " is outside 64..1518\n";
      return 2;
    }
  }

  try {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(c.cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
      throw std::runtime_error(
          fmt::format("cannot pin to CPU {}: {}", c.cpu, std::strerror(errno)));
    }
    const int ingress = static_cast<int>(if_nametoindex(c.ingress.c_str()));
    const int sink = static_cast<int>(if_nametoindex(c.sink.c_str()));
    if (!ingress || !sink) throw std::runtime_error("no interface " + c.ingress + " or " + c.sink);

    auto* skel = nodeport_bench__open();
    if (!skel) throw std::runtime_error("open nodeport_bench failed");
    skel->rodata->mer_cfg.uplink_ifindex = static_cast<std::uint32_t>(ingress);
    skel->rodata->mer_cfg.uplink_mtu = 1500;
    skel->rodata->mer_cfg.flags = MER_CFG_NODEPORT;
    skel->rodata->mer_cfg.snat_addr_be = Addr(c.node_ip);
    bpf_map__set_max_entries(skel->maps.mer_ct, 65536);
    if (nodeport_bench__load(skel) != 0) throw std::runtime_error("load nodeport_bench failed");
    auto maps = datapath::MapSetOf(skel->obj);
    auto writer = datapath::MapWriter::Recover(maps);
    if (!writer.ok()) throw std::runtime_error(writer.error().message);
    auto state = desired::BuildDesiredState(
        Services(c),
        desired::DesiredOptions{.node_name = "node-1",
                                .nodeport_addresses = {*model::Ipv4Address::Parse(c.node_ip)}});
    if (!state.ok()) throw std::runtime_error(state.error().message);
    auto applied = writer->Apply(*state);
    if (!applied.ok()) throw std::runtime_error(applied.error().message);

    if (bpf_xdp_attach(sink, bpf_program__fd(skel->progs.npb_sink), XDP_FLAGS_DRV_MODE, nullptr) !=
        0) {
      throw std::runtime_error(
          fmt::format("attach the sink to {}: {}", c.sink, std::strerror(errno)));
    }

    const std::map<std::string, Path> known = {
        {"generator",
         {"generator", bpf_program__fd(skel->progs.npb_gen_drop), kNodePort, MER_STAT_MAX, false}},
        {"iptables",
         {"iptables", bpf_program__fd(skel->progs.npb_gen_pass), kNodePort, MER_STAT_MAX, true}},
        {"meridian",
         {"meridian", bpf_program__fd(skel->progs.npb_meridian), kNodePort, MER_STAT_NODEPORT_SNAT,
          true}},
        {"xdp-drop",
         {"xdp-drop", bpf_program__fd(skel->progs.npb_meridian), kLocalNodePort,
          MER_STAT_DROP_NO_LOCAL_ENDPOINT, false}},
        {"no-match-stack",
         {"no-match-stack", bpf_program__fd(skel->progs.npb_gen_pass), kNoMatchPort, MER_STAT_MAX,
          false}},
        {"no-match-meridian",
         {"no-match-meridian", bpf_program__fd(skel->progs.npb_meridian), kNoMatchPort,
          MER_STAT_MAX, false}},
    };
    std::vector<Path> paths;
    for (const auto& p : c.paths) {
      if (p == "no-match") {
        paths.push_back(known.at("no-match-stack"));
        paths.push_back(known.at("no-match-meridian"));
      } else if (known.count(p)) {
        paths.push_back(known.at(p));
      } else {
        std::cerr << "--paths: unknown path " << p << "\n";
        return 2;
      }
    }

    auto stat = [&](mer_stat which) -> std::uint64_t {
      auto s = datapath::ReadStats(maps.stats);
      return s.ok() ? (*s)[which].packets : 0;
    };
    // One live run: frames arrived at the sink (or counted), and seconds.
    auto run = [&](const Path& p, const std::vector<std::uint8_t>& frame, std::uint32_t repeat,
                   std::uint64_t* arrived, std::uint64_t* counted) {
      skel->bss->tmpl.seq = 0;
      xdp_md ctx_in{.data = 0,
                    .data_end = static_cast<__u32>(frame.size()),
                    .ingress_ifindex = static_cast<__u32>(ingress)};
      LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(),
                  .data_size_in = static_cast<__u32>(frame.size()), .ctx_in = &ctx_in,
                  .ctx_size_in = sizeof(ctx_in), .repeat = static_cast<int>(repeat),
                  .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
      std::uint64_t sink0 = __atomic_load_n(&skel->bss->sink_frames, __ATOMIC_RELAXED);
      std::uint64_t stat0 = p.counter == MER_STAT_MAX ? 0 : stat(p.counter);
      auto t0 = std::chrono::steady_clock::now();
      if (bpf_prog_test_run_opts(p.prog_fd, &opts) != 0) {
        if (errno == EPERM || errno == EOPNOTSUPP) throw LiveFramesRefused(std::strerror(errno));
        throw std::runtime_error(fmt::format("BPF_PROG_RUN live frames: {}", std::strerror(errno)));
      }
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      // Frames still queued for the sink are counted when its NAPI runs;
      // a short pause lets them land (they were forwarded within the run).
      usleep(20000);
      *arrived = __atomic_load_n(&skel->bss->sink_frames, __ATOMIC_RELAXED) - sink0;
      *counted = p.counter == MER_STAT_MAX ? 0 : stat(p.counter) - stat0;
      return s;
    };

    struct Figure {
      std::uint32_t frame;
      std::string path;
      std::vector<double> mpps;
      std::vector<double> delivered;  // share of frames that reached the sink / were counted
    };
    std::vector<Figure> figures;
    for (auto f : c.frames) {
      for (const auto& p : paths) figures.push_back({f, p.name, {}, {}});
    }
    // Warm-up: every flow gets its conntrack entry (Meridian's and netfilter's).
    for (auto f : c.frames) {
      for (const auto& p : paths) {
        skel->bss->tmpl.flows = c.flows;
        skel->bss->tmpl.sport_base = kSportBase;
        auto frame = Frame(c, f, p.dport);
        std::memcpy(skel->bss->tmpl.bytes, frame.data(), NPB_HDR_LEN);
        std::uint64_t a, n;
        run(p, frame, std::max<std::uint32_t>(4 * c.flows, 4096), &a, &n);
      }
    }
    // Runs are interleaved across paths so the machine's slow and fast
    // phases fall on every path alike.
    for (std::uint32_t r = 0; r < c.runs; ++r) {
      std::size_t i = 0;
      for (auto f : c.frames) {
        for (const auto& p : paths) {
          auto frame = Frame(c, f, p.dport);
          std::memcpy(skel->bss->tmpl.bytes, frame.data(), NPB_HDR_LEN);
          std::uint64_t arrived = 0, counted = 0;
          double s = run(p, frame, c.repeat, &arrived, &counted);
          std::uint64_t done = p.counts_at_sink ? arrived : c.repeat;
          if (p.counter != MER_STAT_MAX && counted != c.repeat) {
            std::cerr << fmt::format("{} B {}: timed the wrong path ({} of {} frames counted)\n", f,
                                     p.name, counted, c.repeat);
            return 1;
          }
          if (!p.counts_at_sink && arrived != 0) {
            std::cerr << fmt::format("{} B {}: {} frames reached the sink, expected none\n", f,
                                     p.name, arrived);
            return 1;
          }
          figures[i].mpps.push_back(static_cast<double>(done) / s / 1e6);
          figures[i].delivered.push_back(static_cast<double>(done) / c.repeat);
          std::cerr << fmt::format("run {} {:>4} B {:<18} {:6.3f} Mpps ({:.1f}% delivered)\n",
                                   r + 1, f, p.name, figures[i].mpps.back(),
                                   100 * figures[i].delivered.back());
          ++i;
        }
      }
    }
    bpf_xdp_detach(sink, XDP_FLAGS_DRV_MODE, nullptr);
    nodeport_bench__destroy(skel);

    // Each Meridian path against the stack doing the same job in the same run.
    const std::map<std::string, std::string> baseline_of = {
        {"meridian", "iptables"}, {"no-match-meridian", "no-match-stack"}};
    std::map<std::pair<std::uint32_t, std::string>, double> rate;
    for (const auto& fig : figures) rate[{fig.frame, fig.path}] = Median(fig.mpps);
    std::cout << fmt::format("repeat={} runs={} flows={} cpu={} backends={}\n\n", c.repeat, c.runs,
                             c.flows, c.cpu, c.backends.size());
    std::cout << "| frame B | path              | Mpps (median) | ns/frame | spread Mpps (min–max) "
                 "| delivered | vs baseline (same run) |\n";
    std::cout << "|--------:|-------------------|--------------:|---------:|----------------------:"
                 "|----------:|-----------------------:|\n";
    std::vector<std::string> csv = {
        "frame_bytes,path,mpps,ns_per_frame,min_mpps,max_mpps,delivered,vs_baseline,baseline"};
    for (const auto& fig : figures) {
      double m = Median(fig.mpps);
      double lo = *std::min_element(fig.mpps.begin(), fig.mpps.end());
      double hi = *std::max_element(fig.mpps.begin(), fig.mpps.end());
      double del = *std::min_element(fig.delivered.begin(), fig.delivered.end());
      auto base = baseline_of.find(fig.path);
      const bool has_base = base != baseline_of.end() && rate.count({fig.frame, base->second}) &&
                            rate[{fig.frame, base->second}] > 0;
      const double vs = has_base ? m / rate[{fig.frame, base->second}] : 0;
      std::string ratio = has_base ? fmt::format("{:.2f}× {}", vs, base->second) : "–";
      std::cout << fmt::format(
          "| {:>7} | {:<17} | {:>13.3f} | {:>8.1f} | {:>9.3f}–{:<9.3f} | {:>8.1f}% | {:>22} |\n",
          fig.frame, fig.path, m, 1e3 / m, lo, hi, 100 * del, ratio);
      csv.push_back(fmt::format(
          "{},{},{:.4f},{:.1f},{:.4f},{:.4f},{:.4f},{},{}", fig.frame, fig.path, m, 1e3 / m, lo, hi,
          del, has_base ? fmt::format("{:.3f}", vs) : "", has_base ? base->second : ""));
    }
    if (!c.csv.empty()) {
      std::ofstream out(c.csv);
      for (const auto& l : csv) out << l << "\n";
    }
  } catch (const LiveFramesRefused& e) {
    std::cerr << "nodeport-bench: SKIP: this kernel refuses BPF_PROG_RUN in live-frame mode ("
              << e.what() << "), so the rate cannot be measured here (exit 77)\n";
    return 77;
  } catch (const std::exception& e) {
    std::cerr << "nodeport-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
