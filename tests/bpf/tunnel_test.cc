// VXLAN encapsulation (mer_from_pod) and decapsulation (mer_from_uplink)
// through BPF_PROG_TEST_RUN. The process runs in a network namespace of its
// own (see main), with a route and a static neighbour for the underlay, so
// that bpf_fib_lookup answers the same on every machine.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sched.h>

#include <cstdlib>

#include "datapath/tunnel_counts.h"
#include "datapath_fixture.h"
#include "meridian/jhash.h"
#include "monitor_events.h"
#include "private_netns.h"

namespace meridian::testing {
namespace {

using model::Protocol;

constexpr const char* kNodeIp = "172.16.1.11";      // this node
constexpr const char* kRemoteNode = "172.16.2.11";  // a node of cluster 2
constexpr const char* kClient = "10.1.1.100";
constexpr const char* kVip = "10.96.0.10";
const std::uint8_t kUplinkMac[6] = {0x02, 0xbb, 0, 0, 0, 1};
const std::uint8_t kRouterMac[6] = {0x02, 0xaa, 0, 0, 0, 1};

// Cluster 1 (us) and 2; "web" has backends in both, "api" (exported by
// us) has a local backend.
model::ResourceSnapshot ClusterSet(std::vector<std::string> web_backends = {"10.2.1.11"}) {
  model::ResourceSnapshot s;
  s.clusters = {MakeCluster("c1", 1, "10.1.0.0/16", {{"172.16.1.11", "10.1.1.0/24"}}),
                MakeCluster("c2", 2, "10.2.0.0/16",
                            {{kRemoteNode, "10.2.1.0/24"}, {"172.16.2.12", "10.2.2.0/24"}})};
  s.services.push_back(
      MakeService("web", kVip, {{.name = "http", .protocol = Protocol::kTcp, .port = 80}}));
  s.endpoint_slices.push_back(
      MakeSlice("web", web_backends, {{.name = "http", .protocol = Protocol::kTcp, .port = 8080}}));
  s.services.push_back(
      MakeService("api", "10.96.0.20", {{.name = "", .protocol = Protocol::kTcp, .port = 443}}));
  s.endpoint_slices.push_back(
      MakeSlice("api", {"10.1.1.11"}, {{.name = "", .protocol = Protocol::kTcp, .port = 8443}}));
  model::ServiceExport exp;
  exp.meta.key = {"default", "api"};
  s.service_exports.push_back(exp);
  return s;
}

class TunnelTest : public DatapathTest {
 protected:
  TunnelTest() {
    config_ = mer_config{.cluster_id = 1,
                         .node_ip_be = Ip(kNodeIp),
                         .uplink_ifindex = 1,
                         .uplink_mtu = 1500,
                         .vxlan_port_be = htons(4789),
                         .flags = MER_CFG_XDP_DECAP};
    local_cluster_ = "c1";
  }
  static std::string Addr(const std::uint8_t* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return model::Ipv4Address::FromNetworkOrder(v).ToString();
  }
  static std::uint16_t Be16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
  }
};

TEST_F(TunnelTest, RemoteBackendIsEncapsulatedInVxlanByteForByte) {
  Install(ClusterSet());
  CounterDelta();
  Bytes in = Packet().Eth().Ipv4(kClient, kVip).Tcp(40000, 80).Payload("hello").Build();

  auto r = FromPod(in);

  ASSERT_EQ(r.verdict, TC_ACT_REDIRECT);
  ASSERT_EQ(r.out.size(), in.size() + 50);
  const std::uint8_t* o = r.out.data();
  // Outer Ethernet: to the next hop (the static neighbour), from the uplink.
  EXPECT_TRUE(std::equal(o, o + 6, kRouterMac));
  EXPECT_TRUE(std::equal(o + 6, o + 12, kUplinkMac));
  EXPECT_EQ(Be16(o + 12), 0x0800);
  // Outer IPv4: DF, TTL 64, UDP, node -> remote node, valid checksum.
  const std::uint8_t* ip = o + 14;
  EXPECT_EQ(ip[0], 0x45);
  EXPECT_EQ(Be16(ip + 2), r.out.size() - 14);  // the whole frame after the outer Ethernet
  EXPECT_EQ(Be16(ip + 6), 0x4000);
  EXPECT_EQ(ip[8], 64);
  EXPECT_EQ(ip[9], IPPROTO_UDP);
  EXPECT_EQ(Addr(ip + 12), kNodeIp);
  EXPECT_EQ(Addr(ip + 16), kRemoteNode);
  EXPECT_EQ(InternetChecksum(ip, 20), 0);
  // UDP: source port from the inner flow hash, 49152-65535; port 4789; no checksum.
  const std::uint8_t* udp = ip + 20;
  std::uint32_t h = mer_flow_hash(Ip(kClient), Ip(kVip), htons(40000), htons(80), IPPROTO_TCP);
  EXPECT_EQ(Be16(udp), 49152 + (h & 0x3fff));
  EXPECT_EQ(Be16(udp + 2), 4789);
  EXPECT_EQ(Be16(udp + 4), r.out.size() - 14 - 20);
  EXPECT_EQ(Be16(udp + 6), 0);
  // VXLAN: I flag, VNI = our cluster id (1).
  const std::uint8_t* vx = udp + 8;
  EXPECT_EQ(Bytes(vx, vx + 8), (Bytes{0x08, 0, 0, 0, 0, 0, 1, 0}));
  // Inner Ethernet: to the next hop's MAC (what a Linux vxlan device accepts).
  const std::uint8_t* ieth = vx + 8;
  EXPECT_TRUE(std::equal(ieth, ieth + 6, kRouterMac));
  EXPECT_TRUE(std::equal(ieth + 6, ieth + 12, kUplinkMac));
  EXPECT_EQ(Be16(ieth + 12), 0x0800);
  // Inner IPv4: translated to the remote backend, checksums valid.
  Bytes inner(ieth, static_cast<const std::uint8_t*>(r.out.data() + r.out.size()));
  PacketView v{inner};
  EXPECT_EQ(Addr(&inner[14 + 16]), "10.2.1.11");
  EXPECT_EQ(v.dport(), 8080);
  EXPECT_EQ(Addr(&inner[14 + 12]), kClient);
  EXPECT_EQ(v.ip_csum_residue(), 0);
  EXPECT_EQ(v.l4_csum_residue(), 0);
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_new_flow", 1}, {"encap", 1}}));
  // Per peer cluster: one packet sent to cluster 2, of the inner length.
  auto tunnel = datapath::ReadTunnelCounts(dp_->maps().tunnel_stats);
  ASSERT_TRUE(tunnel.ok()) << tunnel.error().message;
  ASSERT_EQ(tunnel->size(), 1u);
  EXPECT_EQ(tunnel->front().cluster_id, 2u);
  EXPECT_FALSE(tunnel->front().rx);
  EXPECT_EQ(tunnel->front().packets, 1u);
  EXPECT_EQ(tunnel->front().bytes, in.size());
}

TEST_F(TunnelTest, SourcePortsSpreadOverTheEphemeralRange) {
  Install(ClusterSet());
  std::set<std::uint16_t> ports;
  for (std::uint16_t sport = 30000; sport < 30200; ++sport) {
    auto r = FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(sport, 80).Build());
    ASSERT_EQ(r.verdict, TC_ACT_REDIRECT);
    std::uint16_t p = Be16(&r.out[14 + 20]);
    EXPECT_GE(p, 49152);
    ports.insert(p);
  }
  EXPECT_GT(ports.size(), 190u);  // entropy for ECMP
}

