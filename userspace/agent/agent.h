// Agent: one node's control loop. Sources -> model -> desired state -> map
// writer -> kernel, driven by its source (a manifest directory or the
// Kubernetes API), rtnetlink (pods), the registry, a resync timer and signals, on one Boost.Asio
// thread.
#pragma once

// clang-format off
#include <utility>  // first: Boost 1.74 Asio uses std::exchange without including it
#include <boost/asio.hpp>
// clang-format on
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/agent_metrics.h"
#include "agent/agent_options.h"
#include "agent/agent_status.h"
#include "agent/pod_link_watcher.h"
#include "agent/registry_watcher.h"
#include "agent/uplink_info.h"
#include "datapath/ct_eviction_estimate.h"
#include "datapath/map_writer.h"
#include "datapath/node_datapath.h"
#include "desired/desired_state.h"
#include "dns/dns_server.h"
#include "health/health_server.h"
#include "health/metrics_server.h"
#include "health/peer_prober.h"
#include "health/service_health_servers.h"
#include "mcs/clusterset_view.h"
#include "sources/source.h"

namespace meridian::agent {

class Agent {
 public:
  explicit Agent(AgentOptions options);
  ~Agent();

  // Loads the datapath and runs until SIGINT/SIGTERM (or once, with
  // options.once). Returns the process exit code.
  int Run();

 private:
  Status Start();
  void WaitForFirstSync();
  Result<mer_config> TunnelConfig();
  using Clock = std::chrono::steady_clock;
  // What one reconcile works from.
  struct ReconcileInput {
    model::ResourceSnapshot snapshot;  // manifests, clusters from the registry
    std::vector<model::Cluster> manifest_clusters;
    std::vector<model::ServiceImport> imports;
    std::vector<std::string> errors;  // input errors so far
    bool changed = false;             // the manifests changed
  };

  void Reconcile();
  ReconcileInput Gather(ApplyPhases& phases);
  void CheckClusterId(ReconcileInput& in) const;
  void LogErrorChanges(const std::vector<std::string>& errors);
  void BuildAndApply(ReconcileInput& in, Clock::time_point started, ApplyPhases& phases);
  void Report(std::vector<std::string> errors, Clock::time_point started);
  static double MsSince(Clock::time_point t);
  void HandleLinkEvents();
  void RefreshNodePortAddresses();
  void Attach(int ifindex, const std::string& name);
  void PurgeRemovedEndpoints(const desired::DesiredState& next);
  void DescribeWeights(const ReconcileInput& in, const desired::DesiredState& state);
  void DescribeClusters(const std::vector<model::Cluster>& clusters);
  void PublishStatus();
  void ScheduleResync(std::chrono::milliseconds after);
  void ScheduleCtGc();
  void CollectIdleFlows();
  void EstimateCtEvictions(std::uint64_t collected);
  // mer_flows: the pairs whose frontend or backend is no longer installed
  // are deleted (with the conntrack collection); the rest named for /metrics.
  void PruneFlowCounts();
  std::vector<BackendFlows> NamedFlowCounts() const;
  Status StartHealth();
  Status StartMetrics();
  void StartPeerProber();
  void StartControlSocket();
  health::HealthReply ControlRequest(const std::string& path);
  // The peer clusters' tunnel endpoints (or gateways) probed, from status_.clusters.
  void ProbePeers();
  // status_.clusters' lease and probes brought up to date (FreshStatus).
  void RefreshClusterLeases();
  void RefreshPeerProbes();
  // status_ with the DNS server's counters brought up to date.
  const AgentStatus& FreshStatus();
  health::HealthReply Health(const std::string& path) const;
  void ArmNetlink();
  void Shutdown();
  void OnRegistryUpdate(RegistryUpdate update);
  Status StartDns();
  void UpdateDns(const std::vector<model::ServiceImport>& imports);
  void SyncServiceHealth(ReconcileInput& in);

  AgentOptions options_;
  // Why the default --nodeport-mode snat could not be enabled; reported as
  // an error on every reconcile.
  std::string nodeport_disabled_;
  // Why finishing the ABI 8 conntrack migration or a map resize failed:
  // reported by every reconcile (each rewrites the errors) until a restart.
  std::vector<std::string> migration_errors_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_{io_, SIGINT, SIGTERM};
  boost::asio::steady_timer resync_timer_{io_};
  boost::asio::steady_timer ct_gc_timer_{io_};
  std::chrono::milliseconds ct_gc_next_{0};  // the collector's adaptive interval
  datapath::CtEvictionEstimate ct_evictions_;
  std::uint64_t ct_purged_at_last_collection_ = 0;  // status_.udp_flows_purged then
  // A frontend or backend was removed since mer_flows was last pruned (and
  // at start: the pins may hold pairs of the previous run's state).
  bool flow_prune_pending_ = true;
  std::optional<boost::asio::posix::stream_descriptor> netlink_desc_;

  std::unique_ptr<datapath::NodeDatapath> datapath_;
  std::optional<datapath::MapWriter> writer_;
  // Declared after io_: destroyed before it (its handlers hold it).
  std::unique_ptr<sources::Source> source_;
  bool running_ = false;  // the first reconcile ran: source changes reconcile
  Clock::time_point last_reconcile_ = Clock::now();
  std::optional<PodLinkWatcher> links_;
  std::optional<UplinkInfo> uplink_;
  std::vector<model::Ipv4Address> nodeport_addresses_;  // with --nodeport-mode only
  std::uint32_t cluster_id_ = 0;
  AgentStatus status_;
  std::string status_path_;
  bool apply_pending_ = true;            // desired state not yet in the kernel
  std::set<std::string> logged_errors_;  // so a persisting error is logged once
  std::unique_ptr<RegistryWatcher> registry_watcher_;
  std::vector<registry::KeyValue> registry_records_;  // sorted by key; the last good
  std::int64_t registry_revision_ = 0;
  std::string registry_error_;
  // When each known cluster was first seen (status.json's clusters).
  std::map<std::string, std::int64_t> cluster_first_seen_ms_;
  // The last lease poll, by info key (registry_watcher.h).
  std::map<std::string, ClusterLease> cluster_leases_;
  bool registry_changed_ = false;
  bool registry_reconcile_queued_ = false;
  mcs::RecordCache record_cache_;
  std::optional<desired::DesiredState> last_desired_;  // what was applied, for Maglev reuse
  // Declared after io_: destroyed (sockets closed) before the io_context.
  std::unique_ptr<dns::DnsServer> dns_;
  std::unique_ptr<health::HealthServer> health_;
  metrics::Registry metrics_;
  ReconcileMetrics reconcile_metrics_;
  std::unique_ptr<health::HealthServer> metrics_server_;  // /metrics
  std::unique_ptr<health::PeerProber> peer_prober_;       // null: off, or no raw socket
  std::unique_ptr<health::HealthServer> control_server_;  // <state-dir>/agent.sock
  // healthCheckNodePorts (with --nodeport-mode only), and what kept some
  // of them from being served (repeated in every status until resolved).
  std::unique_ptr<health::ServiceHealthServers> service_health_;
  std::vector<std::string> service_health_errors_;
};

}  // namespace meridian::agent
