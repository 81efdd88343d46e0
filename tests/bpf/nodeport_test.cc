// The uplink XDP program's NodePort / LoadBalancer path under
// BPF_PROG_TEST_RUN, in a private network namespace that gives its FIB
// lookups something to find (see main):
//   up0  172.16.1.11/24, MAC 02:bb:00:00:00:01 (this node's uplink)
//   node 2 at 172.16.1.12 (02:aa:00:00:00:02) holds pods 10.1.2.0/24
//   node 3 at 172.16.1.13, no neighbour entry, holds 10.1.3.0/24
//   pod0 (a veth) holds this node's pods 10.1.1.0/24
//   the outside client 172.16.1.200 (02:cc:00:00:00:c8)
// Every rewritten byte and both checksums are asserted, with each verdict
// and counter.
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "datapath/flow_counts.h"
#include "datapath_fixture.h"
#include "private_netns.h"

namespace meridian::testing {
namespace {

constexpr char kNodeIp[] = "172.16.1.11";
constexpr char kClient[] = "172.16.1.200";
constexpr char kLbIp[] = "192.0.2.10";
constexpr std::uint8_t kUplinkMac[6] = {0x02, 0xbb, 0, 0, 0, 0x01};
constexpr std::uint8_t kNode2Mac[6] = {0x02, 0xaa, 0, 0, 0, 0x02};
constexpr std::uint8_t kClientMac[6] = {0x02, 0xcc, 0, 0, 0, 0xc8};

model::ResourceSnapshot NodePortService(const std::vector<std::string>& endpoints,
                                        model::Protocol proto = model::Protocol::kTcp,
                                        model::TrafficPolicy etp = model::TrafficPolicy::kCluster) {
  model::ResourceSnapshot s;
  auto svc = MakeService("web", "10.96.0.10", {{"http", proto, 80, 8080, ""}});
  svc.type = model::ServiceType::kLoadBalancer;
  svc.ports[0].node_port = 30080;
  svc.load_balancer_ips = {*model::Ipv4Address::Parse(kLbIp)};
  svc.external_traffic_policy = etp;
  s.services.push_back(svc);
  auto slice = MakeSlice("web", endpoints, {{"http", proto, 8080}});
  for (auto& ep : slice.endpoints) {
    ep.node_name = ep.addresses[0].ToString().rfind("10.1.1.", 0) == 0 ? "node-1" : "node-2";
  }
  s.endpoint_slices.push_back(slice);
  return s;
}

class NodePortTest : public DatapathTest {
 protected:
  NodePortTest() {
    config_ = mer_config{.uplink_ifindex = if_nametoindex("up0"),
                         .uplink_mtu = 1500,
                         .flags = MER_CFG_NODEPORT,
                         .snat_addr_be = Ip(kNodeIp)};
    nodeport_addresses_ = {*model::Ipv4Address::Parse(kNodeIp)};
    node_name_ = "node-1";
  }
  RunResult Xdp(const Bytes& in) {
    return RunXdpOn(dp_->xdp_from_uplink_fd(), in, static_cast<int>(if_nametoindex("up0")));
  }
  static Bytes FromClient(const char* dst, std::uint16_t dport, bool udp = false) {
    auto p = Packet().Eth("02:cc:00:00:00:c8", "02:bb:00:00:00:01").Ipv4(kClient, dst);
    if (udp) {
      p.Udp(40000, dport);
    } else {
      p.Tcp(40000, dport);
    }
    return p.Payload("hello").Build();
  }
  static void ExpectValidChecksums(const Bytes& b) {
    PacketView v{b};
    EXPECT_EQ(v.ip_csum_residue(), 0) << "IPv4 header checksum";
    EXPECT_EQ(v.l4_csum_residue(), 0) << "L4 checksum";
  }
  static void ExpectMacs(const Bytes& b, const std::uint8_t* dst, const std::uint8_t* src) {
    EXPECT_EQ(std::memcmp(&b[0], dst, 6), 0) << "destination MAC";
    EXPECT_EQ(std::memcmp(&b[6], src, 6), 0) << "source MAC";
  }
  // Only the bytes at `changed` offsets may differ between in and out.
  static void ExpectOnlyChanged(const Bytes& in, const Bytes& out,
                                const std::vector<std::size_t>& changed) {
    ASSERT_EQ(in.size(), out.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (std::find(changed.begin(), changed.end(), i) != changed.end()) continue;
      EXPECT_EQ(in[i], out[i]) << "byte " << i << " changed";
    }
  }
};

// Offsets in an Ethernet + 20-byte IPv4 + TCP/UDP frame.
std::vector<std::size_t> Range(std::size_t from, std::size_t n) {
  std::vector<std::size_t> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(from + i);
  return v;
}
std::vector<std::size_t> Join(std::initializer_list<std::vector<std::size_t>> parts) {
  std::vector<std::size_t> v;
  for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}
const auto kMacs = Range(0, 12);
const auto kTtlAndIpCsum = Join({Range(22, 1), Range(24, 2)});
const auto kSaddr = Range(26, 4), kDaddr = Range(30, 4);
const auto kSport = Range(34, 2), kDport = Range(36, 2);
const auto kTcpCsum = Range(50, 2), kUdpCsum = Range(40, 2);

// "should be able to create a functioning NodePort service", a backend on
// this node: DNAT only, the client's address kept, up the stack; the
// pod's reply leaves its veth as node:30080 -> client, redirected.
TEST_F(NodePortTest, LocalBackendIsDnatOnlyAndTheReplyIsReversedOnThePodVeth) {
  Install(NodePortService({"10.1.1.11"}));
  CounterDelta();
  Bytes in = FromClient(kNodeIp, 30080);
  auto r = Xdp(in);
  ASSERT_EQ(r.verdict, XDP_PASS);
  PacketView v{r.out};
  EXPECT_EQ(v.saddr(), Ip(kClient));
  EXPECT_EQ(v.sport(), 40000);
  EXPECT_EQ(v.daddr(), Ip("10.1.1.11"));
  EXPECT_EQ(v.dport(), 8080);
  ExpectValidChecksums(r.out);
  ExpectOnlyChanged(in, r.out, Join({kDaddr, kDport, Range(24, 2), kTcpCsum}));
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 2}, {"ct_created", 1}, {"nodeport_local", 1}}));

  Bytes reply = Packet()
                    .Eth("02:00:00:00:00:11", "02:00:00:00:00:01")
                    .Ipv4("10.1.1.11", kClient)
                    .Tcp(8080, 40000, 0x12)
                    .Payload("world")
                    .Build();
  auto back = FromPod(reply);
  EXPECT_EQ(back.verdict, TC_ACT_REDIRECT);
  PacketView b{back.out};
  EXPECT_EQ(b.saddr(), Ip(kNodeIp));
  EXPECT_EQ(b.sport(), 30080);
  EXPECT_EQ(b.daddr(), Ip(kClient));
  EXPECT_EQ(b.dport(), 40000);
  EXPECT_EQ(back.out[22], 63) << "TTL taken";
  ExpectValidChecksums(back.out);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"nodeport_revnat", 1}}));
}