TEST_F(TunnelTest, PodTrafficToARemotePodIsEncapsulated) {
  Install(ClusterSet());
  CounterDelta();
  // A backend's reply towards a client in cluster 2.
  auto r = FromPod(Packet().Eth().Ipv4("10.1.1.11", "10.2.2.50").Tcp(8443, 41000, 0x12).Build());
  ASSERT_EQ(r.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(Addr(&r.out[14 + 16]), "172.16.2.12");  // the node hosting 10.2.2.0/24
  EXPECT_EQ(
      CounterDelta(),
      (std::map<std::string, std::uint64_t>{
          {"ct_entries_added", 1}, {"ct_created", 1}, {"pass_not_service", 1}, {"encap", 1}}));
}

TEST_F(TunnelTest, LocalTrafficIsNotEncapsulated) {
  Install(ClusterSet({"10.1.1.12"}));
  CounterDelta();
  auto r = FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(40000, 80).Build());
  EXPECT_EQ(r.verdict, TC_ACT_OK);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{
                                {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_new_flow", 1}}));
}

TEST_F(TunnelTest, TooBigForTheTunnelGetsFragmentationNeeded) {
  Install(ClusterSet());
  CounterDelta();
  Bytes in =
      Packet().Eth().Ipv4(kClient, kVip).Udp(5000, 80).Payload(std::string(1460, 'x')).Build();
  // No UDP port 80 frontend: use TCP, 1480 bytes of IP.
  in = Packet()
           .Eth()
           .Ipv4(kClient, kVip)
           .Tcp(40001, 80, 0x10)
           .Payload(std::string(1440, 'x'))
           .Build();
  auto r = FromPod(in);
  ASSERT_EQ(r.verdict, TC_ACT_REDIRECT);
  PacketView out{r.out};
  EXPECT_EQ(out.proto(), IPPROTO_ICMP);
  EXPECT_EQ(Addr(&r.out[14 + 12]), kNodeIp);
  EXPECT_EQ(Addr(&r.out[14 + 16]), kClient);
  const std::uint8_t* icmp = &r.out[14 + 20];
  EXPECT_EQ(icmp[0], 3);
  EXPECT_EQ(icmp[1], 4);            // fragmentation needed
  EXPECT_EQ(Be16(icmp + 6), 1450);  // next-hop MTU: 1500 - 50
  EXPECT_EQ(InternetChecksum(icmp, r.out.size() - 34), 0);
  // It quotes the packet as the client sent it: to the VIP.
  EXPECT_EQ(Addr(icmp + 8 + 16), kVip);
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 2}, {"ct_created", 1}, {"reject_frag_needed", 1}}));
}

