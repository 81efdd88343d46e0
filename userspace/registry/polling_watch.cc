// The default Registry::Watch: ChangesSince in a sleep loop. Correct for any
// backend, at the cost of up to one poll interval of latency.
#include <thread>

#include "registry/registry.h"

namespace meridian::registry {
namespace {

constexpr std::chrono::milliseconds kPollInterval{50};

class PollingWatch final : public WatchStream {
 public:
  PollingWatch(Registry& registry, std::string prefix, std::int64_t since)
      : registry_(registry), prefix_(std::move(prefix)), since_(since) {}

  Result<std::vector<WatchEvent>> Next(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto events = registry_.ChangesSince(prefix_, since_);
      if (!events) return events.error();
      if (!events->empty()) {
        since_ = events->back().kv.revision;
        return events;
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return std::vector<WatchEvent>{};
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(kPollInterval, deadline - now));
    }
  }

 private:
  Registry& registry_;
  std::string prefix_;
  std::int64_t since_;
};

}  // namespace

Result<std::unique_ptr<WatchStream>> Registry::Watch(const std::string& prefix,
                                                     std::int64_t since) {
  if (auto valid = ValidatePrefix(prefix); !valid) return valid.error();
  return std::unique_ptr<WatchStream>(std::make_unique<PollingWatch>(*this, prefix, since));
}

}  // namespace meridian::registry
