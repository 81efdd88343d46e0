// BPF_PROG_TEST_RUN tests of the pod-veth programs: build the packet,
// prepare the maps through the real map writer, check verdict, every
// rewritten byte, and the counter that proves which path ran.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "datapath/affinity_purge.h"
#include "datapath/udp_flow_purge.h"
#include "datapath_fixture.h"
#include "meridian/jhash.h"

namespace meridian::testing {
namespace {

using model::Protocol;

constexpr const char* kClient = "10.1.1.100";
constexpr const char* kVip = "10.96.0.10";
const std::vector<std::string> kBackends = {"10.1.1.11", "10.1.1.12", "10.1.2.11", "10.1.2.12"};

model::ResourceSnapshot WebService(std::vector<std::string> backends = kBackends) {
  model::ResourceSnapshot s;
  s.services.push_back(MakeService("web", kVip,
                                   {{.name = "http", .protocol = Protocol::kTcp, .port = 80},
                                    {.name = "dns", .protocol = Protocol::kUdp, .port = 53}}));
  s.endpoint_slices.push_back(
      MakeSlice("web", backends,
                {{.name = "http", .protocol = Protocol::kTcp, .port = 8080},
                 {.name = "dns", .protocol = Protocol::kUdp, .port = 5353}}));
  return s;
}

class LxcTest : public DatapathTest {
 protected:
  // The backend the datapath must choose for a flow: flow hash -> slot of
  // the installed Maglev table, computed here from the desired state.
  std::string ExpectedBackend(const char* src, std::uint16_t sport, std::uint16_t dport,
                              Protocol proto) {
    desired::FrontendKey key{*model::Ipv4Address::Parse(kVip), dport, proto};
    const auto& fe = state_.frontends.at(key);
    std::uint32_t h = mer_flow_hash(Ip(src), Ip(kVip), htons(sport), htons(dport),
                                    static_cast<std::uint32_t>(proto));
    return fe.backends[fe.maglev[h % fe.maglev.size()]].key.address.ToString();
  }

  // Everything except the bytes the NAT may change must be identical.
  static void ExpectOnlyRewritten(const Bytes& in, const Bytes& out, std::size_t addr_off,
                                  std::size_t port_off) {
    ASSERT_EQ(in.size(), out.size());
    PacketView v{in};
    std::size_t l4_csum = v.l4() + (v.proto() == IPPROTO_TCP ? 16 : 6);
    for (std::size_t i = 0; i < in.size(); ++i) {
      bool may_change = (i >= addr_off && i < addr_off + 4) ||
                        (i >= port_off && i < port_off + 2) || i == kEthLen + 10 ||
                        i == kEthLen + 11 || i == l4_csum || i == l4_csum + 1;
      if (!may_change) {
        EXPECT_EQ(in[i], out[i]) << "byte " << i << " changed";
      }
    }
  }
};

TEST_F(LxcTest, TcpServiceHitRewritesDestinationAndBothChecksums) {
  Install(WebService());
  CounterDelta();
  Bytes in = Packet().Eth().Ipv4(kClient, kVip).Tcp(40000, 80).Payload("hello").Build();

  auto r = FromPod(in);

  ASSERT_EQ(r.verdict, TC_ACT_OK);
  PacketView out{r.out};
  EXPECT_EQ(Addr(out.daddr()), ExpectedBackend(kClient, 40000, 80, Protocol::kTcp));
  EXPECT_EQ(out.dport(), 8080);
  EXPECT_EQ(Addr(out.saddr()), kClient);
  EXPECT_EQ(out.sport(), 40000);
  EXPECT_EQ(out.ip_csum_residue(), 0);
  EXPECT_EQ(out.l4_csum_residue(), 0);
  ExpectOnlyRewritten(in, r.out, kEthLen + 16, PacketView{in}.l4() + 2);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{
                                {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_new_flow", 1}}));
}

TEST_F(LxcTest, SecondPacketOfAFlowHitsConntrackAndKeepsItsBackend) {
  Install(WebService());
  Bytes in = Packet().Eth().Ipv4(kClient, kVip).Tcp(40001, 80, 0x10).Build();
  auto first = FromPod(in);
  CounterDelta();

  auto second = FromPod(in);

  EXPECT_EQ(second.verdict, TC_ACT_OK);
  EXPECT_EQ(second.out, first.out);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"lb_ct_hit", 1}}));
}

TEST_F(LxcTest, EstablishedFlowKeepsBackendWhenAnotherBackendIsRemoved) {
  Install(WebService());
  // Find flows whose backend survives the removal of 10.1.1.11, then check
  // that every one of them keeps its backend although the table changes.
  int checked = 0;
  for (std::uint16_t sport = 41000; sport < 41040; ++sport) {
    Bytes in = Packet().Eth().Ipv4(kClient, kVip).Tcp(sport, 80, 0x10).Build();
    std::string before = Addr(PacketView{FromPod(in).out}.daddr());
    if (before == "10.1.1.11") continue;
    ++checked;
  }
  ASSERT_GT(checked, 10);
  auto stats = Install(WebService({"10.1.1.12", "10.1.2.11", "10.1.2.12"}));
  EXPECT_EQ(stats.backends_deleted, 2u);  // TCP and UDP backend of 10.1.1.11
  CounterDelta();
  for (std::uint16_t sport = 41000; sport < 41040; ++sport) {
    Bytes in = Packet().Eth().Ipv4(kClient, kVip).Tcp(sport, 80, 0x10).Build();
    auto r = FromPod(in);
    EXPECT_EQ(r.verdict, TC_ACT_OK);
  }
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"lb_ct_hit", 40}}));
}

