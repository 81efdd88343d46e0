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
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "registry/registry.h"

namespace meridian::agent {

// One message from the watcher thread. A (re)list carries every record;
// afterwards only the changes travel, so a change to one export among
// thousands costs the agent one record, not a copy of the registry.
// The lease of one cluster's info record, as a lease poll read it.
struct ClusterLease {
  std::string key;  // /meridian/v1/clusters/<cluster>/info
  registry::LeaseInfo lease;
  std::int64_t read_unix_ms = 0;

  bool operator==(const ClusterLease&) const = default;
};

struct RegistryUpdate {
  bool full = false;                         // records replaces everything
  std::vector<registry::KeyValue> records;   // full: every live record, sorted by key
  std::vector<registry::WatchEvent> events;  // !full: changes in revision order
  std::int64_t revision = 0;
  std::string error;  // non-empty: the registry is unreachable (keep the last good records)
  // A lease poll: the leases of every cluster's info record (records and
  // events are empty, nothing changed).
  std::optional<std::vector<ClusterLease>> leases;
};

// Whether `key` is a cluster's info record (/meridian/v1/clusters/<name>/info).
bool IsClusterInfoKey(const std::string& key);

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
  // `lease_poll`: how often the leases of the clusters' info records are
  // read (one request per cluster; 0: never).
  RegistryWatcher(std::string url, boost::asio::io_context& io, Callback on_update,
                  std::chrono::milliseconds lease_poll = {});
  // The same over the registries `open` makes (called on the watcher's
  // thread, again after a failed List): for tests that wrap the registry
  // (registry/faulty_registry.h).
  using Opener = std::function<Result<std::unique_ptr<registry::Registry>>()>;
  RegistryWatcher(Opener open, boost::asio::io_context& io, Callback on_update,
                  std::chrono::milliseconds lease_poll = {});
  ~RegistryWatcher();  // stops and joins the thread
  RegistryWatcher(const RegistryWatcher&) = delete;
  RegistryWatcher& operator=(const RegistryWatcher&) = delete;

 private:
  void Loop();
  // Reads the lease of every info key; errors skip the key (a registry
  // that stopped answering is reported by the watch).
  std::vector<ClusterLease> ReadLeases(const std::set<std::string>& info_keys);

  Opener open_;
  std::unique_ptr<registry::Registry> reg_;
  boost::asio::io_context& io_;
  Callback on_update_;
  std::chrono::milliseconds lease_poll_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace meridian::agent
