// Service health checks: which ports, which counts (pure), and the servers
// answering the real curl in kube-proxy's shape, on 127.0.0.1.
// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
// clang-format on
#include "health/service_health.h"

#include <gtest/gtest.h>
#include <stdio.h>

#include <array>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "health/service_health_servers.h"

namespace meridian::health {
namespace {

namespace asio = boost::asio;

model::Service LbLocal(const std::string& name, std::optional<std::uint16_t> hc,
                       model::TrafficPolicy etp = model::TrafficPolicy::kLocal,
                       model::ServiceType type = model::ServiceType::kLoadBalancer) {
  model::Service svc;
  svc.meta.key = {"shop", name};
  svc.type = type;
  svc.cluster_ip = model::Ipv4Address::Parse("10.96.0.10");
  svc.external_traffic_policy = etp;
  svc.health_check_node_port = hc;
  return svc;
}

model::Endpoint Ep(const char* addr, const char* node, bool ready = true) {
  model::Endpoint ep;
  ep.addresses = {*model::Ipv4Address::Parse(addr)};
  ep.node_name = node;
  ep.conditions.ready = ready;
  ep.conditions.serving = ready;
  return ep;
}

model::EndpointSlice Slice(const std::string& svc, const std::string& name,
                           std::vector<model::Endpoint> eps) {
  model::EndpointSlice sl;
  sl.meta.key = {"shop", name};
  sl.service_name = svc;
  sl.endpoints = std::move(eps);
  return sl;
}

TEST(ServiceHealthTargetsTest, CountsReadyEndpointsOnThisNodeAcrossSlices) {
  model::ResourceSnapshot s;
  s.services = {LbLocal("web", 32000)};
  s.endpoint_slices = {
      Slice("web", "web-a",
            {Ep("10.1.1.11", "n1"), Ep("10.1.2.11", "n2"), Ep("10.1.1.12", "n1", false)}),
      // The same address in two slices counts once (kube-proxy counts endpoints).
      Slice("web", "web-b", {Ep("10.1.1.13", "n1"), Ep("10.1.1.11", "n1")}),
  };
  auto t = ComputeServiceHealthTargets(s, "n1");
  EXPECT_TRUE(t.errors.empty());
  ASSERT_EQ(t.targets.size(), 1u);
  EXPECT_EQ(t.targets[0], (ServiceHealthTarget{32000, {"shop", "web"}, 2}));
  EXPECT_EQ(ComputeServiceHealthTargets(s, "n2").targets[0].local_endpoints, 1u);
  EXPECT_EQ(ComputeServiceHealthTargets(s, "n3").targets[0].local_endpoints, 0u)
      << "a node without endpoints still serves the port, with 0";
  EXPECT_EQ(ComputeServiceHealthTargets(s, "").targets[0].local_endpoints, 0u)
      << "no --node: nothing is local";
}

TEST(ServiceHealthTargetsTest, OnlyLoadBalancersWithLocalPolicyAndAPort) {
  model::ResourceSnapshot s;
  s.services = {
      LbLocal("no-port", std::nullopt), LbLocal("cluster", 32001, model::TrafficPolicy::kCluster),
      LbLocal("nodeport", 32002, model::TrafficPolicy::kLocal, model::ServiceType::kNodePort),
      LbLocal("ok", 32003)};
  auto t = ComputeServiceHealthTargets(s, "n1");
  ASSERT_EQ(t.targets.size(), 1u);
  EXPECT_EQ(t.targets[0].service.name, "ok");
}

TEST(ServiceHealthTargetsTest, APortClaimedTwiceStaysWithTheFirstServiceByName) {
  model::ResourceSnapshot s;
  s.services = {LbLocal("zeta", 32000), LbLocal("alpha", 32000), LbLocal("mid", 31999)};
  auto t = ComputeServiceHealthTargets(s, "n1");
  ASSERT_EQ(t.targets.size(), 2u);
  EXPECT_EQ(t.targets[0].port, 31999) << "sorted by port";
  EXPECT_EQ(t.targets[1].service.name, "alpha");
  ASSERT_EQ(t.errors.size(), 1u);
  EXPECT_EQ(t.errors[0],
            "service shop/zeta: healthCheckNodePort 32000 is already shop/alpha's; not served for "
            "this Service");
}

TEST(ServiceHealthReplyTest, KubeProxysShape) {
  auto ok = ServiceHealthReply({32000, {"shop", "web"}, 2}, true);
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.content_type, "application/json");
  auto body = nlohmann::json::parse(ok.body);
  EXPECT_EQ(body, nlohmann::json::parse(
                      R"({"service":{"namespace":"shop","name":"web"},"localEndpoints":2,)"
                      R"("serviceProxyHealthy":true})"));
  EXPECT_EQ(ok.headers,
            (std::vector<std::pair<std::string, std::string>>{
                {"X-Content-Type-Options", "nosniff"}, {"X-Load-Balancing-Endpoint-Weight", "2"}}));
  EXPECT_EQ(ServiceHealthReply({32000, {"shop", "web"}, 0}, true).status, 503u);
  auto sick = ServiceHealthReply({32000, {"shop", "web"}, 2}, false);
  EXPECT_EQ(sick.status, 503u) << "local endpoints, but the proxy is not healthy";
  EXPECT_EQ(nlohmann::json::parse(sick.body)["serviceProxyHealthy"], false);
}

// `curl -s -i URL`: the status line, headers and body, or "" when refused.
std::string Curl(const std::string& url) {
  std::string out;
  FILE* f = popen(("curl -s -i --max-time 2 " + url + " 2>/dev/null").c_str(), "r");
  if (f == nullptr) return "popen failed";
  std::array<char, 512> buf;
  while (fgets(buf.data(), buf.size(), f) != nullptr) out += buf.data();
  pclose(f);
  return out;
}

std::uint16_t FreePort() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

class ServiceHealthServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl is missing";
    thread_ = std::thread([this] { io_.run(); });
  }
  template <typename F>
  auto OnIo(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }
  void TearDown() override {
    if (!thread_.joinable()) return;  // skipped
    OnIo([this] { servers_.reset(); });
    work_.reset();
    thread_.join();
  }
  std::vector<std::string> Sync(const std::vector<ServiceHealthTarget>& t) {
    return OnIo([&] { return servers_->Sync(t); });
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::thread thread_;
  bool healthy_ = true;  // read on the io thread only
  std::unique_ptr<ServiceHealthServers> servers_ = std::make_unique<ServiceHealthServers>(
      io_, std::vector<std::string>{"127.0.0.1"}, [this] { return healthy_; });
};

