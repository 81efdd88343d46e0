// AgentStatus: what the agent reports about itself, written as JSON to
// <state-dir>/status.json after every change so that operators and
// meridianctl can read it without talking to the process.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "datapath/map_writer.h"

namespace meridian::agent {

// The ClusterSet registry as this agent sees it.
struct RegistryStatus {
  std::string url;    // empty: no registry (single cluster or static manifests)
  std::string state;  // "connected" or "unreachable" (serving the last records)
  std::string error;
  std::int64_t revision = 0;          // latest revision received
  std::int64_t applied_revision = 0;  // latest revision whose state is in the kernel
  std::int64_t applied_unix_ms = 0;   // when it was applied (convergence measurements)
  std::size_t records = 0;
  std::vector<std::pair<std::string, std::string>> rejected;  // key, reason
};

struct ImportStatus {
  std::string name;                    // ns/name
  std::string type;                    // ClusterSetIP or Headless
  std::string clusterset_ip;           // empty until allocated, and for headless
  std::string session_affinity;        // None or ClientIP, from the oldest export
  std::vector<std::string> clusters;   // exporting clusters, oldest export first
  std::vector<std::string> ports;      // "http:80/TCP"
  std::vector<std::string> conflicts;  // "<cluster>: <Reason>: <message>"
  // The propagation decision that weights it: generation and replicas per
  // cluster; generation -1 (and no replicas) when there is none.
  std::int64_t decision_generation = -1;
  std::map<std::string, std::uint32_t> decision_replicas;

  bool operator==(const ImportStatus&) const = default;
};

// A frontend whose backend weights come from a propagation decision, as
// installed: `meridianctl services` shows them beside the Maglev slots.
struct WeightedFrontend {
  struct Backend {
    std::string backend;  // "10.1.2.11:8080/TCP"
    std::string cluster;
    std::uint32_t replicas = 0;  // the decision's replicas for the cluster
    std::uint32_t weight = 0;

    bool operator==(const Backend&) const = default;
  };
  std::string frontend;  // "10.255.0.1:80/TCP"
  std::string service;   // ns/name
  std::int64_t generation = 0;
  std::vector<Backend> backends;

  bool operator==(const WeightedFrontend&) const = default;
};

// The imports as JSON text. Rendered once per change of the imports and
// spliced into every status write: with thousands of imports, rendering
// them on every reconcile cost more than the reconcile itself.
std::string RenderImportsJson(const std::vector<ImportStatus>& imports);
std::string RenderWeightsJson(const std::vector<WeightedFrontend>& weighted);

// A cluster of the ClusterSet as this agent knows it (meridianctl
// clusters): from the manifests, or the registry's ClusterInfo records.
// One tunnel endpoint (or gateway) of a peer cluster, as the peer prober
// (health/peer_prober.h) last saw it.
struct PeerProbeStatus {
  std::string address;
  std::string state = "probing";     // probing, reachable, unreachable
  std::int64_t rtt_us = -1;          // of the last reply; -1: none yet
  std::int64_t since_reply_ms = -1;  // age of the last reply; -1: none yet
  std::uint64_t sent = 0;
  std::uint64_t replies = 0;
  std::string error;  // why the last send failed

  bool operator==(const PeerProbeStatus&) const = default;
};

struct ClusterStatus {
  std::string name;
  std::uint32_t id = 0;  // the tunnel's VNI
  bool local = false;    // this agent's own cluster (--cluster)
  std::string source;    // the manifest file, or the registry key of its ClusterInfo
  std::vector<std::string> pod_cidrs;
  // "172.16.2.11 10.2.1.0/24,10.2.3.0/24" per node, or "gateway 172.16.2.1"
  std::vector<std::string> tunnel_endpoints;
  std::int64_t known_since_unix_ms = 0;  // when this agent first saw it (since its start)
  // The lease of its registry record as last read (--registry-lease-poll-ms);
  // ttl_ms -1: not read (a manifest cluster, no registry, or polling off).
  struct Lease {
    std::int64_t ttl_ms = -1;
    std::int64_t remaining_ms = -1;
    std::int64_t read_unix_ms = 0;
    bool operator==(const Lease&) const = default;
  } lease;
  // A peer's endpoints, probed (empty: the local cluster, or probing off).
  std::vector<PeerProbeStatus> probes;
  // From the probes: "reachable" (all answer), "partial", "unreachable"
  // (none does), "probing" (no verdict yet); "" without probes.
  std::string reachability;

