// What the agent exposes on /metrics (--metrics-listen), registered with
// the metrics registry (common/metrics.h). Everything is read at scrape
// time from where it is already kept: the datapath's counters from the
// pinned mer_stats, the rest from the agent's status (the same fields
// status.json shows); only the reconcile histogram is observed as it
// happens. Names follow Prometheus's conventions (docs/metrics.md).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agent/agent_status.h"
#include "common/metrics.h"
#include "datapath/node_datapath.h"
#include "dns/dns_counters.h"

namespace meridian::agent {

// What one frontend sent to one backend, named: new flows (mer_flows),
// and packets and bytes by direction (mer_traffic).
struct BackendFlows {
  std::string frontend;  // "10.96.0.10:80/TCP"
  std::string backend;   // "10.1.1.11:8080/TCP"
  std::uint64_t flows = 0;
  // By enum mer_ct_dir (forward, reply); kept only with has_traffic.
  std::array<std::uint64_t, 2> packets{};
  std::array<std::uint64_t, 2> bytes{};
  bool has_traffic = false;
};

struct AgentMetricsSources {
  // The agent's status with its DNS counters brought up to date.
  std::function<const AgentStatus&()> status;
  // mer_stats's descriptor; -1 before the datapath is loaded.
  std::function<int()> stats_fd;
  datapath::MapSizes map_sizes;
  // The DNS server's counters, read as they are; null while it does not run.
  std::function<const dns::DnsCounters*()> dns_counters;
  // mer_flows and mer_traffic, named; empty before the datapath is loaded.
  std::function<std::vector<BackendFlows>()> backend_flows;
  // mer_tunnel_stats's descriptor; -1 before the datapath is loaded.
  std::function<int()> tunnel_stats_fd;
};

// The reconcile phases a histogram series is kept for.
struct ReconcileMetrics {
  metrics::Histogram* duration = nullptr;  // meridian_reconcile_duration_seconds{phase}
  void Observe(const ApplyPhases& phases) const;
};

ReconcileMetrics RegisterAgentMetrics(metrics::Registry& registry, AgentMetricsSources sources);

}  // namespace meridian::agent