TEST_F(ServiceHealthServersTest, AnswersEveryPathAndFollowsTheCountsAndThePorts) {
  const std::uint16_t port = FreePort();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  EXPECT_TRUE(Sync({{port, {"shop", "web"}, 2}}).empty());
  std::string r = Curl(url + "/healthz");
  EXPECT_NE(r.find("HTTP/1.1 200 OK"), std::string::npos) << r;
  EXPECT_NE(r.find("X-Load-Balancing-Endpoint-Weight: 2"), std::string::npos) << r;
  EXPECT_NE(r.find("X-Content-Type-Options: nosniff"), std::string::npos) << r;
  EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos) << r;
  EXPECT_NE(r.find("\"localEndpoints\": 2"), std::string::npos) << r;
  EXPECT_NE(Curl(url + "/any/path?x=1").find("HTTP/1.1 200 OK"), std::string::npos)
      << "load balancers probe whatever path they are configured with";

  // The last local endpoint goes: same port, now 503.
  EXPECT_TRUE(Sync({{port, {"shop", "web"}, 0}}).empty());
  EXPECT_EQ(OnIo([this] { return servers_->ports(); }), 1u);
  r = Curl(url + "/");
  EXPECT_NE(r.find("HTTP/1.1 503 Service Unavailable"), std::string::npos) << r;
  EXPECT_NE(r.find("\"localEndpoints\": 0"), std::string::npos) << r;

  // Endpoints, but the agent is not healthy (maps not programmed): 503.
  EXPECT_TRUE(Sync({{port, {"shop", "web"}, 1}}).empty());
  OnIo([this] { healthy_ = false; });
  r = Curl(url + "/");
  EXPECT_NE(r.find("HTTP/1.1 503"), std::string::npos) << r;
  EXPECT_NE(r.find("\"serviceProxyHealthy\": false"), std::string::npos) << r;

  // The Service goes: the port closes.
  EXPECT_TRUE(Sync({}).empty());
  EXPECT_EQ(Curl(url + "/"), "") << "connection refused";
}

TEST_F(ServiceHealthServersTest, APortInUseIsReportedAndRetried) {
  asio::io_context other;
  asio::ip::tcp::acceptor squatter(other, {asio::ip::make_address("127.0.0.1"), 0});
  const std::uint16_t port = squatter.local_endpoint().port();
  auto errors = Sync({{port, {"shop", "web"}, 1}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("service shop/web: healthCheckNodePort " + std::to_string(port) +
                           ": 127.0.0.1:" + std::to_string(port) + ": "),
            std::string::npos)
      << errors[0];
  EXPECT_EQ(OnIo([this] { return servers_->ports(); }), 0u);
  squatter.close();
  EXPECT_TRUE(Sync({{port, {"shop", "web"}, 1}}).empty()) << "the next Sync opens it";
  EXPECT_NE(Curl("http://127.0.0.1:" + std::to_string(port) + "/").find("200 OK"),
            std::string::npos);
}

}  // namespace
}  // namespace meridian::health
