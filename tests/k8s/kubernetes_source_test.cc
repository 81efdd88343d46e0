// The Kubernetes source against the test API server (fake_apiserver.py,
// proven against kubectl by kubectl_proof_test.sh): paginated LIST, WATCH
// with bookmarks and resume, 410 as an HTTP status and in-stream, broken
// streams, malformed lines, token rotation and rejection.
// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/io_context.hpp>
// clang-format on
#include "sources/kubernetes_source.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kube/kube_config.h"
#include "kube/reflector.h"

namespace meridian {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  return out;
}

// One test API server per test, in its own temporary directory.
class ApiServer {
 public:
  ApiServer() {
    std::string tmpl = (fs::temp_directory_path() / "meridian-k8s-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return;
    dir_ = tmpl;
    const std::string script = std::string(MERIDIAN_TEST_SOURCE_DIR) + "/fake_apiserver.py";
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      execlp("python3", "python3", script.c_str(), "--dir", dir_.c_str(), "--bookmark-interval",
             "1000", nullptr);
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[256] = {};
    if (fgets(line, sizeof line, f)) {
      std::string l = line;
      if (l.rfind("READY ", 0) == 0) url_ = l.substr(6, l.find_last_not_of("\n") - 5);
    }
    fclose(f);
  }
  ~ApiServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  bool ready() const { return !url_.empty(); }
  const std::string& dir() const { return dir_; }

  // A call to a /_test/ endpoint; returns the body.
  std::string Control(const std::string& method, const std::string& path,
                      const std::string& body = "") {
    std::string cmd = "curl -sk -X " + method + " '" + url_ + path + "'";
    if (!body.empty()) {
      const std::string file = dir_ + "/body.json";
      std::ofstream(file) << body;
      cmd += " -H 'Content-Type: application/json' --data-binary @" + file;
    }
    return Run(cmd);
  }
  void Put(const json& objects) { Control("POST", "/_test/objects", objects.dump()); }
  json Requests() { return json::parse(Control("GET", "/_test/requests"), nullptr, false); }

 private:
  std::string dir_;
  std::string url_;
  pid_t pid_ = -1;
};

json Service(const std::string& name, const std::string& ip) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", "demo"}}},
          {"spec",
           {{"type", "ClusterIP"},
            {"clusterIP", ip},
            {"clusterIPs", {ip}},
            {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}}}}};
}

json Slice(const std::string& service, const std::string& ip) {
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"name", service + "-abc"},
            {"namespace", "demo"},
            {"labels", {{"kubernetes.io/service-name", service}}}}},
          {"addressType", "IPv4"},
          {"ports", {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}}},
          {"endpoints", {{{"addresses", {ip}}, {"conditions", {{"ready", true}}}}}}};
}

class KubernetesSourceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ready()) << "the test API server did not start"; }

  std::shared_ptr<kube::KubeClient> Client(const std::string& token_override = "") {
    auto config = kube::LoadKubeConfigFile(server_.dir() + "/kubeconfig");
    EXPECT_TRUE(config.ok()) << config.error().message;
    if (!token_override.empty()) config->token = token_override;
    auto client = kube::KubeClient::Create(*config);
    EXPECT_TRUE(client.ok()) << client.error().message;
    return *client;
  }
  static kube::ReflectorOptions FastOptions() {
    return kube::ReflectorOptions{.page_size = 2,
                                  .min_watch_timeout = std::chrono::seconds(30),
                                  .idle_timeout = 5s,
                                  .request_timeout = 5s,
                                  .backoff_initial = 50ms,
                                  .backoff_max = 200ms};
  }
  // Runs the io_context until `done` or the deadline; true if done.
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(20ms);
    }
    return true;
  }
  // Open watches, per the server.
  int OpenWatches() {
    auto state = json::parse(server_.Control("GET", "/_test/state"), nullptr, false);
    return state.is_object() && state["watches"].is_array()
               ? static_cast<int>(state["watches"].size())
               : -1;
  }

  ApiServer server_;
  boost::asio::io_context io_;
};

