// The monitor's events (meridian/monitor.h) through BPF_PROG_TEST_RUN:
// none while no monitor is attached, every field of a new flow's and a
// drop's event, the kinds and sampling asked for, the lease, a full ring.
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "datapath_fixture.h"
#include "meridian/jhash.h"
#include "monitor_events.h"

namespace meridian::testing {
namespace {

using model::Protocol;

constexpr const char* kClient = "10.1.1.100";
constexpr const char* kVip = "10.96.0.10";
constexpr const char* kEmptyVip = "10.96.0.11";

model::ResourceSnapshot Services() {
  model::ResourceSnapshot s;
  s.services.push_back(
      MakeService("web", kVip, {{.name = "http", .protocol = Protocol::kTcp, .port = 80}}));
  s.endpoint_slices.push_back(
      MakeSlice("web", {"10.1.1.11", "10.1.1.12"},
                {{.name = "http", .protocol = Protocol::kTcp, .port = 8080}}));
  // No endpoints: a SYN to it is refused (reject_no_backend).
  s.services.push_back(
      MakeService("empty", kEmptyVip, {{.name = "http", .protocol = Protocol::kTcp, .port = 80}}));
  return s;
}

class MonitorTest : public DatapathTest {
 protected:
  void SetUp() override {
    DatapathTest::SetUp();
    Install(Services());
    CounterDelta();
  }
  Bytes Syn(std::uint16_t sport, const char* vip = kVip, std::uint16_t dport = 80) {
    return Packet().Eth().Ipv4(kClient, vip).Tcp(sport, dport, 0x02).Build();
  }
  mer_service ServiceAt(const char* vip, std::uint16_t port) {
    mer_service_key key{};
    key.vip_be = Ip(vip);
    key.port_be = htons(port);
    key.proto = IPPROTO_TCP;
    mer_service svc{};
    EXPECT_EQ(bpf_map_lookup_elem(dp_->maps().services, &key, &svc), 0);
    return svc;
  }
  // Events in the ring, read without attaching (attaching would discard
  // what is there).
  int RingEvents() {
    int n = 0;
    auto count = [](void* ctx, void*, size_t) {
      ++*static_cast<int*>(ctx);
      return 0;
    };
    ring_buffer* rb = ring_buffer__new(dp_->maps().events, count, &n, nullptr);
    EXPECT_NE(rb, nullptr);
    if (!rb) return -1;
    ring_buffer__consume(rb);
    ring_buffer__free(rb);
    return n;
  }
};

TEST_F(MonitorTest, NothingIsProducedWhileNoMonitorIsAttached) {
  for (std::uint16_t port = 41000; port < 41100; ++port) FromPod(Syn(port));
  FromPod(Syn(41200, kEmptyVip));

  auto delta = CounterDelta();
  EXPECT_EQ(delta["lb_new_flow"], 100u);
  EXPECT_EQ(delta["reject_no_backend"], 1u);
  EXPECT_EQ(delta.count("monitor_events"), 0u);
  EXPECT_EQ(delta.count("monitor_lost"), 0u);
  EXPECT_EQ(RingEvents(), 0);
}

TEST_F(MonitorTest, NewFlowEventNamesClientFrontendAndBackend) {
  EventCollector monitor(dp_->maps());
  const Bytes syn = Syn(40000);

  auto r = FromPod(syn);

  ASSERT_EQ(r.verdict, TC_ACT_OK);
  PacketView out{r.out};
  auto events = monitor.Take();
  ASSERT_EQ(events.size(), 1u);
  const mer_event& e = events[0];
  EXPECT_EQ(e.type, static_cast<std::uint32_t>(MER_EVENT_FLOW));
  EXPECT_EQ(e.reason, static_cast<std::uint32_t>(MER_STAT_LB_NEW_FLOW));
  EXPECT_EQ(e.saddr_be, Ip(kClient));
  EXPECT_EQ(e.daddr_be, Ip(kVip));
  EXPECT_EQ(ntohs(e.sport_be), 40000);
  EXPECT_EQ(ntohs(e.dport_be), 80);
  EXPECT_EQ(e.proto, IPPROTO_TCP);
  EXPECT_EQ(e.service_id, ServiceAt(kVip, 80).id);
  EXPECT_NE(e.backend_id, 0u);
  EXPECT_EQ(e.backend_addr_be, out.daddr());  // where the packet went
  EXPECT_EQ(ntohs(e.backend_port_be), 8080);
  EXPECT_EQ(e.ct_flags, 0);
  EXPECT_EQ(e.len, syn.size());
  EXPECT_GT(e.ts_ns, 0u);
  EXPECT_LE(e.ts_ns, datapath::MonotonicNs());
  EXPECT_EQ(
      CounterDelta(),
      (std::map<std::string, std::uint64_t>{
          {"ct_entries_added", 2}, {"ct_created", 1}, {"lb_new_flow", 1}, {"monitor_events", 1}}));

  // The flow's next packet is a conntrack hit: no event.
  FromPod(Packet().Eth().Ipv4(kClient, kVip).Tcp(40000, 80, 0x10).Build());
  EXPECT_TRUE(monitor.Take().empty());
  EXPECT_EQ(CounterDelta(), (std::map<std::string, std::uint64_t>{{"lb_ct_hit", 1}}));
}

TEST_F(MonitorTest, DropEventsNameTheReasonAndThePacket) {
  EventCollector monitor(dp_->maps());

  FromPod(Syn(40001, kEmptyVip));  // no endpoints
  FromPod(Syn(40002, kVip, 81));   // a port the VIP does not serve
  Bytes truncated = Syn(40003);    // TCP header cut short
  truncated.resize(kEthLen + 20 + 10);
  truncated[kEthLen + 3] = 30;  // IPv4 total length to match
  FromPod(truncated);

  auto events = monitor.Take();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, static_cast<std::uint32_t>(MER_EVENT_DROP));
  EXPECT_EQ(events[0].reason, static_cast<std::uint32_t>(MER_STAT_REJECT_NO_BACKEND));
  EXPECT_EQ(events[0].saddr_be, Ip(kClient));
  EXPECT_EQ(events[0].daddr_be, Ip(kEmptyVip));
  EXPECT_EQ(ntohs(events[0].sport_be), 40001);
  EXPECT_EQ(events[1].reason, static_cast<std::uint32_t>(MER_STAT_REJECT_UNKNOWN_PORT));
  EXPECT_EQ(ntohs(events[1].dport_be), 81);
  EXPECT_EQ(events[2].reason, static_cast<std::uint32_t>(MER_STAT_DROP_TRUNCATED_L4));
  EXPECT_EQ(events[2].daddr_be, Ip(kVip));
  EXPECT_EQ(events[2].len, truncated.size());
  for (const auto& e : events) EXPECT_EQ(e.backend_id, 0u);
}

TEST_F(MonitorTest, OnlyTheKindsAskedForAreProduced) {
  EventCollector monitor(dp_->maps(), {.types = MER_EVENT_TYPE_BIT(MER_EVENT_DROP)});

  FromPod(Syn(40010));
  FromPod(Syn(40011, kEmptyVip));

  auto events = monitor.Take();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, static_cast<std::uint32_t>(MER_EVENT_DROP));
  EXPECT_EQ(CounterDelta()["monitor_events"], 1u);
}

