// The collector's adaptive interval (datapath/ct_gc_interval.h).
#include "datapath/ct_gc_interval.h"

#include <gtest/gtest.h>

namespace meridian::datapath {
namespace {

using std::chrono::milliseconds;

TEST(CtGcInterval, BoundsFollowTheConfiguredInterval) {
  EXPECT_EQ(CtGcBoundsFor(milliseconds(10000)).floor, milliseconds(1000));
  EXPECT_EQ(CtGcBoundsFor(milliseconds(60000)).floor, milliseconds(6000));
  EXPECT_EQ(CtGcBoundsFor(milliseconds(3000)).floor, milliseconds(1000)) << "not under 1 s";
  EXPECT_EQ(CtGcBoundsFor(milliseconds(500)).floor, milliseconds(500)) << "nor above the ceiling";
  EXPECT_EQ(CtGcBoundsFor(milliseconds(500)).ceiling, milliseconds(500));
}

TEST(CtGcInterval, ChurnShortensQuietLengthensFullGoesToTheFloor) {
  const auto b = CtGcBoundsFor(milliseconds(10000));
  const std::size_t cap = 100000;
  // 60 % deleted: 40 % as long.
  EXPECT_EQ(NextCtGcInterval(milliseconds(10000), b, 1000, 600, cap), milliseconds(4000));
  // 95 % deleted counts as 90 %: a tenth, and never under the floor.
  EXPECT_EQ(NextCtGcInterval(milliseconds(10000), b, 1000, 950, cap), milliseconds(1000));
  EXPECT_EQ(NextCtGcInterval(milliseconds(2000), b, 1000, 950, cap), milliseconds(1000));
  // Between 5 % and 25 %: unchanged.
  EXPECT_EQ(NextCtGcInterval(milliseconds(4000), b, 1000, 100, cap), milliseconds(4000));
  EXPECT_EQ(NextCtGcInterval(milliseconds(4000), b, 1000, 250, cap), milliseconds(4000));
  // Under 5 %, or an empty table: 1.5x, up to the ceiling.
  EXPECT_EQ(NextCtGcInterval(milliseconds(4000), b, 1000, 10, cap), milliseconds(6000));
  EXPECT_EQ(NextCtGcInterval(milliseconds(8000), b, 1000, 0, cap), milliseconds(10000));
  EXPECT_EQ(NextCtGcInterval(milliseconds(8000), b, 0, 0, cap), milliseconds(10000));
  // 90 % full: the floor, however little was idle.
  EXPECT_EQ(NextCtGcInterval(milliseconds(10000), b, 90000, 0, cap), milliseconds(1000));
  EXPECT_EQ(NextCtGcInterval(milliseconds(10000), b, 89999, 0, cap), milliseconds(10000));
  // A current interval outside the bounds (the flag changed) is brought in.
  EXPECT_EQ(NextCtGcInterval(milliseconds(50000), b, 1000, 100, cap), milliseconds(10000));
}

TEST(CtGcInterval, ChurnThenQuietReturnsToTheCeiling) {
  const auto b = CtGcBoundsFor(milliseconds(10000));
  milliseconds t(10000);
  for (int i = 0; i < 3; ++i) t = NextCtGcInterval(t, b, 1000, 500, 100000);
  EXPECT_EQ(t, milliseconds(1250));
  int runs = 0;
  while (t < milliseconds(10000) && runs < 20) {
    t = NextCtGcInterval(t, b, 1000, 0, 100000);
    ++runs;
  }
  EXPECT_EQ(t, milliseconds(10000));
  EXPECT_EQ(runs, 6) << "1.5x per quiet run";
}

}  // namespace
}  // namespace meridian::datapath
