// Hostile input for every BPF program (issue 18): valid frames of every
// path the datapath has (service flows, replies, hairpin, ICMP errors,
// VXLAN from a peer and from strangers, NodePort, LoadBalancer IPs),
// mutated (bytes flipped, cut short, extended, header fields set to
// anything) and plain random bytes, each run through the four programs
// with BPF_PROG_TEST_RUN. For every run:
//
//  - the kernel accepts the run, and the verdict is one the program may
//    give (never XDP_ABORTED, never an unknown tc action);
//  - exactly one verdict counter moved, by one (the counters add up to the
//    packets: docs/maps.md), besides the counters documented as events
//    (the XDP program with tc decapsulation passes what is not for a
//    NodePort uncounted and untouched: the tc program counts it);
//  - a dropped packet is counted under a drop_* reason;
//  - a packet passed as "not ours" (a pass_* verdict) leaves byte for byte
//    as it came: nothing is rewritten that should not be.
//
// MERIDIAN_FUZZ_PACKETS sets the packets per program (default 25,000: the
// CI's short form; docs/chaos.md has the 1,000,000 run) and
// MERIDIAN_FUZZ_SEED the seed (default 1). Runs in a network namespace of
// its own, as the tunnel tests do, so that FIB lookups have an uplink.
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>

#include "datapath_fixture.h"
#include "private_netns.h"

