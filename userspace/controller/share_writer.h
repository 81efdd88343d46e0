// ShareWriter: each cluster applies its share of the ClusterSet's
// propagation decisions (docs/propagation.md, "Applying the share"). For
// every decision in the registry whose workload is an apps/v1 Deployment,
// this cluster's controller sets that Deployment's spec.replicas to the
// replicas the decision gives this cluster (0 when it gives none), with a
// merge PATCH, and only when the value it last wrote differs. A Deployment
// that does not exist in this cluster is skipped (counted), never created,
// and tried again a minute later.
// With --source kubernetes only: a manifest directory holds no workloads.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
// clang-format on
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "kube/kube_client.h"
#include "model/object_ref.h"
#include "model/propagation_decision.h"

namespace meridian::controller {

struct ShareCounters {
  std::uint64_t patches = 0;   // spec.replicas written
  std::uint64_t missing = 0;   // no such Deployment in this cluster (404)
  std::uint64_t failures = 0;  // retried on the next sync
  std::string last_error;
};

// The Deployment a decision places, from its workload text ("Deployment
// shop/web"); nullopt for any other kind.
std::optional<model::ObjectKey> DeploymentOf(const model::PropagationDecision& d);

class ShareWriter {
 public:
  ShareWriter(boost::asio::io_context& io, std::shared_ptr<kube::KubeClient> client);

  // The decisions in the registry now; `cluster` is this cluster's name.
  void Update(const std::map<model::ObjectKey, model::PropagationDecision>& decisions,
              const std::string& cluster);

  const ShareCounters& counters() const { return state_->counters; }
  // Deployment -> replicas last written (for the status file).
  const std::map<model::ObjectKey, std::uint32_t>& applied() const { return state_->written; }
  bool idle() const { return state_->in_flight.empty(); }

 private:
  struct State {
    std::map<model::ObjectKey, std::uint32_t> written;
    std::set<model::ObjectKey> in_flight;
    std::map<model::ObjectKey, std::chrono::steady_clock::time_point> missing_since;
    ShareCounters counters;
  };
  boost::asio::io_context& io_;
  std::shared_ptr<kube::KubeClient> client_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace meridian::controller
