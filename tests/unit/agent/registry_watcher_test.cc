// RegistryWatcher on a dir: registry: the lease polls of the clusters' info
// records follow the watch (a new cluster is polled, a removed one is not).
#include "agent/registry_watcher.h"

#include <gtest/gtest.h>

#include "registry/faulty_registry.h"
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

// What the agent sees through the watcher while its registry fails, with
// faults injected by a FaultyRegistry: a failed first List is an error and
// a retry; an outage keeps the records the agent had (an update with an
// error changes nothing) while the registry changes behind it; when the
// registry answers again the records are what it holds, without a step in
// between that withdrew a live record.
class RegistryWatcherFaultTest : public RegistryWatcherLeaseTest {
 protected:
  RegistryWatcher::Opener Faulty() {
    return [this]() -> Result<std::unique_ptr<registry::Registry>> {
      auto inner = registry::OpenRegistry(url_);
      if (!inner.ok()) return inner.error();
      return std::unique_ptr<registry::Registry>(
          std::make_unique<registry::FaultyRegistry>(std::move(inner).value(), plan_));
    };
  }
  RegistryWatcher::Callback Apply() {
    return [this](RegistryUpdate u) {
      if (u.leases) return;
      if (!u.error.empty()) errors_.push_back(u.error);
      error_now_ = !u.error.empty();
      ApplyRegistryUpdate(records_, std::move(u));
      // Every record the agent held since the first list stays until the
      // registry itself says it went: the outage withdraws nothing.
      if (listed_ && !Has("/meridian/v1/clusters/east/info")) withdrew_ = true;
      listed_ = listed_ || Has("/meridian/v1/clusters/east/info");
    };
  }
  bool Has(const std::string& key) const {
    for (const auto& kv : records_) {
      if (kv.key == key) return true;
    }
    return false;
  }
  std::vector<std::string> Keys() const {
    std::vector<std::string> out;
    for (const auto& kv : records_) out.push_back(kv.key);
    return out;
  }
  // Runs the io_context until `done` (at most `limit`).
  bool RunUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      io_.run_for(10ms);
      io_.restart();
      if (done()) return true;
    }
    return done();
  }

  std::shared_ptr<registry::FaultPlan> plan_ = std::make_shared<registry::FaultPlan>();
  std::vector<registry::KeyValue> records_;
  std::vector<std::string> errors_;
  bool error_now_ = false, listed_ = false, withdrew_ = false;
};

TEST_F(RegistryWatcherFaultTest, AnOutageKeepsTheLastRecordsAndResyncsAfter) {
  const std::string east = "/meridian/v1/clusters/east/info";
  const std::string web = "/meridian/v1/clusters/east/exports/default/web";
  const std::string db = "/meridian/v1/clusters/east/exports/default/db";
  Put(east);
  Put(web);
  plan_->FailNext(registry::RegistryOp::kList);
  RegistryWatcher watcher(Faulty(), io_, Apply());
  ASSERT_TRUE(RunUntil([&] { return Keys().size() == 2u; })) << "listed after one retry";
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_EQ(errors_[0], "injected fault: List /meridian/v1/");
  EXPECT_FALSE(error_now_);
  EXPECT_EQ(plan_->failures(registry::RegistryOp::kList), 1u);
  EXPECT_EQ(plan_->calls(registry::RegistryOp::kList), 2u);

  // Down: the watch fails, the relists fail; the registry changes behind it.
  plan_->SetDown(true);
  ASSERT_TRUE(RunUntil([&] { return error_now_; })) << "the outage is reported";
  EXPECT_EQ(errors_.back(), "injected fault: registry down (WatchNext /meridian/v1/)");
  ASSERT_TRUE(writer_->Delete(web).ok());
  Put(db);
  RunUntil([] { return false; }, 1500ms);  // past a relist retry (1 s)
  EXPECT_GE(plan_->failures(registry::RegistryOp::kList), 2u) << "it kept trying";
  EXPECT_EQ(Keys(), (std::vector<std::string>{web, east})) << "the last records are kept";
  EXPECT_TRUE(error_now_);

  // Back: one relist gives what the registry holds now.
  plan_->SetDown(false);
  ASSERT_TRUE(RunUntil([&] { return !error_now_ && Has(db); }));
  EXPECT_EQ(Keys(), (std::vector<std::string>{db, east}));
  EXPECT_FALSE(withdrew_) << "east's record was never withdrawn";

  // A watch that fails once: the watcher relists and misses nothing.
  plan_->FailNext(registry::RegistryOp::kWatchNext);
  Put(web);
  ASSERT_TRUE(RunUntil([&] { return Has(web); }));
  EXPECT_EQ(Keys(), (std::vector<std::string>{db, web, east}));
  EXPECT_FALSE(withdrew_);
}

}  // namespace
}  // namespace meridian::agent