// A backend on node 2: SNAT to this node's address, sent straight back out
// of the uplink to node 2's MAC; node 2's answer is reversed here and sent
// to the client.
TEST_F(NodePortTest, RemoteBackendIsSnatAndTransmittedAndItsReplyReversed) {
  Install(NodePortService({"10.1.2.11"}));
  CounterDelta();
  Bytes in = FromClient(kNodeIp, 30080);
  auto r = Xdp(in);
  ASSERT_EQ(r.verdict, XDP_TX);
  PacketView v{r.out};
  EXPECT_EQ(v.saddr(), Ip(kNodeIp));
  EXPECT_EQ(v.sport(), 40000) << "the client's port is kept when free";
  EXPECT_EQ(v.daddr(), Ip("10.1.2.11"));
  EXPECT_EQ(v.dport(), 8080);
  EXPECT_EQ(r.out[22], 63);
  ExpectMacs(r.out, kNode2Mac, kUplinkMac);
  ExpectValidChecksums(r.out);
  ExpectOnlyChanged(in, r.out, Join({kMacs, kTtlAndIpCsum, kSaddr, kDaddr, kDport, kTcpCsum}));
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{
                                {"ct_entries_added", 2}, {"ct_created", 1}, {"nodeport_snat", 1}}));

  // The same flow again: conntrack, same rewrite.
  auto again = Xdp(FromClient(kNodeIp, 30080));
  EXPECT_EQ(again.out, r.out);

  Bytes reply = Packet()
                    .Eth("02:aa:00:00:00:02", "02:bb:00:00:00:01")
                    .Ipv4("10.1.2.11", kNodeIp)
                    .Tcp(8080, 40000, 0x12)
                    .Payload("world")
                    .Build();
  auto back = Xdp(reply);
  ASSERT_EQ(back.verdict, XDP_TX);
  PacketView b{back.out};
  EXPECT_EQ(b.saddr(), Ip(kNodeIp));
  EXPECT_EQ(b.sport(), 30080);
  EXPECT_EQ(b.daddr(), Ip(kClient));
  EXPECT_EQ(b.dport(), 40000);
  ExpectMacs(back.out, kClientMac, kUplinkMac);
  ExpectValidChecksums(back.out);
  ExpectOnlyChanged(reply, back.out,
                    Join({kMacs, kTtlAndIpCsum, kSaddr, kDaddr, kSport, kTcpCsum}));
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{{"nodeport_snat", 1}, {"nodeport_revnat", 1}}));
}

