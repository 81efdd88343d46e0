#include "desired/desired_state.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "lb/maglev.h"
#include "mcs_fixtures.h"

namespace meridian::desired {
namespace {

using mcs::test_support::Cluster;
using mcs::test_support::Export;
using mcs::test_support::Ip;
using model::Protocol;

model::ExportedEndpoint Ep(const char* ip, bool ready = true) {
  return {.address = Ip(ip),
          .conditions = {ready, ready, false},
          .ports = {{"http", Protocol::kTcp, 8080}}};
}

model::ServiceImport WebImport(std::vector<model::ExportedService> exports) {
  model::ServiceImport imp;
  imp.key = {"shop", "web"};
  imp.ports = {{"http", Protocol::kTcp, 80}};
  imp.clusterset_ip = Ip("10.255.0.1");
  imp.exports = std::move(exports);
  return imp;
}

model::ResourceSnapshot TwoClusters() {
  model::ResourceSnapshot s;
  s.clusters = {Cluster("east", 1, "10.1.0.0/16", "172.16.1.11"),
                Cluster("west", 2, "10.2.0.0/16", "172.16.2.11")};
  return s;
}

std::vector<std::string> BackendText(const Frontend& fe) {
  std::vector<std::string> out;
  for (const auto& b : fe.backends) {
    out.push_back(b.key.ToString() + " c" + std::to_string(b.cluster_id) + " w" +
                  std::to_string(b.weight));
  }
  return out;
}

TEST(DesiredStateImportsTest, ClusterSetVipBalancesOverEveryExportingCluster) {
  auto east = Export("east", "web", 1);
  east.endpoints = {Ep("10.1.1.10"), Ep("10.1.1.11", false)};
  auto west = Export("west", "web", 2);
  west.endpoints = {Ep("10.2.1.10")};
  auto state = BuildDesiredState(TwoClusters(), {WebImport({east, west})},
                                 DesiredOptions{.local_cluster = "east"});
  ASSERT_TRUE(state.ok()) << state.error().message;
  ASSERT_EQ(state->frontends.size(), 1u);
  const auto& fe = state->frontends.begin()->second;
  EXPECT_EQ(fe.key.ToString(), "10.255.0.1:80/TCP");
  EXPECT_EQ(BackendText(fe),
            (std::vector<std::string>{"10.1.1.10:8080/TCP c1 w1", "10.2.1.10:8080/TCP c2 w1"}));
  EXPECT_FALSE(fe.maglev.empty());
  // The tunnel may deliver to what east exported, and only that.
  EXPECT_EQ(state->exported_endpoints,
            (std::set<BackendKey>{{Ip("10.1.1.10"), 8080, Protocol::kTcp},
                                  {Ip("10.1.1.11"), 8080, Protocol::kTcp}}));
}

TEST(DesiredStateImportsTest, ReusesMaglevTablesOfUnchangedFrontends) {
  auto east = Export("east", "web", 1);
  east.endpoints = {Ep("10.1.1.10"), Ep("10.1.1.11")};
  auto first = BuildDesiredState(TwoClusters(), {WebImport({east})}, DesiredOptions{});
  ASSERT_TRUE(first.ok());
  // A doctored previous table proves reuse: an unchanged frontend takes it.
  DesiredState previous = *first;
  auto& doctored = previous.frontends.begin()->second.maglev;
  doctored.assign(doctored.size(), 1);
  auto again =
      BuildDesiredState(TwoClusters(), {WebImport({east})}, DesiredOptions{.previous = &previous});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->frontends.begin()->second.maglev, doctored);
  // A changed backend set computes a fresh table.
  east.endpoints.push_back(Ep("10.1.1.12"));
  auto changed =
      BuildDesiredState(TwoClusters(), {WebImport({east})}, DesiredOptions{.previous = &previous});
  ASSERT_TRUE(changed.ok());
  const auto& table = changed->frontends.begin()->second.maglev;
  EXPECT_NE(table, doctored);
  EXPECT_EQ(std::set<std::uint32_t>(table.begin(), table.end()),
            (std::set<std::uint32_t>{0, 1, 2}));
}

// kube-proxy's terminating-endpoint rules (KEP-1669): a serving,
// terminating endpoint keeps its flows (weight 0) while another is ready,
// takes new flows when none is ready, and one that no longer serves is
// never used.
TEST(DesiredStateImportsTest, TerminatingEndpointsTakeNewFlowsOnlyWhenNoneIsReady) {
  auto terminating = [](const char* ip, bool serving) {
    auto ep = Ep(ip);
    ep.conditions = {.ready = false, .serving = serving, .terminating = true};
    return ep;
  };
  auto east = Export("east", "web", 1);
  east.endpoints = {Ep("10.1.1.10"), terminating("10.1.1.11", true),
                    terminating("10.1.1.12", false)};
  auto state = BuildDesiredState(TwoClusters(), {WebImport({east})}, DesiredOptions{});
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(BackendText(state->frontends.begin()->second),
            (std::vector<std::string>{"10.1.1.10:8080/TCP c1 w1", "10.1.1.11:8080/TCP c1 w0"}));

  east.endpoints = {terminating("10.1.1.11", true), terminating("10.1.1.12", false),
                    Ep("10.1.1.13", false)};
  state = BuildDesiredState(TwoClusters(), {WebImport({east})}, DesiredOptions{});
  ASSERT_TRUE(state.ok()) << state.error().message;
  const auto& fe = state->frontends.begin()->second;
  EXPECT_EQ(BackendText(fe), (std::vector<std::string>{"10.1.1.11:8080/TCP c1 w1"}));
  EXPECT_TRUE(fe.backends[0].terminating);
}

TEST(DesiredStateImportsTest, UnallocatedAndHeadlessImportsGetNoFrontend) {
  auto imp = WebImport({Export("east", "web", 1)});
  imp.clusterset_ip.reset();
  auto headless = WebImport({Export("east", "db", 1)});
  headless.key = {"shop", "db"};
  headless.type = model::ImportType::kHeadless;
  auto state = BuildDesiredState(TwoClusters(), {imp, headless}, DesiredOptions{});
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->frontends.empty());
}