namespace meridian::testing {
namespace {

using model::Protocol;

constexpr const char* kNodeIp = "172.16.1.11";
constexpr const char* kPeer = "172.16.2.11";
constexpr const char* kClient = "10.1.1.100";
constexpr const char* kVip = "10.96.0.10";

// Every kind of frontend: a ClusterIP with local and remote backends (TCP
// and UDP), one with ClientIP affinity, an exported one, a LoadBalancer
// with a NodePort and an ingress IP.
model::ResourceSnapshot World() {
  model::ResourceSnapshot s;
  s.clusters = {MakeCluster("c1", 1, "10.1.0.0/16", {{kNodeIp, "10.1.1.0/24"}}),
                MakeCluster("c2", 2, "10.2.0.0/16", {{kPeer, "10.2.1.0/24"}})};
  s.services.push_back(MakeService("web", kVip,
                                   {{.name = "http", .protocol = Protocol::kTcp, .port = 80},
                                    {.name = "dns", .protocol = Protocol::kUdp, .port = 53}}));
  s.endpoint_slices.push_back(
      MakeSlice("web", {"10.1.1.11"},
                {{.name = "http", .protocol = Protocol::kTcp, .port = 8080},
                 {.name = "dns", .protocol = Protocol::kUdp, .port = 5353}}));
  // A remote backend only (every new flow is encapsulated), with affinity.
  auto sticky =
      MakeService("sticky", "10.96.0.30", {{.name = "", .protocol = Protocol::kTcp, .port = 80}});
  sticky.session_affinity = model::SessionAffinity::kClientIP;
  sticky.session_affinity_timeout_s = 60;
  s.services.push_back(sticky);
  s.endpoint_slices.push_back(
      MakeSlice("sticky", {"10.2.1.12"}, {{.name = "", .protocol = Protocol::kTcp, .port = 8080}}));
  // The client itself (hairpin).
  s.services.push_back(
      MakeService("self", "10.96.0.50", {{.name = "", .protocol = Protocol::kTcp, .port = 80}}));
  s.endpoint_slices.push_back(
      MakeSlice("self", {kClient}, {{.name = "", .protocol = Protocol::kTcp, .port = 8080}}));
  s.services.push_back(
      MakeService("api", "10.96.0.20", {{.name = "", .protocol = Protocol::kTcp, .port = 443}}));
  s.endpoint_slices.push_back(
      MakeSlice("api", {"10.1.1.11"}, {{.name = "", .protocol = Protocol::kTcp, .port = 8443}}));
  model::ServiceExport exp;
  exp.meta.key = {"default", "api"};
  s.service_exports.push_back(exp);
  auto lb = MakeService("lb", "10.96.0.40", {{"http", Protocol::kTcp, 80, 8080, ""}});
  lb.type = model::ServiceType::kLoadBalancer;
  lb.ports[0].node_port = 30080;
  lb.load_balancer_ips = {*model::Ipv4Address::Parse("192.0.2.10")};
  s.services.push_back(lb);
  auto slice = MakeSlice("lb", {"10.1.1.13"}, {{"http", Protocol::kTcp, 8080}});
  slice.endpoints[0].node_name = "node-1";
  s.endpoint_slices.push_back(slice);
  return s;
}

Bytes Vxlan(const char* from, std::uint32_t vni, const Bytes& inner) {
  std::string payload(8, '\0');
  payload[0] = 0x08;
  payload[4] = static_cast<char>(vni >> 16);  // the 24-bit VNI, then a reserved byte
  payload[5] = static_cast<char>(vni >> 8);
  payload[6] = static_cast<char>(vni);
  payload.append(inner.begin(), inner.end());
  return Packet().Eth().Ipv4(from, kNodeIp).Udp(49152, 4789).Payload(payload).Build();
}

// Valid frames, one per path.
std::vector<Bytes> Seeds() {
  const Bytes inner = Packet().Eth().Ipv4("10.2.1.11", "10.1.1.11").Tcp(40000, 8443).Build();
  // What the client's UDP flow to web looks like translated: an ICMP error
  // about it quotes this.
  const Bytes quoted = Packet().Eth().Ipv4(kClient, "10.1.1.11").Udp(41001, 5353).Build();
  return {
      Packet().Eth().Ipv4(kClient, kVip).Tcp(41000, 80).Payload("GET /").Build(),
      Packet().Eth().Ipv4(kClient, kVip).Tcp(41000, 80, 0x10).Build(),
      Packet().Eth().Ipv4(kClient, kVip).Udp(41001, 53).Payload("q").Build(),
      Packet().Eth().Ipv4(kClient, kVip).Tcp(41002, 81).Build(),
      Packet().Eth().Ipv4(kClient, "10.96.0.30").Tcp(41003, 80).Build(),
      Packet().Eth().Ipv4(kClient, "10.96.0.99").Tcp(41004, 80).Build(),
      Packet().Eth().Ipv4(kClient, "10.2.1.11").Tcp(41005, 8080).Build(),
      Packet().Eth().Ipv4(kClient, "10.96.0.50").Tcp(41006, 80).Build(),
      Packet().Eth().Ipv4(kClient, "169.254.42.1").Tcp(8080, 41006, 0x12).Build(),
      Packet().Eth().Ipv4("10.1.1.11", kClient).Tcp(8080, 41000, 0x12).Build(),
      Packet().Eth().Ipv4("10.1.1.11", kClient).Udp(5353, 41001).Build(),
      Packet().Eth().Ipv4(kClient, kVip, {0x01, 0x01, 0x01, 0x00}).Tcp(41007, 80).Build(),
      Packet().Eth().Ipv4(kClient, kVip).Frag(0x2000).Udp(41008, 53).Build(),
      Packet()
          .Eth()
          .Ipv4("10.1.1.11", kClient)
          .Icmp()
          .Payload(std::string(quoted.begin() + 14, quoted.end()))
          .Build(),
      Vxlan(kPeer, 2, inner),
      Vxlan("172.16.9.9", 2, inner),
      Vxlan(kPeer, 7, inner),
      Packet().Eth().Ipv4("172.16.1.200", kNodeIp).Tcp(42000, 30080).Build(),
      Packet().Eth().Ipv4("172.16.1.200", "192.0.2.10").Tcp(42001, 80).Build(),
      Packet().Eth().Ipv4("172.16.1.200", kNodeIp).Udp(42002, 30080).Build(),
      Packet()
          .Eth("02:00:00:00:00:01", "02:00:00:00:00:02", 0x86dd)
          .Payload(std::string(40, 'x'))
          .Build(),
      Packet()
          .Eth("02:00:00:00:00:01", "02:00:00:00:00:02", 0x0806)
          .Payload(std::string(28, 'x'))
          .Build(),
  };
}

// Counted besides a packet's one verdict (docs/maps.md).
const std::set<std::string> kEvents = {
    "encap",      "ct_reply_restored", "lb_affinity_hit",  "ct_port_remapped", "hairpin",
    "ct_created", "ct_expired",        "ct_entries_added", "ct_evicted"};

class PacketFuzzTest : public DatapathTest {
 protected:
  PacketFuzzTest() {
    config_ = mer_config{.cluster_id = 1,
                         .node_ip_be = Ip(kNodeIp),
                         .uplink_ifindex = if_nametoindex("up0"),
                         .uplink_mtu = 1500,
                         .vxlan_port_be = htons(4789),
                         .flags = MER_CFG_NODEPORT,
                         .snat_addr_be = Ip(kNodeIp)};
    local_cluster_ = "c1";
    node_ip_ = model::Ipv4Address::Parse(kNodeIp);
    node_name_ = "node-1";
    nodeport_addresses_ = {*model::Ipv4Address::Parse(kNodeIp)};
  }

