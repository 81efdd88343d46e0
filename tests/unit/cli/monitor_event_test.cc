// How meridianctl monitor shows and filters events (cli/monitor_event.h).
#include "cli/monitor_event.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace meridian::cli {
namespace {

std::uint32_t Ip(const char* text) { return inet_addr(text); }

mer_event Flow() {
  mer_event e{};
  e.ts_ns = 1'500'000;  // 1.5 ms after the epoch with offset 0
  e.type = MER_EVENT_FLOW;
  e.reason = MER_STAT_LB_NEW_FLOW;
  e.saddr_be = Ip("10.1.1.100");
  e.daddr_be = Ip("10.96.0.10");
  e.sport_be = htons(40000);
  e.dport_be = htons(80);
  e.proto = IPPROTO_TCP;
  e.service_id = 3;
  e.backend_id = 7;
  e.backend_addr_be = Ip("10.2.1.11");
  e.backend_port_be = htons(8080);
  e.cluster_id = 2;
  e.ct_flags = MER_CT_F_NODEPORT;
  e.len = 74;
  return e;
}

TEST(MonitorEvent, FlowAsJsonAndAsALine) {
  const auto j = EventJson(Flow(), 0);
  EXPECT_EQ(j.dump(), R"({"backend":"10.2.1.11:8080","backend_id":7,"bytes":74,"cluster_id":2,)"
                      R"("destination":"10.96.0.10:80","flags":["nodeport"],"proto":"TCP",)"
                      R"("reason":"lb_new_flow","service_id":3,"source":"10.1.1.100:40000",)"
                      R"("time":"1970-01-01T00:00:00.001500Z","type":"flow"})");
  EXPECT_EQ(EventLine(Flow(), 0),
            "00:00:00.001500 flow   lb_new_flow              TCP  10.1.1.100:40000 -> "
            "10.96.0.10:80 => 10.2.1.11:8080 (service 3, backend 7, cluster 2) [nodeport]");
}

TEST(MonitorEvent, TunnelAndDropShowWhatTheyCarry) {
  mer_event t{};
  t.type = MER_EVENT_TUNNEL;
  t.reason = MER_STAT_DECAP;
  t.dir = MER_TUNNEL_RX;
  t.cluster_id = 2;
  t.proto = IPPROTO_ICMP;
  t.saddr_be = Ip("10.2.1.50");
  t.daddr_be = Ip("10.1.1.11");
  const auto j = EventJson(t, 0);
  EXPECT_EQ(j["direction"], "rx");
  EXPECT_EQ(j["cluster_id"], 2);
  EXPECT_EQ(j["source"], "10.2.1.50");  // no ports for ICMP
  EXPECT_FALSE(j.contains("backend"));
  EXPECT_NE(EventLine(t, 0).find("tunnel decap"), std::string::npos);
  EXPECT_NE(EventLine(t, 0).find("from cluster 2"), std::string::npos);

  mer_event d{};
  d.type = MER_EVENT_DROP;
  d.reason = MER_STAT_DROP_CT_FULL;
  EXPECT_EQ(EventJson(d, 0)["reason"], "drop_ct_full");
  EXPECT_EQ(EventJson(d, 0)["type"], "drop");
}

TEST(MonitorEvent, FiltersByFrontendPodAndVerdict) {
  const mer_event e = Flow();
  auto match = [&](const char* service, const char* pod, const char* verdict) {
    auto f = ParseEventFilter(service, pod, verdict);
    EXPECT_TRUE(f.ok()) << f.error().message;
    return f.ok() && Matches(*f, e);
  };
  EXPECT_TRUE(match("", "", ""));
  EXPECT_TRUE(match("10.96.0.10", "", ""));
  EXPECT_TRUE(match("10.96.0.10:80", "", ""));
  EXPECT_FALSE(match("10.96.0.10:81", "", ""));
  EXPECT_FALSE(match("10.96.0.11", "", ""));
  EXPECT_TRUE(match("", "10.1.1.100", ""));  // the client
  EXPECT_TRUE(match("", "10.2.1.11", ""));   // the backend
  EXPECT_FALSE(match("", "10.2.1.12", ""));
  EXPECT_TRUE(match("", "", "lb_new_flow"));
  EXPECT_FALSE(match("", "", "drop_ct_full"));
}

// With the agent's frontends (GET /frontends), events name their Service
// and --service takes NAMESPACE/NAME: every frontend of it.
TEST(MonitorEvent, ServiceNamesFromTheAgentsFrontends) {
  auto names = FrontendNames::Parse(
      R"([{"id":3,"address":"10.96.0.10","port":80,"protocol":"TCP","service":"default/web"},)"
      R"({"id":4,"address":"10.96.0.10","port":53,"protocol":"UDP","service":"default/web"},)"
      R"({"id":5,"address":"10.96.0.20","port":80,"protocol":"TCP","service":"default/other"}])");
  ASSERT_TRUE(names.ok()) << names.error().message;
  EXPECT_EQ(EventLine(Flow(), 0, &*names),
            "00:00:00.001500 flow   lb_new_flow              TCP  10.1.1.100:40000 -> "
            "10.96.0.10:80 => 10.2.1.11:8080 (service 3 default/web, backend 7, cluster 2) "
            "[nodeport]");
  EXPECT_EQ(EventJson(Flow(), 0, &*names)["service"], "default/web");
  EXPECT_FALSE(EventJson(Flow(), 0).contains("service")) << "no names: ids only";

  // A drop is named by its destination: 10.96.0.10:53/UDP is default/web's.
  mer_event d{};
  d.type = MER_EVENT_DROP;
  d.reason = MER_STAT_REJECT_NO_BACKEND;
  d.proto = IPPROTO_UDP;
  d.daddr_be = Ip("10.96.0.10");
  d.dport_be = htons(53);
  EXPECT_TRUE(EventLine(d, 0, &*names).ends_with("10.96.0.10:53 (service default/web)"))
      << EventLine(d, 0, &*names);
  mer_event other_port = d;
  other_port.dport_be = htons(54);
  EXPECT_FALSE(EventJson(other_port, 0, &*names).contains("service"));

  auto by_name = ParseEventFilter("default/web", "", "", &*names);
  ASSERT_TRUE(by_name.ok()) << by_name.error().message;
  EXPECT_EQ(by_name->services.size(), 2u);
  EXPECT_TRUE(Matches(*by_name, Flow()));
  EXPECT_TRUE(Matches(*by_name, d));
  EXPECT_FALSE(Matches(*by_name, other_port));
  mer_event to_other = Flow();
  to_other.daddr_be = Ip("10.96.0.20");
  EXPECT_FALSE(Matches(*by_name, to_other));

  EXPECT_EQ(ParseEventFilter("default/none", "", "", &*names).error().message,
            "--service default/none: no frontend of that Service is installed on this node "
            "(meridianctl services lists them)");
  EXPECT_EQ(ParseEventFilter("default/web", "", "").error().message,
            "--service default/web: a Service name needs the agent's frontends, and the agent "
            "did not answer on its control socket; give the frontend as VIP or VIP:PORT");
}

TEST(MonitorEvent, BadFlagsAreNamed) {
  EXPECT_EQ(ParseEventFilter("10.96.0", "", "").error().message,
            "--service 10.96.0: expected VIP, VIP:PORT or NAMESPACE/NAME");
  EXPECT_EQ(ParseEventFilter("10.96.0.10:0", "", "").error().message,
            "--service 10.96.0.10:0: port must be 1-65535");
  EXPECT_EQ(ParseEventFilter("", "pod-a", "").error().message,
            "--pod pod-a: expected an IPv4 address");
  EXPECT_NE(ParseEventFilter("", "", "drop_everything")
                .error()
                .message.find("--verdict drop_everything: not a counter name"),
            std::string::npos);
  EXPECT_EQ(EventTypeMask({"flow", "drops"}).error().message,
            "--type drops: not flow, drop or tunnel");
  EXPECT_EQ(*EventTypeMask({"drop"}), MER_EVENT_TYPE_BIT(MER_EVENT_DROP));
  EXPECT_EQ(*EventTypeMask({}), static_cast<std::uint32_t>(MER_EVENT_ALL_TYPES));
}

}  // namespace
}  // namespace meridian::cli
