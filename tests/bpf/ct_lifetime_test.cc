// Conntrack lifetimes (meridian/ct_lifetime.h) and the agent's collector
// (datapath/ct_gc.h): every packet moves its entry's expiry on by the
// lifetime of the flow's state, and the collector deletes a flow only
// when both its directions are idle.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "datapath/ct_eviction_estimate.h"
#include "datapath/ct_gc.h"
#include "datapath/flow_counts.h"
#include "datapath/map_iter.h"
#include "datapath/stats_event.h"
#include "datapath_fixture.h"

namespace meridian::testing {
namespace {

using model::Protocol;

constexpr const char* kClient = "10.1.1.100";
constexpr const char* kVip = "10.96.0.10";
constexpr const char* kBackend = "10.1.1.11";

// Lifetimes unlike the defaults and unlike each other, so that a test
// tells which one the datapath used.
constexpr mer_ct_timeouts kTimeouts = {.tcp_syn_s = 7,
                                       .tcp_established_s = 1000,
                                       .tcp_fin_s = 11,
                                       .tcp_rst_s = 3,
                                       .udp_s = 5,
                                       .udp_reply_s = 13};

model::ResourceSnapshot OneBackend() {
  model::ResourceSnapshot s;
  s.services.push_back(MakeService("web", kVip,
                                   {{.name = "http", .protocol = Protocol::kTcp, .port = 80},
                                    {.name = "dns", .protocol = Protocol::kUdp, .port = 53}}));
  s.endpoint_slices.push_back(
      MakeSlice("web", {kBackend},
                {{.name = "http", .protocol = Protocol::kTcp, .port = 8080},
                 {.name = "dns", .protocol = Protocol::kUdp, .port = 5353}}));
  return s;
}

struct Entry {
  mer_ct_key key;
  mer_ct_entry value;
};

class CtLifetimeTest : public DatapathTest {
 protected:
  CtLifetimeTest() { config_.ct = kTimeouts; }

  int ct() { return dp_->maps().ct; }