// Issue 13.5, kube-proxy's rule: an established TCP flow to a removed
// endpoint keeps going to it (while the pod answers, whatever other
// services share it); a new connection on the same tuple (SYN) and UDP
// choose again.
TEST_F(LxcTest, RemovedEndpointKeepsEstablishedTcpAndMovesSynAndUdp) {
  Install(WebService());
  std::vector<std::uint16_t> tcp_ports, udp_ports;
  for (std::uint16_t sport = 43000; sport < 43200; ++sport) {
    if (ExpectedBackend(kClient, sport, 80, Protocol::kTcp) == "10.1.1.11" &&
        tcp_ports.size() < 5) {
      ASSERT_EQ(Addr(PacketView{
                    FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(sport, 80, 0x02).Build()).out}
                         .daddr()),
                "10.1.1.11");
      tcp_ports.push_back(sport);
    }
    if (ExpectedBackend(kClient, sport, 53, Protocol::kUdp) == "10.1.1.11" &&
        udp_ports.size() < 5) {
      FromPod(Packet().Eth().Ipv4(kClient, kVip).Udp(sport, 53).Build());
      udp_ports.push_back(sport);
    }
  }
  ASSERT_EQ(tcp_ports.size(), 5u);
  ASSERT_EQ(udp_ports.size(), 5u);
  Install(WebService({"10.1.1.12", "10.1.2.11", "10.1.2.12"}));
  CounterDelta();
  for (std::uint16_t sport : tcp_ports) {
    auto ack = FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(sport, 80, 0x10).Build());
    EXPECT_EQ(Addr(PacketView{ack.out}.daddr()), "10.1.1.11") << sport;
  }
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"lb_ct_hit", 5}}));
  for (std::uint16_t sport : tcp_ports) {
    auto syn = FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(sport, 80, 0x02).Build());
    EXPECT_NE(Addr(PacketView{syn.out}.daddr()), "10.1.1.11") << sport;
  }
  for (std::uint16_t sport : udp_ports) {
    auto dgram = FromPod(Packet().Eth().Ipv4(kClient, kVip).Udp(sport, 53).Build());
    EXPECT_NE(Addr(PacketView{dgram.out}.daddr()), "10.1.1.11") << sport;
  }
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 10}, {"ct_created", 10}, {"lb_ct_reselect", 10}}));
}

// A client reusing the source port of a connection that closed (FIN) opens
// a new connection: balanced afresh, not sent after the old one. Here the
// old backend left web while another service keeps it installed, so
// following the old entry would reach a pod that no longer serves web (the
// chaos suite's cluster death found this: a reused port went to the dead
// cluster).
TEST_F(LxcTest, SynOnAClosedConnectionsPortIsANewConnection) {
  auto both = WebService();
  both.services.push_back(MakeService("other", "10.96.0.20",
                                      {{.name = "http", .protocol = Protocol::kTcp, .port = 80}}));
  both.endpoint_slices.push_back(MakeSlice(
      "other", {"10.1.1.11"}, {{.name = "http", .protocol = Protocol::kTcp, .port = 8080}}));
  Install(both);
  std::uint16_t sport = 0;
  for (std::uint16_t p = 44000; p < 44200 && !sport; ++p) {
    if (ExpectedBackend(kClient, p, 80, Protocol::kTcp) == "10.1.1.11") sport = p;
  }
  ASSERT_NE(sport, 0);
  auto tcp = [&](std::uint8_t flags) {
    return Addr(
        PacketView{FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(sport, 80, flags).Build()).out}
            .daddr());
  };
  EXPECT_EQ(tcp(0x02), "10.1.1.11");
  EXPECT_EQ(tcp(0x10), "10.1.1.11");
  EXPECT_EQ(tcp(0x11), "10.1.1.11");  // FIN: closing
  // 10.1.1.11 leaves web; "other" keeps it in mer_backends.
  both.endpoint_slices[0] = MakeSlice("web", {"10.1.1.12", "10.1.2.11", "10.1.2.12"},
                                      {{.name = "http", .protocol = Protocol::kTcp, .port = 8080},
                                       {.name = "dns", .protocol = Protocol::kUdp, .port = 5353}});
  Install(both);
  CounterDelta();
  EXPECT_NE(tcp(0x02), "10.1.1.11");
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 1}, {"ct_created", 1}, {"lb_ct_reselect", 1}}));
  // The new connection is established on its new backend.
  const std::string now_on = tcp(0x10);
  EXPECT_NE(now_on, "10.1.1.11");
  EXPECT_EQ(tcp(0x10), now_on);
}

// Issue 13.5: removing an endpoint of one service while another service
// still uses it left that service's UDP flows on it (the backend entry
// stays). The agent purges them, so the rule does not depend on other
// services; TCP is left alone.
TEST_F(LxcTest, UdpFlowsOfAnEndpointRemovedFromOneServiceArePurged) {
  auto with = [](std::vector<std::string> web_backends) {
    model::ResourceSnapshot s = WebService(std::move(web_backends));
    s.services.push_back(MakeService("other", "10.96.0.20",
                                     {{.name = "dns", .protocol = Protocol::kUdp, .port = 53}}));
    s.endpoint_slices.push_back(MakeSlice(
        "other", {"10.1.1.11"}, {{.name = "dns", .protocol = Protocol::kUdp, .port = 5353}}));
    return s;
  };
  Install(with(kBackends));
  std::uint16_t udp = 0, tcp = 0;
  for (std::uint16_t sport = 44000; sport < 44400 && (!udp || !tcp); ++sport) {
    if (!udp && ExpectedBackend(kClient, sport, 53, Protocol::kUdp) == "10.1.1.11") udp = sport;
    if (!tcp && ExpectedBackend(kClient, sport, 80, Protocol::kTcp) == "10.1.1.11") tcp = sport;
  }
  ASSERT_TRUE(udp && tcp);
  FromPod(Packet().Eth().Ipv4(kClient, kVip).Udp(udp, 53).Build());
  FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(tcp, 80, 0x02).Build());
  const desired::DesiredState before = state_;
  Install(with({"10.1.1.12", "10.1.2.11", "10.1.2.12"}));
  ASSERT_NE(writer_->backend_id({*model::Ipv4Address::Parse("10.1.1.11"), 5353, Protocol::kUdp}),
            0u);

  // Without the purge the datagram still goes to the removed endpoint.
  CounterDelta();
  EXPECT_EQ(
      Addr(
          PacketView{FromPod(Packet().Eth().Ipv4(kClient, kVip).Udp(udp, 53).Build()).out}.daddr()),
      "10.1.1.11");
  auto removed = datapath::RemovedUdpEndpoints(before, state_, *writer_);
  ASSERT_EQ(removed.size(), 1u);
  auto purged = datapath::PurgeUdpFlows(dp_->maps().ct, removed);
  ASSERT_TRUE(purged.ok()) << purged.error().message;
  EXPECT_EQ(*purged, 2u);  // forward and reply
  auto moved = FromPod(Packet().Eth().Ipv4(kClient, kVip).Udp(udp, 53).Build());
  EXPECT_NE(Addr(PacketView{moved.out}.daddr()), "10.1.1.11");
  auto ack = FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(tcp, 80, 0x10).Build());
  EXPECT_EQ(Addr(PacketView{ack.out}.daddr()), "10.1.1.11");
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_ct_hit", 2}, {"lb_new_flow", 1}}));
}