TEST_F(MonitorTest, ALeaseThatRanOutOrEndedProducesNothing) {
  const std::uint32_t key = 0;
  // A monitor that died a second ago without detaching.
  mer_monitor_config stale{.until_ns = datapath::MonotonicNs() - 1'000'000'000,
                           .sample_every = 1,
                           .types = MER_EVENT_ALL_TYPES};
  ASSERT_EQ(bpf_map_update_elem(dp_->maps().monitor, &key, &stale, BPF_ANY), 0);
  FromPod(Syn(40020));
  EXPECT_EQ(CounterDelta().count("monitor_events"), 0u);

  {
    EventCollector monitor(dp_->maps());
    FromPod(Syn(40021));
    EXPECT_EQ(monitor.Take().size(), 1u);
    ASSERT_TRUE(monitor.session().Detach().ok());
    FromPod(Syn(40022));
    EXPECT_TRUE(monitor.Take().empty());
  }
  mer_monitor_config after{};
  ASSERT_EQ(bpf_map_lookup_elem(dp_->maps().monitor, &key, &after), 0);
  EXPECT_EQ(after.until_ns, 0u);
  EXPECT_EQ(CounterDelta()["monitor_events"], 1u);
  EXPECT_EQ(RingEvents(), 0);
}

TEST_F(MonitorTest, SamplingProducesAboutOneEventInN) {
  EventCollector monitor(dp_->maps(), {.sample_every = 10});
  std::size_t events = 0;
  for (std::uint32_t i = 0; i < 2000; ++i) {
    FromPod(Syn(static_cast<std::uint16_t>(42000 + i)));
    if (i % 500 == 499) events += monitor.Take().size();
  }
  // Binomial(2000, 0.1): mean 200, sd 13.4; 120..280 is six sd either side.
  EXPECT_GE(events, 120u);
  EXPECT_LE(events, 280u);
  auto delta = CounterDelta();
  EXPECT_EQ(delta["monitor_events"], events);
  EXPECT_EQ(delta["lb_new_flow"], 2000u);
}

TEST_F(MonitorTest, AFullRingCountsWhatItLostAndKeepsForwarding) {
  EventCollector monitor(dp_->maps());
  constexpr std::uint32_t kFlows = 5000;  // the ring holds 4096 events
  for (std::uint32_t i = 0; i < kFlows; ++i) {
    auto r = FromPod(Packet()
                         .Eth()
                         .Ipv4(kClient, kVip)
                         .Tcp(static_cast<std::uint16_t>(20000 + i), 80, 0x02)
                         .Build());
    ASSERT_EQ(r.verdict, TC_ACT_OK);
  }
  auto delta = CounterDelta();
  EXPECT_EQ(delta["lb_new_flow"], kFlows);
  EXPECT_EQ(delta["monitor_events"] + delta["monitor_lost"], kFlows);
  // 64 bytes an event with the ring's header: about 4096 fit.
  EXPECT_GE(delta["monitor_events"], 4000u);
  EXPECT_LE(delta["monitor_events"], MER_MONITOR_RING_BYTES / 64);
  EXPECT_EQ(monitor.Take().size(), delta["monitor_events"]);
}

}  // namespace
}  // namespace meridian::testing
