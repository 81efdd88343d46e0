#include "agent/agent_metrics.h"

#include <spdlog/spdlog.h>

#include <string_view>

#include "datapath/stats_reader.h"
#include "datapath/tunnel_counts.h"
#include "meridian/abi.h"

namespace meridian::agent {
namespace {

using metrics::Family;
using metrics::Type;

Family Gauge(std::string name, std::string help) {
  return Family{.name = std::move(name), .help = std::move(help), .type = Type::kGauge};
}
Family CounterFamily(std::string name, std::string help) {
  return Family{.name = std::move(name), .help = std::move(help), .type = Type::kCounter};
}

// mer_stats: every counter by name, the drops also by reason.
void CollectDatapath(int stats_fd, std::vector<Family>& out) {
  if (stats_fd < 0) return;
  auto stats = datapath::ReadStats(stats_fd);
  if (!stats.ok()) {
    spdlog::warn("metrics: {}", stats.error().message);
    return;
  }
  Family packets = CounterFamily(
      "meridian_datapath_packets_total",
      "Packets (or events) per mer_stats counter: verdicts, drops and events, as meridianctl "
      "stats shows them (docs/maps.md)");
  Family bytes = CounterFamily("meridian_datapath_bytes_total",
                               "Bytes of the packets per mer_stats counter (0 for events)");
  Family drops =
      CounterFamily("meridian_drops_total", "Packets dropped by the datapath, by reason");
  for (const auto& c : *stats) {
    const metrics::Labels counter{{"counter", c.name}};
    packets.samples.push_back({counter, static_cast<double>(c.packets)});
    bytes.samples.push_back({counter, static_cast<double>(c.bytes)});
    constexpr std::string_view kDrop = "drop_";
    if (std::string_view(c.name).substr(0, kDrop.size()) == kDrop) {
      drops.samples.push_back(
          {{{"reason", c.name.substr(kDrop.size())}}, static_cast<double>(c.packets)});
    }
  }
  out.push_back(std::move(packets));
  out.push_back(std::move(bytes));
  out.push_back(std::move(drops));
}

// Frontends' new flows per backend. Sum by frontend for a service's total;
// a backend that leaves takes its series with it.
void CollectBackendFlows(const std::vector<BackendFlows>& pairs, std::vector<Family>& out) {
  Family flows = CounterFamily(
      "meridian_backend_flows_total",
      "New flows (connections, UDP flows) each frontend sent to each backend: counted where "
      "the backend is chosen (conntrack created, or the socket load balancer)");
  Family packets = CounterFamily(
      "meridian_backend_packets_total",
      "Packets translated for each frontend to or from each backend (--traffic-counters): "
      "direction forward is client to backend, reply backend to client");
  Family bytes = CounterFamily("meridian_backend_bytes_total",
                               "Bytes (Ethernet header included) of those packets");
  for (const auto& p : pairs) {
    flows.samples.push_back(
        {{{"frontend", p.frontend}, {"backend", p.backend}}, static_cast<double>(p.flows)});
    if (!p.has_traffic) continue;
    for (int dir : {MER_CT_FORWARD, MER_CT_REPLY}) {
      const metrics::Labels labels{{"frontend", p.frontend},
                                   {"backend", p.backend},
                                   {"direction", dir == MER_CT_FORWARD ? "forward" : "reply"}};
      packets.samples.push_back({labels, static_cast<double>(p.packets[dir])});
      bytes.samples.push_back({labels, static_cast<double>(p.bytes[dir])});
    }
  }
  out.push_back(std::move(flows));
  out.push_back(std::move(packets));
  out.push_back(std::move(bytes));
}

// The tunnel, per peer cluster (its id, the VNI, and its name as the
// agent's status knows it) and direction.
void CollectTunnel(int fd, const std::vector<ClusterStatus>& clusters, std::vector<Family>& out) {
  if (fd < 0) return;
  auto counts = datapath::ReadTunnelCounts(fd);
  if (!counts.ok()) {
    spdlog::warn("metrics: {}", counts.error().message);
    return;
  }
  Family packets = CounterFamily(
      "meridian_tunnel_packets_total",
      "Packets through the VXLAN tunnel per peer cluster (id: the VNI; cluster: its name, empty "
      "when no longer known) and direction (tx: encapsulated to it; rx: received from it and "
      "accepted)");
  Family bytes = CounterFamily("meridian_tunnel_bytes_total",
                               "Bytes of those packets (before encapsulation on tx, of the "
                               "whole frame on rx)");
  for (const auto& c : *counts) {
    std::string name;
    for (const auto& known : clusters) {
      if (known.id == c.cluster_id) name = known.name;
    }
    const metrics::Labels labels{{"cluster", name},
                                 {"cluster_id", std::to_string(c.cluster_id)},
                                 {"direction", c.rx ? "rx" : "tx"}};
    packets.samples.push_back({labels, static_cast<double>(c.packets)});
    bytes.samples.push_back({labels, static_cast<double>(c.bytes)});
  }
  out.push_back(std::move(packets));
  out.push_back(std::move(bytes));
}

// Per cluster: the lease of its registry record (with --registry), and the
// peer prober's view of its endpoints (nothing without --cluster or with
// --peer-probe-interval-ms 0).
void CollectClusters(const std::vector<ClusterStatus>& clusters, std::vector<Family>& out) {
  Family reachable = Gauge("meridian_peer_reachable",
                           "1 while a peer cluster's tunnel endpoint (or gateway) answers ICMP "
                           "echo, 0 once it missed 3 probe intervals or before its first reply");
  Family rtt = Gauge("meridian_peer_rtt_seconds", "Round-trip time of the last echo reply");
  Family sent = CounterFamily("meridian_peer_probes_total", "ICMP echo requests sent");
  Family replies = CounterFamily("meridian_peer_probe_replies_total", "ICMP echo replies received");
  for (const auto& c : clusters) {
    for (const auto& p : c.probes) {
      const metrics::Labels labels{{"cluster", c.name}, {"address", p.address}};
      reachable.samples.push_back({labels, p.state == "reachable" ? 1.0 : 0.0});
      if (p.rtt_us >= 0) rtt.samples.push_back({labels, static_cast<double>(p.rtt_us) / 1e6});
      sent.samples.push_back({labels, static_cast<double>(p.sent)});
      replies.samples.push_back({labels, static_cast<double>(p.replies)});
    }
  }
  Family age = Gauge("meridian_cluster_lease_age_seconds",
                     "How long ago each cluster's controller renewed the lease of its registry "
                     "record (ttl - remaining, as of the last lease poll); the record goes when "
                     "it reaches the TTL");
  Family ttl = Gauge("meridian_cluster_lease_ttl_seconds", "The TTL of that lease");
  for (const auto& c : clusters) {
    if (c.lease.ttl_ms < 0) continue;
    age.samples.push_back(
        {{{"cluster", c.name}}, static_cast<double>(c.lease.ttl_ms - c.lease.remaining_ms) / 1e3});
    ttl.samples.push_back({{{"cluster", c.name}}, static_cast<double>(c.lease.ttl_ms) / 1e3});
  }
  if (!age.samples.empty()) {
    out.push_back(std::move(age));
    out.push_back(std::move(ttl));
  }
  if (reachable.samples.empty()) return;
  out.push_back(std::move(reachable));
  out.push_back(std::move(rtt));
  out.push_back(std::move(sent));
  out.push_back(std::move(replies));
}

void CollectConntrack(const ConntrackStatus& ct, std::vector<Family>& out) {
  auto one = [&](Family f, double v) {
    f.samples.push_back({{}, v});
    out.push_back(std::move(f));
  };
  one(Gauge("meridian_conntrack_entries",
            "mer_ct entries (two per flow) after the collector's last run"),
      static_cast<double>(ct.entries));
  one(CounterFamily("meridian_conntrack_expired_total",
                    "Idle conntrack entries deleted by the collector since the agent started"),
      static_cast<double>(ct.expired));
  one(CounterFamily("meridian_conntrack_evicted_total",
                    "Conntrack entries the LRU evicted since the agent started (estimated: "
                    "added - deleted - growth); non-zero means --max-conntrack is too small"),
      static_cast<double>(ct.evicted));
  one(CounterFamily("meridian_conntrack_collections_total", "Runs of the conntrack collector"),
      static_cast<double>(ct.collections));
  one(Gauge("meridian_conntrack_last_collection_seconds",
            "How long the conntrack collector's last run took"),
      metrics::Seconds(ct.last_collection_ms));
  one(Gauge("meridian_conntrack_gc_interval_seconds",
            "Until the conntrack collector's next run: --ct-gc-interval-ms, shorter while runs "
            "delete much or find the table nearly full"),
      metrics::Seconds(static_cast<double>(ct.gc_interval_ms)));
}

void CollectMaps(const AgentStatus& s, const datapath::MapSizes& sizes, std::vector<Family>& out) {
  Family entries = Gauge("meridian_bpf_map_entries",
                         "Entries in use per BPF map (services: frontends, without the VIP "
                         "markers; maglev: slots, quarantined ranges included)");
  Family capacity = Gauge("meridian_bpf_map_capacity", "Capacity per BPF map (--max-*)");
  auto map = [&](const char* name, double used, double cap) {
    entries.samples.push_back({{{"map", name}}, used});
    capacity.samples.push_back({{{"map", name}}, cap});
  };
  map("mer_services", static_cast<double>(s.services), sizes.services);
  map("mer_backends", static_cast<double>(s.backends), sizes.backends);
  map("mer_maglev", static_cast<double>(s.maglev_slots_used),
      s.maglev_slots_capacity ? s.maglev_slots_capacity : sizes.maglev_slots);
  map("mer_ct", static_cast<double>(s.conntrack.entries), sizes.ct);
  out.push_back(std::move(entries));
  out.push_back(std::move(capacity));
}

void CollectAgent(const AgentStatus& s, std::vector<Family>& out) {
  Family state = Gauge("meridian_agent_state",
                       "1 for the agent's state (serving: the last reconcile applied cleanly; "
                       "degraded: input rejected or a kernel write failed)");
  for (const char* name : {"starting", "serving", "degraded", "stopped"}) {
    state.samples.push_back({{{"state", name}}, s.state == name ? 1.0 : 0.0});
  }
  out.push_back(std::move(state));
  Family reconciles = CounterFamily("meridian_reconciles_total", "Reconciles run");
  reconciles.samples.push_back({{}, static_cast<double>(s.reconciles)});
  out.push_back(std::move(reconciles));
  Family errors = Gauge("meridian_agent_errors", "Errors in the agent's last report");
  errors.samples.push_back({{}, static_cast<double>(s.errors.size())});
  out.push_back(std::move(errors));
  Family purged = CounterFamily("meridian_endpoint_purges_total",
                                "Entries deleted because their endpoint left a service");
  purged.samples.push_back({{{"map", "mer_ct"}}, static_cast<double>(s.udp_flows_purged)});
  purged.samples.push_back({{{"map", "mer_affinity"}}, static_cast<double>(s.affinities_purged)});
  out.push_back(std::move(purged));
}

void CollectRegistry(const RegistryStatus& r, std::vector<Family>& out) {
  if (r.url.empty()) return;
  auto one = [&](Family f, double v) {
    f.samples.push_back({{}, v});
    out.push_back(std::move(f));
  };
  one(Gauge("meridian_registry_up", "1 while the ClusterSet registry is reachable"),
      r.state == "connected" ? 1 : 0);
  one(Gauge("meridian_registry_revision", "Latest registry revision received"),
      static_cast<double>(r.revision));
  one(Gauge("meridian_registry_applied_revision",
            "Latest registry revision whose state is in the kernel"),
      static_cast<double>(r.applied_revision));
  one(Gauge("meridian_registry_watch_lag_revisions",
            "Revisions received but not yet in the kernel"),
      static_cast<double>(r.revision > r.applied_revision ? r.revision - r.applied_revision : 0));
  one(Gauge("meridian_registry_records", "Registry records held"), static_cast<double>(r.records));
  one(Gauge("meridian_registry_rejected_records", "Registry records rejected as invalid"),
      static_cast<double>(r.rejected.size()));
}

// The DNS server's own counters, every rcode, query type and malformed
// reason (status.json shows a few of them).
void CollectDns(const dns::DnsCounters& c, std::size_t names, std::vector<Family>& out) {
  auto n = [](std::uint64_t v) { return static_cast<double>(v); };
  Family queries = CounterFamily("meridian_dns_queries_total",
                                 "clusterset.local DNS queries received, by transport");
  queries.samples = {{{{"transport", "udp"}}, n(c.udp_queries)},
                     {{{"transport", "tcp"}}, n(c.tcp_queries)}};
  out.push_back(std::move(queries));
  Family types = CounterFamily("meridian_dns_query_types_total",
                               "Well-formed DNS queries by QTYPE (other: any type not listed)");
  for (std::size_t t = 0; t < c.queries_by_type.size(); ++t) {
    types.samples.push_back({{{"type", std::string(dns::ToString(static_cast<dns::QueryType>(t)))}},
                             n(c.queries_by_type[t])});
  }
  out.push_back(std::move(types));
  Family responses =
      CounterFamily("meridian_dns_responses_total", "DNS responses sent, by response code");
  for (auto [rcode, name] :
       {std::pair{dns::Rcode::kNoError, "NOERROR"}, std::pair{dns::Rcode::kFormErr, "FORMERR"},
        std::pair{dns::Rcode::kServFail, "SERVFAIL"}, std::pair{dns::Rcode::kNxDomain, "NXDOMAIN"},
        std::pair{dns::Rcode::kNotImp, "NOTIMP"}, std::pair{dns::Rcode::kRefused, "REFUSED"}}) {
    responses.samples.push_back({{{"rcode", name}}, n(c.responses(rcode))});
  }
  out.push_back(std::move(responses));
  Family dropped = CounterFamily("meridian_dns_dropped_total",
                                 "DNS queries not answered, by reason (malformed beyond an "
                                 "answer, or over the client's --dns-rate-limit)");
  dropped.samples = {{{{"reason", "malformed"}}, n(c.dropped)},
                     {{{"reason", "rate_limited"}}, n(c.rate_limited)}};
  out.push_back(std::move(dropped));
  Family malformed = CounterFamily(
      "meridian_dns_malformed_total",
      "Malformed DNS queries by what was wrong, whether answered (FORMERR) or dropped");
  for (std::size_t e = 1; e < c.malformed.size(); ++e) {
    malformed.samples.push_back(
        {{{"reason", std::string(dns::ToString(static_cast<dns::DnsWireError>(e)))}},
         n(c.malformed[e])});
  }
  out.push_back(std::move(malformed));
  Family truncated = CounterFamily("meridian_dns_truncated_total",
                                   "UDP answers truncated (TC set: the client retries on TCP)");
  truncated.samples = {{{}, n(c.truncated)}};
  out.push_back(std::move(truncated));
  Family tcp = Gauge("meridian_dns_tcp_connections", "DNS TCP connections open");
  tcp.samples = {{{}, n(c.tcp_connections_active)}};
  out.push_back(std::move(tcp));
  Family names_f = Gauge("meridian_dns_names", "ServiceImports the DNS server answers for");
  names_f.samples = {{{}, static_cast<double>(names)}};
  out.push_back(std::move(names_f));
}

}  // namespace

void ReconcileMetrics::Observe(const ApplyPhases& p) const {
  if (!duration) return;
  duration->Observe({{"phase", "read"}}, metrics::Seconds(p.read));
  duration->Observe({{"phase", "registry"}}, metrics::Seconds(p.registry));
  duration->Observe({{"phase", "desired"}}, metrics::Seconds(p.desired));
  duration->Observe({{"phase", "write"}}, metrics::Seconds(p.write));
  duration->Observe({{"phase", "total"}}, metrics::Seconds(p.total));
}

ReconcileMetrics RegisterAgentMetrics(metrics::Registry& registry, AgentMetricsSources sources) {
  ReconcileMetrics reconcile;
  reconcile.duration = &registry.AddHistogram(
      "meridian_reconcile_duration_seconds",
      "Time of the reconciles that wrote to the kernel, by phase (read, registry, desired, "
      "write, total)",
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  registry.AddCollector([sources = std::move(sources)](std::vector<Family>& out) {
    const AgentStatus& s = sources.status();
    CollectAgent(s, out);
    CollectDatapath(sources.stats_fd(), out);
    if (sources.backend_flows) CollectBackendFlows(sources.backend_flows(), out);
    if (sources.tunnel_stats_fd) CollectTunnel(sources.tunnel_stats_fd(), s.clusters, out);
    CollectClusters(s.clusters, out);
    CollectConntrack(s.conntrack, out);
    CollectMaps(s, sources.map_sizes, out);
    CollectRegistry(s.registry, out);
    if (const dns::DnsCounters* dns = sources.dns_counters ? sources.dns_counters() : nullptr) {
      CollectDns(*dns, s.dns.names, out);
    }
  });
  return reconcile;
}

}  // namespace meridian::agent
