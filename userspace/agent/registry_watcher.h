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

struct RegistryUpdate {
  std::vector<registry::KeyValue> records;  // every live record, sorted by key
  std::int64_t revision = 0;
  std::string error;  // non-empty: the registry is unreachable (records are the last good)
};

class RegistryWatcher {
 public:
  using Callback = std::function<void(RegistryUpdate)>;

  // `on_update` runs on `io`, after the first list and after every batch
  // of changes (and when the error state changes).
  RegistryWatcher(std::unique_ptr<registry::Registry> reg, boost::asio::io_context& io,
                  Callback on_update);
  ~RegistryWatcher();  // stops and joins the thread
  RegistryWatcher(const RegistryWatcher&) = delete;
  RegistryWatcher& operator=(const RegistryWatcher&) = delete;

 private:
  void Loop();

  std::unique_ptr<registry::Registry> reg_;
  boost::asio::io_context& io_;
  Callback on_update_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace meridian::agent