// A LoadBalancer ingress IP is served like a NodePort, on the Service port;
// UDP checksums are updated, and a zero ("none") UDP checksum stays zero.
TEST_F(NodePortTest, LoadBalancerIpAndUdpChecksums) {
  Install(NodePortService({"10.1.2.11"}, model::Protocol::kUdp));
  CounterDelta();
  auto r = Xdp(FromClient(kLbIp, 80, /*udp=*/true));
  ASSERT_EQ(r.verdict, XDP_TX);
  PacketView v{r.out};
  EXPECT_EQ(v.saddr(), Ip(kNodeIp));
  EXPECT_EQ(v.daddr(), Ip("10.1.2.11"));
  EXPECT_EQ(v.dport(), 8080);
  ExpectValidChecksums(r.out);

  Bytes zero = Packet()
                   .Eth("02:cc:00:00:00:c8", "02:bb:00:00:00:01")
                   .Ipv4(kClient, kLbIp)
                   .Udp(40001, 80, /*zero_checksum=*/true)
                   .Payload("hello")
                   .Build();
  auto z = Xdp(zero);
  ASSERT_EQ(z.verdict, XDP_TX);
  EXPECT_EQ(PacketView{z.out}.l4_csum_field(), 0);
  EXPECT_EQ(PacketView{z.out}.daddr(), Ip("10.1.2.11"));
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{
                                {"ct_entries_added", 4}, {"ct_created", 2}, {"nodeport_snat", 2}}));
}

// No neighbour entry for the backend's node yet: translated, and left to
// the stack to forward (which resolves it).
TEST_F(NodePortTest, WithoutANeighbourTheStackForwards) {
  Install(NodePortService({"10.1.3.11"}));
  CounterDelta();
  Bytes in = FromClient(kNodeIp, 30080);
  auto r = Xdp(in);
  ASSERT_EQ(r.verdict, XDP_PASS);
  EXPECT_EQ(PacketView{r.out}.saddr(), Ip(kNodeIp));
  EXPECT_EQ(PacketView{r.out}.daddr(), Ip("10.1.3.11"));
  EXPECT_EQ(r.out[22], 64) << "the stack takes the TTL";
  ExpectValidChecksums(r.out);
  ExpectOnlyChanged(in, r.out, Join({Range(24, 2), kSaddr, kDaddr, kDport, kTcpCsum}));
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 2}, {"ct_created", 1}, {"nodeport_via_stack", 1}}));
}

