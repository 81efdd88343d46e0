// FaultyRegistry: a Registry that passes every call on to another and
// fails the calls a FaultPlan says to, as an unreachable or flaky etcd
// would. For tests of what sits on a registry (the agent's watcher, the
// controller's writers) without stopping a real server, and for faults a
// real server cannot be made to show on cue (the second List after a
// restart failing, one KeepAlive lost). The plan is shared: a test changes
// it while the registry is used from another thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "registry/registry.h"

namespace meridian::registry {

enum class RegistryOp {
  kPut,
  kKeepAlive,
  kDelete,
  kGet,
  kLease,
  kList,
  kCompareAndSwap,
  kChangesSince,
  kWatch,      // opening a watch
  kWatchNext,  // a watch's Next
  kCount,
};

std::string_view RegistryOpName(RegistryOp op);

class FaultPlan {
 public:
  // While down, every call fails with "injected fault: registry down" (a
  // watch's Next too; CurrentRevision, which cannot fail, still answers).
  void SetDown(bool down);
  // The next `n` calls of `op` fail (after any already armed).
  void FailNext(RegistryOp op, int n = 1);
  // Every call of `op` waits `delay` first (a slow registry).
  void Delay(RegistryOp op, std::chrono::milliseconds delay);

  std::uint64_t calls(RegistryOp op) const;
  std::uint64_t failures(RegistryOp op) const;

  // For FaultyRegistry: counts the call, waits its delay, and returns the
  // error to inject (naming the operation and key), if any.
  std::optional<Error> Enter(RegistryOp op, std::string_view key);

 private:
  static constexpr auto kOps = static_cast<std::size_t>(RegistryOp::kCount);
  mutable std::mutex mu_;
  bool down_ = false;
  std::array<int, kOps> fail_next_{};
  std::array<std::chrono::milliseconds, kOps> delay_{};
  std::array<std::uint64_t, kOps> calls_{};
  std::array<std::uint64_t, kOps> failures_{};
};

class FaultyRegistry : public Registry {
 public:
  FaultyRegistry(std::unique_ptr<Registry> inner, std::shared_ptr<FaultPlan> plan);

  Result<std::int64_t> Put(const std::string& key, const std::string& value,
                           std::chrono::milliseconds ttl = {}) override;
  Status KeepAlive(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<std::optional<KeyValue>> Get(const std::string& key) override;
  Result<std::optional<LeaseInfo>> Lease(const std::string& key) override;
  Result<std::vector<KeyValue>> List(const std::string& prefix) override;
  Result<bool> CompareAndSwap(const std::string& key, std::int64_t expected_revision,
                              const std::string& value,
                              std::chrono::milliseconds ttl = {}) override;
  Result<std::vector<WatchEvent>> ChangesSince(const std::string& prefix,
                                               std::int64_t since) override;
  std::int64_t CurrentRevision() override;
  // The inner registry's watch, whose Next fails as the plan says; the
  // inner stream is kept, so what changed while it failed is delivered
  // afterwards (a resumed watch), unless the caller opens a new one.
  Result<std::unique_ptr<WatchStream>> Watch(const std::string& prefix,
                                             std::int64_t since) override;

 private:
  std::unique_ptr<Registry> inner_;
  std::shared_ptr<FaultPlan> plan_;
};

}  // namespace meridian::registry