// sessionAffinity: ClientIP. A client's new flows follow its first one's
// backend (where Maglev would have sent them elsewhere) until the timeout
// passes without a new flow; the entry names the frontend and backend; an
// endpoint removed from the service (while another service keeps the
// backend installed) loses its clients at once, through the agent's purge.
TEST_F(LxcTest, ClientIpAffinityHoldsUntilTimeoutAndEndsWithTheEndpoint) {
  auto with = [](std::vector<std::string> backends, std::uint32_t timeout) {
    auto s = WebService(std::move(backends));
    s.services[0].session_affinity = model::SessionAffinity::kClientIP;
    s.services[0].session_affinity_timeout_s = timeout;
    // Keeps 10.1.1.11:8080 installed whatever web does.
    s.services.push_back(MakeService("other", "10.96.0.20",
                                     {{.name = "http", .protocol = Protocol::kTcp, .port = 80}}));
    s.endpoint_slices.push_back(MakeSlice(
        "other", {"10.1.1.11"}, {{.name = "http", .protocol = Protocol::kTcp, .port = 8080}}));
    return s;
  };
  Install(with(kBackends, 1));
  // Source ports whose Maglev choice is 10.1.1.11 (first) and another.
  std::uint16_t first = 0, other = 0, later = 0;
  for (std::uint16_t sport = 45000; sport < 45400; ++sport) {
    const bool on_11 = ExpectedBackend(kClient, sport, 80, Protocol::kTcp) == "10.1.1.11";
    if (!first && on_11) first = sport;
    if (on_11) continue;
    if (!other) {
      other = sport;
    } else if (!later) {
      later = sport;
    }
  }
  ASSERT_TRUE(first && other && later);
  auto syn = [&](std::uint16_t sport) {
    return Addr(
        PacketView{FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(sport, 80, 0x02).Build()).out}
            .daddr());
  };
  CounterDelta();
  EXPECT_EQ(syn(first), "10.1.1.11");
  EXPECT_EQ(syn(other), "10.1.1.11")
      << "affinity, not Maglev's " << ExpectedBackend(kClient, other, 80, Protocol::kTcp);
  EXPECT_EQ(
      CounterDelta(),
      (std::map<std::string, std::uint64_t>{
          {"ct_entries_added", 4}, {"ct_created", 2}, {"lb_new_flow", 2}, {"lb_affinity_hit", 1}}));
  // The entry: (client, web's service id) -> 10.1.1.11:8080's backend id.
  const std::uint32_t service_id =
      writer_->service_id({*model::Ipv4Address::Parse(kVip), 80, Protocol::kTcp});
  const std::uint32_t backend_id =
      writer_->backend_id({*model::Ipv4Address::Parse("10.1.1.11"), 8080, Protocol::kTcp});
  mer_affinity_key key{.client_be = Ip(kClient), .service_id = service_id};
  mer_affinity value{};
  ASSERT_EQ(bpf_map_lookup_elem(dp_->maps().affinity, &key, &value), 0);
  EXPECT_EQ(value.backend_id, backend_id);
  // Another client has its own choice.
  EXPECT_EQ(Addr(PacketView{
                FromPod(Packet().Eth().Ipv4("10.1.1.101", kVip).Tcp(other, 80, 0x02).Build()).out}
                     .daddr()),
            ExpectedBackend("10.1.1.101", other, 80, Protocol::kTcp));

  // 1 s without a new flow: the affinity is over, Maglev chooses.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CounterDelta();
  EXPECT_EQ(syn(later), ExpectedBackend(kClient, later, 80, Protocol::kTcp));
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{
                                {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_new_flow", 1}}));

  // Another client on 10.1.1.11 (a long timeout now); then 10.1.1.11
  // leaves web but stays installed for `other`: without the purge its
  // affinity would still send new flows there; the purge ends it at once.
  Install(with(kBackends, 10800));
  const char* client2 = "10.1.1.102";
  std::uint16_t p1 = 0, p2 = 0;
  for (std::uint16_t sport = 46000; sport < 46400 && !p1; ++sport) {
    if (ExpectedBackend(client2, sport, 80, Protocol::kTcp) == "10.1.1.11") p1 = sport;
  }
  ASSERT_TRUE(p1);
  p2 = static_cast<std::uint16_t>(p1 + 1000);
  auto syn2 = [&](std::uint16_t sport) {
    return Addr(
        PacketView{FromPod(Packet().Eth().Ipv4(client2, kVip).Tcp(sport, 80, 0x02).Build()).out}
            .daddr());
  };
  EXPECT_EQ(syn2(p1), "10.1.1.11");
  mer_affinity_key key2{.client_be = Ip(client2), .service_id = service_id};
  ASSERT_EQ(bpf_map_lookup_elem(dp_->maps().affinity, &key2, &value), 0);
  const desired::DesiredState before = state_;
  Install(with({"10.1.1.12", "10.1.2.11", "10.1.2.12"}, 10800));
  ASSERT_NE(writer_->backend_id({*model::Ipv4Address::Parse("10.1.1.11"), 8080, Protocol::kTcp}),
            0u);
  auto removed = datapath::RemovedAffinityEndpoints(before, state_, *writer_);
  EXPECT_EQ(removed, (std::set<datapath::ServiceBackend>{{service_id, backend_id}}));
  auto purged = datapath::PurgeAffinity(dp_->maps().affinity, removed);
  ASSERT_TRUE(purged.ok()) << purged.error().message;
  EXPECT_EQ(*purged, 1u);
  EXPECT_NE(bpf_map_lookup_elem(dp_->maps().affinity, &key2, &value), 0);
  EXPECT_EQ(syn2(p2), ExpectedBackend(client2, p2, 80, Protocol::kTcp));
  EXPECT_NE(syn2(static_cast<std::uint16_t>(p2 + 1)), "10.1.1.11");
}

// internalTrafficPolicy Local on a node without a local endpoint: a new
// flow is dropped and counted (kube-proxy drops it), not refused.
TEST_F(LxcTest, LocalPolicyWithoutLocalEndpointDropsNewFlows) {
  auto s = WebService();
  s.services[0].internal_traffic_policy = model::TrafficPolicy::kLocal;
  Install(s);  // the fixture's node has no name: no endpoint is local
  CounterDelta();
  auto r = FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(47000, 80).Build());
  EXPECT_EQ(r.verdict, TC_ACT_SHOT);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"drop_no_local_endpoint", 1}}));
}

