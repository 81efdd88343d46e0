// SharedTable: slots packed in 4, 8, 16 or 32 bits, as the largest index
// needs; the same slots whichever, and identity for reuse.
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

// Every width at its bounds, odd sizes included (a 4-bit table's last
// byte holds one slot).
TEST(SharedTableTest, EachWidthReadsBackEverySlot) {
  const std::vector<std::pair<std::vector<std::uint32_t>, unsigned>> cases = {
      {{0}, 4},
      {{15, 0, 7}, 4},
      {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 3}, 4},
      {{16, 0, 255}, 8},
      {{256, 1, 65535, 0, 9}, 16},
      {{65536, 0, 0xffffffffu, 15}, 32},
  };
  for (const auto& [slots, bits] : cases) {
    SharedTable t(slots);
    EXPECT_EQ(t.bits(), bits) << slots.size();
    EXPECT_EQ(t.size(), slots.size());
    EXPECT_EQ(t.ToVector(), slots) << bits;
  }
  // A 10-backend table of 1,601 slots (the usual one): 4 bits a slot.
  std::vector<std::uint32_t> usual(1601);
  for (std::size_t i = 0; i < usual.size(); ++i) usual[i] = static_cast<std::uint32_t>(i * 7 % 10);
  SharedTable t(usual);
  EXPECT_EQ(t.bits(), 4u);
  EXPECT_TRUE(t == usual);
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