// "should be rejected when no endpoints exist": ICMP port unreachable from
// the frontend, back to the MAC the packet came from, on the NodePort and
// the LoadBalancer IP alike (TCP and UDP); a packet with IPv4 options goes
// up the stack untouched (which refuses it on a node address). With
// externalTrafficPolicy Local and no endpoint on this node, it is dropped.
TEST_F(NodePortTest, NoEndpointsAndExternalTrafficPolicyLocal) {
  Install(NodePortService({}));
  CounterDelta();
  Bytes in = FromClient(kNodeIp, 30080);
  for (const char* frontend : {kNodeIp, kLbIp}) {
    Bytes pkt = FromClient(frontend, std::string(frontend) == kNodeIp ? 30080 : 80);
    auto r = Xdp(pkt);
    ASSERT_EQ(r.verdict, XDP_TX) << frontend;
    ASSERT_EQ(r.out.size(), 14u + 20 + 8 + 28);
    ExpectMacs(r.out, kClientMac, kUplinkMac);
    PacketView v{r.out};
    EXPECT_EQ(v.proto(), IPPROTO_ICMP);
    EXPECT_EQ(v.saddr(), Ip(frontend)) << "from the frontend";
    EXPECT_EQ(v.daddr(), Ip(kClient));
    EXPECT_EQ(v.ip_csum_residue(), 0);
    EXPECT_EQ(IcmpCsumResidue(r.out), 0);
    EXPECT_EQ(r.out[34], 3) << "destination unreachable";
    EXPECT_EQ(r.out[35], 3) << "port unreachable";
    EXPECT_TRUE(std::equal(r.out.begin() + 42, r.out.end(), pkt.begin() + 14))
        << "quotes the IPv4 header and 8 bytes of TCP";
  }
  auto udp = Xdp(FromClient(kNodeIp, 30080, /*udp=*/true));
  EXPECT_EQ(udp.verdict, XDP_PASS) << "no UDP frontend: not ours";
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"reject_no_backend", 2}}));
  Bytes with_options = Packet()
                           .Eth("02:cc:00:00:00:c8", "02:bb:00:00:00:01")
                           .Ipv4(kClient, kNodeIp, {1, 1, 1, 0})
                           .Tcp(40000, 30080)
                           .Build();
  auto opt = Xdp(with_options);
  EXPECT_EQ(opt.verdict, XDP_PASS);
  EXPECT_EQ(opt.out, with_options);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"nodeport_no_backend", 1}}));
  Install(NodePortService({}, model::Protocol::kUdp));
  auto u = Xdp(FromClient(kNodeIp, 30080, /*udp=*/true));
  EXPECT_EQ(u.verdict, XDP_TX);
  EXPECT_EQ(u.out.size(), 70u) << "a short UDP frame grows to the error's size";
  EXPECT_EQ(IcmpCsumResidue(u.out), 0);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"reject_no_backend", 1}}));
  Install(NodePortService({}));

  Install(NodePortService({"10.1.2.11"}, model::Protocol::kTcp, model::TrafficPolicy::kLocal));
  EXPECT_EQ(Xdp(in).verdict, XDP_DROP);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"drop_no_local_endpoint", 1}}));

  // With a local endpoint, only it is used, and the client is kept.
  Install(NodePortService({"10.1.1.11", "10.1.2.11"}, model::Protocol::kTcp,
                          model::TrafficPolicy::kLocal));
  for (std::uint16_t port = 41000; port < 41020; ++port) {
    auto p = Packet()
                 .Eth("02:cc:00:00:00:c8", "02:bb:00:00:00:01")
                 .Ipv4(kClient, kNodeIp)
                 .Tcp(port, 30080)
                 .Build();
    auto x = Xdp(p);
    ASSERT_EQ(x.verdict, XDP_PASS);
    EXPECT_EQ(PacketView{x.out}.daddr(), Ip("10.1.1.11"));
    EXPECT_EQ(PacketView{x.out}.saddr(), Ip(kClient));
  }
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 40}, {"ct_created", 20}, {"nodeport_local", 20}}));
}

// Only external frontends are served on the uplink: a ClusterIP, another
// port of the node, and a port outside any Service pass untouched.
TEST_F(NodePortTest, OtherTrafficPassesUntouched) {
  Install(NodePortService({"10.1.2.11"}));
  CounterDelta();
  for (const Bytes& in :
       {FromClient("10.96.0.10", 80), FromClient(kNodeIp, 22), FromClient(kNodeIp, 30081)}) {
    auto r = Xdp(in);
    EXPECT_EQ(r.verdict, XDP_PASS);
    EXPECT_EQ(r.out, in);
  }
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{}));
}

