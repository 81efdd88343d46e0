// ImportWriter: keeps the ServiceImports and MCS EndpointSlices of one
// cluster's API server equal to the ClusterSet's merged imports
// (import_objects.h). Writes are server-side applies (one request creates
// or updates), sent only for what changed since the last successful write;
// the EndpointSlices follow their ServiceImport (they need its uid for
// their owner reference). Objects of imports that are gone are deleted.
// At start it lists what carries its managed-by labels, so a restart
// deletes what a previous run left and nothing it did not write. A failed
// write is retried on the next Update. Runs on the controller's io_context.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio/io_context.hpp>
// clang-format on
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "kube/kube_client.h"
#include "model/object_ref.h"
#include "model/service_import.h"

namespace meridian::controller {

struct ImportWriteCounters {
  std::uint64_t applies = 0;   // objects created or updated
  std::uint64_t deletes = 0;   // objects deleted (gone imports, stale slices)
  std::uint64_t failures = 0;  // requests that failed (retried)
  std::string last_error;
};

class ImportWriter {
 public:
  ImportWriter(boost::asio::io_context& io, std::shared_ptr<kube::KubeClient> client);

  // Every import of the ClusterSet now, as MergeImports gives them.
  void Update(const std::vector<model::ServiceImport>& imports);

  const ImportWriteCounters& counters() const { return state_->counters; }
  // Nothing in flight and the start-up list done.
  bool idle() const { return state_->adopted && state_->in_flight.empty(); }
  // Imports whose objects the server has as last computed.
  std::size_t written() const { return state_->written.size(); }

 private:
  // What the server holds for one import, as this writer last wrote (or,
  // after the start-up list, found: null objects, so they are rewritten).
  struct Written {
    nlohmann::json object;
    nlohmann::json status;
    std::string uid;
    std::map<std::string, nlohmann::json> slices;  // by name
  };
  struct State {
    bool adopted = false;
    bool adopting = false;
    std::map<model::ObjectKey, model::ServiceImport> desired;
    std::map<model::ObjectKey, Written> written;
    std::set<model::ObjectKey> in_flight;
    ImportWriteCounters counters;
  };
  static void Reconcile(boost::asio::io_context& io,
                        const std::shared_ptr<kube::KubeClient>& client,
                        const std::shared_ptr<State>& state);
  static void Fail(State& state, const std::string& what, const std::string& error);

  boost::asio::io_context& io_;
  std::shared_ptr<kube::KubeClient> client_;
  // Shared with writes in flight, which may outlive the writer.
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace meridian::controller