  bool operator==(const ClusterStatus&) const = default;
};

// The clusterset.local DNS server, as of the last status write.
struct DnsStatus {
  std::string listen;  // empty: not running
  std::uint16_t port = 0;
  std::size_t names = 0;  // ServiceImports in the catalog
  std::uint32_t serial = 0;
  std::uint64_t udp_queries = 0;
  std::uint64_t tcp_queries = 0;
  std::uint64_t noerror = 0;
  std::uint64_t nxdomain = 0;
  std::uint64_t refused = 0;
  std::uint64_t formerr = 0;
  std::uint64_t dropped = 0;
  std::uint64_t truncated = 0;
  std::uint64_t rate_limited = 0;  // UDP queries over their client's --dns-rate-limit
};

// This node's Node object (--source kubernetes): the addresses and the
// topology labels it carries.
struct NodeObjectStatus {
  bool found = false;
  std::string internal_ip, external_ip;  // first IPv4 of each type, or empty
  std::string zone, region;
};

// Where the last reconcile that wrote to the kernel spent its time, in
// milliseconds: what a sync costs, by phase (docs/benchmarks.md uses it).
struct ApplyPhases {
  double read = 0;      // list, read and decode the manifests
  double registry = 0;  // merge the registry's records into imports (0 without --registry)
  double desired = 0;   // build the desired state, Maglev tables included
  double write = 0;     // map writer: desired state -> BPF maps
  double total = 0;     // the whole reconcile
};

// The conntrack collector (datapath/ct_gc.h), as of its last run.
struct ConntrackStatus {
  std::uint64_t collections = 0;  // runs that completed
  std::uint64_t expired = 0;      // idle entries deleted since the agent started
  std::size_t entries = 0;        // entries left after the last run
  std::size_t capacity = 0;       // mer_ct's max_entries
  std::uint64_t evicted = 0;      // LRU evictions since the agent started (estimated)
  double last_collection_ms = 0;  // how long the last run took
  // Until the next run: --ct-gc-interval-ms, shortened while runs delete
  // much or find the table nearly full (datapath/ct_gc_interval.h).
  std::int64_t gc_interval_ms = 0;
  // Collections that also scanned mer_flows for the pairs of removed
  // frontends or backends: only those after an apply that removed some.
  std::uint64_t flow_pair_scans = 0;
  std::string last_error;  // of the last run; empty when it succeeded
};

struct AgentStatus {
  std::string node;
  std::string source;  // --source: "dir:PATH" or "kubernetes"
  // "serving": last reconcile applied cleanly; "degraded": input rejected
  // or a kernel write failed, the last good state is still served.
  // "stopped": the agent exited (SIGTERM, a failed start); the datapath it
  // loaded keeps forwarding unless it ran with --detach-on-exit.
  std::string state = "starting";
  // A reader tells a stale file (the agent was killed or crashed) by the
  // heartbeat: it is stamped on every write, and writes happen at least
  // every heartbeat_interval_ms (the resync interval).
  long pid = 0;
  std::int64_t heartbeat_unix_ms = 0;
  std::int64_t heartbeat_interval_ms = 0;
  std::vector<std::string> errors;  // current input and apply errors
  std::uint64_t reconciles = 0;
  double last_reconcile_ms = 0;  // read, merge, build and apply (not the status write)
  std::uint64_t apply_failures = 0;
  std::uint64_t udp_flows_purged = 0;   // conntrack entries of removed UDP endpoints
  std::uint64_t affinities_purged = 0;  // mer_affinity entries of removed endpoints
  std::string last_apply_time;          // RFC 3339, UTC
  ApplyPhases last_apply_ms;
  datapath::WriteStats last_writes;
  std::size_t services = 0;  // frontends installed
  std::size_t backends = 0;
  std::uint64_t maglev_slots_used = 0;  // of mer_maglev, quarantined ranges included
  std::uint32_t maglev_slots_capacity = 0;
  std::map<std::string, int> attached_interfaces;  // name -> ifindex
  bool reused_pinned_maps = false;
  // Reported with --source kubernetes, or when the manifests hold this
  // node's Node.
  NodeObjectStatus node_object;
  RegistryStatus registry;
  std::vector<ClusterStatus> clusters;
  std::vector<ImportStatus> imports;
  std::string imports_json;  // RenderImportsJson(imports), kept in step by the agent
  std::vector<WeightedFrontend> weighted;
  std::string weighted_json;  // RenderWeightsJson(weighted), kept in step by the agent
  DnsStatus dns;
  ConntrackStatus conntrack;
};

// Atomic (WriteFileAtomically): a reader never sees a torn status.json.
Status WriteStatusFile(const AgentStatus& status, const std::string& path);
// The JSON document status.json holds (and the control socket's GET /status).
std::string RenderStatus(const AgentStatus& status);
// A peer cluster's verdict from its endpoints' (ClusterStatus::reachability).
std::string ClusterReachability(const std::vector<PeerProbeStatus>& probes);

std::string NowRfc3339();

}  // namespace meridian::agent
