// The per-client token bucket of the DNS server's UDP side, on a clock the
// test moves by hand.
#include "dns/client_rate_limiter.h"

#include <gtest/gtest.h>

#include <string>

namespace meridian::dns {
namespace {

using namespace std::chrono_literals;
using Clock = ClientRateLimiter::Clock;

int Allowed(ClientRateLimiter& l, const std::string& client, int tries, Clock::time_point now) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += l.Allow(client, now);
  return n;
}

TEST(ClientRateLimiter, ABurstThenTheRate) {
  ClientRateLimiter l({.per_second = 10, .burst = 20});
  const auto t0 = Clock::now();
  EXPECT_EQ(Allowed(l, "a", 50, t0), 20);         // the burst
  EXPECT_EQ(Allowed(l, "a", 50, t0 + 500ms), 5);  // half a second: 5 more
  EXPECT_EQ(Allowed(l, "a", 50, t0 + 10s), 20);   // refilled, never beyond the burst
}

TEST(ClientRateLimiter, ClientsHaveTheirOwnBudget) {
  ClientRateLimiter l({.per_second = 10, .burst = 10});
  const auto t0 = Clock::now();
  EXPECT_EQ(Allowed(l, "a", 100, t0), 10);
  EXPECT_EQ(Allowed(l, "b", 100, t0), 10);
  EXPECT_EQ(l.clients(), 2u);
}

TEST(ClientRateLimiter, ZeroMeansNoLimit) {
  ClientRateLimiter l({.per_second = 0});
  EXPECT_EQ(Allowed(l, "a", 100000, Clock::now()), 100000);
  EXPECT_EQ(l.clients(), 0u);
}

// Many sources (a spoofed flood): the table stays bounded, the newcomers
// share one bucket, and the known clients keep theirs.
TEST(ClientRateLimiter, AFullTableSharesOneBucketAmongNewcomers) {
  ClientRateLimiter l({.per_second = 10, .burst = 10, .max_clients = 3});
  const auto t0 = Clock::now();
  for (const char* c : {"a", "b", "c"}) EXPECT_TRUE(l.Allow(c, t0));
  int newcomers = 0;
  for (int i = 0; i < 1000; ++i) newcomers += l.Allow("spoof" + std::to_string(i), t0);
  EXPECT_EQ(newcomers, 10);  // one bucket for all of them
  EXPECT_EQ(l.clients(), 3u);
  EXPECT_EQ(Allowed(l, "a", 100, t0), 9);  // a's own budget, untouched
  // Once the known clients have been quiet long enough to refill, their
  // buckets make room for new ones.
  EXPECT_TRUE(l.Allow("d", t0 + 2s));
  EXPECT_EQ(l.clients(), 1u);
}

}  // namespace
}  // namespace meridian::dns