  std::vector<Entry> Entries() {
    std::vector<Entry> out;
    datapath::ForEachEntry<mer_ct_key, mer_ct_entry>(
        ct(), [&](const mer_ct_key& k, const mer_ct_entry& v) {
          out.push_back({k, v});
        });
    return out;
  }
  // The one entry of direction `dir` (the tests make one flow at a time).
  mer_ct_entry Only(std::uint8_t dir) {
    std::vector<mer_ct_entry> found;
    for (const auto& e : Entries()) {
      if (e.key.dir == dir) found.push_back(e.value);
    }
    EXPECT_EQ(found.size(), 1u) << "entries of direction " << int(dir);
    return found.empty() ? mer_ct_entry{} : found.front();
  }
  // Seconds from now to the entry's expiry; the BPF clock is the coarse
  // one, so a second's tick may fall between the packet and the check.
  static void ExpectExpiresIn(const mer_ct_entry& e, std::uint32_t seconds) {
    const std::int64_t left = static_cast<std::int64_t>(e.expires_s) - datapath::MonotonicSeconds();
    EXPECT_GE(left, static_cast<std::int64_t>(seconds) - 1) << "expires_s " << e.expires_s;
    EXPECT_LE(left, static_cast<std::int64_t>(seconds)) << "expires_s " << e.expires_s;
  }
  Bytes Tcp(std::uint16_t sport, std::uint8_t flags) {
    return Packet().Eth().Ipv4(kClient, kVip).Tcp(sport, 80, flags).Build();
  }
  Bytes TcpReply(std::uint16_t dport, std::uint8_t flags) {
    return Packet()
        .Eth("02:00:00:00:00:02", "02:00:00:00:00:01")
        .Ipv4(kBackend, kClient)
        .Tcp(8080, dport, flags)
        .Build();
  }
  // One flow's packets both ways (tc, from and to the pod), with payloads
  // of several lengths; returns the bytes sent {forward, reply}.
  std::array<std::uint64_t, 2> OneFlowBothWays();
  // Makes one entry idle (expired a second ago).
  void Age(const mer_ct_key& key) {
    mer_ct_entry e{};
    ASSERT_EQ(bpf_map_lookup_elem(ct(), &key, &e), 0);
    e.expires_s = datapath::MonotonicSeconds() - 1;
    ASSERT_EQ(bpf_map_update_elem(ct(), &key, &e, BPF_EXIST), 0);
  }
};

constexpr std::uint8_t kSyn = 0x02, kAck = 0x10, kSynAck = 0x12, kFinAck = 0x11, kRst = 0x04;

TEST_F(CtLifetimeTest, TcpStatesMoveTheExpiry) {
  Install(OneBackend());
  FromPod(Tcp(41000, kSyn));
  // A new flow: both entries live as long as a SYN that was never answered.
  mer_ct_entry fwd = Only(MER_CT_FORWARD), rev = Only(MER_CT_REPLY);
  ExpectExpiresIn(fwd, 7);
  ExpectExpiresIn(rev, 7);
  EXPECT_EQ(fwd.flags & (MER_CT_F_SEEN_NON_SYN | MER_CT_F_CLOSING), 0);

  // The SYN-ACK: the reply entry is established, the forward one is not yet.
  ASSERT_EQ(ToPod(TcpReply(41000, kSynAck)).verdict, TC_ACT_OK);
  rev = Only(MER_CT_REPLY);
  EXPECT_TRUE(rev.flags & MER_CT_F_SEEN_NON_SYN);
  ExpectExpiresIn(rev, 1000);
  ExpectExpiresIn(Only(MER_CT_FORWARD), 7);

  FromPod(Tcp(41000, kAck));
  fwd = Only(MER_CT_FORWARD);
  EXPECT_TRUE(fwd.flags & MER_CT_F_SEEN_NON_SYN);
  ExpectExpiresIn(fwd, 1000);

  // FIN: closing, in this direction and for the rest of the flow's life.
  FromPod(Tcp(41000, kFinAck));
  fwd = Only(MER_CT_FORWARD);
  EXPECT_TRUE(fwd.flags & MER_CT_F_CLOSING);
  ExpectExpiresIn(fwd, 11);
  FromPod(Tcp(41000, kAck));
  ExpectExpiresIn(Only(MER_CT_FORWARD), 11);

  // RST: the shortest.
  ToPod(TcpReply(41000, kRst));
  rev = Only(MER_CT_REPLY);
  EXPECT_TRUE(rev.flags & MER_CT_F_CLOSING);
  ExpectExpiresIn(rev, 3);

  // The client reuses the port: a new connection starts over.
  FromPod(Tcp(41000, kSyn));
  fwd = Only(MER_CT_FORWARD);
  EXPECT_EQ(fwd.flags & (MER_CT_F_SEEN_NON_SYN | MER_CT_F_CLOSING), 0);
  ExpectExpiresIn(fwd, 7);
}

TEST_F(CtLifetimeTest, UdpAnsweredLivesLongerAndIsNeverShortened) {
  Install(OneBackend());
  FromPod(Packet().Eth().Ipv4(kClient, kVip).Udp(42000, 53).Build());
  ExpectExpiresIn(Only(MER_CT_FORWARD), 5);
  ExpectExpiresIn(Only(MER_CT_REPLY), 5);  // no answer yet

  ToPod(Packet()
            .Eth("02:00:00:00:00:02", "02:00:00:00:00:01")
            .Ipv4(kBackend, kClient)
            .Udp(5353, 42000)
            .Build());
  ExpectExpiresIn(Only(MER_CT_REPLY), 13);
  FromPod(Packet().Eth().Ipv4(kClient, kVip).Udp(42000, 53).Build());
  ExpectExpiresIn(Only(MER_CT_FORWARD), 5);
  ExpectExpiresIn(Only(MER_CT_REPLY), 13);
}

// ct_created counts flows as the datapath writes them, not packets.
TEST_F(CtLifetimeTest, TheFlowCreatedCountsOnceAndHitsDoNot) {
  Install(OneBackend());
  CounterDelta();
  FromPod(Tcp(41000, kSyn));
  FromPod(Tcp(41000, kAck));
  EXPECT_EQ(CounterDelta(),
            (std::map<std::string, std::uint64_t>{
                {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_new_flow", 1}, {"lb_ct_hit", 1}}));
}

TEST_F(CtLifetimeTest, DefaultsAreNfConntracksWhenNothingIsConfigured) {
  // A second datapath with an empty configuration.
  datapath::LoadOptions opts;
  opts.sizes = {.services = 64, .backends = 64, .ct = 256, .maglev_slots = 4096};
  auto dp = datapath::NodeDatapath::Load(opts);
  ASSERT_TRUE(dp.ok()) << dp.error().message;
  std::swap(dp_, *dp);
  auto w = datapath::MapWriter::Recover(dp_->maps());
  ASSERT_TRUE(w.ok());
  writer_ = std::make_unique<datapath::MapWriter>(std::move(w).value());
  Install(OneBackend());
  FromPod(Tcp(41000, kSyn));
  ExpectExpiresIn(Only(MER_CT_FORWARD), MER_CT_DEFAULT_TCP_SYN_S);
  FromPod(Tcp(41000, kAck));
  ExpectExpiresIn(Only(MER_CT_FORWARD), MER_CT_DEFAULT_TCP_ESTABLISHED_S);
  EXPECT_EQ(MER_CT_DEFAULT_TCP_ESTABLISHED_S, 432000);
  EXPECT_EQ(MER_CT_DEFAULT_UDP_S, 30);
}

TEST_F(CtLifetimeTest, PartnerKeysNameTheFlowsOtherEntry) {
  Install(OneBackend());
  FromPod(Tcp(41000, kSyn));
  const auto entries = Entries();
  ASSERT_EQ(entries.size(), 2u);
  for (const auto& e : entries) {
    auto partner = datapath::CtPartnerKey(e.key, e.value);
    ASSERT_TRUE(partner);
    EXPECT_NE(partner->dir, e.key.dir);
    mer_ct_entry found{};
    EXPECT_EQ(bpf_map_lookup_elem(ct(), &*partner, &found), 0) << "dir " << int(e.key.dir);
  }
  mer_ct_entry tunnel{.flags = MER_CT_F_TUNNEL_FLOW};
  EXPECT_FALSE(datapath::CtPartnerKey(entries[0].key, tunnel));
  mer_ct_entry dsr{.flags = MER_CT_F_NODEPORT | MER_CT_F_DSR};
  EXPECT_FALSE(datapath::CtPartnerKey(entries[0].key, dsr));
}

TEST_F(CtLifetimeTest, CollectorKeepsLiveFlowsAndDeletesIdleOnes) {
  Install(OneBackend());
  FromPod(Tcp(41000, kSyn));
  FromPod(Tcp(41001, kSyn));
  ASSERT_EQ(Entries().size(), 4u);
  const std::uint32_t now = datapath::MonotonicSeconds();

  // Nothing idle: nothing deleted.
  auto gc = datapath::CollectIdleFlows(ct(), now);
  ASSERT_TRUE(gc.ok()) << gc.error().message;
  EXPECT_EQ(gc->scanned, 4u);
  EXPECT_EQ(gc->deleted, 0u);

  // Flow 41000's forward direction is idle, its reply direction is not:
  // the flow is alive, both entries stay.
  mer_ct_key fwd0{}, rev0{};
  for (const auto& e : Entries()) {
    if (e.key.dir == MER_CT_FORWARD && ntohs(e.key.sport_be) == 41000) fwd0 = e.key;
    if (e.key.dir == MER_CT_REPLY && ntohs(e.key.dport_be) == 41000) rev0 = e.key;
  }
  Age(fwd0);
  gc = datapath::CollectIdleFlows(ct(), now);
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->deleted, 0u);
  EXPECT_EQ(gc->kept_by_partner, 1u);
  EXPECT_EQ(Entries().size(), 4u);

  // Both idle: both go; the other flow stays.
  Age(rev0);
  gc = datapath::CollectIdleFlows(ct(), now);
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->deleted, 2u);
  EXPECT_EQ(Entries().size(), 2u);
  for (const auto& e : Entries()) {
    EXPECT_TRUE(ntohs(e.key.sport_be) == 41001 || ntohs(e.key.dport_be) == 41001);
  }

  // At a time past every lifetime (a SYN's, 7 s) the rest goes too, in
  // batches of one entry.
  gc = datapath::CollectIdleFlows(ct(), now + 8, 1);
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->deleted, 2u);
  EXPECT_TRUE(Entries().empty());

  // The deleted flow's next packet is a new flow.
  CounterDelta();
  FromPod(Tcp(41000, kAck));
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{
                                {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_new_flow", 1}}));
}

TEST_F(CtLifetimeTest, CollectorWalksEveryBatch) {
  Install(OneBackend());
  for (std::uint16_t port = 30000; port < 30100; ++port) FromPod(Tcp(port, kSyn));
  ASSERT_EQ(Entries().size(), 200u);
  auto gc = datapath::CollectIdleFlows(ct(), datapath::MonotonicSeconds() + 8, 7);
  ASSERT_TRUE(gc.ok()) << gc.error().message;
  EXPECT_EQ(gc->scanned, 200u);
  EXPECT_EQ(gc->deleted, 200u);
  EXPECT_TRUE(Entries().empty());
}

// A full conntrack evicts (LRU) instead of refusing: every new flow is
// still balanced and translated, every entry added is counted, and the
// agent's estimate names exactly the entries the table no longer holds.
// A flow whose entries were evicted keeps its backend: its next packet is
// balanced again by Maglev, which chooses the same one.
TEST_F(CtLifetimeTest, AFullTableEvictsCountsAndKeepsBalancing) {
  datapath::LoadOptions opts;
  opts.config = config_;
  opts.sizes = {.services = 64, .backends = 64, .ct = 128, .maglev_slots = 4096};
  auto small = datapath::NodeDatapath::Load(opts);
  ASSERT_TRUE(small.ok()) << small.error().message;
  std::swap(dp_, *small);
  last_.clear();
  auto w = datapath::MapWriter::Recover(dp_->maps());
  ASSERT_TRUE(w.ok());
  writer_ = std::make_unique<datapath::MapWriter>(std::move(w).value());
  model::ResourceSnapshot world = OneBackend();
  world.endpoint_slices = {MakeSlice("web", {kBackend, "10.1.1.12", "10.1.1.13"},
                                     {{.name = "http", .protocol = Protocol::kTcp, .port = 8080},
                                      {.name = "dns", .protocol = Protocol::kUdp, .port = 5353}})};
  Install(world);

  datapath::CtEvictionEstimate estimate;
  auto added = [&] {
    auto stats = datapath::ReadStats(dp_->maps().stats);
    EXPECT_TRUE(stats.ok());
    return (*stats)[MER_STAT_CT_ENTRIES_ADDED].packets;
  };
  estimate.Update(added(), 0, Entries().size());

  constexpr int kFlows = 1000;
  std::map<std::uint16_t, std::string> backend_of;
  CounterDelta();
  for (int i = 0; i < kFlows; ++i) {
    const auto port = static_cast<std::uint16_t>(20000 + i);
    auto r = FromPod(Tcp(port, kSyn));
    ASSERT_EQ(r.verdict, TC_ACT_OK) << "flow " << i;
    PacketView out{r.out};
    ASSERT_NE(Addr(out.daddr()), kVip) << "flow " << i << " was not translated";
    backend_of[port] = Addr(out.daddr());
  }
  const auto delta = CounterDelta();
  EXPECT_EQ(delta.at("lb_new_flow"), static_cast<std::uint64_t>(kFlows));
  EXPECT_EQ(delta.at("ct_created"), static_cast<std::uint64_t>(kFlows));
  EXPECT_EQ(delta.at("ct_entries_added"), static_cast<std::uint64_t>(2 * kFlows));
  EXPECT_EQ(delta.count("drop_ct_full"), 0u);

  const std::size_t live = Entries().size();
  EXPECT_LE(live, 128u);
  const std::uint64_t evicted = estimate.Update(added(), 0, live);
  EXPECT_EQ(evicted, 2 * kFlows - live);
  EXPECT_GT(evicted, 0u);

  // The first flows are long gone from the table; their next segments
  // are balanced again, to the backends they had.
  for (std::uint16_t port = 20000; port < 20010; ++port) {
    auto r = FromPod(Tcp(port, kAck));
    ASSERT_EQ(r.verdict, TC_ACT_OK);
    EXPECT_EQ(Addr(PacketView{r.out}.daddr()), backend_of[port]) << "port " << port;
  }
}

// mer_flows: every new flow is counted once for its (frontend, backend)
// pair, where its backend was chosen; packets of existing flows are not.
// The agent's pruning deletes the pairs of a backend that left.
TEST_F(CtLifetimeTest, NewFlowsAreCountedPerFrontendAndBackend) {
  const std::vector<std::string> three = {kBackend, "10.1.1.12", "10.1.1.13"};
  const std::vector<model::EndpointPort> ports = {
      {.name = "http", .protocol = Protocol::kTcp, .port = 8080},
      {.name = "dns", .protocol = Protocol::kUdp, .port = 5353}};
  model::ResourceSnapshot world = OneBackend();
  world.endpoint_slices = {MakeSlice("web", three, ports)};
  Install(world);

  constexpr int kFlows = 300;
  std::map<std::string, std::uint64_t> sent_to;
  for (int i = 0; i < kFlows; ++i) {
    const auto port = static_cast<std::uint16_t>(30000 + i);
    auto r = FromPod(Tcp(port, kSyn));
    ASSERT_EQ(r.verdict, TC_ACT_OK);
    ++sent_to[Addr(PacketView{r.out}.daddr())];
    FromPod(Tcp(port, kAck));  // a conntrack hit: not a new flow
  }
  ASSERT_EQ(sent_to.size(), 3u) << "Maglev spreads 300 flows over the 3 backends";

  const std::uint32_t service = writer_->service_id(
      {.vip = *model::Ipv4Address::Parse(kVip), .port = 80, .protocol = Protocol::kTcp});
  ASSERT_NE(service, 0u);
  auto counts = datapath::ReadFlowCounts(dp_->maps().flows);
  ASSERT_TRUE(counts.ok()) << counts.error().message;
  ASSERT_EQ(counts->size(), 3u);
  const auto backends = writer_->BackendsById();
  for (const auto& c : *counts) {
    EXPECT_EQ(c.service_id, service);
    ASSERT_TRUE(backends.contains(c.backend_id));
    const std::string addr = backends.at(c.backend_id).address.ToString();
    EXPECT_EQ(c.flows, sent_to[addr]) << addr;
  }

  // 10.1.1.13 leaves: its pair goes, the others keep their counts.
  world.endpoint_slices = {MakeSlice("web", {kBackend, "10.1.1.12"}, ports)};
  Install(world);
  const auto frontends = writer_->FrontendsById();
  const auto live = writer_->BackendsById();
  auto pruned = datapath::PrunePairs(
      dp_->maps().flows, "mer_flows",
      [&](std::uint32_t s, std::uint32_t b) { return frontends.contains(s) && live.contains(b); });
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1u);
  counts = datapath::ReadFlowCounts(dp_->maps().flows);
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 2u);
  for (const auto& c : *counts) {
    EXPECT_EQ(c.flows, sent_to[live.at(c.backend_id).address.ToString()]);
  }
}

// mer_traffic: with MER_CFG_TRAFFIC every packet a conntrack entry
// translates is counted, with its length, for its (frontend, backend) pair
// and direction: the first packet of a flow where it is created, the
// others on their hits, replies where they are translated back.
class TrafficCounterTest : public CtLifetimeTest {
 protected:
  TrafficCounterTest() { config_.flags |= MER_CFG_TRAFFIC; }
};

std::array<std::uint64_t, 2> CtLifetimeTest::OneFlowBothWays() {
  std::array<std::uint64_t, 2> sent{};
  auto fwd = [&](std::uint8_t flags, std::string payload) {
    Bytes b = Packet().Eth().Ipv4(kClient, kVip).Tcp(42000, 80, flags).Payload(payload).Build();
    EXPECT_EQ(FromPod(b).verdict, TC_ACT_OK);
    sent[MER_CT_FORWARD] += b.size();
  };
  auto rev = [&](std::uint8_t flags, std::string payload) {
    Bytes b = Packet()
                  .Eth("02:00:00:00:00:02", "02:00:00:00:00:01")
                  .Ipv4(kBackend, kClient)
                  .Tcp(8080, 42000, flags)
                  .Payload(payload)
                  .Build();
    EXPECT_EQ(ToPod(b).verdict, TC_ACT_OK);
    sent[MER_CT_REPLY] += b.size();
  };
  fwd(kSyn, "");
  rev(kSynAck, "");
  fwd(kAck, "GET / HTTP/1.1\r\n\r\n");
  rev(kAck, std::string(1000, 'x'));
  rev(kAck, std::string(17, 'y'));
  fwd(kFinAck, "");
  return sent;
}

TEST_F(TrafficCounterTest, PacketsAndBytesAreCountedPerPairAndDirection) {
  Install(OneBackend());
  const auto sent = OneFlowBothWays();
  // Not a flow of the service: a packet to the VIP's unknown port is
  // refused, and a reply that matches no flow passes untouched.
  FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(42001, 81, kSyn).Build());
  ToPod(TcpReply(42999, kAck));

  auto traffic = datapath::ReadPairTraffic(dp_->maps().traffic);
  ASSERT_TRUE(traffic.ok()) << traffic.error().message;
  ASSERT_EQ(traffic->size(), 1u);
  const auto& t = traffic->front();
  EXPECT_EQ(t.service_id,
            writer_->service_id(
                {.vip = *model::Ipv4Address::Parse(kVip), .port = 80, .protocol = Protocol::kTcp}));
  ASSERT_TRUE(writer_->BackendsById().contains(t.backend_id));
  EXPECT_EQ(writer_->BackendsById().at(t.backend_id).address.ToString(), kBackend);
  EXPECT_EQ(t.packets[MER_CT_FORWARD], 3u);
  EXPECT_EQ(t.packets[MER_CT_REPLY], 3u);
  EXPECT_EQ(t.bytes[MER_CT_FORWARD], sent[MER_CT_FORWARD]);
  EXPECT_EQ(t.bytes[MER_CT_REPLY], sent[MER_CT_REPLY]);
  EXPECT_GT(sent[MER_CT_REPLY], 1000u);

  // The backend leaves: its pair is pruned like mer_flows'.
  model::ResourceSnapshot none = OneBackend();
  none.endpoint_slices.clear();
  Install(none);
  const auto live = writer_->BackendsById();
  auto pruned =
      datapath::PrunePairs(dp_->maps().traffic, "mer_traffic",
                           [&](std::uint32_t, std::uint32_t b) { return live.contains(b); });
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 1u);
  traffic = datapath::ReadPairTraffic(dp_->maps().traffic);
  ASSERT_TRUE(traffic.ok());
  EXPECT_TRUE(traffic->empty());
}

// Without the flag (--traffic-counters=false) the same flow counts
// nothing in mer_traffic; mer_flows still counts the flow.
TEST_F(CtLifetimeTest, TrafficIsNotCountedWithoutTheFlag) {
  Install(OneBackend());
  OneFlowBothWays();
  auto traffic = datapath::ReadPairTraffic(dp_->maps().traffic);
  ASSERT_TRUE(traffic.ok()) << traffic.error().message;
  EXPECT_TRUE(traffic->empty());
  auto flows = datapath::ReadFlowCounts(dp_->maps().flows);
  ASSERT_TRUE(flows.ok());
  ASSERT_EQ(flows->size(), 1u);
  EXPECT_EQ(flows->front().flows, 1u);
}

TEST_F(CtLifetimeTest, ExpiredEventsAreCountedInTheStatsMap) {
  CounterDelta();
  ASSERT_TRUE(datapath::AddStatEvents(dp_->maps().stats, MER_STAT_CT_EXPIRED, 5));
  ASSERT_TRUE(datapath::AddStatEvents(dp_->maps().stats, MER_STAT_CT_EXPIRED, 0));
  ASSERT_TRUE(datapath::AddStatEvents(dp_->maps().stats, MER_STAT_CT_EXPIRED, 2));
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"ct_expired", 7}}));
}

}  // namespace
}  // namespace meridian::testing