// A global Service: the local ClusterIP, with remote endpoints by affinity.
class GlobalServiceTest
    : public testing::TestWithParam<std::tuple<std::string, bool, std::vector<std::string>>> {};

TEST_P(GlobalServiceTest, AffinityPicksEndpoints) {
  auto [affinity, local_ready, want] = GetParam();
  auto snap = TwoClusters();
  model::Service svc;
  svc.meta.key = {"shop", "web"};
  svc.global = true;
  svc.global_affinity = affinity == "remote" ? model::GlobalAffinity::kRemote
                        : affinity == "none" ? model::GlobalAffinity::kNone
                                             : model::GlobalAffinity::kLocal;  // "" too
  svc.cluster_ip = Ip("10.96.0.10");
  svc.ports = {{.name = "http", .protocol = Protocol::kTcp, .port = 80}};
  snap.services.push_back(svc);
  model::EndpointSlice slice;
  slice.meta.key = {"shop", "web-1"};
  slice.service_name = "web";
  slice.ports = {{"http", Protocol::kTcp, 8080}};
  model::Endpoint ep;
  ep.addresses = {Ip("10.1.1.10")};
  ep.conditions.ready = local_ready;
  ep.conditions.serving = local_ready;
  slice.endpoints = {ep};
  snap.endpoint_slices.push_back(slice);
  auto west = Export("west", "web", 2);
  west.endpoints = {Ep("10.2.1.10")};
  auto east = Export("east", "web", 1);
  east.endpoints = {Ep("10.1.1.10")};
  auto state =
      BuildDesiredState(snap, {WebImport({east, west})}, DesiredOptions{.local_cluster = "east"});
  ASSERT_TRUE(state.ok()) << state.error().message;
  auto fe = state->frontends.find({Ip("10.96.0.10"), 80, Protocol::kTcp});
  ASSERT_NE(fe, state->frontends.end());
  EXPECT_EQ(BackendText(fe->second), want);
}

INSTANTIATE_TEST_SUITE_P(
    Affinities, GlobalServiceTest,
    testing::Values(
        std::make_tuple("local", true, std::vector<std::string>{"10.1.1.10:8080/TCP c0 w1"}),
        std::make_tuple("local", false, std::vector<std::string>{"10.2.1.10:8080/TCP c2 w1"}),
        std::make_tuple("", true, std::vector<std::string>{"10.1.1.10:8080/TCP c0 w1"}),
        std::make_tuple("remote", true, std::vector<std::string>{"10.2.1.10:8080/TCP c2 w1"}),
        std::make_tuple("none", true,
                        std::vector<std::string>{"10.1.1.10:8080/TCP c0 w1",
                                                 "10.2.1.10:8080/TCP c2 w1"})));

