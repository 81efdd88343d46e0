// ClientRateLimiter: how many UDP queries per second each client may have
// answered (a token bucket per source address), so that the DNS server
// cannot be turned into a flood at a spoofed victim, nor monopolised by one
// pod. TCP needs none: its clients cannot spoof, and the connection bound
// caps them.
//
// Memory is bounded: at most `max_clients` buckets. When the table is full,
// buckets that have refilled (their client was quiet for burst/rate
// seconds) are dropped, at most once a second (a sweep is O(max_clients));
// until one is free, every further new client shares one overflow bucket,
// so a flood from many spoofed sources is limited as one client while the
// known clients keep their own budget.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace meridian::dns {

struct RateLimit {
  double per_second = 0;  // 0: unlimited
  double burst = 0;       // bucket size; 0: per_second (one second's worth)
  std::size_t max_clients = 16384;
};

class ClientRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ClientRateLimiter(RateLimit limit);

  // May `client` (its address bytes) have one more answer at `now`?
  bool Allow(const std::string& client, Clock::time_point now);

  std::size_t clients() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  bool Take(Bucket& b, Clock::time_point now);
  void DropRefilled(Clock::time_point now);

  RateLimit limit_;
  std::unordered_map<std::string, Bucket> buckets_;
  Bucket overflow_;
  Clock::time_point last_sweep_{};
};

}  // namespace meridian::dns
