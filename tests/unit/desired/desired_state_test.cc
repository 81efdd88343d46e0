#include "desired/desired_state.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "desired/node_port_clashes.h"
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

// A decision weights the ClusterSet VIP: each cluster's share of Maglev
// slots is its share of replicas, whatever its endpoint count.
TEST(DesiredStateImportsTest, DecisionWeightsSplitTheClusterSetVipByReplicas) {
  auto snap = TwoClusters();
  snap.clusters.push_back(Cluster("north", 3, "10.3.0.0/16", "172.16.3.11"));
  auto east = Export("east", "web", 1);
  east.endpoints = {Ep("10.1.1.10"), Ep("10.1.1.11")};
  auto west = Export("west", "web", 2);
  west.endpoints = {Ep("10.2.1.10")};
  auto north = Export("north", "web", 3);
  north.endpoints = {Ep("10.3.1.10"), Ep("10.3.1.11"), Ep("10.3.1.12", false)};
  auto imp = WebImport({east, west, north});
  imp.decision =
      model::PropagationDecision{.service = {"shop", "web"},
                                 .replicas_per_cluster = {{"east", 6}, {"west", 3}, {"north", 1}},
                                 .generation = 4};
  auto state = BuildDesiredState(snap, {imp}, DesiredOptions{.local_cluster = "east"});
  ASSERT_TRUE(state.ok()) << state.error().message;
  const auto& fe = state->frontends.begin()->second;
  EXPECT_EQ(fe.decision_generation, 4);
  EXPECT_EQ(BackendText(fe),
            (std::vector<std::string>{"10.1.1.10:8080/TCP c1 w6", "10.1.1.11:8080/TCP c1 w6",
                                      "10.2.1.10:8080/TCP c2 w6", "10.3.1.10:8080/TCP c3 w1",
                                      "10.3.1.11:8080/TCP c3 w1"}));
  std::map<std::uint32_t, double> share;
  for (auto slot : fe.maglev) share[fe.backends[slot].cluster_id] += 1.0 / fe.maglev.size();
  EXPECT_NEAR(share[1], 0.6, 0.005);
  EXPECT_NEAR(share[2], 0.3, 0.005);
  EXPECT_NEAR(share[3], 0.1, 0.005);

  // Without the decision: one slot share per endpoint (2/5, 1/5, 2/5).
  imp.decision.reset();
  auto equal = BuildDesiredState(snap, {imp}, DesiredOptions{.local_cluster = "east"});
  ASSERT_TRUE(equal.ok());
  EXPECT_FALSE(equal->frontends.begin()->second.decision_generation.has_value());
  for (const auto& b : equal->frontends.begin()->second.backends) EXPECT_EQ(b.weight, 1u);
}

// A decision that places nothing where endpoints are ready does not
// refuse traffic: endpoints decide.
TEST(DesiredStateImportsTest, DecisionWithNoReplicaWhereEndpointsAreIsNotApplied) {
  auto west = Export("west", "web", 2);
  west.endpoints = {Ep("10.2.1.10")};
  auto imp = WebImport({west});
  imp.decision =
      model::PropagationDecision{.service = {"shop", "web"}, .replicas_per_cluster = {{"east", 3}}};
  auto state = BuildDesiredState(TwoClusters(), {imp}, DesiredOptions{.local_cluster = "east"});
  ASSERT_TRUE(state.ok());
  const auto& fe = state->frontends.begin()->second;
  EXPECT_FALSE(fe.decision_generation.has_value());
  EXPECT_EQ(BackendText(fe), (std::vector<std::string>{"10.2.1.10:8080/TCP c2 w1"}));
}

