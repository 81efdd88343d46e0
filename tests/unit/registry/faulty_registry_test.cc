// FaultyRegistry (registry/faulty_registry.h): calls pass through to the
// registry it wraps unless the plan fails them, with errors that name the
// operation and key, and the plan counts what it saw.
#include "registry/faulty_registry.h"

#include <gtest/gtest.h>

#include <chrono>

#include "temp_dir.h"

namespace meridian::registry {
namespace {

using namespace std::chrono_literals;

class FaultyRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inner = OpenRegistry("dir:" + dir_.path() + "/r");
    ASSERT_TRUE(inner.ok()) << inner.error().message;
    reg_ = std::make_unique<FaultyRegistry>(std::move(inner).value(), plan_);
  }
  test_support::TempDir dir_;
  std::shared_ptr<FaultPlan> plan_ = std::make_shared<FaultPlan>();
  std::unique_ptr<FaultyRegistry> reg_;
};

constexpr char kKey[] = "/meridian/v1/clusters/east/info";

TEST_F(FaultyRegistryTest, PassesThroughUntilTheNextCallsFail) {
  ASSERT_TRUE(reg_->Put(kKey, "a", 10s).ok());
  plan_->FailNext(RegistryOp::kGet, 2);
  for (int i = 0; i < 2; ++i) {
    auto got = reg_->Get(kKey);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().message, "injected fault: Get /meridian/v1/clusters/east/info");
  }
  auto got = reg_->Get(kKey);
  ASSERT_TRUE(got.ok() && got->has_value()) << "the third passes";
  EXPECT_EQ((*got)->value, "a");
  EXPECT_TRUE(reg_->KeepAlive(kKey).ok()) << "other operations are not armed";
  EXPECT_EQ(plan_->calls(RegistryOp::kGet), 3u);
  EXPECT_EQ(plan_->failures(RegistryOp::kGet), 2u);
  EXPECT_EQ(plan_->failures(RegistryOp::kKeepAlive), 0u);
}

TEST_F(FaultyRegistryTest, DownFailsEverythingAndAWatchResumesAfter) {
  ASSERT_TRUE(reg_->Put(kKey, "a").ok());
  auto watch = reg_->Watch("/meridian/v1/", reg_->CurrentRevision());
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  plan_->SetDown(true);
  EXPECT_EQ(reg_->List("/meridian/v1/").error().message,
            "injected fault: registry down (List /meridian/v1/)");
  EXPECT_FALSE(reg_->Put(kKey, "b").ok());
  EXPECT_FALSE(reg_->Lease(kKey).ok());
  EXPECT_FALSE(reg_->CompareAndSwap(kKey, 0, "c").ok());
  auto next = (*watch)->Next(10ms);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().message, "injected fault: registry down (WatchNext /meridian/v1/)");
  EXPECT_EQ(reg_->Watch("/meridian/v1/", 0).error().message,
            "injected fault: registry down (Watch /meridian/v1/)");

  // Changed behind the fault (another writer), then up: the same watch
  // delivers the change.
  auto other = OpenRegistry("dir:" + dir_.path() + "/r");
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->Put(kKey, "b").ok());
  plan_->SetDown(false);
  std::vector<WatchEvent> events;
  for (int i = 0; i < 50 && events.empty(); ++i) {
    auto n = (*watch)->Next(100ms);
    ASSERT_TRUE(n.ok()) << n.error().message;
    events = *n;
  }
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kv.value, "b");
  EXPECT_EQ(plan_->failures(RegistryOp::kPut), 1u);
}

TEST_F(FaultyRegistryTest, DelaySlowsTheOperation) {
  plan_->Delay(RegistryOp::kList, 150ms);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(reg_->List("/meridian/v1/").ok());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
  EXPECT_EQ(RegistryOpName(RegistryOp::kCompareAndSwap), "CompareAndSwap");
}

}  // namespace
}  // namespace meridian::registry