// Issue 13.2: two VIPs share their only backend; one client port reaches
// both. After DNAT both flows would be client:45678 <-> backend:8080, and
// the second overwrote the first's reply entry. The second flow gets a
// remapped source port instead, and each reply finds its own VIP.
TEST_F(LxcTest, TupleCollisionRemapsTheSourcePortAndKeepsBothFlows) {
  model::ResourceSnapshot s;
  for (const char* vip : {"10.96.0.50", "10.96.0.51"}) {
    const std::string name = std::string("svc") + vip;
    s.services.push_back(MakeService(name == "svc10.96.0.50" ? "self" : "twin", vip,
                                     {{.name = "http", .protocol = Protocol::kTcp, .port = 80},
                                      {.name = "dns", .protocol = Protocol::kUdp, .port = 80}}));
    s.endpoint_slices.push_back(
        MakeSlice(name == "svc10.96.0.50" ? "self" : "twin", {"10.1.1.13"},
                  {{.name = "http", .protocol = Protocol::kTcp, .port = 8080},
                   {.name = "dns", .protocol = Protocol::kUdp, .port = 8080}}));
  }
  Install(s);
  for (bool tcp : {true, false}) {
    SCOPED_TRACE(tcp ? "TCP" : "UDP");
    auto to = [&](const char* vip, std::uint8_t flags) {
      Packet pk;
      pk.Eth().Ipv4(kClient, vip);
      if (tcp) {
        pk.Tcp(45678, 80, flags);
      } else {
        pk.Udp(45678, 80);
      }
      return pk.Payload("x").Build();
    };
    auto from_backend = [&](std::uint16_t dport) {
      Packet pk;
      pk.Eth().Ipv4("10.1.1.13", kClient);
      if (tcp) {
        pk.Tcp(8080, dport, 0x12);
      } else {
        pk.Udp(8080, dport);
      }
      return pk.Payload("y").Build();
    };
    CounterDelta();
    auto a = FromPod(to("10.96.0.50", 0x02));
    PacketView av{a.out};
    EXPECT_EQ(av.sport(), 45678);
    auto b = FromPod(to("10.96.0.51", 0x02));
    PacketView bv{b.out};
    EXPECT_EQ(Addr(bv.daddr()), "10.1.1.13");
    EXPECT_EQ(Addr(bv.saddr()), kClient);
    EXPECT_NE(bv.sport(), 45678);
    EXPECT_GE(bv.sport(), MER_NAT_PORT_MIN);
    EXPECT_LT(bv.sport(), MER_NAT_PORT_MIN + MER_NAT_PORT_RANGE);
    EXPECT_EQ(bv.ip_csum_residue(), 0);
    EXPECT_EQ(bv.l4_csum_residue(), 0);
    EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"ct_entries_added", 4},
                                                                    {"ct_created", 2},
                                                                    {"lb_new_flow", 2},
                                                                    {"ct_port_remapped", 1}}));
    // Later packets of each flow keep their own translation.
    EXPECT_EQ(PacketView{FromPod(to("10.96.0.50", 0x10)).out}.sport(), 45678);
    EXPECT_EQ(PacketView{FromPod(to("10.96.0.51", 0x10)).out}.sport(), bv.sport());
    // Replies: each comes back from its own VIP, to the client's own port.
    PacketView ra{ToPod(from_backend(45678)).out};
    EXPECT_EQ(Addr(ra.saddr()), "10.96.0.50");
    EXPECT_EQ(ra.sport(), 80);
    EXPECT_EQ(ra.dport(), 45678);
    auto rb_run = ToPod(from_backend(bv.sport()));
    PacketView rb{rb_run.out};
    EXPECT_EQ(Addr(rb.saddr()), "10.96.0.51");
    EXPECT_EQ(rb.sport(), 80);
    EXPECT_EQ(Addr(rb.daddr()), kClient);
    EXPECT_EQ(rb.dport(), 45678);
    EXPECT_EQ(rb.ip_csum_residue(), 0);
    EXPECT_EQ(rb.l4_csum_residue(), 0);
  }
}