// --- decapsulation ---------------------------------------------------------

Bytes InnerTo(const char* src, const char* dst, std::uint16_t sport, std::uint16_t dport) {
  return Packet().Eth().Ipv4(src, dst).Tcp(sport, dport).Payload("hi").Build();
}

// VXLAN on our port from addresses that are not peers: a node of this
// cluster running Calico's VXLAN (VNI 4096), and a spoofed frame with a
// peer cluster's VNI.
std::vector<Bytes> NonPeerVxlan() {
  return {Vxlan("172.16.1.12", kNodeIp, 4096, InnerTo("192.168.7.2", "192.168.9.3", 1, 2)),
          Vxlan("172.16.9.9", kNodeIp, 2, InnerTo("10.2.1.50", "10.1.1.11", 42000, 8443))};
}

TEST_F(TunnelTest, ValidFrameToAnExportedEndpointIsDecapsulated) {
  Install(ClusterSet());
  CounterDelta();
  Bytes inner = InnerTo("10.2.1.50", "10.1.1.11", 42000, 8443);
  Bytes frame = Vxlan(kRemoteNode, kNodeIp, 2, inner);
  auto r = FromUplink(frame);
  ASSERT_EQ(r.verdict, TC_ACT_OK);
  // Outer Ethernet kept, then the inner IPv4 packet, byte for byte.
  Bytes want(frame.begin(), frame.begin() + 14);
  want.insert(want.end(), inner.begin() + 14, inner.end());
  EXPECT_EQ(r.out, want);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"decap", 1}}));
  // Per peer cluster: one frame received from cluster 2; dropped frames
  // (TunnelDropsAreCountedByReason) count nowhere here.
  auto tunnel = datapath::ReadTunnelCounts(dp_->maps().tunnel_stats);
  ASSERT_TRUE(tunnel.ok()) << tunnel.error().message;
  ASSERT_EQ(tunnel->size(), 1u);
  EXPECT_EQ(tunnel->front().cluster_id, 2u);
  EXPECT_TRUE(tunnel->front().rx);
  EXPECT_EQ(tunnel->front().packets, 1u);
  EXPECT_EQ(tunnel->front().bytes, frame.size());
}

TEST_F(TunnelTest, ReplyToAFlowThisNodeStartedIsDecapsulated) {
  Install(ClusterSet());
  FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(40002, 80).Build());  // -> 10.2.1.11:8080
  CounterDelta();
  auto r = FromUplink(Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("10.2.1.11", kClient, 8080, 40002)));
  EXPECT_EQ(r.verdict, TC_ACT_OK);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"decap", 1}}));
}

