#include "datapath/ct_eviction_estimate.h"

#include <gtest/gtest.h>

namespace meridian::datapath {
namespace {

TEST(CtEvictionEstimateTest, FirstCollectionOnlySetsTheBaseline) {
  CtEvictionEstimate e;
  EXPECT_EQ(e.Update(/*added_total=*/5000, /*deleted=*/0, /*entries=*/100), 0u);
  EXPECT_EQ(e.evicted(), 0u);
}

TEST(CtEvictionEstimateTest, AddedButNeitherDeletedNorPresentWereEvicted) {
  CtEvictionEstimate e;
  e.Update(1000, 0, 1000);
  // 600 added, 100 collected, the table grew by 24 (it is full at 1024):
  // 476 entries went somewhere the agent did not send them.
  EXPECT_EQ(e.Update(1600, 100, 1024), 476u);
  EXPECT_EQ(e.evicted(), 476u);
  // Steady and full: every entry added evicts one.
  EXPECT_EQ(e.Update(2600, 0, 1024), 1000u);
  EXPECT_EQ(e.evicted(), 1476u);
}

TEST(CtEvictionEstimateTest, ATableWithRoomEvictsNothing) {
  CtEvictionEstimate e;
  e.Update(0, 0, 0);
  EXPECT_EQ(e.Update(200, 0, 200), 0u);    // grew by all it added
  EXPECT_EQ(e.Update(300, 150, 150), 0u);  // the collector deleted some
  EXPECT_EQ(e.Update(300, 0, 150), 0u);    // quiet
  EXPECT_EQ(e.evicted(), 0u);
}

// The walk that sizes the table races with new entries: one round can
// see more entries than its counter read explains. The surplus is carried,
// not counted, and a later round's shortfall cancels it.
TEST(CtEvictionEstimateTest, ARacyWalkIsCarriedNotCounted) {
  CtEvictionEstimate e;
  e.Update(100, 0, 100);
  EXPECT_EQ(e.Update(110, 0, 120), 0u);  // 10 entries seen before their count: -10
  // 20 more counted, the table grew by 10: the 10 seen early are the
  // carried 10, and nothing was evicted.
  EXPECT_EQ(e.Update(130, 0, 130), 0u);
  EXPECT_EQ(e.evicted(), 0u);
  EXPECT_EQ(e.Update(160, 0, 130), 30u);  // now a real shortfall
}

TEST(CtEvictionEstimateTest, RestartedCountersStartANewBaseline) {
  CtEvictionEstimate e;
  e.Update(5000, 0, 100);
  EXPECT_EQ(e.Update(10, 0, 10), 0u);  // a fresh mer_stats: the counter went back
  EXPECT_EQ(e.Update(30, 0, 20), 10u);
}

}  // namespace
}  // namespace meridian::datapath
