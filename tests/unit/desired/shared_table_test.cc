// SharedTable: 2-byte slots when every index fits, 4-byte otherwise; the
// same slots either way, and identity for reuse.
#include "desired/shared_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace meridian::desired {
namespace {

TEST(SharedTableTest, NarrowAndWideTablesReadBackTheSameSlots) {
  const std::vector<std::uint32_t> narrow = {0, 1, 65535, 2};
  const std::vector<std::uint32_t> wide = {0, 65536, 70000, 1};
  SharedTable a(narrow), b(wide);
  EXPECT_EQ(a.size(), 4u);
  EXPECT_EQ(a[2], 65535u);
  EXPECT_EQ(b[1], 65536u);
  EXPECT_EQ(b[2], 70000u);
  EXPECT_EQ(a.ToVector(), narrow);
  EXPECT_EQ(b.ToVector(), wide);
  EXPECT_TRUE(a == narrow);
  EXPECT_FALSE(a == wide);
  EXPECT_FALSE(a == b);
}

TEST(SharedTableTest, CopiesShareEqualTablesDoNot) {
  SharedTable a(std::vector<std::uint32_t>{1, 2, 3});
  SharedTable copy = a;
  SharedTable equal(std::vector<std::uint32_t>{1, 2, 3});
  EXPECT_TRUE(copy.SameAs(a));
  EXPECT_FALSE(equal.SameAs(a));
  EXPECT_TRUE(equal == a);  // equal slots
  EXPECT_TRUE(SharedTable().empty());
  EXPECT_TRUE(SharedTable(std::vector<std::uint32_t>{}).empty());
  EXPECT_TRUE(SharedTable() == SharedTable(std::vector<std::uint32_t>{}));
}

}  // namespace
}  // namespace meridian::desired