// SCTP ports are decoded and exported but get no frontend: the datapath
// passes SCTP untouched (docs/services.md, "SCTP").
TEST(DesiredStateImportsTest, SctpPortsGetNoFrontend) {
  auto west =
      Export("west", "web", 2, {{"http", Protocol::kTcp, 80}, {"sig", Protocol::kSctp, 80}});
  west.endpoints = {Ep("10.2.1.10")};
  auto imp = WebImport({west});
  imp.ports = west.ports;
  model::ResourceSnapshot snap = TwoClusters();
  model::Service svc;
  svc.meta.key = {"shop", "db"};
  svc.cluster_ip = Ip("10.96.0.20");
  svc.ports = {{.name = "sig", .protocol = Protocol::kSctp, .port = 3868}};
  snap.services.push_back(svc);
  auto state = BuildDesiredState(snap, {imp}, DesiredOptions{.local_cluster = "east"});
  ASSERT_TRUE(state.ok()) << state.error().message;
  ASSERT_EQ(state->frontends.size(), 1u);
  EXPECT_EQ(state->frontends.begin()->first.ToString(), "10.255.0.1:80/TCP");
}

TEST(DesiredStateImportsTest, ReusesMaglevTablesOfUnchangedFrontends) {
  auto east = Export("east", "web", 1);
  east.endpoints = {Ep("10.1.1.10"), Ep("10.1.1.11")};
  auto first = BuildDesiredState(TwoClusters(), {WebImport({east})}, DesiredOptions{});
  ASSERT_TRUE(first.ok());
  // A doctored previous table proves reuse: an unchanged frontend takes it.
  DesiredState previous = *first;
  auto& doctored = previous.frontends.begin()->second.maglev;
  doctored = SharedTable(std::vector<std::uint32_t>(doctored.size(), 1));
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

// A global Service with affinity none: the decision weights its local
// endpoints (cluster id 0: this cluster's name) against the remote ones;
// with affinity local, the local endpoints take everything as before.
TEST(GlobalServiceDecisionTest, DecisionWeightsWhatTheAffinityChose) {
  for (auto affinity : {model::GlobalAffinity::kNone, model::GlobalAffinity::kLocal}) {
    auto snap = TwoClusters();
    model::Service svc;
    svc.meta.key = {"shop", "web"};
    svc.global = true;
    svc.global_affinity = affinity;
    svc.cluster_ip = Ip("10.96.0.10");
    svc.ports = {{.name = "http", .protocol = Protocol::kTcp, .port = 80}};
    snap.services.push_back(svc);
    model::EndpointSlice slice;
    slice.meta.key = {"shop", "web-1"};
    slice.service_name = "web";
    slice.ports = {{"http", Protocol::kTcp, 8080}};
    model::Endpoint ep;
    ep.addresses = {Ip("10.1.1.10")};
    slice.endpoints = {ep};
    snap.endpoint_slices.push_back(slice);
    auto west = Export("west", "web", 2);
    west.endpoints = {Ep("10.2.1.10")};
    auto imp = WebImport({west});
    imp.decision = model::PropagationDecision{.service = {"shop", "web"},
                                              .replicas_per_cluster = {{"east", 1}, {"west", 4}},
                                              .generation = 9};
    auto state = BuildDesiredState(snap, {imp}, DesiredOptions{.local_cluster = "east"});
    ASSERT_TRUE(state.ok()) << state.error().message;
    const auto& fe = state->frontends.at({Ip("10.96.0.10"), 80, Protocol::kTcp});
    if (affinity == model::GlobalAffinity::kNone) {
      EXPECT_EQ(BackendText(fe),
                (std::vector<std::string>{"10.1.1.10:8080/TCP c0 w1", "10.2.1.10:8080/TCP c2 w4"}));
    } else {
      EXPECT_EQ(BackendText(fe), (std::vector<std::string>{"10.1.1.10:8080/TCP c0 w1"}));
    }
    EXPECT_EQ(fe.decision_generation, 9);
  }
}

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

namespace meridian::desired {
namespace {

using mcs::test_support::Ip;
using model::Protocol;

// A LoadBalancer Service shop/edge (ClusterIP 10.96.0.10) with two ports,
// an externalIP and an ingress IP; endpoints on n1 (one ready, one
// terminating but serving) and n2 (ready).
model::ResourceSnapshot Edge() {
  model::ResourceSnapshot s;
  model::Service svc;
  svc.meta.key = {"shop", "edge"};
  svc.type = model::ServiceType::kLoadBalancer;
  svc.cluster_ip = Ip("10.96.0.10");
  svc.ports = {{.name = "http", .protocol = Protocol::kTcp, .port = 80, .node_port = 30080},
               {.name = "dns", .protocol = Protocol::kUdp, .port = 53, .node_port = 30053}};
  svc.session_affinity_timeout_s = 600;
  svc.external_ips = {Ip("198.51.100.7")};
  svc.load_balancer_ips = {Ip("203.0.113.7")};
  s.services.push_back(svc);
  model::EndpointSlice sl;
  sl.meta.key = {"shop", "edge-1"};
  sl.service_name = "edge";
  sl.ports = {{"http", Protocol::kTcp, 8080}, {"dns", Protocol::kUdp, 5353}};
  const std::vector<std::tuple<const char*, const char*, model::EndpointConditions>> eps = {
      {"10.1.1.1", "n1", {true, true, false}},
      {"10.1.1.2", "n1", {false, true, true}},
      {"10.1.2.1", "n2", {true, true, false}}};
  for (const auto& [ip, node, cond] : eps) {
    model::Endpoint ep;
    ep.addresses = {Ip(ip)};
    ep.node_name = node;
    ep.conditions = cond;
    sl.endpoints.push_back(ep);
  }
  s.endpoint_slices.push_back(sl);
  return s;
}

DesiredOptions EdgeOptions(const std::string& node = "n1") {
  return DesiredOptions{.node_name = node,
                        .nodeport_addresses = {Ip("192.168.1.10"), Ip("10.0.0.10")}};
}

DesiredState BuildOk(const model::ResourceSnapshot& s, const DesiredOptions& options,
                     const std::vector<model::ServiceImport>& imports = {}) {
  auto state = BuildDesiredState(s, imports, options);
  EXPECT_TRUE(state.ok()) << state.error().message;
  return state.ok() ? *state : DesiredState{};
}

// Every frontend, "key" or "key external".
std::vector<std::string> Keys(const DesiredState& state) {
  std::vector<std::string> out;
  for (const auto& [key, fe] : state.frontends)
    out.push_back(key.ToString() + (fe.external ? " external" : ""));
  return out;
}

const Frontend& At(const DesiredState& state, const char* vip, std::uint16_t port,
                   Protocol protocol = Protocol::kTcp) {
  static const Frontend kMissing;
  auto it = state.frontends.find({Ip(vip), port, protocol});
  EXPECT_NE(it, state.frontends.end()) << vip << ":" << port;
  return it == state.frontends.end() ? kMissing : it->second;
}

TEST(DesiredStateExternalTest, NodePortsExternalIpsAndIngressIpsGetExternalFrontends) {
  auto state = BuildOk(Edge(), EdgeOptions());
  EXPECT_EQ(Keys(state), (std::vector<std::string>{
                             "10.0.0.10:30053/UDP external",
                             "10.0.0.10:30080/TCP external",
                             "10.96.0.10:53/UDP",
                             "10.96.0.10:80/TCP",
                             "192.168.1.10:30053/UDP external",
                             "192.168.1.10:30080/TCP external",
                             "198.51.100.7:53/UDP external",
                             "198.51.100.7:80/TCP external",
                             "203.0.113.7:53/UDP external",
                             "203.0.113.7:80/TCP external",
                         }));
  // Each is its port's ClusterIP frontend but for the key and the flag.
  for (const auto& [key, fe] : state.frontends) {
    SCOPED_TRACE(key.ToString());
    const Frontend& vip = At(state, "10.96.0.10", fe.port_name == "http" ? 80 : 53,
                             fe.port_name == "http" ? Protocol::kTcp : Protocol::kUdp);
    EXPECT_EQ(fe.service, (model::ObjectKey{"shop", "edge"}));
    EXPECT_EQ(fe.backends, vip.backends);
    EXPECT_EQ(fe.maglev, vip.maglev);
    EXPECT_EQ(fe.affinity_timeout_s, 600u);
    EXPECT_FALSE(fe.drop_without_backends);
  }
  EXPECT_EQ(BackendText(At(state, "192.168.1.10", 30080)),
            (std::vector<std::string>{"10.1.1.1:8080/TCP c0 w1", "10.1.1.2:8080/TCP c0 w0",
                                      "10.1.2.1:8080/TCP c0 w1"}));
  // The VIP markers: the ClusterIP only.
  EXPECT_EQ(state.Vips(), std::set<model::Ipv4Address>{Ip("10.96.0.10")});
}

TEST(DesiredStateExternalTest, WhichTypesGetWhichFrontends) {
  auto type = [](model::ServiceType t) {
    auto s = Edge();
    s.services[0].type = t;
    return Keys(BuildOk(s, EdgeOptions()));
  };
  // NodePort: no ingress IPs (a stale status is not served).
  EXPECT_EQ(
      type(model::ServiceType::kNodePort),
      (std::vector<std::string>{
          "10.0.0.10:30053/UDP external", "10.0.0.10:30080/TCP external", "10.96.0.10:53/UDP",
          "10.96.0.10:80/TCP", "192.168.1.10:30053/UDP external", "192.168.1.10:30080/TCP external",
          "198.51.100.7:53/UDP external", "198.51.100.7:80/TCP external"}));
  // ClusterIP: externalIPs only, even with nodePorts in the model.
  EXPECT_EQ(
      type(model::ServiceType::kClusterIP),
      (std::vector<std::string>{"10.96.0.10:53/UDP", "10.96.0.10:80/TCP",
                                "198.51.100.7:53/UDP external", "198.51.100.7:80/TCP external"}));
  // Headless: nothing to proxy.
  auto headless = Edge();
  headless.services[0].cluster_ip.reset();
  EXPECT_TRUE(BuildOk(headless, EdgeOptions()).frontends.empty());
  // No node address given: no NodePort frontends.
  auto state = BuildOk(Edge(), DesiredOptions{.node_name = "n1"});
  EXPECT_EQ(Keys(state), (std::vector<std::string>{
                             "10.96.0.10:53/UDP", "10.96.0.10:80/TCP",
                             "198.51.100.7:53/UDP external", "198.51.100.7:80/TCP external",
                             "203.0.113.7:53/UDP external", "203.0.113.7:80/TCP external"}));
}

// --nodeport-range, bounds included.
TEST(DesiredStateExternalTest, NodePortsOutsideTheRangeAreNotServed) {
  auto nodeports = [](std::uint16_t http, std::uint16_t dns, std::uint16_t min, std::uint16_t max) {
    auto s = Edge();
    s.services[0].external_ips.clear();
    s.services[0].load_balancer_ips.clear();
    s.services[0].ports[0].node_port = http;
    s.services[0].ports[1].node_port = dns;
    auto options = DesiredOptions{.nodeport_addresses = {Ip("192.168.1.10")}};
    if (min) options.nodeport_min = min;
    if (max) options.nodeport_max = max;
    std::vector<std::string> out;
    for (const auto& [key, fe] : BuildOk(s, options).frontends) {
      if (fe.external) out.push_back(key.ToString());
    }
    return out;
  };
  EXPECT_EQ(nodeports(30000, 32767, 0, 0),
            (std::vector<std::string>{"192.168.1.10:30000/TCP", "192.168.1.10:32767/UDP"}));
  EXPECT_EQ(nodeports(29999, 32768, 0, 0), std::vector<std::string>{});
  EXPECT_EQ(nodeports(30080, 8053, 8000, 9000), std::vector<std::string>{"192.168.1.10:8053/UDP"});
  EXPECT_EQ(nodeports(30080, 30053, 30053, 30053),
            std::vector<std::string>{"192.168.1.10:30053/UDP"});
}

// externalTrafficPolicy Local: this node's endpoints only, the terminating
// rules applied among them; none here (or no node name): dropped.
TEST(DesiredStateExternalTest, ExternalTrafficPolicyLocalKeepsThisNodesEndpoints) {
  auto s = Edge();
  s.services[0].external_traffic_policy = model::TrafficPolicy::kLocal;
  auto n1 = BuildOk(s, EdgeOptions("n1"));
  for (const char* addr : {"192.168.1.10", "10.0.0.10"}) {
    const Frontend& fe = At(n1, addr, 30080);
    EXPECT_EQ(BackendText(fe),
              (std::vector<std::string>{"10.1.1.1:8080/TCP c0 w1", "10.1.1.2:8080/TCP c0 w0"}));
    EXPECT_TRUE(fe.drop_without_backends);
    EXPECT_TRUE(fe.external);
  }
  EXPECT_EQ(BackendText(At(n1, "203.0.113.7", 80)), BackendText(At(n1, "10.0.0.10", 30080)));
  EXPECT_EQ(BackendText(At(n1, "198.51.100.7", 53, Protocol::kUdp)),
            (std::vector<std::string>{"10.1.1.1:5353/UDP c0 w1", "10.1.1.2:5353/UDP c0 w0"}));
  // Clients inside the cluster get an internal twin with every endpoint,
  // no drop, no marker; the outside frontend says it has one.
  for (auto [addr, port] : {std::pair("192.168.1.10", 30080), std::pair("203.0.113.7", 80)}) {
    SCOPED_TRACE(addr);
    auto twin =
        n1.frontends.find({Ip(addr), static_cast<std::uint16_t>(port), Protocol::kTcp, true});
    ASSERT_NE(twin, n1.frontends.end());
    EXPECT_EQ(twin->second.backends.size(), 3u);
    EXPECT_FALSE(twin->second.drop_without_backends);
    EXPECT_FALSE(twin->second.external);
    EXPECT_TRUE(At(n1, addr, port).has_internal_twin);
    EXPECT_EQ(twin->first.ToString(), fmt::format("{}:{}/TCP internal", addr, port));
  }
  EXPECT_EQ(n1.Vips(), (std::set<model::Ipv4Address>{Ip("10.96.0.10")}));
  // The ClusterIP is not external: every endpoint, refused when none.
  EXPECT_EQ(At(n1, "10.96.0.10", 80).backends.size(), 3u);
  EXPECT_FALSE(At(n1, "10.96.0.10", 80).drop_without_backends);
  // The Maglev table is the one of the node's own backends.
  EXPECT_NE(At(n1, "203.0.113.7", 80).maglev, At(n1, "10.96.0.10", 80).maglev);
  EXPECT_EQ(At(n1, "203.0.113.7", 80).maglev, At(n1, "192.168.1.10", 30080).maglev);

  EXPECT_EQ(BackendText(At(BuildOk(s, EdgeOptions("n2")), "192.168.1.10", 30080)),
            std::vector<std::string>{"10.1.2.1:8080/TCP c0 w1"});
  // This node's ready endpoint gone: its terminating one takes new flows,
  // though n2 has a ready one (KEP-1669 within the node's view).
  auto unready = s;
  unready.endpoint_slices[0].endpoints[0].conditions = {false, false, false};
  auto unready_state = BuildOk(unready, EdgeOptions("n1"));
  const Frontend& fallback = At(unready_state, "192.168.1.10", 30080);
  EXPECT_EQ(BackendText(fallback), std::vector<std::string>{"10.1.1.2:8080/TCP c0 w1"});
  EXPECT_FALSE(fallback.maglev.empty());
  for (const char* node : {"n9", ""}) {
    SCOPED_TRACE(node);
    auto state = BuildOk(s, EdgeOptions(node));
    const Frontend& none = At(state, "198.51.100.7", 80);
    EXPECT_TRUE(none.backends.empty());
    EXPECT_TRUE(none.maglev.empty());
    EXPECT_TRUE(none.drop_without_backends);
  }
}

// internalTrafficPolicy and topology hints are for the cluster's own pods:
// external traffic (Cluster policy) reaches every endpoint.
TEST(DesiredStateExternalTest, InternalPolicyAndHintsDoNotApplyToExternalTraffic) {
  auto s = Edge();
  s.services[0].internal_traffic_policy = model::TrafficPolicy::kLocal;
  auto state = BuildOk(s, EdgeOptions("n2"));
  EXPECT_EQ(BackendText(At(state, "10.96.0.10", 80)),
            std::vector<std::string>{"10.1.2.1:8080/TCP c0 w1"});
  EXPECT_TRUE(At(state, "10.96.0.10", 80).drop_without_backends);
  const Frontend& np = At(state, "192.168.1.10", 30080);
  EXPECT_EQ(np.backends.size(), 3u);
  EXPECT_FALSE(np.drop_without_backends);

  auto hinted = Edge();
  hinted.services[0].prefer_close = true;
  for (auto& ep : hinted.endpoint_slices[0].endpoints) {
    ep.zone = ep.node_name == "n1" ? "a" : "b";
    ep.zone_hints = {ep.zone};
  }
  auto zoned = BuildDesiredState(
      hinted,
      DesiredOptions{.node_name = "n2", .node_zone = "b", .nodeport_addresses = {Ip("10.0.0.10")}});
  ASSERT_TRUE(zoned.ok()) << zoned.error().message;
  EXPECT_EQ(At(*zoned, "10.96.0.10", 80).backends.size(), 1u);
  EXPECT_EQ(At(*zoned, "10.0.0.10", 30080).backends.size(), 3u);
  EXPECT_EQ(At(*zoned, "198.51.100.7", 80).backends.size(), 3u);
}

// A key a VIP holds stays the VIP's (an externalIP must not take over
// another Service's ClusterIP or a ClusterSet VIP); of two external
// frontends with one key, the first Service's stays.
TEST(DesiredStateExternalTest, EarlierFrontendsKeepTheirKeys) {
  auto s = Edge();
  model::Service other;
  other.meta.key = {"shop", "other"};
  other.cluster_ip = Ip("10.96.0.20");
  other.ports = {{.name = "http", .protocol = Protocol::kTcp, .port = 80}};
  s.services.push_back(other);
  // Sorted after shop/edge: its externalIP collides with edge's ingress
  // IP, and edge's ClusterIP, and the ClusterSet VIP.
  model::Service late;
  late.meta.key = {"shop", "late"};
  late.cluster_ip = Ip("10.96.0.30");
  late.ports = {{.name = "http", .protocol = Protocol::kTcp, .port = 80}};
  late.external_ips = {Ip("203.0.113.7"), Ip("10.96.0.20"), Ip("10.255.0.1"), Ip("198.51.100.9")};
  s.services.push_back(late);
  s.services[0].external_ips = {Ip("10.96.0.20")};  // edge: other's ClusterIP

  auto imp = WebImport({});
  auto state = BuildOk(s, EdgeOptions(), {imp});
  const Frontend& vip = At(state, "10.96.0.20", 80);
  EXPECT_EQ(vip.service, (model::ObjectKey{"shop", "other"}));
  EXPECT_FALSE(vip.external);
  const Frontend& clusterset = At(state, "10.255.0.1", 80);
  EXPECT_EQ(clusterset.service, (model::ObjectKey{"shop", "web"}));
  EXPECT_FALSE(clusterset.external);
  const Frontend& ingress = At(state, "203.0.113.7", 80);
  EXPECT_EQ(ingress.service, (model::ObjectKey{"shop", "edge"}));
  EXPECT_TRUE(ingress.external);
  EXPECT_EQ(At(state, "198.51.100.9", 80).service, (model::ObjectKey{"shop", "late"}));
  // edge's externalIP on other's ClusterIP at port 53/UDP: a free key, an
  // external frontend; the address stays a VIP through other's frontend.
  EXPECT_TRUE(At(state, "10.96.0.20", 53, Protocol::kUdp).external);
  EXPECT_EQ(state.Vips(), (std::set<model::Ipv4Address>{Ip("10.96.0.10"), Ip("10.96.0.20"),
                                                        Ip("10.96.0.30"), Ip("10.255.0.1")}));
}

// External frontends share and reuse Maglev tables as VIPs do.
TEST(DesiredStateExternalTest, ExternalFrontendsReuseMaglevTables) {
  auto s = Edge();
  s.services[0].external_traffic_policy = model::TrafficPolicy::kLocal;
  auto first = BuildOk(s, EdgeOptions());
  // Every table, built or shared, is the one its backends give.
  for (const auto& [key, fe] : first.frontends) {
    std::vector<lb::MaglevBackend> mb;
    for (const auto& b : fe.backends) mb.push_back({b.key.ToString(), b.weight});
    auto want = lb::BuildMaglevTable(mb, lb::MaglevConfig{});
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(fe.maglev, *want) << key.ToString();
  }
  // A doctored previous table proves reuse.
  DesiredState previous = first;
  auto& doctored = previous.frontends.at({Ip("192.168.1.10"), 30080, Protocol::kTcp}).maglev;
  doctored = SharedTable(std::vector<std::uint32_t>(doctored.size(), 1));
  auto again =
      BuildOk(s, DesiredOptions{.node_name = "n1",
                                .nodeport_addresses = {Ip("192.168.1.10"), Ip("10.0.0.10")},
                                .previous = &previous});
  EXPECT_EQ(At(again, "192.168.1.10", 30080).maglev, doctored);
  EXPECT_EQ(At(again, "10.0.0.10", 30080).maglev,
            first.frontends.at({Ip("10.0.0.10"), 30080, Protocol::kTcp}).maglev);
}

// Two Services with one nodePort: the first keeps it, the second is named.
TEST(NodePortClashesTest, NamesEveryLaterServiceWithTheSameNodePort) {
  auto svc = [](const char* name, model::ServiceType type, std::uint16_t node_port,
                Protocol protocol = Protocol::kTcp) {
    model::Service s;
    s.meta.key = {"shop", name};
    s.type = type;
    s.cluster_ip = Ip("10.96.0.10");
    s.ports = {{.name = "a", .protocol = Protocol::kTcp, .port = 80},
               {.name = "b", .protocol = protocol, .port = 81, .node_port = node_port}};
    return s;
  };
  std::vector<model::Service> services = {
      svc("a", model::ServiceType::kNodePort, 30080),
      svc("b", model::ServiceType::kLoadBalancer, 30080),
      svc("c", model::ServiceType::kNodePort, 30080, Protocol::kUdp),  // another protocol: fine
      svc("d", model::ServiceType::kNodePort, 30081)};
  EXPECT_EQ(NodePortClashes(services),
            std::vector<std::string>{"Service shop/b: spec.ports[1].nodePort: 30080/TCP is "
                                     "already allocated to Service shop/a; not served for shop/b"});
  services[1].cluster_ip.reset();  // headless: no NodePort at all
  EXPECT_TRUE(NodePortClashes(services).empty());
}

}  // namespace
}  // namespace meridian::desired