// ICMP errors of NodePort flows reach the outside client reversed: from
// the SNAT'd backend on node 2 in XDP, from a local backend on its veth.
TEST_F(NodePortTest, IcmpErrorsReachTheOutsideClient) {
  Install(NodePortService({"10.1.2.11"}, model::Protocol::kUdp));
  auto fwd = Xdp(FromClient(kNodeIp, 30080, /*udp=*/true));
  ASSERT_EQ(fwd.verdict, XDP_TX);
  CounterDelta();
  Bytes err = IcmpError("10.1.2.11", kNodeIp, 3, 3, fwd.out, 100);
  std::memcpy(&err[0], kUplinkMac, 6);
  auto r = Xdp(err);
  ASSERT_EQ(r.verdict, XDP_TX);
  ExpectMacs(r.out, kClientMac, kUplinkMac);
  PacketView v{r.out};
  EXPECT_EQ(v.saddr(), Ip(kNodeIp));
  EXPECT_EQ(v.daddr(), Ip(kClient));
  EXPECT_EQ(v.ip_csum_residue(), 0);
  EXPECT_EQ(IcmpCsumResidue(r.out), 0);
  Bytes q = Quoted(r.out);
  EXPECT_EQ(PacketView{q}.saddr(), Ip(kClient));
  EXPECT_EQ(PacketView{q}.sport(), 40000);
  EXPECT_EQ(PacketView{q}.daddr(), Ip(kNodeIp));
  EXPECT_EQ(PacketView{q}.dport(), 30080);
  EXPECT_EQ(PacketView{q}.ip_csum_residue(), 0);
  EXPECT_EQ(PacketView{q}.l4_csum_residue(), 0);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"icmp_revnat", 1}}));

  Install(NodePortService({"10.1.1.11"}, model::Protocol::kUdp));
  auto local = Xdp(FromClient(kNodeIp, 30080, /*udp=*/true));
  ASSERT_EQ(local.verdict, XDP_PASS);
  CounterDelta();
  auto back = FromPod(IcmpError("10.1.1.11", kClient, 3, 3, local.out, 100));
  ASSERT_EQ(back.verdict, TC_ACT_REDIRECT);
  PacketView b{back.out};
  EXPECT_EQ(b.saddr(), Ip(kNodeIp)) << "from the frontend";
  EXPECT_EQ(b.daddr(), Ip(kClient));
  EXPECT_EQ(b.ip_csum_residue(), 0);
  EXPECT_EQ(IcmpCsumResidue(back.out), 0);
  Bytes bq = Quoted(back.out);
  EXPECT_EQ(PacketView{bq}.daddr(), Ip(kNodeIp));
  EXPECT_EQ(PacketView{bq}.dport(), 30080);
  EXPECT_EQ(PacketView{bq}.l4_csum_residue(), 0);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"icmp_revnat", 1}}));
}

// Pods reach the NodePort too (tc on their veth): DNAT as for a ClusterIP.
TEST_F(NodePortTest, PodsReachTheNodePort) {
  Install(NodePortService({"10.1.2.11"}));
  CounterDelta();
  Bytes in = Packet().Eth().Ipv4("10.1.1.50", kNodeIp).Tcp(40000, 30080).Build();
  auto r = FromPod(in);
  EXPECT_EQ(r.verdict, TC_ACT_OK);
  EXPECT_EQ(PacketView{r.out}.daddr(), Ip("10.1.2.11"));
  EXPECT_EQ(PacketView{r.out}.saddr(), Ip("10.1.1.50"));
  ExpectValidChecksums(r.out);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{
                                {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_new_flow", 1}}));
  // The node address is no VIP: its other ports are not refused.
  auto ssh = FromPod(Packet().Eth().Ipv4("10.1.1.50", kNodeIp).Tcp(40000, 22).Build());
  EXPECT_EQ(ssh.verdict, TC_ACT_OK);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"pass_not_service", 1}}));
}

