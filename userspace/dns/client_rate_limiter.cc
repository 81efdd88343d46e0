#include "dns/client_rate_limiter.h"

#include <algorithm>
#include <iterator>

namespace meridian::dns {

ClientRateLimiter::ClientRateLimiter(RateLimit limit) : limit_(limit) {
  if (limit_.burst <= 0) limit_.burst = limit_.per_second;
  if (limit_.max_clients == 0) limit_.max_clients = 1;
  overflow_ = {limit_.burst, Clock::time_point{}};
}

bool ClientRateLimiter::Take(Bucket& b, Clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(limit_.burst, b.tokens + elapsed * limit_.per_second);
    b.last = now;
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

void ClientRateLimiter::DropRefilled(Clock::time_point now) {
  const double full_after = limit_.burst / limit_.per_second;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double quiet = std::chrono::duration<double>(now - it->second.last).count();
    it = quiet >= full_after ? buckets_.erase(it) : std::next(it);
  }
}

bool ClientRateLimiter::Allow(const std::string& client, Clock::time_point now) {
  if (limit_.per_second <= 0) return true;
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= limit_.max_clients && now - last_sweep_ >= std::chrono::seconds(1)) {
      last_sweep_ = now;
      DropRefilled(now);
    }
    if (buckets_.size() >= limit_.max_clients) return Take(overflow_, now);
    it = buckets_.emplace(client, Bucket{limit_.burst, now}).first;
  }
  return Take(it->second, now);
}

}  // namespace meridian::dns