  Bytes Mutate(const Bytes& seed) {
    Bytes b = seed;
    auto pick = [&](std::size_t n) {
      return std::uniform_int_distribution<std::size_t>(0, n)(rng_);
    };
    switch (pick(6)) {
      case 0: {  // random bytes, sometimes typed IPv4
        b.resize(14 + pick(114));
        for (auto& c : b) c = static_cast<std::uint8_t>(rng_());
        if (pick(1)) b[12] = 0x08, b[13] = 0x00;
        return b;
      }
      case 1:  // cut short
        b.resize(14 + pick(b.size() - 14));
        return b;
      case 2:  // extended
        for (std::size_t i = pick(64); i > 0; --i) b.push_back(static_cast<std::uint8_t>(rng_()));
        return b;
      case 3:  // a header field set to anything: IHL, total length, flags/fragment, protocol, TCP
               // data offset
        if (b.size() > 47) {
          switch (pick(4)) {
            case 0:
              b[14] = static_cast<std::uint8_t>(0x40 | pick(15));
              break;
            case 1:
              b[16] = static_cast<std::uint8_t>(rng_()), b[17] = static_cast<std::uint8_t>(rng_());
              break;
            case 2:
              b[20] = static_cast<std::uint8_t>(rng_()), b[21] = static_cast<std::uint8_t>(rng_());
              break;
            case 3:
              b[23] = static_cast<std::uint8_t>(std::vector<int>{1, 6, 17, 47, 255}[pick(4)]);
              break;
            default:
              b[46] = static_cast<std::uint8_t>(rng_());
              break;
          }
        }
        return b;
      default:  // bytes flipped
        for (std::size_t i = 1 + pick(7); i > 0; --i)
          b[pick(b.size() - 1)] ^= static_cast<std::uint8_t>(1 + pick(254));
        return b;
    }
  }