// Issue 13.4: a pod whose VIP's only endpoint is itself. The request goes
// back down its veth from 169.254.42.1 (a packet from its own address to
// itself would be a martian); its answer is turned back into VIP -> pod.
TEST_F(LxcTest, HairpinSendsThePodsOwnRequestBackFromTheHairpinAddress) {
  model::ResourceSnapshot s;
  s.services.push_back(MakeService("self", "10.96.0.50",
                                   {{.name = "http", .protocol = Protocol::kTcp, .port = 80},
                                    {.name = "dns", .protocol = Protocol::kUdp, .port = 80}}));
  s.endpoint_slices.push_back(
      MakeSlice("self", {"10.1.1.13"},
                {{.name = "http", .protocol = Protocol::kTcp, .port = 8080},
                 {.name = "dns", .protocol = Protocol::kUdp, .port = 8080}}));
  Install(s);
  for (bool tcp : {true, false}) {
    SCOPED_TRACE(tcp ? "TCP" : "UDP");
    auto build = [&](const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport) {
      Packet pk;
      pk.Eth().Ipv4(src, dst);
      if (tcp) {
        pk.Tcp(sport, dport, 0x02);
      } else {
        pk.Udp(sport, dport);
      }
      return pk.Payload("hi").Build();
    };
    CounterDelta();
    auto req = FromPod(build("10.1.1.13", "10.96.0.50", 40500, 80));
    EXPECT_EQ(req.verdict, TC_ACT_REDIRECT);
    PacketView rq{req.out};
    EXPECT_EQ(Addr(rq.saddr()), "169.254.42.1");
    EXPECT_EQ(rq.sport(), 40500);
    EXPECT_EQ(Addr(rq.daddr()), "10.1.1.13");
    EXPECT_EQ(rq.dport(), 8080);
    EXPECT_EQ(rq.ip_csum_residue(), 0);
    EXPECT_EQ(rq.l4_csum_residue(), 0);
    // Back to the pod: to its MAC, from the host side's.
    const Bytes sent = build("10.1.1.13", "10.96.0.50", 40500, 80);
    EXPECT_TRUE(std::equal(sent.begin(), sent.begin() + 6, req.out.begin() + 6));
    EXPECT_TRUE(std::equal(sent.begin() + 6, sent.begin() + 12, req.out.begin()));
    EXPECT_EQ(CounterDelta(),
              (std::map<std::string, std::uint64_t>{
                  {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_new_flow", 1}, {"hairpin", 1}}));
    auto rep = FromPod(build("10.1.1.13", "169.254.42.1", 8080, 40500));
    EXPECT_EQ(rep.verdict, TC_ACT_REDIRECT);
    PacketView rp{rep.out};
    EXPECT_EQ(Addr(rp.saddr()), "10.96.0.50");
    EXPECT_EQ(rp.sport(), 80);
    EXPECT_EQ(Addr(rp.daddr()), "10.1.1.13");
    EXPECT_EQ(rp.dport(), 40500);
    EXPECT_EQ(rp.ip_csum_residue(), 0);
    EXPECT_EQ(rp.l4_csum_residue(), 0);
    EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"hairpin_reply", 1}}));
  }
  // Anything else to the hairpin address is not ours: it passes.
  EXPECT_EQ(FromPod(Packet().Eth().Ipv4("10.1.1.13", "169.254.42.1").Tcp(1, 2).Build()).verdict,
            TC_ACT_OK);
}

TEST_F(LxcTest, FlowsSpreadOverEveryBackend) {
  Install(WebService());
  std::map<std::string, int> hits;
  for (std::uint16_t sport = 20000; sport < 20400; ++sport) {
    auto r = FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(sport, 80).Build());
    ASSERT_EQ(r.verdict, TC_ACT_OK);
    hits[Addr(PacketView{r.out}.daddr())]++;
  }
  ASSERT_EQ(hits.size(), 4u);
  for (const auto& [addr, n] : hits) EXPECT_GE(n, 40) << addr;  // >= 10% each
}

TEST_F(LxcTest, UdpServiceHitRewritesChecksum) {
  Install(WebService());
  CounterDelta();
  Bytes in = Packet().Eth().Ipv4(kClient, kVip).Udp(5000, 53).Payload("query").Build();
  auto r = FromPod(in);
  ASSERT_EQ(r.verdict, TC_ACT_OK);
  PacketView out{r.out};
  EXPECT_EQ(Addr(out.daddr()), ExpectedBackend(kClient, 5000, 53, Protocol::kUdp));
  EXPECT_EQ(out.dport(), 5353);
  EXPECT_EQ(out.ip_csum_residue(), 0);
  EXPECT_EQ(out.l4_csum_residue(), 0);
  ExpectOnlyRewritten(in, r.out, kEthLen + 16, PacketView{in}.l4() + 2);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{
                                {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_new_flow", 1}}));
}

TEST_F(LxcTest, UdpWithoutChecksumKeepsZeroChecksum) {
  Install(WebService());
  auto r = FromPod(Packet().Eth().Ipv4(kClient, kVip).Udp(5001, 53, true).Payload("q").Build());
  ASSERT_EQ(r.verdict, TC_ACT_OK);
  PacketView out{r.out};
  EXPECT_EQ(out.dport(), 5353);
  EXPECT_EQ(out.l4_csum_field(), 0);
  EXPECT_EQ(out.ip_csum_residue(), 0);
}

TEST_F(LxcTest, ReplyIsReverseTranslatedToTheVip) {
  Install(WebService());
  auto fwd = FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(42000, 80).Build());
  std::string backend = Addr(PacketView{fwd.out}.daddr());
  CounterDelta();
  Bytes reply = Packet()
                    .Eth("02:00:00:00:00:02", "02:00:00:00:00:01")
                    .Ipv4(backend.c_str(), kClient)
                    .Tcp(8080, 42000, 0x12)
                    .Payload("world")
                    .Build();

  auto r = ToPod(reply);

  ASSERT_EQ(r.verdict, TC_ACT_OK);
  PacketView out{r.out};
  EXPECT_EQ(Addr(out.saddr()), kVip);
  EXPECT_EQ(out.sport(), 80);
  EXPECT_EQ(Addr(out.daddr()), kClient);
  EXPECT_EQ(out.dport(), 42000);
  EXPECT_EQ(out.ip_csum_residue(), 0);
  EXPECT_EQ(out.l4_csum_residue(), 0);
  ExpectOnlyRewritten(reply, r.out, kEthLen + 12, PacketView{reply}.l4());
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"revnat", 1}}));
}

