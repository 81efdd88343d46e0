#include "agent/agent_status.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"

namespace meridian::agent {

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string RenderImportsJson(const std::vector<ImportStatus>& imports) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& i : imports) {
    out.push_back({{"name", i.name},
                   {"type", i.type},
                   {"clusterset_ip", i.clusterset_ip},
                   {"session_affinity", i.session_affinity},
                   {"clusters", i.clusters},
                   {"ports", i.ports},
                   {"conflicts", i.conflicts},
                   {"decision", i.decision_generation < 0
                                    ? nlohmann::json(nullptr)
                                    : nlohmann::json{{"generation", i.decision_generation},
                                                     {"replicas", i.decision_replicas}}}});
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string RenderWeightsJson(const std::vector<WeightedFrontend>& weighted) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : weighted) {
    nlohmann::json backends = nlohmann::json::array();
    for (const auto& b : f.backends) {
      backends.push_back({{"backend", b.backend},
                          {"cluster", b.cluster},
                          {"replicas", b.replicas},
                          {"weight", b.weight}});
    }
    out.push_back({{"frontend", f.frontend},
                   {"service", f.service},
                   {"decision_generation", f.generation},
                   {"backends", backends}});
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string RenderStatus(const AgentStatus& s) {
  nlohmann::json j = {
      {"node", s.node},
      {"source", s.source},
      {"state", s.state},
      {"pid", s.pid},
      {"heartbeat_unix_ms", s.heartbeat_unix_ms},
      {"heartbeat_interval_ms", s.heartbeat_interval_ms},
      {"errors", s.errors},
      {"reconciles", s.reconciles},
      {"last_reconcile_ms", s.last_reconcile_ms},
      {"apply_failures", s.apply_failures},
      {"udp_flows_purged", s.udp_flows_purged},
      {"affinities_purged", s.affinities_purged},
      {"conntrack",
       {{"collections", s.conntrack.collections},
        {"expired", s.conntrack.expired},
        {"entries", s.conntrack.entries},
        {"capacity", s.conntrack.capacity},
        {"evicted", s.conntrack.evicted},
        {"last_collection_ms", s.conntrack.last_collection_ms},
        {"gc_interval_ms", s.conntrack.gc_interval_ms},
        {"flow_pair_scans", s.conntrack.flow_pair_scans},
        {"last_error", s.conntrack.last_error}}},
      {"last_apply_time", s.last_apply_time},
      {"last_apply_ms",
       {{"read", s.last_apply_ms.read},
        {"registry", s.last_apply_ms.registry},
        {"desired", s.last_apply_ms.desired},
        {"write", s.last_apply_ms.write},
        {"total", s.last_apply_ms.total}}},
      {"last_writes",
       {{"services_written", s.last_writes.services_written},
        {"services_deleted", s.last_writes.services_deleted},
        {"backends_written", s.last_writes.backends_written},
        {"backends_deleted", s.last_writes.backends_deleted},
        {"tables_created", s.last_writes.tables_created},
        {"tables_deleted", s.last_writes.tables_deleted},
        {"slots_written", s.last_writes.slots_written}}},
      {"services", s.services},
      {"backends", s.backends},
      {"maglev_slots", {{"used", s.maglev_slots_used}, {"capacity", s.maglev_slots_capacity}}},
      {"attached_interfaces", s.attached_interfaces},
      {"reused_pinned_maps", s.reused_pinned_maps},
  };
  nlohmann::json clusters = nlohmann::json::array();
  for (const auto& c : s.clusters) {
    clusters.push_back({{"name", c.name},
                        {"id", c.id},
                        {"local", c.local},
                        {"source", c.source},
                        {"pod_cidrs", c.pod_cidrs},
                        {"tunnel_endpoints", c.tunnel_endpoints},
                        {"known_since_unix_ms", c.known_since_unix_ms}});
    if (c.lease.ttl_ms >= 0) {
      // age: how long ago its owner renewed it, as of read_unix_ms.
      clusters.back()["lease"] = {{"ttl_ms", c.lease.ttl_ms},
                                  {"remaining_ms", c.lease.remaining_ms},
                                  {"age_ms", c.lease.ttl_ms - c.lease.remaining_ms},
                                  {"read_unix_ms", c.lease.read_unix_ms}};
    }
    if (!c.probes.empty()) {
      nlohmann::json probes = nlohmann::json::array();
      for (const auto& p : c.probes) {
        probes.push_back({{"address", p.address},
                          {"state", p.state},
                          {"rtt_us", p.rtt_us},
                          {"since_reply_ms", p.since_reply_ms},
                          {"sent", p.sent},
                          {"replies", p.replies},
                          {"error", p.error}});
      }
      clusters.back()["probes"] = std::move(probes);
      clusters.back()["reachability"] = c.reachability;
    }
  }
  j["clusters"] = std::move(clusters);
  if (!s.registry.url.empty()) {
    nlohmann::json rejected = nlohmann::json::array();
    for (const auto& [key, reason] : s.registry.rejected) {
      rejected.push_back({{"key", key}, {"reason", reason}});
    }
    j["registry"] = {{"url", s.registry.url},
                     {"state", s.registry.state},
                     {"error", s.registry.error},
                     {"revision", s.registry.revision},
                     {"applied_revision", s.registry.applied_revision},
                     {"applied_unix_ms", s.registry.applied_unix_ms},
                     {"records", s.registry.records},
                     {"rejected", rejected}};
  }
  if (s.source == "kubernetes" || s.node_object.found) {
    j["node_object"] = {{"found", s.node_object.found},
                        {"internal_ip", s.node_object.internal_ip},
                        {"external_ip", s.node_object.external_ip},
                        {"zone", s.node_object.zone},
                        {"region", s.node_object.region}};
  }
  if (!s.dns.listen.empty()) {
    j["dns"] = {{"listen", s.dns.listen},
                {"port", s.dns.port},
                {"names", s.dns.names},
                {"serial", s.dns.serial},
                {"udp_queries", s.dns.udp_queries},
                {"tcp_queries", s.dns.tcp_queries},
                {"noerror", s.dns.noerror},
                {"nxdomain", s.dns.nxdomain},
                {"refused", s.dns.refused},
                {"formerr", s.dns.formerr},
                {"dropped", s.dns.dropped},
                {"truncated", s.dns.truncated},
                {"rate_limited", s.dns.rate_limited}};
  }
  // Every text field came from outside at some point (manifests, file
  // names, registry keys): bytes that are not UTF-8 are replaced rather than
  // allowed to throw, so no input can stop the agent from reporting.
  std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  if (!s.registry.url.empty()) {
    // Splice "imports" in before the closing brace (see RenderImportsJson).
    text.resize(text.size() - 2);  // "\n}"
    text += ",\n  \"imports\": ";
    text += s.imports_json.empty() ? RenderImportsJson(s.imports) : s.imports_json;
    text += ",\n  \"weighted_frontends\": ";
    text += s.weighted_json.empty() ? RenderWeightsJson(s.weighted) : s.weighted_json;
    text += "\n}";
  }
  return text + "\n";
}

Status WriteStatusFile(const AgentStatus& s, const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  return WriteFileAtomically(path, RenderStatus(s));
}

std::string ClusterReachability(const std::vector<PeerProbeStatus>& probes) {
  if (probes.empty()) return "";
  std::size_t reachable = 0, unreachable = 0;
  for (const auto& p : probes) {
    reachable += p.state == "reachable";
    unreachable += p.state == "unreachable";
  }
  if (reachable == probes.size()) return "reachable";
  if (unreachable == probes.size()) return "unreachable";
  if (reachable > 0) return "partial";
  return unreachable > 0 ? "unreachable" : "probing";
}

}  // namespace meridian::agent
