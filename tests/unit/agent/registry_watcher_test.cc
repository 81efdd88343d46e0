// RegistryWatcher on a dir: registry: the lease polls of the clusters' info
// records follow the watch (a new cluster is polled, a removed one is not).
#include "agent/registry_watcher.h"

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace meridian::agent {
namespace {

using namespace std::chrono_literals;

TEST(ClusterInfoKeyTest, OnlyAClustersInfoRecord) {
  EXPECT_TRUE(IsClusterInfoKey("/meridian/v1/clusters/east/info"));
  EXPECT_FALSE(IsClusterInfoKey("/meridian/v1/clusters//info"));
  EXPECT_FALSE(IsClusterInfoKey("/meridian/v1/clusters/info"));
  EXPECT_FALSE(IsClusterInfoKey("/meridian/v1/clusters/east/exports/default/info"));
  EXPECT_FALSE(IsClusterInfoKey("/meridian/v1/clusters/east/info/x"));
  EXPECT_FALSE(IsClusterInfoKey("/meridian/v1/imports/east/info"));
}

class RegistryWatcherLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = registry::OpenRegistry(url_);
    ASSERT_TRUE(r.ok()) << r.error().message;
    writer_ = std::move(r).value();
  }
  void Put(const std::string& key, std::chrono::milliseconds ttl = {}) {
    ASSERT_TRUE(writer_->Put(key, "x", ttl).ok());
  }
  // Runs until a lease poll arrives whose keys are `want` (at most 3 s);
  // returns that poll.
  std::vector<ClusterLease> PollWith(RegistryWatcher&, const std::vector<std::string>& want) {
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (std::chrono::steady_clock::now() < deadline) {
      io_.run_for(10ms);
      io_.restart();
      if (polls_ == 0) continue;
      std::vector<std::string> keys;
      for (const auto& l : last_) keys.push_back(l.key);
      if (keys == want) return last_;
    }
    ADD_FAILURE() << "no lease poll with the wanted keys";
    return {};
  }
  RegistryWatcher::Callback Record() {
    return [this](RegistryUpdate u) {
      if (!u.leases) return;
      EXPECT_TRUE(u.records.empty() && u.events.empty()) << "a lease poll carries nothing else";
      ++polls_;
      last_ = std::move(*u.leases);
    };
  }

  test_support::TempDir dir_;
  std::string url_ = "dir:" + dir_.path() + "/registry";
  std::unique_ptr<registry::Registry> writer_;
  boost::asio::io_context io_;
  std::vector<ClusterLease> last_;
  int polls_ = 0;
};

TEST_F(RegistryWatcherLeaseTest, PollsTheLeasesOfTheInfoRecordsTheWatchKnows) {
  Put("/meridian/v1/clusters/east/info", 10s);
  Put("/meridian/v1/clusters/west/info");                      // no lease: not reported
  Put("/meridian/v1/clusters/east/exports/default/web", 10s);  // not an info record
  RegistryWatcher watcher(url_, io_, Record(), 50ms);
  auto polled = PollWith(watcher, {"/meridian/v1/clusters/east/info"});
  ASSERT_EQ(polled.size(), 1u);
  EXPECT_EQ(polled[0].lease.ttl, 10s);
  EXPECT_LE(polled[0].lease.remaining, 10s);
  EXPECT_GT(polled[0].lease.remaining, 8s);
  EXPECT_GT(polled[0].read_unix_ms, 0);

  Put("/meridian/v1/clusters/north/info", 5s);  // a new cluster, seen through the watch
  polled =
      PollWith(watcher, {"/meridian/v1/clusters/east/info", "/meridian/v1/clusters/north/info"});
  ASSERT_EQ(polled.size(), 2u);
  EXPECT_EQ(polled[1].lease.ttl, 5s);

  ASSERT_TRUE(writer_->Delete("/meridian/v1/clusters/east/info").ok());
  polled = PollWith(watcher, {"/meridian/v1/clusters/north/info"});
  EXPECT_EQ(polled.size(), 1u);
}

TEST_F(RegistryWatcherLeaseTest, NoPollsWhenOff) {
  Put("/meridian/v1/clusters/east/info", 10s);
  RegistryWatcher watcher(url_, io_, Record(), 0ms);
  for (int i = 0; i < 30; ++i) {
    io_.run_for(10ms);
    io_.restart();
  }
  EXPECT_EQ(polls_, 0);
}

}  // namespace
}  // namespace meridian::agent