// The LRU evicts forward and reply entries separately. A reused source
// port (a new SYN on a surviving forward entry) or a UDP packet must put the
// reply entry back, or the answer goes to the client untranslated.
TEST_F(LxcTest, EvictedReplyEntryIsRestoredBySynAndByUdp) {
  Install(WebService());
  auto reply_key = [](const std::string& backend, std::uint16_t bport, std::uint16_t cport,
                      std::uint8_t proto) {
    mer_ct_key k{};
    k.saddr_be = Ip(backend.c_str());
    k.daddr_be = Ip(kClient);
    k.sport_be = htons(bport);
    k.dport_be = htons(cport);
    k.proto = proto;
    k.dir = MER_CT_REPLY;
    return k;
  };
  int ct = dp_->maps().ct;

  // TCP: the flow is established, then its reply entry is evicted.
  auto syn = Packet().Eth().Ipv4(kClient, kVip).Tcp(42100, 80, 0x02).Build();
  std::string backend = Addr(PacketView{FromPod(syn).out}.daddr());
  mer_ct_key key = reply_key(backend, 8080, 42100, IPPROTO_TCP);
  ASSERT_EQ(bpf_map_delete_elem(ct, &key), 0);
  CounterDelta();
  // An ACK of the old connection does not look (established flows keep
  // their entries warm; the check is for a connection's first packet).
  FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(42100, 80, 0x10).Build());
  mer_ct_entry entry{};
  EXPECT_NE(bpf_map_lookup_elem(ct, &key, &entry), 0);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"lb_ct_hit", 1}}));
  // A new SYN on the same tuple (port reuse) restores it, same backend.
  auto again = FromPod(syn);
  EXPECT_EQ(Addr(PacketView{again.out}.daddr()), backend);
  ASSERT_EQ(bpf_map_lookup_elem(ct, &key, &entry), 0);
  EXPECT_EQ(entry.vip_be, Ip(kVip));
  EXPECT_EQ(entry.vport_be, htons(80));
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 1}, {"lb_ct_hit", 1}, {"ct_reply_restored", 1}}));
  auto synack = ToPod(Packet().Eth().Ipv4(backend.c_str(), kClient).Tcp(8080, 42100, 0x12).Build());
  EXPECT_EQ(Addr(PacketView{synack.out}.saddr()), kVip);
  EXPECT_EQ(PacketView{synack.out}.sport(), 80);

  // UDP: every packet checks.
  auto query = Packet().Eth().Ipv4(kClient, kVip).Udp(5100, 53).Build();
  std::string ubackend = Addr(PacketView{FromPod(query).out}.daddr());
  mer_ct_key ukey = reply_key(ubackend, 5353, 5100, IPPROTO_UDP);
  ASSERT_EQ(bpf_map_delete_elem(ct, &ukey), 0);
  CounterDelta();
  FromPod(query);
  EXPECT_EQ(bpf_map_lookup_elem(ct, &ukey, &entry), 0);
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 1}, {"lb_ct_hit", 1}, {"ct_reply_restored", 1}}));
  FromPod(query);  // present now: nothing to restore
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"lb_ct_hit", 1}}));
}

TEST_F(LxcTest, UdpReplyIsReverseTranslated) {
  Install(WebService());
  auto fwd = FromPod(Packet().Eth().Ipv4(kClient, kVip).Udp(5002, 53).Build());
  std::string backend = Addr(PacketView{fwd.out}.daddr());
  auto r =
      ToPod(Packet().Eth().Ipv4(backend.c_str(), kClient).Udp(5353, 5002).Payload("a").Build());
  ASSERT_EQ(r.verdict, TC_ACT_OK);
  PacketView out{r.out};
  EXPECT_EQ(Addr(out.saddr()), kVip);
  EXPECT_EQ(out.sport(), 53);
  EXPECT_EQ(out.l4_csum_residue(), 0);
}

// ICMP errors of VIP flows quote the translated packet (client ->
// backend); on the client's veth they are reversed like the replies, so
// that the client's socket matches them: the backend's port unreachable
// comes from the VIP, a router's fragmentation-needed keeps its source.
// Every checksum is asserted, the quoted packet's included.
TEST_F(LxcTest, IcmpErrorsOfVipFlowsReachTheClientReverseTranslated) {
  Install(WebService());
  auto udp = FromPod(Packet().Eth().Ipv4(kClient, kVip).Udp(42000, 53).Payload("query").Build());
  const std::string backend = Addr(PacketView{udp.out}.daddr());
  CounterDelta();
  Bytes unreachable = IcmpError(backend.c_str(), kClient, 3, 3, udp.out, 1000);
  auto r = ToPod(unreachable);
  ASSERT_EQ(r.verdict, TC_ACT_OK);
  ASSERT_EQ(r.out.size(), unreachable.size());
  PacketView v{r.out};
  EXPECT_EQ(Addr(v.saddr()), kVip) << "the backend answered: from the VIP";
  EXPECT_EQ(Addr(v.daddr()), kClient);
  EXPECT_EQ(v.ip_csum_residue(), 0);
  EXPECT_EQ(IcmpCsumResidue(r.out), 0) << "ICMP checksum";
  Bytes q = Quoted(r.out);
  PacketView qv{q};
  EXPECT_EQ(Addr(qv.saddr()), kClient);
  EXPECT_EQ(qv.sport(), 42000);
  EXPECT_EQ(Addr(qv.daddr()), kVip);
  EXPECT_EQ(qv.dport(), 53);
  EXPECT_EQ(qv.ip_csum_residue(), 0) << "quoted IPv4 checksum";
  EXPECT_EQ(qv.l4_csum_residue(), 0) << "quoted UDP checksum";
  // Only addresses, ports and checksums changed.
  Bytes want = Quoted(
      IcmpError(kVip, kClient, 3, 3,
                Packet().Eth().Ipv4(kClient, kVip).Udp(42000, 53).Payload("query").Build(), 1000));
  EXPECT_EQ(q, want) << "the quote is the packet the client sent";
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"icmp_revnat", 1}}));

  // A router's fragmentation-needed about a TCP flow, quoting 8 bytes of
  // TCP (no checksum in the quote): its source is kept.
  auto tcp = FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(42001, 80).Build());
  CounterDelta();
  auto f = ToPod(IcmpError("10.1.9.1", kClient, 3, 4, tcp.out, 8, 1400));
  ASSERT_EQ(f.verdict, TC_ACT_OK);
  PacketView fv{f.out};
  EXPECT_EQ(Addr(fv.saddr()), "10.1.9.1");
  EXPECT_EQ(fv.ip_csum_residue(), 0);
  EXPECT_EQ(IcmpCsumResidue(f.out), 0);
  EXPECT_EQ(f.out[kEthLen + 20 + 6] << 8 | f.out[kEthLen + 20 + 7], 1400) << "the MTU kept";
  Bytes fq = Quoted(f.out);
  EXPECT_EQ(Addr(PacketView{fq}.daddr()), kVip);
  EXPECT_EQ(PacketView{fq}.dport(), 80);
  EXPECT_EQ(PacketView{fq}.ip_csum_residue(), 0);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"icmp_revnat", 1}}));

  // An error about no flow of ours, or not an error, passes untouched.
  Bytes stray = IcmpError(backend.c_str(), kClient, 3, 3,
                          Packet().Eth().Ipv4(kClient, backend.c_str()).Udp(42999, 5353).Build());
  Bytes echo = Packet().Eth().Ipv4(backend.c_str(), kClient).Icmp().Build();
  for (const Bytes& in : {stray, echo}) {
    auto x = ToPod(in);
    EXPECT_EQ(x.verdict, TC_ACT_OK);
    EXPECT_EQ(x.out, in);
  }
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"pass_to_pod", 2}}));
}