// Issue 12.2: a client that addresses a pod of another cluster by its IP
// (a headless import's endpoint, or an exported endpoint) gets its replies:
// the flow leaves a reply entry, as a VIP flow does, and the reply reaches
// the client untranslated. Before, the SYN-ACK was dropped at decap.
TEST_F(TunnelTest, RepliesToAPodAddressedByItsIpAreAdmittedUntranslated) {
  Install(ClusterSet());
  const char* kRemotePod = "10.2.1.77";
  Bytes reply_inner =
      Packet().Eth().Ipv4(kRemotePod, kClient).Tcp(8080, 40100, 0x12).Payload("ok").Build();
  CounterDelta();
  // No flow yet: the same reply is refused.
  EXPECT_EQ(FromUplink(Vxlan(kRemoteNode, kNodeIp, 2, reply_inner)).verdict, TC_ACT_SHOT);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"drop_tunnel_not_allowed", 1}}));

  auto syn = FromPod(Packet().Eth().Ipv4(kClient, kRemotePod).Tcp(40100, 8080, 0x02).Build());
  ASSERT_EQ(syn.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(Addr(&syn.out[14 + 16]), kRemoteNode);
  EXPECT_EQ(
      CounterDelta(),
      (std::map<std::string, std::uint64_t>{
          {"ct_entries_added", 1}, {"ct_created", 1}, {"pass_not_service", 1}, {"encap", 1}}));
  mer_ct_key key{.saddr_be = Ip(kRemotePod),
                 .daddr_be = Ip(kClient),
                 .sport_be = htons(8080),
                 .dport_be = htons(40100),
                 .proto = IPPROTO_TCP,
                 .dir = MER_CT_REPLY,
                 .pad = 0};
  mer_ct_entry entry{};
  ASSERT_EQ(bpf_map_lookup_elem(dp_->maps().ct, &key, &entry), 0);
  EXPECT_EQ(entry.flags, MER_CT_F_TUNNEL_FLOW);
  EXPECT_EQ(entry.vip_be, 0u);

  Bytes frame = Vxlan(kRemoteNode, kNodeIp, 2, reply_inner);
  auto decap = FromUplink(frame);
  ASSERT_EQ(decap.verdict, TC_ACT_OK);
  Bytes want(frame.begin(), frame.begin() + 14);
  want.insert(want.end(), reply_inner.begin() + 14, reply_inner.end());
  EXPECT_EQ(decap.out, want);
  // Delivered to the client's veth: no reverse translation (no VIP).
  auto delivered = ToPod(reply_inner);
  EXPECT_EQ(delivered.verdict, TC_ACT_OK);
  EXPECT_EQ(delivered.out, reply_inner);
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{{"decap", 1}, {"pass_to_pod", 1}}));
  // A later packet of the flow leaves the entry alone; another port of the
  // same pod is still refused (the entry is per flow).
  ASSERT_EQ(
      FromPod(Packet().Eth().Ipv4(kClient, kRemotePod).Tcp(40100, 8080, 0x10).Build()).verdict,
      TC_ACT_REDIRECT);
  Bytes other_port =
      Packet().Eth().Ipv4(kRemotePod, kClient).Tcp(8081, 40100, 0x12).Payload("no").Build();
  EXPECT_EQ(FromUplink(Vxlan(kRemoteNode, kNodeIp, 2, other_port)).verdict, TC_ACT_SHOT);
}