TEST(DesiredStateImportsTest, ServiceWithoutGlobalAnnotationIgnoresImports) {
  auto snap = TwoClusters();
  model::Service svc;
  svc.meta.key = {"shop", "web"};
  svc.cluster_ip = Ip("10.96.0.10");
  svc.ports = {{.name = "http", .protocol = Protocol::kTcp, .port = 80}};
  snap.services.push_back(svc);
  auto west = Export("west", "web", 2);
  west.endpoints = {Ep("10.2.1.10")};
  auto state =
      BuildDesiredState(snap, {WebImport({west})}, DesiredOptions{.local_cluster = "east"});
  ASSERT_TRUE(state.ok());
  auto fe = state->frontends.find({Ip("10.96.0.10"), 80, Protocol::kTcp});
  ASSERT_NE(fe, state->frontends.end());
  EXPECT_TRUE(fe->second.backends.empty());  // cluster.local unchanged by default
}

}  // namespace
}  // namespace meridian::desired

namespace meridian::desired {
namespace {

// `count` Services s0000.. with VIP 10.96.x.y and `backends(i)` endpoints each.
model::ResourceSnapshot ManyServices(int count, int (*backends)(int)) {
  model::ResourceSnapshot s;
  for (int i = 0; i < count; ++i) {
    const std::string name = fmt::format("s{:04}", i);
    model::Service svc;
    svc.meta.key = {"default", name};
    svc.cluster_ip = Ip(fmt::format("10.96.{}.{}", i / 250, i % 250 + 1).c_str());
    svc.ports = {{.name = "http", .protocol = Protocol::kTcp, .port = 80}};
    s.services.push_back(svc);
    model::EndpointSlice slice;
    slice.meta.key = {"default", name + "-1"};
    slice.service_name = name;
    slice.ports = {{.name = "http", .protocol = Protocol::kTcp, .port = 8080}};
    for (int b = 0; b < backends(i); ++b) {
      slice.endpoints.push_back(
          {.addresses = {Ip(fmt::format("10.1.{}.{}", i / 250, b + 1).c_str())}});
    }
    s.endpoint_slices.push_back(slice);
  }
  return s;
}

// Thousands of tables are built on several threads: each must be exactly
// the table BuildMaglevTable gives for its backends alone.
TEST(DesiredStateMaglevTest, ParallelBuildGivesEachFrontendItsOwnTable) {
  auto snapshot = ManyServices(1500, [](int i) { return 1 + i % 7; });
  auto state = BuildDesiredState(snapshot, {}, DesiredOptions{});
  ASSERT_TRUE(state.ok()) << state.error().message;
  ASSERT_EQ(state->frontends.size(), 1500U);
  for (const auto& [key, fe] : state->frontends) {
    std::vector<lb::MaglevBackend> mb;
    for (const auto& b : fe.backends) mb.push_back({b.key.ToString(), b.weight});
    auto want = lb::BuildMaglevTable(mb, lb::MaglevConfig{});
    ASSERT_TRUE(want.ok());
    ASSERT_EQ(fe.maglev, *want) << key.ToString();
  }
}

// The error is the first failing frontend in build order, whichever thread
// found it.
TEST(DesiredStateMaglevTest, ParallelBuildReportsTheFirstFailureInOrder) {
  auto snapshot = ManyServices(1500, [](int i) { return i == 700 || i == 1400 ? 10 : 3; });
  DesiredOptions options;
  options.maglev = {.slots_per_backend = 1, .min_table_size = 5, .max_table_size = 7};
  auto state = BuildDesiredState(snapshot, {}, options);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.error().message,
            "Service default/s0700 port 10.96.2.201:80/TCP: 10 Maglev backends with positive "
            "weight do not fit a table of 7 slots");
}

}  // namespace
}  // namespace meridian::desired