// --nodeport-mode dsr (meridian/dsr.h), this node as the ingress node and
// as the backend's node. Cluster id 1, VXLAN port 4789.
class NodePortDsrTest : public NodePortTest {
 protected:
  NodePortDsrTest() {
    config_.flags |= MER_CFG_DSR;
    config_.cluster_id = 1;
    config_.vxlan_port_be = htons(4789);
  }
  // The frame another node (`from`) sends this one for the inner frame
  // `inner` (already DNAT'd), whose client used frontend faddr:fport.
  static Bytes DsrFrame(const char* from, const char* faddr, std::uint16_t fport,
                        const Bytes& inner) {
    Bytes b = Vxlan(from, kNodeIp, 1, inner);
    std::memcpy(&b[0], kUplinkMac, 6);
    std::memcpy(&b[6], kNode2Mac, 6);
    const std::uint32_t f = ntohl(Ip(faddr));
    b[kEthLen + 4] = fport >> 8;  // outer IPv4 ID
    b[kEthLen + 5] = fport & 0xff;
    b[kEthLen + 10] = b[kEthLen + 11] = 0;
    const std::uint16_t c = InternetChecksum(&b[kEthLen], 20);
    b[kEthLen + 10] = c >> 8;
    b[kEthLen + 11] = c & 0xff;
    const std::size_t vx = kEthLen + 28;
    b[vx + 1] = (f >> 24) & 0xff;
    b[vx + 2] = (f >> 16) & 0xff;
    b[vx + 3] = (f >> 8) & 0xff;
    b[vx + 7] = f & 0xff;
    return b;
  }
  static Bytes Inner(const char* dst, std::uint16_t dport, std::size_t payload = 5) {
    return Packet()
        .Eth("02:cc:00:00:00:c8", "02:bb:00:00:00:01")
        .Ipv4(kClient, dst)
        .Tcp(40000, dport)
        .Payload(std::string(payload, 'x'))
        .Build();
  }
};

// The ingress node: a backend on node 2 gets the client's packet DNAT'd
// only (client address and port kept), in VXLAN to node 2 (the gateway of
// the route to the pod), with the frontend in the header; transmitted.
TEST_F(NodePortDsrTest, RemoteBackendIsDnatAndEncapsulatedToItsNode) {
  Install(NodePortService({"10.1.2.11"}));
  CounterDelta();
  Bytes in = FromClient(kNodeIp, 30080);
  auto r = Xdp(in);
  ASSERT_EQ(r.verdict, XDP_TX);
  ASSERT_EQ(r.out.size(), in.size() + 50);
  ExpectMacs(r.out, kNode2Mac, kUplinkMac);
  PacketView outer{r.out};
  EXPECT_EQ(outer.saddr(), Ip(kNodeIp));
  EXPECT_EQ(outer.daddr(), Ip("172.16.1.12")) << "the backend's node";
  EXPECT_EQ(outer.proto(), IPPROTO_UDP);
  EXPECT_EQ(outer.ip_total(), in.size() - kEthLen + 50);
  EXPECT_EQ(outer.ip_csum_residue(), 0);
  EXPECT_EQ(r.out[kEthLen + 4] << 8 | r.out[kEthLen + 5], 30080) << "frontend port in the ID";
  EXPECT_EQ(r.out[kEthLen + 6], 0x40) << "DF";
  EXPECT_EQ(r.out[kEthLen + 8], 63) << "TTL 64, one hop taken";
  EXPECT_EQ(outer.dport(), 4789);
  EXPECT_GE(outer.sport(), 49152) << "source port from the flow hash";
  const std::size_t udp = kEthLen + 20;
  EXPECT_EQ(r.out[udp + 4] << 8 | r.out[udp + 5], in.size() - kEthLen + 30) << "UDP length";
  EXPECT_EQ(r.out[udp + 6] | r.out[udp + 7], 0) << "no UDP checksum";
  // 172.16.1.11 = ac 10 01 0b: flags 0x08 then ac 10 01; VNI 1 then 0b.
  const Bytes vx(r.out.begin() + udp + 8, r.out.begin() + udp + 16);
  EXPECT_EQ(vx, (Bytes{0x08, 0xac, 0x10, 0x01, 0x00, 0x00, 0x01, 0x0b}));
  // The inner frame: the client's, DNAT'd.
  Bytes inner(r.out.begin() + 50, r.out.end());
  PacketView v{inner};
  EXPECT_EQ(v.saddr(), Ip(kClient));
  EXPECT_EQ(v.sport(), 40000);
  EXPECT_EQ(v.daddr(), Ip("10.1.2.11"));
  EXPECT_EQ(v.dport(), 8080);
  ExpectValidChecksums(inner);
  ExpectOnlyChanged(in, inner, Join({kDaddr, kDport, Range(24, 2), kTcpCsum}));
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{
                                {"ct_entries_added", 1}, {"ct_created", 1}, {"nodeport_dsr", 1}}));
  // The new flow is counted for its (frontend, backend) pair as any other
  // new flow (mer_flows: /metrics, meridianctl monitor's flow events).
  auto flows = datapath::ReadFlowCounts(dp_->maps().flows);
  ASSERT_TRUE(flows.ok()) << flows.error().message;
  ASSERT_EQ(flows->size(), 1u);
  EXPECT_EQ(flows->front().flows, 1u);
  ASSERT_TRUE(writer_->BackendsById().contains(flows->front().backend_id));
  EXPECT_EQ(writer_->BackendsById().at(flows->front().backend_id).address.ToString(), "10.1.2.11");

  // The same flow again: conntrack, the same frame.
  EXPECT_EQ(Xdp(FromClient(kNodeIp, 30080)).out, r.out);
  // A local backend is still DNAT'd only and passed up, and a node
  // without a neighbour entry gets the frame through the stack.
  Install(NodePortService({"10.1.3.11"}));
  auto via = Xdp(FromClient(kNodeIp, 30080));
  EXPECT_EQ(via.verdict, XDP_PASS);
  EXPECT_EQ(PacketView{via.out}.daddr(), Ip("172.16.1.13"));
  EXPECT_EQ(std::memcmp(&via.out[0], kUplinkMac, 6), 0) << "addressed to this node";
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_created", 1}, {"nodeport_dsr", 1}, {"nodeport_via_stack", 1}}));
}