// ICMP errors cross the tunnel: a backend pod of ours answering a remote
// client's packet with port unreachable gets its error tunnelled, and an
// error from a remote backend about a flow this node translated is
// admitted at decapsulation (then reversed on the client's veth); one
// about no flow of ours is not.
TEST_F(TunnelTest, IcmpErrorsCrossTheTunnel) {
  Install(ClusterSet());
  CounterDelta();
  Bytes quoted = Packet().Eth().Ipv4("10.2.1.50", "10.1.1.11").Udp(42000, 8443).Build();
  auto out = FromPod(IcmpError("10.1.1.11", "10.2.1.50", 3, 3, quoted));
  EXPECT_EQ(out.verdict, TC_ACT_REDIRECT);
  EXPECT_EQ(Addr(&out.out[kEthLen + 16]), kRemoteNode) << "tunnelled to the client's node";
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{{"encap", 1}, {"pass_not_tcp_udp", 1}}));

  auto fwd = FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(40003, 80).Build());
  ASSERT_EQ(fwd.verdict, TC_ACT_REDIRECT);
  Bytes inner_sent(fwd.out.begin() + 50, fwd.out.end());  // client -> 10.2.1.11:8080
  CounterDelta();
  Bytes err = IcmpError("10.2.1.11", kClient, 3, 3, inner_sent);
  auto in = FromUplink(Vxlan(kRemoteNode, kNodeIp, 2, err));
  EXPECT_EQ(in.verdict, TC_ACT_OK);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"decap", 1}}));
  auto to_pod = ToPod(Bytes(in.out.begin(), in.out.end()));
  EXPECT_EQ(Addr(&to_pod.out[kEthLen + 12]), kVip);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"icmp_revnat", 1}}));

  Bytes stray = IcmpError("10.2.1.11", kClient, 3, 3,
                          Packet().Eth().Ipv4(kClient, "10.2.1.11").Tcp(40999, 8080).Build());
  EXPECT_EQ(FromUplink(Vxlan(kRemoteNode, kNodeIp, 2, stray)).verdict, TC_ACT_SHOT);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"drop_tunnel_not_allowed", 1}}));
}

TEST_F(TunnelTest, TunnelDropsAreCountedByReason) {
  Install(ClusterSet());
  CounterDelta();
  Bytes ok_inner = InnerTo("10.2.1.50", "10.1.1.11", 42000, 8443);
  struct Case {
    const char* what;
    Bytes frame;
    const char* counter;
  } cases[] = {
      // Issue 13.6: a registered peer spoke for a pod of the receiving
      // cluster and for a node; the inner source must be a pod of the
      // cluster the VNI names.
      {"inner source: a pod of the receiving cluster",
       Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("10.1.1.12", "10.1.1.11", 42000, 8443)),
       "drop_tunnel_bad_source"},
      {"inner source: a node",
       Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("172.16.2.12", "10.1.1.11", 42000, 8443)),
       "drop_tunnel_bad_source"},
      {"inner source: outside every cluster",
       Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("192.0.2.7", "10.1.1.11", 42000, 8443)),
       "drop_tunnel_bad_source"},
      {"VNI of another cluster", Vxlan(kRemoteNode, kNodeIp, 3, ok_inner), "drop_tunnel_bad_vni"},
      {"no VNI flag", Vxlan(kRemoteNode, kNodeIp, 2, ok_inner, 4789, 0x00), "drop_tunnel_bad_vni"},
      {"not an exported endpoint",
       Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("10.2.1.50", "10.1.1.12", 1, 8443)),
       "drop_tunnel_not_allowed"},
      {"exported address, other port",
       Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("10.2.1.50", "10.1.1.11", 1, 22)),
       "drop_tunnel_not_allowed"},
  };
  for (auto& c : cases) {
    EXPECT_EQ(FromUplink(c.frame).verdict, TC_ACT_SHOT) << c.what;
    EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{c.counter, 1}})) << c.what;
  }
  // Truncated: the inner IPv4 header is cut short.
  Bytes truncated = Vxlan(kRemoteNode, kNodeIp, 2, ok_inner);
  truncated.resize(14 + 20 + 8 + 8 + 14 + 10);
  EXPECT_EQ(FromUplink(truncated).verdict, TC_ACT_SHOT);
  // Oversize: the inner header claims more bytes than the frame carries.
  Bytes oversize = Vxlan(kRemoteNode, kNodeIp, 2, ok_inner);
  oversize[14 + 20 + 8 + 8 + 14 + 2] = 0x10;  // inner tot_len 4096+
  EXPECT_EQ(FromUplink(oversize).verdict, TC_ACT_SHOT);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"drop_tunnel_malformed", 2}}));
  auto tunnel = datapath::ReadTunnelCounts(dp_->maps().tunnel_stats);
  ASSERT_TRUE(tunnel.ok());
  EXPECT_TRUE(tunnel->empty()) << "a dropped frame is not counted as received";
}

