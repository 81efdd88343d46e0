// SlotRanges: first-fit allocation of Maglev slot ranges, merged frees,
// and the reservations recovery makes.
#include "datapath/slot_ranges.h"

#include <gtest/gtest.h>

namespace meridian::datapath {
namespace {

TEST(SlotRangesTest, FirstFitAndExhaustion) {
  SlotRanges r(1000);
  EXPECT_EQ(r.Allocate(400), 0u);
  EXPECT_EQ(r.Allocate(400), 400u);
  EXPECT_EQ(r.free_slots(), 200u);
  EXPECT_EQ(r.Allocate(201), std::nullopt);
  EXPECT_EQ(r.Allocate(200), 800u);
  EXPECT_EQ(r.free_slots(), 0u);
  EXPECT_EQ(r.Allocate(1), std::nullopt);
  EXPECT_EQ(r.Allocate(0), std::nullopt);
}

TEST(SlotRangesTest, FreedRangesMergeWithBothNeighbours) {
  SlotRanges r(300);
  ASSERT_EQ(r.Allocate(100), 0u);
  ASSERT_EQ(r.Allocate(100), 100u);
  ASSERT_EQ(r.Allocate(100), 200u);
  r.Free(0, 100);
  r.Free(200, 100);
  EXPECT_EQ(r.free_ranges(), 2u);
  EXPECT_EQ(r.largest_free(), 100u);
  EXPECT_EQ(r.Allocate(150), std::nullopt) << "150 free slots, but in two pieces";
  r.Free(100, 100);
  EXPECT_EQ(r.free_ranges(), 1u);
  EXPECT_EQ(r.largest_free(), 300u);
  EXPECT_EQ(r.Allocate(300), 0u);
}

TEST(SlotRangesTest, ReserveTakesExactlyAFreeRange) {
  SlotRanges r(1000);
  EXPECT_TRUE(r.Reserve(100, 50));
  EXPECT_EQ(r.free_slots(), 950u);
  EXPECT_FALSE(r.Reserve(120, 10)) << "inside a reserved range";
  EXPECT_FALSE(r.Reserve(90, 20)) << "overlapping its start";
  EXPECT_FALSE(r.Reserve(990, 20)) << "past the end";
  EXPECT_FALSE(r.Reserve(1000, 1));
  EXPECT_FALSE(r.Reserve(5, 0));
  EXPECT_FALSE(r.Reserve(0xFFFFFFF0u, 0x20u)) << "offset + size wraps";
  EXPECT_TRUE(r.Reserve(150, 850)) << "the tail, exactly";
  EXPECT_EQ(r.free_slots(), 100u);
  EXPECT_EQ(r.Allocate(100), 0u);
  r.Free(100, 50);
  EXPECT_EQ(r.Allocate(50), 100u);
}

TEST(SlotRangesTest, EmptyArrayHasNothingToGive) {
  SlotRanges r(0);
  EXPECT_EQ(r.Allocate(1), std::nullopt);
  EXPECT_FALSE(r.Reserve(0, 1));
  EXPECT_EQ(r.largest_free(), 0u);
}

}  // namespace
}  // namespace meridian::datapath