TEST_F(LxcTest, ToPodPassesUnrelatedTrafficUntouched) {
  Install(WebService());
  CounterDelta();
  Bytes in = Packet().Eth().Ipv4("10.1.2.11", kClient).Tcp(8080, 43000, 0x12).Build();
  auto r = ToPod(in);
  EXPECT_EQ(r.verdict, TC_ACT_OK);
  EXPECT_EQ(r.out, in);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"pass_to_pod", 1}}));
}

TEST_F(LxcTest, NonServiceTrafficPassesUntouched) {
  Install(WebService());
  CounterDelta();
  struct Case {
    Bytes pkt;
    const char* counter;
  } cases[] = {
      {Packet().Eth().Ipv4(kClient, "10.1.2.11").Tcp(40000, 8080).Build(), "pass_not_service"},
      {Packet().Eth().Ipv4(kClient, "10.96.0.99").Udp(40000, 53).Build(), "pass_not_service"},
      {Packet().Eth().Ipv4(kClient, kVip).Icmp().Build(), "pass_not_tcp_udp"},
      {Packet()
           .Eth("02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", 0x0806)
           .Payload(std::string(28, 'a'))
           .Build(),
       "pass_not_ipv4"},
      {Packet()
           .Eth("02:00:00:00:00:01", "02:00:00:00:00:02", 0x86dd)
           .Payload(std::string(60, 'b'))
           .Build(),
       "pass_not_ipv4"},
  };
  for (const auto& c : cases) {
    auto r = FromPod(c.pkt);
    EXPECT_EQ(r.verdict, TC_ACT_OK) << c.counter;
    EXPECT_EQ(r.out, c.pkt) << c.counter;
    EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{c.counter, 1}}));
  }
}

// The ICMP error a client must get from a VIP with no backends.
void ExpectPortUnreachable(const Bytes& in, const RunResult& r) {
  ASSERT_EQ(r.verdict, TC_ACT_REDIRECT);
  PacketView orig{in};
  std::size_t quoted = orig.ihl() + 8;
  ASSERT_EQ(r.out.size(), kEthLen + 20 + 8 + quoted);
  // MACs swapped: back to the pod.
  EXPECT_TRUE(std::equal(r.out.begin(), r.out.begin() + 6, in.begin() + 6));
  EXPECT_TRUE(std::equal(r.out.begin() + 6, r.out.begin() + 12, in.begin()));
  EXPECT_EQ(r.out[12], 0x08);
  EXPECT_EQ(r.out[13], 0x00);
  PacketView out{r.out};
  EXPECT_EQ(r.out[kEthLen], 0x45);
  EXPECT_EQ(out.proto(), IPPROTO_ICMP);
  EXPECT_EQ(out.ip_total(), 20 + 8 + quoted);
  EXPECT_EQ(out.saddr(), orig.daddr());  // from the VIP
  EXPECT_EQ(out.daddr(), orig.saddr());
  EXPECT_EQ(out.ip_csum_residue(), 0);
  const std::uint8_t* icmp = &r.out[kEthLen + 20];
  EXPECT_EQ(icmp[0], 3);  // destination unreachable
  EXPECT_EQ(icmp[1], 3);  // port unreachable
  EXPECT_EQ(InternetChecksum(icmp, 8 + quoted), 0);
  // The quoted datagram: the original IP header and first 8 L4 bytes.
  EXPECT_TRUE(std::equal(icmp + 8, icmp + 8 + quoted, in.begin() + kEthLen));
}

// A known VIP on a port (or protocol) it does not serve: ICMP port
// unreachable at once, as for a VIP without backends (kube-proxy's
// nftables mode rejects these too).
TEST_F(LxcTest, KnownVipOnUnknownPortIsRefused) {
  Install(WebService());
  CounterDelta();
  Bytes tcp81 = Packet().Eth().Ipv4(kClient, kVip).Tcp(40000, 81).Build();
  ExpectPortUnreachable(tcp81, FromPod(tcp81));
  // Port 53 exists for UDP only.
  Bytes tcp53 = Packet().Eth().Ipv4(kClient, kVip).Tcp(40000, 53).Build();
  ExpectPortUnreachable(tcp53, FromPod(tcp53));
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"reject_unknown_port", 2}}));
}

TEST_F(LxcTest, VipWithoutBackendsAnswersTcpWithPortUnreachable) {
  Install(WebService({}));
  CounterDelta();
  Bytes in = Packet().Eth().Ipv4(kClient, kVip).Tcp(40000, 80).Build();
  ExpectPortUnreachable(in, FromPod(in));
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"reject_no_backend", 1}}));
}

TEST_F(LxcTest, VipWithoutBackendsAnswersUdpWithPortUnreachable) {
  Install(WebService({}));
  CounterDelta();
  Bytes in =
      Packet().Eth().Ipv4(kClient, kVip).Udp(5000, 53).Payload(std::string(100, 'x')).Build();
  ExpectPortUnreachable(in, FromPod(in));
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"reject_no_backend", 1}}));
}

TEST_F(LxcTest, RejectQuotesIpOptions) {
  Install(WebService({}));
  Bytes in = Packet().Eth().Ipv4(kClient, kVip, {1, 1, 1, 0}).Tcp(40000, 80).Build();
  ExpectPortUnreachable(in, FromPod(in));
}