// A backend on the uplink's own link (no gateway to name its node, e.g. a
// hostNetwork pod) is SNAT'd even in DSR mode.
TEST_F(NodePortDsrTest, BackendWithoutAKnownNodeIsSnat) {
  Install(NodePortService({"172.16.1.12"}));
  CounterDelta();
  auto r = Xdp(FromClient(kNodeIp, 30080));
  ASSERT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.out.size(), FromClient(kNodeIp, 30080).size());
  EXPECT_EQ(PacketView{r.out}.saddr(), Ip(kNodeIp));
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{
                                {"ct_entries_added", 2}, {"ct_created", 1}, {"nodeport_snat", 1}}));
}

// A frame that would not fit the uplink once encapsulated is dropped and
// counted (TCP does not get there: the pod's MSS leaves the 50 bytes).
TEST_F(NodePortDsrTest, TooBigForTheTunnelIsDropped) {
  Install(NodePortService({"10.1.2.11"}));
  CounterDelta();
  auto big = Packet()
                 .Eth("02:cc:00:00:00:c8", "02:bb:00:00:00:01")
                 .Ipv4(kClient, kNodeIp)
                 .Tcp(40000, 30080)
                 .Payload(std::string(1500 - 40 - 49, 'x'))
                 .Build();
  EXPECT_EQ(Xdp(big).verdict, XDP_DROP);
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 1}, {"ct_created", 1}, {"drop_dsr_too_big", 1}}));
}