// The monitor sees a flow to a remote backend (its cluster named), the
// packet encapsulated to that cluster, a frame decapsulated from it (the
// inner header), and a tunnel drop (the outer header), with XDP too.
TEST_F(TunnelTest, MonitorSeesEncapDecapAndTunnelDrops) {
  Install(ClusterSet());
  EventCollector monitor(dp_->maps());

  ASSERT_EQ(FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(40100, 80).Build()).verdict,
            TC_ACT_REDIRECT);
  auto sent = monitor.Take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].type, static_cast<std::uint32_t>(MER_EVENT_FLOW));
  EXPECT_EQ(sent[0].backend_addr_be, Ip("10.2.1.11"));
  // The backend's cluster as its EndpointSlice names it (none here: a
  // slice of our own); the tunnel event names the cluster it went to.
  EXPECT_EQ(sent[0].cluster_id, 0u);
  EXPECT_EQ(sent[1].type, static_cast<std::uint32_t>(MER_EVENT_TUNNEL));
  EXPECT_EQ(sent[1].reason, static_cast<std::uint32_t>(MER_STAT_ENCAP));
  EXPECT_EQ(sent[1].dir, MER_TUNNEL_TX);
  EXPECT_EQ(sent[1].cluster_id, 2u);
  EXPECT_EQ(sent[1].saddr_be, Ip(kClient));

  const Bytes frame =
      Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("10.2.1.50", "10.1.1.11", 42000, 8443));
  ASSERT_EQ(FromUplink(frame).verdict, TC_ACT_OK);
  ASSERT_EQ(XdpFromUplink(frame).verdict, XDP_PASS);
  const Bytes bad_vni =
      Vxlan(kRemoteNode, kNodeIp, 3, InnerTo("10.2.1.50", "10.1.1.11", 42000, 8443));
  ASSERT_EQ(FromUplink(bad_vni).verdict, TC_ACT_SHOT);
  auto received = monitor.Take();
  ASSERT_EQ(received.size(), 3u);
  for (int i = 0; i < 2; ++i) {  // tc, then XDP
    const mer_event& e = received[i];
    EXPECT_EQ(e.type, static_cast<std::uint32_t>(MER_EVENT_TUNNEL)) << i;
    EXPECT_EQ(e.reason, static_cast<std::uint32_t>(MER_STAT_DECAP)) << i;
    EXPECT_EQ(e.dir, MER_TUNNEL_RX) << i;
    EXPECT_EQ(e.cluster_id, 2u) << i;
    EXPECT_EQ(e.saddr_be, Ip("10.2.1.50")) << i;  // the inner header
    EXPECT_EQ(e.daddr_be, Ip("10.1.1.11")) << i;
    EXPECT_EQ(ntohs(e.sport_be), 42000) << i;
    EXPECT_EQ(ntohs(e.dport_be), 8443) << i;
    EXPECT_EQ(e.len, frame.size()) << i;
  }
  EXPECT_EQ(received[2].type, static_cast<std::uint32_t>(MER_EVENT_DROP));
  EXPECT_EQ(received[2].reason, static_cast<std::uint32_t>(MER_STAT_DROP_TUNNEL_BAD_VNI));
  EXPECT_EQ(received[2].saddr_be, Ip(kRemoteNode));  // the outer header
  EXPECT_EQ(received[2].daddr_be, Ip(kNodeIp));
  EXPECT_EQ(received[2].proto, IPPROTO_UDP);
  EXPECT_EQ(ntohs(received[2].dport_be), 4789);
}

TEST_F(TunnelTest, OtherUplinkTrafficPassesUntouched) {
  Install(ClusterSet());
  CounterDelta();
  Bytes other_udp =
      Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("10.2.1.50", "10.1.1.11", 42000, 8443), 4790);
  Bytes plain = Packet().Eth().Ipv4("172.16.1.12", kNodeIp).Tcp(22, 40000).Build();
  for (const Bytes& in : {other_udp, plain}) {
    auto r = FromUplink(in);
    EXPECT_EQ(r.verdict, TC_ACT_OK);
    EXPECT_EQ(r.out, in);
  }
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"pass_uplink", 2}}));
}

// Issue 13.6: VXLAN on our port from an address that is not a peer is not
// ours (a node of this cluster running Calico's or Flannel's VXLAN on 4789,
// any VNI): it reaches the host stack untouched, by tc and by XDP.
TEST_F(TunnelTest, VxlanFromANonPeerIsNotOursAndPassesUntouched) {
  Install(ClusterSet());
  CounterDelta();
  for (const Bytes& in : NonPeerVxlan()) {
    auto tc = FromUplink(in);
    EXPECT_EQ(tc.verdict, TC_ACT_OK);
    EXPECT_EQ(tc.out, in);
    auto xdp = XdpFromUplink(in);
    EXPECT_EQ(xdp.verdict, XDP_PASS);
    EXPECT_EQ(xdp.out, in);
  }
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"pass_tunnel_not_peer", 4}}));
}

