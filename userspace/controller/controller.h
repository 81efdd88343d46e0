// Controller: one per cluster. Reads the cluster's objects from its source
// (the API server or a manifest directory: Service,
// EndpointSlice, ServiceExport and its own Cluster), publishes ClusterInfo
// and exports to the registry under a lease, renews it every TTL/3, and
// withdraws everything on SIGINT/SIGTERM. An unreachable registry at start
// is retried every second (status "unreachable"). One Boost.Asio thread.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
// clang-format on
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/log_format.h"
#include "common/metrics.h"
#include "controller/controller_metrics.h"
#include "controller/decision_scheduler.h"
#include "controller/export_publisher.h"
#include "controller/export_status_writer.h"
#include "controller/import_writer.h"
#include "controller/scheduler_lease.h"
#include "controller/share_writer.h"
#include "health/health_server.h"
#include "health/metrics_server.h"
#include "mcs/clusterset_view.h"
#include "mcs/export_builder.h"
#include "registry/registry.h"
#include "sources/source.h"

namespace meridian::controller {

// The log lines' context: "controller CLUSTER" in text, component and
// cluster fields in JSON.
inline logging::LogContext ControllerLogContext(const std::string& cluster) {
  return {.text_prefix = "controller " + cluster,
          .fields = {{"component", "controller"}, {"cluster", cluster}}};
}

struct ControllerOptions {
  // --cluster; with --source kubernetes, the ClusterProperty
  // cluster.clusterset.k8s.io overrides it (and may replace it).
  std::string cluster;
  std::string source;                 // "dir:PATH" or "kubernetes" (sources/source.h)
  std::string kubeconfig;             // with "kubernetes"; empty: client-go's order
  std::string health_listen = "off";  // /healthz and /readyz, "ADDR:PORT"
  // Prometheus /metrics, "ADDR:PORT" or "off" (docs/metrics.md).
  std::string metrics_listen = "127.0.0.1:9966";
  logging::LogFormat log_format = logging::LogFormat::kText;
  std::string registry_url;
  std::chrono::milliseconds lease_ttl{10000};
  std::string clusterset_cidr = "10.255.0.0/16";
  std::string status_file;  // empty: none
  std::string state_dir;    // manifest owners; default: the status file's directory
  bool once = false;        // publish once and exit, leaving the records (for tests)
  // --scheduler: a candidate for the ClusterSet's propagation scheduler
  // (controller/scheduler_lease.h), reading its PropagationPolicies,
  // workloads and Karmada Clusters from this directory.
  std::string scheduler_manifests;
};

class Controller {
 public:
  explicit Controller(ControllerOptions options) : options_(std::move(options)) {}
  int Run();

 private:
  static constexpr std::chrono::milliseconds kConnectRetry{1000};

  // Opens the registry and starts publishing, or retries in kConnectRetry.
  void Connect();
  std::string OwnersFile() const;
  void Sync();
  void WaitForFirstSync();
  // This cluster's name: the ClusterProperty cluster.clusterset.k8s.io when
  // the source has one, else --cluster. Fixed for the process's life.
  Status ResolveIdentity();
  // The ClusterSet's imports (every cluster's exports from the registry,
  // merged) written as ServiceImports and EndpointSlices.
  void WriteBackImports(const model::ResourceSnapshot& snapshot,
                        std::vector<std::string>& problems);
  void StopWhenWritesDone(std::chrono::steady_clock::time_point deadline);
  Status StartHealth();
  health::HealthReply Health(const std::string& path) const;
  Status StartMetrics();
  ControllerMetricsView MetricsView() const;
  // publishing, degraded, unreachable or stopped, as the status file says.
  std::string State(const SyncReport& report, const std::vector<std::string>& problems) const;
  void ScheduleRenew();
  // With --scheduler: one election step and, when leading, one round.
  void RunScheduler();
  void AdoptCreationTimes();
  void LogConflictChanges(const SyncReport& report);
  void WriteBackConditions(const model::ResourceSnapshot& snapshot, const SyncReport& report,
                           const std::vector<mcs::ExportProblem>& invalid);
  void WriteStatus(const SyncReport& report, const std::vector<std::string>& problems,
                   const std::vector<mcs::ExportProblem>& invalid = {});

  ControllerOptions options_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_{io_, SIGINT, SIGTERM};
  boost::asio::steady_timer renew_timer_{io_};
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<sources::Source> source_;  // after io_: destroyed before it
  std::unique_ptr<health::HealthServer> health_;
  metrics::Registry metrics_;
  ControllerInstruments instruments_;
  std::unique_ptr<health::HealthServer> metrics_server_;
  // ServiceExport conditions written back; with --source kubernetes only.
  std::unique_ptr<ExportStatusWriter> status_writer_;
  // ServiceImports and MCS EndpointSlices; with --source kubernetes only.
  std::unique_ptr<ImportWriter> import_writer_;
  // Deployments' spec.replicas from the decisions; with --source kubernetes only.
  std::unique_ptr<ShareWriter> share_writer_;
  mcs::RecordCache record_cache_;  // the registry's records, decoded once per revision
  std::chrono::steady_clock::time_point last_sync_ = std::chrono::steady_clock::now();
  std::optional<ExportPublisher> publisher_;
  std::optional<SchedulerLease> scheduler_lease_;  // with --scheduler, once connected
  ScheduleRound last_round_;
  std::string scheduler_error_;  // the last election or registry error
  // Creation time of each ServiceExport without a metadata.creationTimestamp.
  std::map<model::ObjectKey, std::int64_t> first_seen_ms_;
  // The conflicts last logged, per exported service.
  std::map<model::ObjectKey, std::vector<std::string>> conflicts_;
  int syncs_ = 0;
  model::Cidr clusterset_cidr_;
  std::string registry_error_;  // why the registry could not be opened; empty once it was
  int exit_code_ = 0;
  // What the last status write said, rewritten as "stopped" on exit.
  bool stopping_ = false;
  SyncReport last_report_;
  std::vector<std::string> last_problems_;
  std::vector<mcs::ExportProblem> last_invalid_;
};

}  // namespace meridian::controller
