#include "controller/scheduler_lease.h"

#include <spdlog/spdlog.h>

#include "mcs/registry_keys.h"

namespace meridian::controller {

Result<bool> SchedulerLease::Step() {
  const bool was_leading = leading_;
  auto fail = [&](Error e) -> Result<bool> {
    leading_ = false;
    holder_.clear();
    if (was_leading) spdlog::warn("scheduler: lost the lead: {}", e.message);
    return e;
  };
  auto current = registry_.Get(mcs::kSchedulerLeaderKey);
  if (!current.ok()) return fail(current.error());
  if (!current->has_value()) {
    auto won = registry_.CompareAndSwap(mcs::kSchedulerLeaderKey, 0, identity_, ttl_);
    if (!won.ok()) return fail(won.error());
    leading_ = *won;
    if (!leading_) {
      // Another candidate was faster; who it is shows at the next Step.
      holder_.clear();
      return false;
    }
    holder_ = identity_;
    spdlog::info("scheduler: leading ({} holds {})", identity_, mcs::kSchedulerLeaderKey);
    return true;
  }
  holder_ = (*current)->value;
  if (holder_ != identity_) {
    if (was_leading) spdlog::warn("scheduler: lost the lead to {}", holder_);
    leading_ = false;
    return false;
  }
  // Ours: renew. A lease that ran out meanwhile (a stall longer than the
  // TTL) fails here, and the next Step competes for the key again.
  if (auto s = registry_.KeepAlive(mcs::kSchedulerLeaderKey); !s) return fail(s.error());
  if (!was_leading) spdlog::info("scheduler: leading again (our lease was still held)");
  leading_ = true;
  return true;
}

void SchedulerLease::Release() {
  if (!leading_) return;
  auto current = registry_.Get(mcs::kSchedulerLeaderKey);
  if (current.ok() && current->has_value() && (*current)->value == identity_) {
    if (auto s = registry_.Delete(mcs::kSchedulerLeaderKey); !s) {
      spdlog::warn("scheduler: releasing the lead: {}", s.error().message);
    }
  }
  leading_ = false;
}

}  // namespace meridian::controller
