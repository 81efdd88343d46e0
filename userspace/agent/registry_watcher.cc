#include "agent/registry_watcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string_view>

#include "common/unix_time.h"

namespace meridian::agent {
namespace {

constexpr char kPrefix[] = "/meridian/v1/";
constexpr std::chrono::milliseconds kNextTimeout{200};  // bounds the time to notice stop_
constexpr std::chrono::milliseconds kRetry{1000};

}  // namespace

bool IsClusterInfoKey(const std::string& key) {
  constexpr std::string_view kClusters = "/meridian/v1/clusters/", kInfo = "/info";
  std::string_view k(key);
  if (k.size() <= kClusters.size() + kInfo.size() || !k.starts_with(kClusters) ||
      !k.ends_with(kInfo)) {
    return false;
  }
  k.remove_prefix(kClusters.size());
  k.remove_suffix(kInfo.size());
  return k.find('/') == std::string_view::npos;
}

RegistryWatcher::RegistryWatcher(std::string url, boost::asio::io_context& io, Callback on_update,
                                 std::chrono::milliseconds lease_poll)
    : RegistryWatcher([url = std::move(url)] { return registry::OpenRegistry(url); }, io,
                      std::move(on_update), lease_poll) {}

RegistryWatcher::RegistryWatcher(Opener open, boost::asio::io_context& io, Callback on_update,
                                 std::chrono::milliseconds lease_poll)
    : open_(std::move(open)), io_(io), on_update_(std::move(on_update)), lease_poll_(lease_poll) {
  thread_ = std::thread([this] { Loop(); });
}

RegistryWatcher::~RegistryWatcher() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool ApplyRegistryUpdate(std::vector<registry::KeyValue>& records, RegistryUpdate&& update) {
  if (!update.error.empty()) return false;
  if (update.full) {
    if (update.records == records) return false;
    records = std::move(update.records);
    return true;
  }
  bool changed = false;
  auto by_key = [](const registry::KeyValue& kv, const std::string& key) { return kv.key < key; };
  for (auto& ev : update.events) {
    auto it = std::lower_bound(records.begin(), records.end(), ev.kv.key, by_key);
    bool found = it != records.end() && it->key == ev.kv.key;
    if (ev.type == registry::WatchEvent::Type::kDelete) {
      if (found) {
        records.erase(it);
        changed = true;
      }
    } else if (found) {
      if (!(*it == ev.kv)) {
        *it = std::move(ev.kv);
        changed = true;
      }
    } else {
      records.insert(it, std::move(ev.kv));
      changed = true;
    }
  }
  return changed;
}

std::vector<ClusterLease> RegistryWatcher::ReadLeases(const std::set<std::string>& info_keys) {
  std::vector<ClusterLease> out;
  for (const auto& key : info_keys) {
    auto lease = reg_->Lease(key);
    if (!lease) {
      spdlog::debug("registry: {}", lease.error().message);
      continue;
    }
    if (!*lease) continue;  // gone since, or written without a lease
    out.push_back({.key = key, .lease = **lease, .read_unix_ms = UnixNowMs()});
  }
  return out;
}

void RegistryWatcher::Loop() {
  std::string last_error;
  auto post = [&](RegistryUpdate u) {
    boost::asio::post(io_, [cb = on_update_, u = std::move(u)]() mutable { cb(std::move(u)); });
  };
  auto fail = [&](const std::string& error, std::int64_t revision) {
    if (error != last_error) {
      spdlog::warn("registry: {} (serving the last records; retrying every {} ms)", error,
                   kRetry.count());
      last_error = error;
      post(RegistryUpdate{.revision = revision, .error = error});
    }
    for (auto waited = std::chrono::milliseconds(0); waited < kRetry && !stop_;
         waited += kNextTimeout) {
      std::this_thread::sleep_for(kNextTimeout);
    }
  };

  std::int64_t revision = 0;
  while (!stop_) {
    if (!reg_) {
      auto opened = open_();
      if (!opened) {
        fail(opened.error().message, revision);
        continue;
      }
      reg_ = std::move(opened).value();
    }
    // (Re)list: read the revision first so nothing falls between the list
    // and the watch.
    std::int64_t start = reg_->CurrentRevision();
    auto list = reg_->List(kPrefix);
    if (!list) {
      fail(list.error().message, revision);
      // Open afresh next time: a gRPC channel that saw its etcd die can
      // stay stuck in failed handshakes after etcd is back (seen in the
      // lab); a new connection is cheap next to a ClusterSet left stale.
      reg_.reset();
      continue;
    }
    std::sort(list->begin(), list->end(),
              [](const auto& a, const auto& b) { return a.key < b.key; });
    revision = start;
    auto watch = reg_->Watch(kPrefix, start);
    if (!watch) {
      fail(watch.error().message, revision);
      continue;
    }
    if (!last_error.empty()) spdlog::info("registry: reachable again at revision {}", revision);
    last_error.clear();
    // The clusters' info keys, followed through the watch: what a lease poll reads.
    std::set<std::string> info_keys;
    for (const auto& kv : *list) {
      if (IsClusterInfoKey(kv.key)) info_keys.insert(kv.key);
    }
    post(RegistryUpdate{.full = true, .records = std::move(*list), .revision = revision});
    auto next_lease_poll = std::chrono::steady_clock::now();
    while (!stop_) {
      if (lease_poll_.count() > 0 && std::chrono::steady_clock::now() >= next_lease_poll) {
        next_lease_poll = std::chrono::steady_clock::now() + lease_poll_;
        post(RegistryUpdate{.revision = revision, .leases = ReadLeases(info_keys)});
      }
      auto events = (*watch)->Next(kNextTimeout);
      if (!events) {
        fail(events.error().message, revision);
        break;  // relist: covers both compaction and a lost connection
      }
      if (events->empty()) continue;
      for (const auto& ev : *events) {
        revision = std::max(revision, ev.kv.revision);
        if (!IsClusterInfoKey(ev.kv.key)) continue;
        if (ev.type == registry::WatchEvent::Type::kDelete) {
          info_keys.erase(ev.kv.key);
        } else {
          info_keys.insert(ev.kv.key);
        }
      }
      post(RegistryUpdate{.events = std::move(*events), .revision = revision});
    }
  }
}

}  // namespace meridian::agent
