// RegistryWatcher: keeps a copy of every record under /meridian/v1/ and
// hands it to the agent's io_context whenever it changes. A thread of its
// own does the blocking List/Watch so that a slow or unreachable registry
// never stalls the datapath loop; while the registry is unreachable the
// agent keeps serving the last records it had (DESIGN.md, "Registry").
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
// clang-format on
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "registry/registry.h"

namespace meridian::agent {

// One message from the watcher thread. A (re)list carries every record;
// afterwards only the changes travel, so a change to one export among
// thousands costs the agent one record, not a copy of the registry.
struct RegistryUpdate {
  bool full = false;                         // records replaces everything
  std::vector<registry::KeyValue> records;   // full: every live record, sorted by key
  std::vector<registry::WatchEvent> events;  // !full: changes in revision order
  std::int64_t revision = 0;
  std::string error;  // non-empty: the registry is unreachable (keep the last good records)
};

// Applies an update to `records` (sorted by key); returns whether they changed.
// An update with an error changes nothing.
bool ApplyRegistryUpdate(std::vector<registry::KeyValue>& records, RegistryUpdate&& update);

class RegistryWatcher {
 public:
  using Callback = std::function<void(RegistryUpdate)>;

  // `on_update` runs on `io`, after the first list and after every batch
  // of changes (and when the error state changes). The registry is opened
  // on the watcher's thread and retried until it answers, so an etcd that
  // is down when the agent starts delays only the ClusterSet, never the
  // node's own services. Check the URL first (registry::CheckRegistryUrl).
  RegistryWatcher(std::string url, boost::asio::io_context& io, Callback on_update);
  ~RegistryWatcher();  // stops and joins the thread
  RegistryWatcher(const RegistryWatcher&) = delete;
  RegistryWatcher& operator=(const RegistryWatcher&) = delete;

 private:
  void Loop();

  std::string url_;
  std::unique_ptr<registry::Registry> reg_;
  boost::asio::io_context& io_;
  Callback on_update_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace meridian::agent