namespace meridian::desired {
namespace {

// One Service, 4 endpoints: two on node n1 (zone a), one on n2 (zone b),
// one on n3 (zone c), each hinted for its own zone.
model::ResourceSnapshot Zoned() {
  model::ResourceSnapshot s;
  model::Service svc;
  svc.meta.key = {"default", "web"};
  svc.cluster_ip = model::Ipv4Address::Parse("10.96.0.10");
  svc.ports = {{.name = "http", .protocol = model::Protocol::kTcp, .port = 80}};
  s.services.push_back(svc);
  model::EndpointSlice sl;
  sl.meta.key = {"default", "web-1"};
  sl.service_name = "web";
  sl.ports = {{"http", model::Protocol::kTcp, 8080}};
  const std::vector<std::tuple<const char*, const char*, const char*>> eps = {
      {"10.1.1.1", "n1", "a"},
      {"10.1.1.2", "n1", "a"},
      {"10.1.2.1", "n2", "b"},
      {"10.1.3.1", "n3", "c"}};
  for (const auto& [ip, node, zone] : eps) {
    model::Endpoint ep;
    ep.addresses = {*model::Ipv4Address::Parse(ip)};
    ep.node_name = node;
    ep.zone = zone;
    ep.zone_hints = {zone};
    sl.endpoints.push_back(ep);
  }
  s.endpoint_slices.push_back(sl);
  return s;
}

std::vector<std::string> Addresses(const DesiredState& state) {
  std::vector<std::string> out;
  for (const auto& b : state.frontends.begin()->second.backends) {
    if (b.weight > 0) out.push_back(b.key.address.ToString());
  }
  return out;
}

DesiredState Build(const model::ResourceSnapshot& s, const std::string& node,
                   const std::string& zone) {
  auto state = BuildDesiredState(s, DesiredOptions{.node_name = node, .node_zone = zone});
  EXPECT_TRUE(state.ok()) << state.error().message;
  return *state;
}

// internalTrafficPolicy Local: this node's endpoints only; none here (or
// no node name): no backend, and the frontend drops instead of refusing.
TEST(DesiredStateNodeViewTest, InternalTrafficPolicyLocalKeepsThisNodesEndpoints) {
  auto s = Zoned();
  s.services[0].internal_traffic_policy = model::TrafficPolicy::kLocal;
  EXPECT_EQ(Addresses(Build(s, "n1", "")), (std::vector<std::string>{"10.1.1.1", "10.1.1.2"}));
  EXPECT_EQ(Addresses(Build(s, "n2", "")), (std::vector<std::string>{"10.1.2.1"}));
  auto none = Build(s, "n9", "");
  EXPECT_TRUE(Addresses(none).empty());
  EXPECT_TRUE(none.frontends.begin()->second.drop_without_backends);
  EXPECT_TRUE(Addresses(Build(s, "", "")).empty());
  // Cluster (the default): every endpoint, and refused when none.
  auto cluster = Build(Zoned(), "n9", "");
  EXPECT_EQ(Addresses(cluster).size(), 4u);
  EXPECT_FALSE(cluster.frontends.begin()->second.drop_without_backends);
}

// Topology hints, under kube-proxy's conditions.
TEST(DesiredStateNodeViewTest, PreferCloseUsesZoneHintsOnlyWhenTheyAreComplete) {
  auto s = Zoned();
  s.services[0].prefer_close = true;
  EXPECT_EQ(Addresses(Build(s, "n1", "a")), (std::vector<std::string>{"10.1.1.1", "10.1.1.2"}));
  EXPECT_EQ(Addresses(Build(s, "n3", "c")), (std::vector<std::string>{"10.1.3.1"}));
  // A zone no endpoint is hinted for: every endpoint.
  EXPECT_EQ(Addresses(Build(s, "n4", "d")).size(), 4u);
  // This node's zone unknown: every endpoint.
  EXPECT_EQ(Addresses(Build(s, "n1", "")).size(), 4u);
  // One ready endpoint without hints: hints are off for everyone.
  auto partial = s;
  partial.endpoint_slices[0].endpoints[3].zone_hints.clear();
  EXPECT_EQ(Addresses(Build(partial, "n1", "a")).size(), 4u);
  // ... but an unready one without hints does not count.
  partial.endpoint_slices[0].endpoints[3].conditions = {false, false, false};
  EXPECT_EQ(Addresses(Build(partial, "n1", "a")),
            (std::vector<std::string>{"10.1.1.1", "10.1.1.2"}));
  // Without PreferClose the hints are ignored.
  EXPECT_EQ(Addresses(Build(Zoned(), "n1", "a")).size(), 4u);
}

// Filtering is this node's view only: an exported Service's endpoints
// stay reachable through the tunnel whatever this node's pods may use.
TEST(DesiredStateNodeViewTest, ExportedEndpointsAreNotFilteredByTheNodeView) {
  auto s = Zoned();
  s.services[0].internal_traffic_policy = model::TrafficPolicy::kLocal;
  model::ServiceExport exp;
  exp.meta.key = {"default", "web"};
  s.service_exports.push_back(exp);
  s.clusters = {mcs::test_support::Cluster("east", 1, "10.1.0.0/16", "172.16.1.11")};
  auto state = BuildDesiredState(s, DesiredOptions{.local_cluster = "east", .node_name = "n1"});
  ASSERT_TRUE(state.ok()) << state.error().message;
  EXPECT_EQ(Addresses(*state).size(), 2u);
  EXPECT_EQ(state->exported_endpoints.size(), 4u);
}

}  // namespace
}  // namespace meridian::desired