  // One packet through one program, and the invariants.
  void Check(const char* prog, const Bytes& in, bool xdp) {
    const std::string name = prog;
    const int fd = xdp                  ? dp_->xdp_from_uplink_fd()
                   : name == "from_pod" ? dp_->from_pod_fd()
                   : name == "to_pod"   ? dp_->to_pod_fd()
                                        : dp_->from_uplink_fd();
    Bytes out(in.size() + 256);
    xdp_md ctx{};
    ctx.data_end = static_cast<__u32>(in.size());
    ctx.ingress_ifindex = if_nametoindex("up0");
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out.data(),
                .data_size_in = static_cast<__u32>(in.size()),
                .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
    if (xdp) {
      opts.ctx_in = &ctx;
      opts.ctx_size_in = sizeof ctx;
    }
    const int err = bpf_prog_test_run_opts(fd, &opts);
    ++runs_;
    const bool l3 = (in[12] == 0x08 && in[13] == 0x00) || (in[12] == 0x86 && in[13] == 0xdd);
    if (err == -EINVAL && !xdp && l3) {
      // The kernel's test harness itself refuses an skb whose IPv4 or IPv6
      // header is short or malformed (it reads it to set up the skb):
      // nothing to run. XDP runs the same bytes.
      ++refused_;
      CounterDelta();
      return;
    }
    out.resize(opts.data_size_out);
    const int verdict_code = static_cast<int>(opts.retval);
    std::string verdict;
    int verdicts = 0;
    bool encapsulated = false;
    for (const auto& [counter, n] : CounterDelta()) {
      if (counter == "encap") encapsulated = true;
      if (kEvents.count(counter)) continue;
      verdicts += static_cast<int>(n);
      verdict = counter;
    }
    const bool drop = xdp ? verdict_code == XDP_DROP : verdict_code == TC_ACT_SHOT;
    const bool allowed = xdp ? (verdict_code >= XDP_DROP && verdict_code <= XDP_REDIRECT)
                             : (verdict_code == TC_ACT_OK || verdict_code == TC_ACT_SHOT ||
                                verdict_code == TC_ACT_REDIRECT);
    std::string why;
    if (err != 0) {
      why = "BPF_PROG_TEST_RUN failed: " + std::to_string(err);
    } else if (!allowed) {
      why = "verdict " + std::to_string(verdict_code) + " is not one the program gives";
    } else if (xdp && !(config_.flags & MER_CFG_XDP_DECAP) && verdicts == 0) {
      // Not for NodePorts, and tc decapsulates: passed on uncounted, for
      // the tc program to count (uplink.bpf.c). It must be untouched.
      if (verdict_code != XDP_PASS || out != in) why = "passed uncounted to tc but changed";
      verdict = "(to tc)";
    } else if (verdicts != 1) {
      why = std::to_string(verdicts) + " verdict counters moved";
    } else if (drop && verdict.rfind("drop_", 0) != 0) {
      why = "dropped but counted as " + verdict;
    } else if (verdict.rfind("pass_", 0) == 0 && !encapsulated && out != in) {
      // Passed as not ours (a pod-to-pod packet to another cluster is
      // passed_not_service and encapsulated: that one may change).
      why = "passed as " + verdict + " but rewritten";
    }
    if (!why.empty() && failures_++ < 10) {
      std::string hex;
      for (auto c : in) hex += fmt::format("{:02x}", c);
      ADD_FAILURE() << prog << ": " << why << " (verdict " << verdict << "); packet " << hex;
    }
    seen_[name + " " + verdict]++;
  }

  std::mt19937 rng_{1};
  std::size_t runs_ = 0, failures_ = 0, refused_ = 0;
  std::map<std::string, std::size_t> seen_;

  void RunFuzz() {
    Install(World());
    const char* env = std::getenv("MERIDIAN_FUZZ_PACKETS");
    const std::size_t per_program = env ? std::strtoull(env, nullptr, 10) : 25000;
    if (const char* s = std::getenv("MERIDIAN_FUZZ_SEED")) rng_.seed(std::strtoul(s, nullptr, 10));
    const auto seeds = Seeds();
    CounterDelta();
    for (std::size_t i = 0; i < per_program; ++i) {
      // One packet in eight is a seed as it is: the valid paths stay warm
      // (conntrack entries for replies and ICMP errors to find).
      const Bytes& seed = seeds[rng_() % seeds.size()];
      const Bytes pkt = rng_() % 8 == 0 ? seed : Mutate(seed);
      Check("from_pod", pkt, false);
      Check("to_pod", pkt, false);
      Check("from_uplink", pkt, false);
      Check("xdp_from_uplink", pkt, true);
    }
    EXPECT_EQ(failures_, 0u) << "of " << runs_ << " runs";
    std::printf(
        "%zu runs (%zu packets x 4 programs), %zu failures, %zu refused by the kernel's test "
        "harness (tc: a short or malformed IPv4/IPv6 header); verdicts seen:\n",
        runs_, per_program, failures_, refused_);
    for (const auto& [k, n] : seen_) std::printf("  %-45s %zu\n", k.c_str(), n);
  }
};

// VXLAN decapsulated by the tc program on the uplink.
TEST_F(PacketFuzzTest, MutatedAndRandomPacketsKeepEveryInvariant) { RunFuzz(); }

// The same with --uplink-decap xdp: the XDP program decapsulates.
class PacketFuzzXdpDecapTest : public PacketFuzzTest {
 protected:
  PacketFuzzXdpDecapTest() { config_.flags |= MER_CFG_XDP_DECAP; }
};
TEST_F(PacketFuzzXdpDecapTest, MutatedAndRandomPacketsKeepEveryInvariant) { RunFuzz(); }

}  // namespace
}  // namespace meridian::testing

int main(int argc, char** argv) {
  return meridian::testing::RunAllTestsInPrivateNetns(argc, argv,
                                                      meridian::testing::kUplinkNetnsSetup);
}
