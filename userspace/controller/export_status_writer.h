// ExportStatusWriter: writes each ServiceExport's conditions
// (export_conditions.h) back to the API server with a merge PATCH of its
// status subresource, only when they changed since the last successful
// write. A failed write is retried on the next sync; a 404 means the
// ServiceExport is gone. Runs on the controller's io_context.
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

#include "controller/export_conditions.h"
#include "kube/kube_client.h"
#include "model/object_ref.h"

namespace meridian::controller {

struct ExportStatusCounters {
  std::uint64_t patches = 0;   // status writes that succeeded
  std::uint64_t failures = 0;  // that failed (retried)
  std::string last_error;
};

class ExportStatusWriter {
 public:
  ExportStatusWriter(boost::asio::io_context& io, std::shared_ptr<kube::KubeClient> client);

  // The outcome of every ServiceExport the source holds now.
  void Update(const std::map<model::ObjectKey, ExportOutcome>& outcomes);

  const ExportStatusCounters& counters() const { return state_->counters; }
  // No write in flight.
  bool idle() const { return state_->in_flight.empty(); }

 private:
  struct State {
    std::map<model::ObjectKey, nlohmann::json> written;  // conditions the server has
    std::set<model::ObjectKey> in_flight;
    ExportStatusCounters counters;
  };

  boost::asio::io_context& io_;
  std::shared_ptr<kube::KubeClient> client_;
  // Shared with writes in flight, which may outlive the writer.
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace meridian::controller