// --foreign-vxlan drop (nothing else uses the port on this node): the same
// frames are dropped and counted, by tc and by XDP; a peer's are still ours.
class ForeignVxlanDropTest : public TunnelTest {
 protected:
  ForeignVxlanDropTest() { config_.flags |= MER_CFG_DROP_FOREIGN_VXLAN; }
};

TEST_F(ForeignVxlanDropTest, VxlanFromANonPeerIsDroppedAndCounted) {
  Install(ClusterSet());
  CounterDelta();
  for (const Bytes& in : NonPeerVxlan()) {
    EXPECT_EQ(FromUplink(in).verdict, TC_ACT_SHOT);
    EXPECT_EQ(XdpFromUplink(in).verdict, XDP_DROP);
  }
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"drop_tunnel_not_peer", 4}}));
  // Other UDP, and a registered peer's VXLAN, are handled as without it.
  Bytes other_udp =
      Vxlan("172.16.9.9", kNodeIp, 2, InnerTo("10.2.1.50", "10.1.1.11", 42000, 8443), 4790);
  EXPECT_EQ(FromUplink(other_udp).verdict, TC_ACT_OK);
  Bytes peer = Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("10.2.1.50", "10.1.1.11", 42000, 8443));
  EXPECT_EQ(FromUplink(peer).verdict, TC_ACT_OK);
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{{"pass_uplink", 1}, {"decap", 1}}));
}

// The XDP entry point makes the same decisions and produces the same
// frame: the outer Ethernet header, then the inner IPv4 packet.
TEST_F(TunnelTest, XdpDecapsulatesLikeTc) {
  Install(ClusterSet());
  CounterDelta();
  Bytes inner = InnerTo("10.2.1.50", "10.1.1.11", 42000, 8443);
  Bytes frame = Vxlan(kRemoteNode, kNodeIp, 2, inner);
  auto xdp = XdpFromUplink(frame);
  ASSERT_EQ(xdp.verdict, XDP_PASS);
  Bytes want(frame.begin(), frame.begin() + 14);
  want.insert(want.end(), inner.begin() + 14, inner.end());
  EXPECT_EQ(xdp.out, want);
  EXPECT_EQ(xdp.out, FromUplink(frame).out);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"decap", 2}}));

  EXPECT_EQ(
      XdpFromUplink(Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("10.1.1.12", "10.1.1.11", 1, 8443)))
          .verdict,
      XDP_DROP);
  EXPECT_EQ(XdpFromUplink(Vxlan(kRemoteNode, kNodeIp, 3, inner)).verdict, XDP_DROP);
  Bytes plain = Packet().Eth().Ipv4("172.16.1.12", kNodeIp).Tcp(22, 40000).Build();
  auto pass = XdpFromUplink(plain);
  EXPECT_EQ(pass.verdict, XDP_PASS);
  EXPECT_EQ(pass.out, plain);
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"drop_tunnel_bad_source", 1}, {"drop_tunnel_bad_vni", 1}, {"pass_uplink", 1}}));
}

// This node (172.16.1.11) is cluster 1's gateway: cluster 1 publishes only
// the gateway; its other nodes route remote pod CIDRs here, unencapsulated.
class GatewayTest : public TunnelTest {
 protected:
  GatewayTest() {
    config_.flags |= MER_CFG_GATEWAY;
    node_ip_ = Ip4(kNodeIp);
  }
  static model::Ipv4Address Ip4(const char* s) { return *model::Ipv4Address::Parse(s); }
  static model::ResourceSnapshot GatewayClusterSet() {
    auto s = ClusterSet();
    s.clusters[0].tunnel_endpoints.clear();
    s.clusters[0].gateway = Ip4(kNodeIp);
    return s;
  }
};

