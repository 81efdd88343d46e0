#include "registry/faulty_registry.h"

#include <fmt/format.h>

#include <thread>

namespace meridian::registry {
namespace {

constexpr std::size_t Index(RegistryOp op) { return static_cast<std::size_t>(op); }

class FaultyWatch : public WatchStream {
 public:
  FaultyWatch(std::unique_ptr<WatchStream> inner, std::shared_ptr<FaultPlan> plan,
              std::string prefix)
      : inner_(std::move(inner)), plan_(std::move(plan)), prefix_(std::move(prefix)) {}

  Result<std::vector<WatchEvent>> Next(std::chrono::milliseconds timeout) override {
    if (auto fault = plan_->Enter(RegistryOp::kWatchNext, prefix_)) return *fault;
    return inner_->Next(timeout);
  }

 private:
  std::unique_ptr<WatchStream> inner_;
  std::shared_ptr<FaultPlan> plan_;
  std::string prefix_;
};

}  // namespace

std::string_view RegistryOpName(RegistryOp op) {
  static constexpr std::array<std::string_view, Index(RegistryOp::kCount)> kNames = {
      "Put",  "KeepAlive",      "Delete",       "Get",   "Lease",
      "List", "CompareAndSwap", "ChangesSince", "Watch", "WatchNext"};
  return op < RegistryOp::kCount ? kNames[Index(op)] : "?";
}

void FaultPlan::SetDown(bool down) {
  std::lock_guard lock(mu_);
  down_ = down;
}

void FaultPlan::FailNext(RegistryOp op, int n) {
  std::lock_guard lock(mu_);
  fail_next_[Index(op)] += n;
}

void FaultPlan::Delay(RegistryOp op, std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  delay_[Index(op)] = delay;
}

std::uint64_t FaultPlan::calls(RegistryOp op) const {
  std::lock_guard lock(mu_);
  return calls_[Index(op)];
}

std::uint64_t FaultPlan::failures(RegistryOp op) const {
  std::lock_guard lock(mu_);
  return failures_[Index(op)];
}

std::optional<Error> FaultPlan::Enter(RegistryOp op, std::string_view key) {
  std::chrono::milliseconds delay;
  std::optional<Error> fault;
  {
    std::lock_guard lock(mu_);
    const std::size_t i = Index(op);
    ++calls_[i];
    delay = delay_[i];
    if (down_) {
      fault = Error{fmt::format("injected fault: registry down ({} {})", RegistryOpName(op), key)};
    } else if (fail_next_[i] > 0) {
      --fail_next_[i];
      fault = Error{fmt::format("injected fault: {} {}", RegistryOpName(op), key)};
    }
    if (fault) ++failures_[i];
  }
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  return fault;
}

FaultyRegistry::FaultyRegistry(std::unique_ptr<Registry> inner, std::shared_ptr<FaultPlan> plan)
    : inner_(std::move(inner)), plan_(std::move(plan)) {}

Result<std::int64_t> FaultyRegistry::Put(const std::string& key, const std::string& value,
                                         std::chrono::milliseconds ttl) {
  if (auto fault = plan_->Enter(RegistryOp::kPut, key)) return *fault;
  return inner_->Put(key, value, ttl);
}

Status FaultyRegistry::KeepAlive(const std::string& key) {
  if (auto fault = plan_->Enter(RegistryOp::kKeepAlive, key)) return *fault;
  return inner_->KeepAlive(key);
}

Status FaultyRegistry::Delete(const std::string& key) {
  if (auto fault = plan_->Enter(RegistryOp::kDelete, key)) return *fault;
  return inner_->Delete(key);
}

Result<std::optional<KeyValue>> FaultyRegistry::Get(const std::string& key) {
  if (auto fault = plan_->Enter(RegistryOp::kGet, key)) return *fault;
  return inner_->Get(key);
}

Result<std::optional<LeaseInfo>> FaultyRegistry::Lease(const std::string& key) {
  if (auto fault = plan_->Enter(RegistryOp::kLease, key)) return *fault;
  return inner_->Lease(key);
}

Result<std::vector<KeyValue>> FaultyRegistry::List(const std::string& prefix) {
  if (auto fault = plan_->Enter(RegistryOp::kList, prefix)) return *fault;
  return inner_->List(prefix);
}

Result<bool> FaultyRegistry::CompareAndSwap(const std::string& key, std::int64_t expected_revision,
                                            const std::string& value,
                                            std::chrono::milliseconds ttl) {
  if (auto fault = plan_->Enter(RegistryOp::kCompareAndSwap, key)) return *fault;
  return inner_->CompareAndSwap(key, expected_revision, value, ttl);
}

Result<std::vector<WatchEvent>> FaultyRegistry::ChangesSince(const std::string& prefix,
                                                             std::int64_t since) {
  if (auto fault = plan_->Enter(RegistryOp::kChangesSince, prefix)) return *fault;
  return inner_->ChangesSince(prefix, since);
}

std::int64_t FaultyRegistry::CurrentRevision() { return inner_->CurrentRevision(); }

Result<std::unique_ptr<WatchStream>> FaultyRegistry::Watch(const std::string& prefix,
                                                           std::int64_t since) {
  if (auto fault = plan_->Enter(RegistryOp::kWatch, prefix)) return *fault;
  auto inner = inner_->Watch(prefix, since);
  if (!inner.ok()) return inner.error();
  return std::unique_ptr<WatchStream>(
      std::make_unique<FaultyWatch>(std::move(inner).value(), plan_, prefix));
}

}  // namespace meridian::registry