// kube-proxy's rule (KEP-1669): when no endpoint is ready, the serving
// terminating ones take new flows too; when none even serves, new flows are
// refused. Existing flows go on either way.
TEST_F(LxcTest, OnlyTerminatingBackendsTakeNewFlowsWhileTheyServe) {
  Install(WebService());
  auto est = Packet().Eth().Ipv4(kClient, kVip).Tcp(44000, 80, 0x10).Build();
  std::string backend = Addr(PacketView{FromPod(est).out}.daddr());
  auto snap = WebService();
  for (auto& ep : snap.endpoint_slices[0].endpoints)
    ep.conditions = {.ready = false, .serving = true, .terminating = true};
  Install(snap);
  CounterDelta();
  EXPECT_EQ(Addr(PacketView{FromPod(est).out}.daddr()), backend);
  Bytes fresh = Packet().Eth().Ipv4(kClient, kVip).Tcp(44001, 80).Build();
  auto r = FromPod(fresh);
  ASSERT_EQ(r.verdict, TC_ACT_OK);
  EXPECT_EQ(Addr(PacketView{r.out}.daddr()), ExpectedBackend(kClient, 44001, 80, Protocol::kTcp));
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_ct_hit", 1}, {"lb_new_flow", 1}}));

  // No longer serving: existing flows still finish, new ones are refused.
  for (auto& ep : snap.endpoint_slices[0].endpoints)
    ep.conditions = {.ready = false, .serving = false, .terminating = true};
  Install(snap);
  CounterDelta();
  EXPECT_EQ(Addr(PacketView{FromPod(est).out}.daddr()), backend);
  Bytes refused = Packet().Eth().Ipv4(kClient, kVip).Tcp(44002, 80).Build();
  ExpectPortUnreachable(refused, FromPod(refused));
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{{"lb_ct_hit", 1}, {"reject_no_backend", 1}}));
}

TEST_F(LxcTest, IpOptionsAreKeptAndPortsFoundAfterThem) {
  Install(WebService());
  CounterDelta();
  Bytes opts = {0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00};  // router alert, NOPs, EOL
  Bytes in = Packet().Eth().Ipv4(kClient, kVip, opts).Tcp(40000, 80).Payload("x").Build();
  auto r = FromPod(in);
  ASSERT_EQ(r.verdict, TC_ACT_OK);
  PacketView out{r.out};
  EXPECT_EQ(out.ihl(), 28u);
  EXPECT_EQ(Addr(out.daddr()), ExpectedBackend(kClient, 40000, 80, Protocol::kTcp));
  EXPECT_EQ(out.dport(), 8080);
  EXPECT_EQ(out.ip_csum_residue(), 0);
  EXPECT_EQ(out.l4_csum_residue(), 0);
  ExpectOnlyRewritten(in, r.out, kEthLen + 16, PacketView{in}.l4() + 2);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{
                                {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_new_flow", 1}}));
}

TEST_F(LxcTest, MalformedIpv4HeadersAreDropped) {
  Install(WebService());
  CounterDelta();
  Bytes good = Packet().Eth().Ipv4(kClient, kVip).Tcp(40000, 80).Build();
  // (A frame cut inside the IPv4 header cannot be fed through
  // BPF_PROG_TEST_RUN: the kernel refuses to build such an skb.)
  Bytes short_ihl = good;
  short_ihl[kEthLen] = 0x44;
  Bytes bad_version = good;
  bad_version[kEthLen] = 0x65;
  Bytes long_total = good;
  long_total[kEthLen + 2] = 0x05;  // tot_len 1280+ > packet
  Bytes ihl_past_end = good;
  ihl_past_end[kEthLen] = 0x4f;  // 60-byte header in a 54-byte packet
  ihl_past_end.resize(kEthLen + 40);
  for (const Bytes& in : {short_ihl, bad_version, long_total, ihl_past_end}) {
    EXPECT_EQ(FromPod(in).verdict, TC_ACT_SHOT);
  }
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"drop_malformed_ip", 4}}));
}

TEST_F(LxcTest, TruncatedL4HeaderIsDroppedForVipAndPassedOtherwise) {
  Install(WebService());
  CounterDelta();
  Bytes to_vip = Packet().Eth().Ipv4(kClient, kVip).Tcp(40000, 80).Build();
  to_vip.resize(kEthLen + 20 + 10);
  to_vip[kEthLen + 3] = 30;  // tot_len = 30: a 10-byte TCP header
  Bytes doff_small = Packet().Eth().Ipv4(kClient, kVip).Tcp(40000, 80).Build();
  doff_small[kEthLen + 20 + 12] = 0x40;  // data offset 4 < 5
  Bytes udp_short = Packet().Eth().Ipv4(kClient, kVip).Udp(1, 53).Build();
  udp_short.resize(kEthLen + 20 + 4);
  udp_short[kEthLen + 3] = 24;
  Bytes other = Packet().Eth().Ipv4(kClient, "10.1.2.11").Tcp(40000, 80).Build();
  other.resize(kEthLen + 20 + 10);
  other[kEthLen + 3] = 30;

  EXPECT_EQ(FromPod(to_vip).verdict, TC_ACT_SHOT);
  EXPECT_EQ(FromPod(doff_small).verdict, TC_ACT_SHOT);
  EXPECT_EQ(FromPod(udp_short).verdict, TC_ACT_SHOT);
  auto r = FromPod(other);
  EXPECT_EQ(r.verdict, TC_ACT_OK);
  EXPECT_EQ(r.out, other);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"drop_truncated_l4", 3},
                                                                  {"pass_not_service", 1}}));
}

TEST_F(LxcTest, FragmentsToVipAreDroppedOthersPass) {
  Install(WebService());
  CounterDelta();
  Bytes first = Packet().Eth().Ipv4(kClient, kVip).Frag(0x2000).Udp(5000, 53).Build();  // MF
  Bytes later = Packet().Eth().Ipv4(kClient, kVip).Frag(0x0010).Udp(5000, 53).Build();  // offset
  Bytes other = Packet().Eth().Ipv4(kClient, "10.1.2.11").Frag(0x2000).Udp(5000, 53).Build();
  EXPECT_EQ(FromPod(first).verdict, TC_ACT_SHOT);
  EXPECT_EQ(FromPod(later).verdict, TC_ACT_SHOT);
  auto r = FromPod(other);
  EXPECT_EQ(r.verdict, TC_ACT_OK);
  EXPECT_EQ(r.out, other);
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{{"drop_fragment", 2}, {"pass_not_service", 1}}));
}

TEST_F(LxcTest, CountersCountBytes) {
  Install(WebService());
  Bytes in = Packet().Eth().Ipv4(kClient, "10.1.2.11").Tcp(40000, 80).Payload("abc").Build();
  auto before = datapath::ReadStats(dp_->maps().stats);
  FromPod(in);
  auto after = datapath::ReadStats(dp_->maps().stats);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ((*after)[MER_STAT_PASS_NOT_SERVICE].bytes - (*before)[MER_STAT_PASS_NOT_SERVICE].bytes,
            in.size());
}

}  // namespace
}  // namespace meridian::testing