TEST_F(GatewayTest, RelaysTheClustersTrafficAndAcceptsItsReplies) {
  Install(GatewayClusterSet());
  CounterDelta();
  // From a pod on node 2 of our cluster (10.1.2.0/24) to a pod in c2.
  Bytes plain = Packet().Eth().Ipv4("10.1.2.11", "10.2.1.11").Tcp(41000, 8080).Build();
  auto r = FromUplink(plain);
  ASSERT_EQ(r.verdict, TC_ACT_REDIRECT);
  ASSERT_EQ(r.out.size(), plain.size() + 50);
  EXPECT_EQ(Addr(&r.out[14 + 12]), kNodeIp);      // outer source: the gateway
  EXPECT_EQ(Addr(&r.out[14 + 16]), kRemoteNode);  // the node hosting 10.2.1.0/24
  EXPECT_EQ(r.out[14 + 20 + 8 + 6], 1);           // VNI 1: our cluster
  EXPECT_TRUE(std::equal(plain.begin() + 14, plain.end(), r.out.begin() + 14 + 50));
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 1}, {"ct_created", 1}, {"gateway_relay", 1}, {"encap", 1}}));
  // The reply is decapsulated here (then routed on to node 2).
  auto reply =
      FromUplink(Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("10.2.1.11", "10.1.2.11", 8080, 41000)));
  EXPECT_EQ(reply.verdict, TC_ACT_OK);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"decap", 1}}));
  // A flow nobody relayed is not accepted.
  auto stray =
      FromUplink(Vxlan(kRemoteNode, kNodeIp, 2, InnerTo("10.2.1.11", "10.1.2.11", 8080, 41001)));
  EXPECT_EQ(stray.verdict, TC_ACT_SHOT);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"drop_tunnel_not_allowed", 1}}));
}

TEST_F(GatewayTest, RelaysOnlyTheLocalClustersPodTraffic) {
  Install(GatewayClusterSet());
  CounterDelta();
  // Source outside our pod CIDRs (an underlay address, a spoofed pod of c2),
  // or a destination that is not remote: passed to the stack, not relayed.
  for (const Bytes& in : {Packet().Eth().Ipv4("172.16.1.12", "10.2.1.11").Tcp(1, 80).Build(),
                          Packet().Eth().Ipv4("10.2.9.9", "10.2.1.11").Tcp(1, 80).Build(),
                          Packet().Eth().Ipv4("10.1.2.11", "10.1.1.11").Tcp(1, 80).Build()}) {
    auto r = FromUplink(in);
    EXPECT_EQ(r.verdict, TC_ACT_OK);
    EXPECT_EQ(r.out, in);
  }
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"pass_uplink", 3}}));
  // A local pod CIDR marker does not make local traffic look remote.
  auto local = FromPod(Packet().Eth().Ipv4("10.1.1.11", "10.1.2.11").Tcp(1, 80).Build());
  EXPECT_EQ(local.verdict, TC_ACT_OK);
}

TEST_F(TunnelTest, NonGatewayNodesOfAGatewayClusterDoNotTunnel) {
  auto s = ClusterSet();
  s.clusters[0].tunnel_endpoints.clear();
  s.clusters[0].gateway = *model::Ipv4Address::Parse("172.16.1.99");  // not us
  Install(s);
  EXPECT_TRUE(state_.remote_cidrs.empty());
  EXPECT_TRUE(state_.tunnel_peers.empty());
  CounterDelta();
  auto r = FromPod(Packet().Eth().Ipv4("10.1.1.11", "10.2.2.50").Tcp(8443, 41000, 0x12).Build());
  EXPECT_EQ(r.verdict, TC_ACT_OK);  // routed to the gateway by the kernel
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"pass_not_service", 1}}));
}

TEST_F(TunnelTest, MapWriterInstallsRoutesPeersAndExportedEndpoints) {
  auto st = Install(ClusterSet());
  // 2 remote CIDRs, 2 peers, 1 exported endpoint (api's 10.1.1.11:8443).
  EXPECT_EQ(st.tunnel_written, 5u);
  auto w = datapath::MapWriter::Recover(dp_->maps());
  ASSERT_TRUE(w.ok());
  auto again = w->Apply(state_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->total(), 0u);
  // Cluster 2 leaves: its routes and peers go.
  auto snap = ClusterSet({"10.1.1.12"});
  snap.clusters.pop_back();
  auto gone = Install(snap);
  EXPECT_EQ(gone.tunnel_deleted, 4u);
}

}  // namespace
}  // namespace meridian::testing

// In a private network namespace with one veth "uplink" (private_netns.h).
int main(int argc, char** argv) {
  return meridian::testing::RunAllTestsInPrivateNetns(argc, argv,
                                                      meridian::testing::kUplinkNetnsSetup);
}