// The backend's node: node 2 sends a flow its client opened on node 2's
// NodePort. Decapsulated (the outer MACs kept for the stack), passed up
// untouched to the pod; the pod's reply leaves its veth from node 2's
// address and NodePort straight to the client.
TEST_F(NodePortDsrTest, ReceivedFrameIsDeliveredAndTheReplyGoesStraightToTheClient) {
  Install(NodePortService({"10.1.1.11"}));
  CounterDelta();
  Bytes inner = Inner("10.1.1.11", 8080);
  auto r = Xdp(DsrFrame("172.16.1.12", "172.16.1.12", 30080, inner));
  ASSERT_EQ(r.verdict, XDP_PASS);
  ASSERT_EQ(r.out.size(), inner.size());
  ExpectMacs(r.out, kUplinkMac, kNode2Mac);
  EXPECT_TRUE(std::equal(r.out.begin() + 12, r.out.end(), inner.begin() + 12))
      << "the inner packet is delivered as it came";
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 1}, {"ct_created", 1}, {"nodeport_dsr_in", 1}}));

  Bytes reply = Packet()
                    .Eth("02:00:00:00:00:11", "02:00:00:00:00:01")
                    .Ipv4("10.1.1.11", kClient)
                    .Tcp(8080, 40000, 0x12)
                    .Payload("world")
                    .Build();
  auto back = FromPod(reply);
  EXPECT_EQ(back.verdict, TC_ACT_REDIRECT);
  PacketView b{back.out};
  EXPECT_EQ(b.saddr(), Ip("172.16.1.12")) << "the frontend the client used";
  EXPECT_EQ(b.sport(), 30080);
  EXPECT_EQ(b.daddr(), Ip(kClient));
  EXPECT_EQ(b.dport(), 40000);
  ExpectValidChecksums(back.out);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"nodeport_revnat", 1}}));

  // A LoadBalancer IP is checked as it is (a frontend here too).
  auto lb = Xdp(DsrFrame("172.16.1.12", kLbIp, 80, Inner("10.1.1.11", 8080)));
  EXPECT_EQ(lb.verdict, XDP_PASS);
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{{"ct_created", 1}, {"nodeport_dsr_in", 1}}));
}

// Frames that are not DSR frames pass untouched (a CNI's VXLAN keeps the
// reserved bits zero; another VNI is another cluster's, left to the tunnel
// path); DSR frames that ask for what a direct packet could not get are
// dropped and counted: an unknown frontend, a destination not on this
// node, an inner packet that does not parse.
TEST_F(NodePortDsrTest, ForeignAndBadFrames) {
  Install(NodePortService({"10.1.1.11"}));
  CounterDelta();
  Bytes cni = Vxlan("172.16.1.12", kNodeIp, 1, Inner("10.1.1.11", 8080));
  auto c = Xdp(cni);
  EXPECT_EQ(c.verdict, XDP_PASS);
  EXPECT_EQ(c.out, cni);
  Bytes other = DsrFrame("172.16.1.12", "172.16.1.12", 30080, Inner("10.1.1.11", 8080));
  other[kEthLen + 28 + 6] = 2;  // VNI 2
  EXPECT_EQ(Xdp(other).out, other);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{}));

  EXPECT_EQ(Xdp(DsrFrame("172.16.1.12", "172.16.1.12", 30999, Inner("10.1.1.11", 8080))).verdict,
            XDP_DROP);
  EXPECT_EQ(Xdp(DsrFrame("172.16.1.12", "198.51.100.7", 80, Inner("10.1.1.11", 8080))).verdict,
            XDP_DROP);
  EXPECT_EQ(Xdp(DsrFrame("172.16.1.12", "172.16.1.12", 30080, Inner("10.1.2.11", 8080))).verdict,
            XDP_DROP);
  Bytes cut = Inner("10.1.1.11", 8080);
  cut.resize(kEthLen + 20 + 4);
  EXPECT_EQ(Xdp(DsrFrame("172.16.1.12", "172.16.1.12", 30080, cut)).verdict, XDP_DROP);
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"drop_dsr_bad_frame", 4}}));
}

}  // namespace
}  // namespace meridian::testing

int main(int argc, char** argv) {
  const char* setup =
      "ip link set lo up && "
      "ip link add up0 address 02:bb:00:00:00:01 type veth peer name up1 && "
      "ip link set up0 up && ip link set up1 up && "
      "ip addr add 172.16.1.11/24 dev up0 && "
      "ip link add pod0 type veth peer name pod1 && ip link set pod0 up && ip link set pod1 up && "
      "ip route add 10.1.1.0/24 dev pod0 && "
      "ip route add 10.1.2.0/24 via 172.16.1.12 dev up0 && "
      "ip route add 10.1.3.0/24 via 172.16.1.13 dev up0 && "
      "ip route add 192.0.2.0/24 dev lo && "
      "ip neigh replace 172.16.1.12 lladdr 02:aa:00:00:00:02 dev up0 nud permanent && "
      "ip neigh replace 172.16.1.200 lladdr 02:cc:00:00:00:c8 dev up0 nud permanent && "
      "sysctl -qw net.ipv4.ip_forward=1";
  return meridian::testing::RunAllTestsInPrivateNetns(argc, argv, setup);
}
