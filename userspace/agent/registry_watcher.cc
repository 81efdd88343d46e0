#include "agent/registry_watcher.h"

#include <spdlog/spdlog.h>

#include <map>

namespace meridian::agent {
namespace {

constexpr char kPrefix[] = "/meridian/v1/";
constexpr std::chrono::milliseconds kNextTimeout{200};  // bounds the time to notice stop_
constexpr std::chrono::milliseconds kRetry{1000};

}  // namespace

RegistryWatcher::RegistryWatcher(std::unique_ptr<registry::Registry> reg,
                                 boost::asio::io_context& io, Callback on_update)
    : reg_(std::move(reg)), io_(io), on_update_(std::move(on_update)) {
  thread_ = std::thread([this] { Loop(); });
}

RegistryWatcher::~RegistryWatcher() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void RegistryWatcher::Loop() {
  std::map<std::string, registry::KeyValue> records;
  std::string last_error;
  auto publish = [&](std::int64_t revision, const std::string& error) {
    RegistryUpdate u{.records = {}, .revision = revision, .error = error};
    u.records.reserve(records.size());
    for (const auto& [k, kv] : records) u.records.push_back(kv);
    boost::asio::post(io_, [cb = on_update_, u = std::move(u)]() mutable { cb(std::move(u)); });
  };
  auto fail = [&](const std::string& error, std::int64_t revision) {
    if (error != last_error) {
      spdlog::warn("registry: {} (serving the last records; retrying every {} ms)", error,
                   kRetry.count());
      last_error = error;
      publish(revision, error);
    }
    for (auto waited = std::chrono::milliseconds(0); waited < kRetry && !stop_;
         waited += kNextTimeout) {
      std::this_thread::sleep_for(kNextTimeout);
    }
  };

  std::int64_t revision = 0;
  while (!stop_) {
    // (Re)list: read the revision first so nothing falls between the list
    // and the watch.
    std::int64_t start = reg_->CurrentRevision();
    auto list = reg_->List(kPrefix);
    if (!list) {
      fail(list.error().message, revision);
      continue;
    }
    records.clear();
    for (auto& kv : *list) records[kv.key] = std::move(kv);
    revision = start;
    auto watch = reg_->Watch(kPrefix, start);
    if (!watch) {
      fail(watch.error().message, revision);
      continue;
    }
    if (!last_error.empty()) spdlog::info("registry: reachable again at revision {}", revision);
    last_error.clear();
    publish(revision, "");
    while (!stop_) {
      auto events = (*watch)->Next(kNextTimeout);
      if (!events) {
        fail(events.error().message, revision);
        break;  // relist: covers both compaction and a lost connection
      }
      if (events->empty()) continue;
      for (auto& ev : *events) {
        revision = std::max(revision, ev.kv.revision);
        if (ev.type == registry::WatchEvent::Type::kDelete) {
          records.erase(ev.kv.key);
        } else {
          records[ev.kv.key] = std::move(ev.kv);
        }
      }
      publish(revision, "");
    }
  }
}

}  // namespace meridian::agent