TEST_F(KubernetesSourceTest, ListsInPagesThenWatchesFromTheListsVersion) {
  json items = json::array();
  for (int i = 0; i < 5; ++i) {
    items.push_back(Service("s" + std::to_string(i), "10.96.0." + std::to_string(20 + i)));
  }
  items.push_back(Slice("s0", "10.0.1.5"));
  server_.Put({{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}});

  sources::KubernetesSource source(Client(), sources::KubernetesSource::Resources("node-1"),
                                   FastOptions(), 10ms);
  int changes = 0;
  source.Start(io_, [&] { ++changes; });
  ASSERT_TRUE(RunUntil([&] { return source.Synced(); }));
  auto state = source.Read();
  EXPECT_TRUE(state.changed);
  EXPECT_TRUE(state.errors.empty()) << state.errors.front();
  ASSERT_EQ(source.reflectors()[0]->objects().size(), 5u);
  ASSERT_EQ(state.snapshot.services.size(), 5u);
  EXPECT_EQ(state.snapshot.services[0].meta.key.ToString(), "demo/s0");
  EXPECT_EQ(state.snapshot.endpoint_slices.size(), 1u);
  ASSERT_TRUE(RunUntil([&] { return OpenWatches() == 6; }));

  // 5 services, 2 a page: 3 pages, the 2nd and 3rd with a continue token;
  // the watch starts at the list's resourceVersion and asks for bookmarks.
  int pages = 0, continued = 0;
  std::string watch_rv;
  for (const auto& r : server_.Requests()) {
    if (r["path"] != "/api/v1/services") continue;
    const auto& q = r["query"];
    if (q.contains("watch")) {
      EXPECT_EQ(q["allowWatchBookmarks"], "true");
      watch_rv = q["resourceVersion"];
      EXPECT_TRUE(q.contains("timeoutSeconds"));
      continue;
    }
    ++pages;
    EXPECT_EQ(q["limit"], "2");
    if (q.contains("continue")) ++continued;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(continued, 2);
  EXPECT_EQ(watch_rv, source.reflectors()[0]->resource_version());
  EXPECT_FALSE(watch_rv.empty());
}

TEST_F(KubernetesSourceTest, WatchEventsChangeTheSnapshot) {
  server_.Put(Service("web", "10.96.0.10"));
  sources::KubernetesSource source(Client(), sources::KubernetesSource::Resources("node-1"),
                                   FastOptions(), 10ms);
  int changes = 0;
  source.Start(io_, [&] { ++changes; });
  ASSERT_TRUE(RunUntil([&] { return source.Synced() && OpenWatches() == 6; }));
  (void)source.Read();

  server_.Put(Service("api", "10.96.0.11"));
  ASSERT_TRUE(RunUntil([&] { return source.Read().snapshot.services.size() == 2; }));
  EXPECT_GE(changes, 1);  // on_change ran after the debounce

  // An edit that does not decode keeps the last good version, with an error.
  json bad = Service("api", "10.96.0.11");
  bad["spec"]["ports"][0]["port"] = 70000;
  server_.Put(bad);
  sources::SourceState state;
  ASSERT_TRUE(RunUntil([&] {
    state = source.Read();
    return !state.errors.empty();
  }));
  EXPECT_NE(state.errors[0].find("spec.ports[0].port"), std::string::npos) << state.errors[0];
  EXPECT_EQ(state.snapshot.services.size(), 2u);

  server_.Control("DELETE", "/_test/objects?apiVersion=v1&kind=Service&name=api&namespace=demo");
  ASSERT_TRUE(RunUntil([&] {
    state = source.Read();
    return state.snapshot.services.size() == 1 && state.errors.empty();
  }));
  EXPECT_EQ(state.snapshot.services[0].meta.key.name, "web");
}

TEST_F(KubernetesSourceTest, ExpiredContinueTokenStartsTheListAgain) {
  json items = json::array();
  for (int i = 0; i < 5; ++i) {
    items.push_back(Service("s" + std::to_string(i), "10.96.0." + std::to_string(20 + i)));
  }
  server_.Put({{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}});
  server_.Control("POST", "/_test/fail?path=services.*continue&status=410&count=1");
  sources::KubernetesSource source(Client(), sources::KubernetesSource::Resources("node-1"),
                                   FastOptions(), 10ms);
  source.Start(io_, [] {});
  ASSERT_TRUE(RunUntil([&] { return source.Synced(); }));
  const auto& services = *source.reflectors()[0];
  EXPECT_EQ(services.counters().relists_gone, 1u);
  EXPECT_EQ(services.counters().list_pages, 4u);  // 1 before the 410, then 3 again
  EXPECT_EQ(source.Read().snapshot.services.size(), 5u);
  std::vector<std::string> lists;
  for (const auto& r : server_.Requests()) {
    if (r["path"] == "/api/v1/services" && !r["query"].contains("watch")) {
      lists.push_back(std::to_string(r["status"].get<int>()) +
                      (r["query"].contains("continue") ? " continue" : " first"));
    }
  }
  EXPECT_EQ(lists, (std::vector<std::string>{"200 first", "410 continue", "200 first",
                                             "200 continue", "200 continue"}));
}

// A relist replaces by difference: objects that are still there are neither
// deleted nor re-added, whichever way the 410 came.
TEST_F(KubernetesSourceTest, GoneRelistsWithoutWithdrawingAnything) {
  server_.Put(Service("web", "10.96.0.10"));
  server_.Put(Service("api", "10.96.0.11"));
  int deletes = 0, upserts = 0, synced = 0;
  auto reflector =
      std::make_shared<kube::Reflector>(Client(), sources::KubernetesSource::Resources()[0],
                                        FastOptions(), [&](const kube::ReflectorEvent& e) {
                                          deletes += e.type == kube::ReflectorEvent::Type::kDelete;
                                          upserts += e.type == kube::ReflectorEvent::Type::kUpsert;
                                          synced += e.type == kube::ReflectorEvent::Type::kSynced;
                                        });
  reflector->Start(io_);
  ASSERT_TRUE(RunUntil([&] { return synced == 1 && OpenWatches() == 1; }));
  EXPECT_EQ(upserts, 2);

  // 410 as the watch's HTTP status.
  server_.Control("POST", "/_test/fail?path=watch&status=410&count=1");
  server_.Control("POST", "/_test/drop-watches");
  ASSERT_TRUE(RunUntil([&] { return synced == 2 && OpenWatches() == 1; }));
  EXPECT_EQ(reflector->counters().relists_gone, 1u);

  // 410 in the stream: the reflector's version (no bookmarks here) falls
  // behind the compaction point while its watch is down.
  server_.Put({{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", "n1"}}}});
  server_.Control("POST", "/_test/compact");
  server_.Control("POST", "/_test/drop-watches");
  ASSERT_TRUE(RunUntil([&] { return synced == 3; }));
  EXPECT_EQ(reflector->counters().relists_gone, 2u);
  EXPECT_EQ(deletes, 0);
  EXPECT_EQ(upserts, 2) << "unchanged objects are not reported again";
  EXPECT_EQ(reflector->objects().size(), 2u);
}

TEST_F(KubernetesSourceTest, BrokenAndMalformedStreamsResumeFromTheLastVersion) {
  server_.Put(Service("web", "10.96.0.10"));
  sources::KubernetesSource source(Client(), sources::KubernetesSource::Resources("node-1"),
                                   FastOptions(), 10ms);
  source.Start(io_, [] {});
  ASSERT_TRUE(RunUntil([&] { return source.Synced() && OpenWatches() == 6; }));
  const auto& services = *source.reflectors()[0];
  const std::string rv = services.resource_version();

  server_.Control("DELETE", "/_test/requests");
  server_.Control("POST", "/_test/drop-watches");
  ASSERT_TRUE(RunUntil([&] { return OpenWatches() == 6; }));
  server_.Control("POST", "/_test/malformed?path=services.*watch&count=1");
  server_.Control("POST", "/_test/drop-watches");
  ASSERT_TRUE(RunUntil([&] { return services.counters().malformed == 1 && OpenWatches() == 6; }));
  server_.Put(Service("api", "10.96.0.11"));
  ASSERT_TRUE(RunUntil([&] { return source.Read().snapshot.services.size() == 2; }));

  // Every services request since the first drop was a watch from `rv` or
  // later: no relist.
  int lists = 0, watches = 0;
  for (const auto& r : server_.Requests()) {
    if (r["path"] != "/api/v1/services") continue;
    if (!r["query"].contains("watch")) {
      ++lists;
      continue;
    }
    ++watches;
    EXPECT_EQ(r["query"]["resourceVersion"], rv);
  }
  EXPECT_EQ(lists, 0);
  EXPECT_GE(watches, 2);
  EXPECT_EQ(services.counters().lists, 1u);
}

TEST_F(KubernetesSourceTest, RejectedTokenIsAnErrorAndNothingIsSynced) {
  server_.Put(Service("web", "10.96.0.10"));
  sources::KubernetesSource source(
      Client("not-the-token"), sources::KubernetesSource::Resources("node-1"), FastOptions(), 10ms);
  source.Start(io_, [] {});
  sources::SourceState state;
  ASSERT_TRUE(RunUntil([&] {
    state = source.Read();
    return state.errors.size() == 6;
  }));
  EXPECT_FALSE(source.Synced());
  EXPECT_EQ(state.errors[0], "kubernetes services: list: 401 Unauthorized");
  EXPECT_TRUE(state.snapshot.services.empty());
}

// A service-account token rotates: the client re-reads its file, and the
// next request (here: the watch after a broken stream) uses the new one.
TEST_F(KubernetesSourceTest, RotatedTokenFileIsReadAgain) {
  server_.Put(Service("web", "10.96.0.10"));
  auto config = kube::LoadKubeConfigFile(server_.dir() + "/kubeconfig");
  ASSERT_TRUE(config.ok());
  config->token.clear();
  config->token_file = server_.dir() + "/token";
  auto client = kube::KubeClient::Create(*config);
  ASSERT_TRUE(client.ok());
  sources::KubernetesSource source(*client, sources::KubernetesSource::Resources("node-1"),
                                   FastOptions(), 10ms);
  source.Start(io_, [] {});
  ASSERT_TRUE(RunUntil([&] { return source.Synced() && OpenWatches() == 6; }));
  // Rotation rewrites DIR/token; a new mtime (sleep past coarse clocks).
  std::this_thread::sleep_for(20ms);
  server_.Control("POST", "/_test/token?value=rotated-token");
  server_.Control("POST", "/_test/drop-watches");
  ASSERT_TRUE(RunUntil([&] { return OpenWatches() == 6; }));
  server_.Put(Service("api", "10.96.0.11"));
  ASSERT_TRUE(RunUntil([&] { return source.Read().snapshot.services.size() == 2; }));
  EXPECT_TRUE(source.Read().errors.empty());
}

}  // namespace
}  // namespace meridian

namespace meridian {
namespace {

// What the source reads beyond Services: only the Services' own slices
// (not the MCS slices the controller writes, nor IPv6 ones), only this
// node's Node, only the cluster id ClusterProperty; and the selectors are
// sent to the server, so the rest never crosses the wire.
TEST_F(KubernetesSourceTest, ReadsOwnSlicesItsNodeAndTheClusterIdOnly) {
  json mcs_slice = Slice("web", "10.0.2.5");
  mcs_slice["metadata"]["name"] = "web-east-1234abcd";
  mcs_slice["metadata"]["labels"] = {{"multicluster.kubernetes.io/service-name", "web"},
                                     {"multicluster.kubernetes.io/source-cluster", "east"}};
  json v6_slice = Slice("web", "fd00::5");
  v6_slice["metadata"]["name"] = "web-v6";
  v6_slice["addressType"] = "IPv6";
  auto node = [](const std::string& name, const std::string& zone) {
    return json{{"apiVersion", "v1"},
                {"kind", "Node"},
                {"metadata", {{"name", name}, {"labels", {{"topology.kubernetes.io/zone", zone}}}}},
                {"status",
                 {{"addresses",
                   {{{"type", "InternalIP"}, {"address", "fd00::1"}},
                    {{"type", "Hostname"}, {"address", name}},
                    {{"type", "InternalIP"}, {"address", "192.168.7.1"}},
                    {{"type", "ExternalIP"}, {"address", "203.0.113.7"}}}}}}};
  };
  auto property = [](const std::string& name, const std::string& value) {
    return json{{"apiVersion", "about.k8s.io/v1alpha1"},
                {"kind", "ClusterProperty"},
                {"metadata", {{"name", name}}},
                {"spec", {{"value", value}}}};
  };
  server_.Put(
      {{"apiVersion", "v1"},
       {"kind", "List"},
       {"items",
        {Service("web", "10.96.0.10"), Slice("web", "10.0.1.5"), mcs_slice, v6_slice,
         node("node-1", "zone-a"), node("node-2", "zone-b"),
         property("cluster.clusterset.k8s.io", "east"), property("clusterset.k8s.io", "prod")}}});

  sources::KubernetesSource source(Client(), sources::KubernetesSource::Resources("node-1"),
                                   FastOptions(), 10ms);
  source.Start(io_, [] {});
  ASSERT_TRUE(RunUntil([&] { return source.Synced(); }));
  auto state = source.Read();
  EXPECT_TRUE(state.errors.empty()) << state.errors.front();
  ASSERT_EQ(state.snapshot.endpoint_slices.size(), 1u);
  EXPECT_EQ(state.snapshot.endpoint_slices[0].meta.key.name, "web-abc");
  ASSERT_EQ(state.snapshot.nodes.size(), 1u);
  const auto& n = state.snapshot.nodes[0];
  EXPECT_EQ(n.meta.key.name, "node-1");
  EXPECT_EQ(n.internal_ip->ToString(), "192.168.7.1") << "the first IPv4 InternalIP";
  EXPECT_EQ(n.external_ip->ToString(), "203.0.113.7");
  EXPECT_EQ(n.zone, "zone-a");
  ASSERT_EQ(state.snapshot.cluster_properties.size(), 1u);
  EXPECT_EQ(state.snapshot.cluster_properties[0].value, "east");

  std::map<std::string, std::pair<std::string, std::string>> selectors;
  for (const auto& r : server_.Requests()) {
    const auto& q = r["query"];
    selectors[r["path"].get<std::string>()] = {q.value("labelSelector", ""),
                                               q.value("fieldSelector", "")};
  }
  EXPECT_EQ(selectors["/apis/discovery.k8s.io/v1/endpointslices"].first,
            "kubernetes.io/service-name");
  EXPECT_EQ(selectors["/api/v1/nodes"].second, "metadata.name=node-1");
  EXPECT_EQ(selectors["/apis/about.k8s.io/v1alpha1/clusterproperties"].second,
            "metadata.name=cluster.clusterset.k8s.io");

  // The ClusterProperty changes its value to one that is not a cluster
  // name: an error naming it, and the last good value stays.
  server_.Put(property("cluster.clusterset.k8s.io", "East_1"));
  ASSERT_TRUE(RunUntil([&] {
    state = source.Read();
    return !state.errors.empty();
  }));
  EXPECT_NE(state.errors[0].find("spec.value: \"East_1\""), std::string::npos) << state.errors[0];
  ASSERT_EQ(state.snapshot.cluster_properties.size(), 1u);
  EXPECT_EQ(state.snapshot.cluster_properties[0].value, "east");
}

}  // namespace
}  // namespace meridian

namespace meridian {
namespace {

// A 429 with Retry-After: 1 makes the reflector wait the second the server
// asked for, not its own 50-100 ms backoff.
TEST_F(KubernetesSourceTest, TooManyRequestsWaitsForRetryAfter) {
  server_.Put(Service("web", "10.96.0.10"));
  server_.Control("POST", "/_test/fail?path=services.limit&status=429&count=1");
  sources::KubernetesSource source(Client(), sources::KubernetesSource::Resources(), FastOptions(),
                                   10ms);
  source.Start(io_, [] {});
  ASSERT_TRUE(RunUntil([&] { return source.Synced(); }));
  std::vector<double> lists;
  std::vector<int> statuses;
  for (const auto& r : server_.Requests()) {
    if (r["path"] != "/api/v1/services" || r["query"].contains("watch")) continue;
    lists.push_back(r["time"].get<double>());
    statuses.push_back(r["status"].get<int>());
  }
  ASSERT_EQ(statuses, (std::vector<int>{429, 200}));
  EXPECT_GE(lists[1] - lists[0], 0.95) << "the retry came before Retry-After";
  EXPECT_LT(lists[1] - lists[0], 2.5);
}

}  // namespace
}  // namespace meridian
