// Webster division and Karmada's UID tie-break. The expected numbers are
// Karmada's own test cases (webstermethod_test.go TestAllocateWebsterSeats,
// binding_test.go Test_dispenser_AllocateByWeight; docs/propagation-karmada.md
// section 9), rewritten here, plus a house-monotonicity property test.
#include "propagation/webster.h"

#include <gtest/gtest.h>

#include <random>

namespace meridian::propagation {
namespace {

using Seats = std::map<std::string, std::int32_t>;
using Votes = std::map<std::string, std::int64_t>;

TEST(WebsterTest, WikipediaExampleSeatBySeat) {
  const Votes votes{{"A", 100000}, {"B", 80000}, {"C", 30000}, {"D", 20000}};
  const std::vector<Seats> want = {
      {{"A", 1}, {"B", 0}, {"C", 0}, {"D", 0}}, {{"A", 1}, {"B", 1}, {"C", 0}, {"D", 0}},
      {{"A", 2}, {"B", 1}, {"C", 0}, {"D", 0}}, {{"A", 2}, {"B", 1}, {"C", 1}, {"D", 0}},
      {{"A", 2}, {"B", 2}, {"C", 1}, {"D", 0}}, {{"A", 2}, {"B", 2}, {"C", 1}, {"D", 1}},
      {{"A", 3}, {"B", 2}, {"C", 1}, {"D", 1}}, {{"A", 3}, {"B", 3}, {"C", 1}, {"D", 1}},
  };
  for (std::size_t n = 1; n <= want.size(); ++n) {
    EXPECT_EQ(AllocateWebsterSeats(static_cast<std::int32_t>(n), votes), want[n - 1]) << n;
  }
}

TEST(WebsterTest, KarmadasEdgeCases) {
  EXPECT_TRUE(AllocateWebsterSeats(1, {}).empty());
  EXPECT_TRUE(AllocateWebsterSeats(0, {}).empty());
  EXPECT_EQ(AllocateWebsterSeats(0, {{"A", 100}, {"B", 200}}), (Seats{{"A", 0}, {"B", 0}}));
  // Equal averages (3/3 and 1/1): fewer seats first.
  EXPECT_EQ(AllocateWebsterSeats(1, {{"A", 3}, {"B", 1}}, {{"A", 1}, {"B", 0}}),
            (Seats{{"A", 1}, {"B", 1}}));
  EXPECT_EQ(AllocateWebsterSeats(1, {{"A", 1}, {"B", 1}}), (Seats{{"A", 1}, {"B", 0}}));
  EXPECT_EQ(AllocateWebsterSeats(1, {{"A", 1}, {"B", 1}}, {}, TieOrder::kNameDescending),
            (Seats{{"A", 0}, {"B", 1}}));
  // A party with seats but no votes gets no new one.
  EXPECT_EQ(AllocateWebsterSeats(2, {{"New1", 1}, {"New2", 1}}, {{"Old", 0}}),
            (Seats{{"New1", 1}, {"New2", 1}, {"Old", 0}}));
  EXPECT_EQ(AllocateWebsterSeats(2, {{"Old", 1}, {"New", 1}}, {{"Old", 1}}),
            (Seats{{"New", 2}, {"Old", 1}}));
  EXPECT_EQ(AllocateWebsterSeats(2, {{"A", 100}}, {{"B", 3}}), (Seats{{"A", 2}, {"B", 3}}));
  EXPECT_EQ(AllocateWebsterSeats(4, {{"Alpha", 1200}, {"Beta", 900}, {"Gamma", 400}}),
            (Seats{{"Alpha", 2}, {"Beta", 1}, {"Gamma", 1}}));
}

// Test_dispenser_AllocateByWeight: scale-up on top of a placement, the
// "HA" cases (small clusters get a replica soon), the 170/110/60 case that
// the legacy algorithm got non-monotone, and both UID parities.
TEST(WebsterTest, KarmadasDispenserCases) {
  const Seats a1b2c3{{"A", 1}, {"B", 2}, {"C", 3}};
  const Votes w123{{"A", 1}, {"B", 2}, {"C", 3}};
  EXPECT_EQ(AllocateWebsterSeats(6, w123, a1b2c3), (Seats{{"A", 2}, {"B", 4}, {"C", 6}}));
  EXPECT_EQ(AllocateWebsterSeats(3, w123, a1b2c3), (Seats{{"A", 2}, {"B", 3}, {"C", 4}}));
  EXPECT_EQ(AllocateWebsterSeats(2, w123, a1b2c3), (Seats{{"A", 1}, {"B", 3}, {"C", 4}}));
  const Votes w21{{"A", 2}, {"B", 1}};
  EXPECT_EQ(AllocateWebsterSeats(1, w21), (Seats{{"A", 1}, {"B", 0}}));
  EXPECT_EQ(AllocateWebsterSeats(2, w21), (Seats{{"A", 1}, {"B", 1}}));
  EXPECT_EQ(AllocateWebsterSeats(3, w21), (Seats{{"A", 2}, {"B", 1}}));
  const Votes w170{{"A", 170}, {"B", 110}, {"C", 60}};
  EXPECT_EQ(AllocateWebsterSeats(5, w170), (Seats{{"A", 2}, {"B", 2}, {"C", 1}}));
  EXPECT_EQ(AllocateWebsterSeats(6, w170), (Seats{{"A", 3}, {"B", 2}, {"C", 1}}));
  const Votes w11{{"A", 1}, {"B", 1}};
  const char* odd = "d43fdeeb-d750-4e2b-bee3-64eb94534f4c";
  const char* even = "4858ca61-3ff8-4095-8267-f3d059d8074c";
  EXPECT_EQ(AllocateWebsterSeats(5, w11, {}, TieOrderForUid(odd)), (Seats{{"A", 2}, {"B", 3}}));
  EXPECT_EQ(AllocateWebsterSeats(5, w11, {}, TieOrderForUid(even)), (Seats{{"A", 3}, {"B", 2}}));
}

TEST(WebsterTest, UidParity) {
  EXPECT_EQ(Fnv1a32(""), 0x811c9dc5u);
  EXPECT_EQ(Fnv1a32("a"), 0xe40c292cu);  // the published FNV-1a test vector
  EXPECT_EQ(Fnv1a32("4858ca61-3ff8-4095-8267-f3d059d8074c"), 0xf20af388u);
  EXPECT_EQ(Fnv1a32("d43fdeeb-d750-4e2b-bee3-64eb94534f4c"), 0x955149a3u);
  EXPECT_EQ(TieOrderForUid(""), TieOrder::kNameAscending) << "empty: ascending, though odd";
  EXPECT_EQ(TieOrderForUid("4858ca61-3ff8-4095-8267-f3d059d8074c"), TieOrder::kNameAscending);
  EXPECT_EQ(TieOrderForUid("d43fdeeb-d750-4e2b-bee3-64eb94534f4c"), TieOrder::kNameDescending);
}

// House monotonicity over random inputs: N + 1 seats give every party at
// least what N gave it, and exactly one seat more in all.
TEST(WebsterTest, AddingSeatsNeverTakesOneAway) {
  std::mt19937 rng(20261206);
  for (int round = 0; round < 300; ++round) {
    Votes votes;
    Seats initial;
    const int parties = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < parties; ++i) {
      const std::string name(1, static_cast<char>('a' + i));
      votes[name] = rng() % 4 == 0 ? 1 : static_cast<std::int64_t>(rng() % 1000);
      if (rng() % 3 == 0) initial[name] = static_cast<std::int32_t>(rng() % 5);
    }
    const TieOrder order = rng() % 2 ? TieOrder::kNameAscending : TieOrder::kNameDescending;
    Seats prev = AllocateWebsterSeats(0, votes, initial, order);
    for (std::int32_t n = 1; n <= 40; ++n) {
      Seats next = AllocateWebsterSeats(n, votes, initial, order);
      int added = 0;
      for (const auto& [name, seats] : next) {
        ASSERT_GE(seats, prev[name]) << "round " << round << ", " << n << " seats, " << name;
        added += seats - prev[name];
      }
      ASSERT_EQ(added, 1) << "round " << round << ", " << n << " seats";
      prev = std::move(next);
    }
  }
}

}  // namespace
}  // namespace meridian::propagation
