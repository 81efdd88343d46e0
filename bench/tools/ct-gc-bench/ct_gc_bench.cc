// ct-gc-bench: what one run of the conntrack collector (datapath/ct_gc.h)
// costs, by entries in mer_ct: a kernel LRU hash shaped as the agent's
// (mer_ct_key -> mer_ct_entry, BPF_F_NO_COMMON_LRU) filled with flows (a
// forward and a reply entry each), collected once with every flow live
// (the steady state: a walk that deletes nothing) and once with every flow
// idle (everything deleted). Prints a Markdown table. Run as root.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <vector>

#include "datapath/ct_gc.h"
#include "datapath/unique_fd.h"
#include "meridian/abi.h"

namespace {

using meridian::datapath::UniqueFd;

// Flow i: client 10.1.x.y:port -> VIP 10.96.0.10:80, backend 10.2.x.y:8080.
void Fill(int fd, std::uint32_t flows, std::uint32_t expires_s) {
  for (std::uint32_t i = 0; i < flows; ++i) {
    const std::uint32_t client = htonl(0x0a010000u + (i >> 10)), vip = htonl(0x0a60000au);
    const std::uint16_t port = htons(static_cast<std::uint16_t>(1024 + (i & 1023)));
    const std::uint32_t backend = htonl(0x0a020000u + (i % 4096));
    mer_ct_entry e{
        .backend_id = 1 + i % 4096, .service_id = 1, .vip_be = vip, .vport_be = htons(80)};
    e.backend_addr_be = backend;
    e.backend_port_be = htons(8080);
    e.nat_addr_be = client;
    e.nat_port_be = port;
    e.expires_s = expires_s;
    mer_ct_key fwd{.saddr_be = client,
                   .daddr_be = vip,
                   .sport_be = port,
                   .dport_be = htons(80),
                   .proto = IPPROTO_TCP,
                   .dir = MER_CT_FORWARD};
    mer_ct_key rev{.saddr_be = backend,
                   .daddr_be = client,
                   .sport_be = htons(8080),
                   .dport_be = port,
                   .proto = IPPROTO_TCP,
                   .dir = MER_CT_REPLY};
    bpf_map_update_elem(fd, &fwd, &e, BPF_ANY);
    bpf_map_update_elem(fd, &rev, &e, BPF_ANY);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ct-gc-bench: cost of one conntrack collection vs entries in mer_ct"};
  std::vector<std::uint32_t> flows = {1000, 10000, 100000, 250000};
  std::uint32_t capacity = 1u << 20;
  app.add_option("--flows", flows, "Flows (2 entries each) to measure")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--capacity", capacity, "max_entries of the map")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::puts(
      "| flows | entries | live walk ms | ns/entry | idle: deleted | idle walk ms | ns/entry |");
  std::puts(
      "|------:|--------:|-------------:|---------:|--------------:|-------------:|---------:|");
  for (std::uint32_t n : flows) {
    LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_COMMON_LRU);
    UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "mer_ct", sizeof(mer_ct_key),
                               sizeof(mer_ct_entry), capacity, &o));
    if (!fd.valid()) {
      std::perror("bpf_map_create");
      return 1;
    }
    const std::uint32_t now = meridian::datapath::MonotonicSeconds();
    Fill(fd.get(), n, now + 3600);
    auto t0 = std::chrono::steady_clock::now();
    auto live = meridian::datapath::CollectIdleFlows(fd.get(), now);
    const double live_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!live.ok()) {
      fmt::print(stderr, "{}\n", live.error().message);
      return 1;
    }
    t0 = std::chrono::steady_clock::now();
    auto idle = meridian::datapath::CollectIdleFlows(fd.get(), now + 7200);
    const double idle_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!idle.ok()) {
      fmt::print(stderr, "{}\n", idle.error().message);
      return 1;
    }
    fmt::print("| {} | {} | {:.1f} | {:.0f} | {} | {:.1f} | {:.0f} |\n", n, live->scanned, live_ms,
               live_ms * 1e6 / live->scanned, idle->deleted, idle_ms,
               idle_ms * 1e6 / std::max<std::size_t>(1, idle->scanned));
  }
  return 0;
}
