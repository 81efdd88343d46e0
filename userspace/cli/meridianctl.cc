// meridianctl: inspect a node's Meridian datapath from its pinned maps.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "cli/agent_socket.h"
#include "cli/monitor_command.h"
#include "cli/monitor_event.h"
#include "cli/registry_command.h"
#include "cli/schedule_command.h"
#include "common/json_query.h"
#include "common/unix_time.h"
#include "datapath/bpffs.h"
#include "datapath/ct_gc.h"
#include "datapath/map_iter.h"
#include "datapath/pinned_maps.h"
#include "datapath/stats_reader.h"
#include "datapath/tunnel_counts.h"
#include "meridian/abi.h"
#include "model/ipv4.h"

namespace {

using meridian::datapath::PinnedMaps;
using meridian::model::Ipv4Address;

std::string Proto(std::uint8_t p) { return p == 6 ? "TCP" : p == 17 ? "UDP" : std::to_string(p); }
std::string Addr(std::uint32_t be) { return Ipv4Address::FromNetworkOrder(be).ToString(); }

using meridian::datapath::ForEachEntry;

// `stats`: every counter; `stats COUNTER...`: each named counter's packets
// on a line of its own ({packets, bytes} as JSON with --json). A name that
// is no counter is an error naming it, and nothing is printed.
int Stats(const PinnedMaps& p, bool json, const std::vector<std::string>& names) {
  auto stats = meridian::datapath::ReadStats(p.maps().stats);
  if (!stats.ok()) {
    std::cerr << "meridianctl: " << stats.error().message << "\n";
    return 1;
  }
  if (!names.empty()) {
    std::vector<std::string> lines;
    for (const auto& name : names) {
      auto it =
          std::find_if(stats->begin(), stats->end(), [&](const auto& c) { return c.name == name; });
      if (it == stats->end()) {
        std::cerr << "meridianctl: stats: no counter '" << name
                  << "' (meridianctl stats lists them)\n";
        return 1;
      }
      lines.push_back(json ? nlohmann::json{{"packets", it->packets}, {"bytes", it->bytes}}.dump()
                           : std::to_string(it->packets));
    }
    for (const auto& line : lines) std::cout << line << "\n";
    return 0;
  }
  if (json) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& c : *stats) j[c.name] = {{"packets", c.packets}, {"bytes", c.bytes}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  fmt::print("{:<24} {:>14} {:>16}\n", "COUNTER", "PACKETS", "BYTES");
  for (const auto& c : *stats) fmt::print("{:<24} {:>14} {:>16}\n", c.name, c.packets, c.bytes);
  return 0;
}

// Per frontend, the weights the agent took from a propagation decision
// (status.json's weighted_frontends): frontend -> backend -> (weight,
// cluster, generation). nullopt when the agent's status cannot be read: the
// sources are then unknown (every other frontend weighs its endpoints
// equally).
struct DecisionWeight {
  std::uint32_t weight = 0;
  std::string cluster;
  std::int64_t generation = 0;
};
using WeightsByFrontend = std::map<std::string, std::map<std::string, DecisionWeight>>;

std::optional<WeightsByFrontend> ReadDecisionWeights(const std::string& status_path) {
  std::ifstream in(status_path);
  if (!in) return std::nullopt;
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  WeightsByFrontend out;
  if (!j.contains("weighted_frontends") || !j["weighted_frontends"].is_array()) return out;
  for (const auto& f : j["weighted_frontends"]) {
    auto& by_backend = out[f.value("frontend", "")];
    for (const auto& b : f.value("backends", nlohmann::json::array())) {
      by_backend[b.value("backend", "")] = {b.value("weight", 0u), b.value("cluster", ""),
                                            f.value("decision_generation", std::int64_t{0})};
    }
  }
  return out;
}

// Each backend's effective share (its Maglev slots) and its weight with
// where the weight came from: "decision" (status.json) or "endpoints"
// (every ready endpoint weighs 1, a terminating one 0).
int Services(const PinnedMaps& p, bool json, const std::string& status_path) {
  std::map<std::uint32_t, mer_backend> backends;
  ForEachEntry<std::uint32_t, mer_backend>(p.maps().backends,
                                           [&](auto id, const auto& b) { backends[id] = b; });
  const auto decision_weights = ReadDecisionWeights(status_path);
  nlohmann::json out = nlohmann::json::array();
  if (!json) {
    fmt::print("{:<24} {:>6} {:>8} {:>8} {:<14} {}\n", "FRONTEND", "ID", "ACTIVE", "SLOTS",
               "WEIGHTS", "BACKENDS");
  }
  ForEachEntry<mer_service_key, mer_service>(p.maps().services, [&](const auto& k, const auto& v) {
    if (v.flags & MER_SVC_F_VIP_MARKER) return;
    std::string fe = fmt::format("{}:{}/{}{}", Addr(k.vip_be), ntohs(k.port_be), Proto(k.proto),
                                 k.scope == MER_SVC_SCOPE_INTERNAL ? " internal" : "");
    const std::map<std::string, DecisionWeight>* weighted = nullptr;
    if (decision_weights) {
      auto it = decision_weights->find(fe);
      if (it != decision_weights->end()) weighted = &it->second;
    }
    std::string source = !decision_weights ? "unknown" : weighted ? "decision" : "endpoints";
    // Slots per backend, read from the service's range of the Maglev array.
    std::map<std::uint32_t, std::uint32_t> slots;
    for (std::uint32_t s = 0; s < v.maglev_size; ++s) {
      const std::uint32_t slot = v.maglev_offset + s;
      const std::uint32_t element = mer_maglev_element(slot);
      mer_maglev_pair pair{};
      if (bpf_map_lookup_elem(p.maps().maglev, &element, &pair) == 0) {
        slots[pair.backend_id[mer_maglev_lane(slot)]]++;
      }
    }
    std::vector<std::string> names;
    nlohmann::json jb = nlohmann::json::array();
    for (const auto& [id, n] : slots) {
      auto it = backends.find(id);
      std::string b = it == backends.end() ? fmt::format("#{}(missing)", id)
                                           : fmt::format("{}:{}", Addr(it->second.addr_be),
                                                         ntohs(it->second.port_be));
      nlohmann::json entry = {{"backend", b}, {"id", id}, {"slots", n}};
      std::string shown = fmt::format("{}[{}]", b, n);
      if (weighted && it != backends.end()) {
        auto w = weighted->find(fmt::format("{}/{}", b, Proto(it->second.proto)));
        if (w != weighted->end()) {
          entry["weight"] = w->second.weight;
          entry["cluster"] = w->second.cluster;
          shown = fmt::format("{}[{} w{} {}]", b, n, w->second.weight, w->second.cluster);
        }
      } else if (source == "endpoints" && it != backends.end()) {
        entry["weight"] = (it->second.flags & MER_BE_F_TERMINATING) ? 0 : 1;
      }
      names.push_back(shown);
      jb.push_back(std::move(entry));
    }
    std::string weights = source;
    if (weighted && !weighted->empty()) {
      weights = fmt::format("decision g{}", weighted->begin()->second.generation);
    }
    if (json) {
      out.push_back({{"frontend", fe},
                     {"id", v.id},
                     {"active_backends", v.backend_count},
                     {"maglev_offset", v.maglev_offset},
                     {"maglev_size", v.maglev_size},
                     {"affinity_timeout_s", v.affinity_timeout_s},
                     {"external", (v.flags & MER_SVC_F_EXTERNAL) != 0},
                     {"weight_source", source},
                     {"backends", jb}});
      if (weighted && !weighted->empty())
        out.back()["decision_generation"] = weighted->begin()->second.generation;
    } else {
      fmt::print("{:<24} {:>6} {:>8} {:>8} {:<14} {}\n", fe, v.id, v.backend_count, v.maglev_size,
                 weights, fmt::join(names, " "));
    }
  });
  if (json) std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

int Backends(const PinnedMaps& p, bool json) {
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    ForEachEntry<std::uint32_t, mer_backend>(p.maps().backends, [&](auto id, const auto& b) {
      out.push_back(
          {{"id", id},
           {"backend", fmt::format("{}:{}/{}", Addr(b.addr_be), ntohs(b.port_be), Proto(b.proto))},
           {"cluster_id", b.cluster_id},
           {"terminating", (b.flags & MER_BE_F_TERMINATING) != 0}});
    });
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  fmt::print("{:>8}  {:<24} {:>7} {}\n", "ID", "BACKEND", "CLUSTER", "FLAGS");
  ForEachEntry<std::uint32_t, mer_backend>(p.maps().backends, [](auto id, const auto& b) {
    fmt::print("{:>8}  {:<24} {:>7} {}\n", id,
               fmt::format("{}:{}/{}", Addr(b.addr_be), ntohs(b.port_be), Proto(b.proto)),
               b.cluster_id, (b.flags & MER_BE_F_TERMINATING) ? "terminating" : "");
  });
  return 0;
}

// One line per entry. BACKEND is where the flow goes (the address an
// established TCP flow follows); NAT is the source the flow leaves with
// (forward) or the client's own address restored on replies (reply);
// STATE is the TCP state the entry's packets left (syn, established,
// closing); TTL the seconds until the entry is idle ("idle" once it is:
// the agent's collector deletes it with its partner); FLAGS marks
// untranslated tunnel flows, NodePort and DSR flows.
// `ct --service VIP[:PORT]`: entries of flows to that frontend (both
// directions carry it); `--backend IP[:PORT]`: entries of flows to that
// backend. Untranslated tunnel flows have neither.
struct CtFilter {
  std::optional<meridian::cli::AddressPort> service, backend;
};

bool CtMatches(const CtFilter& f, const mer_ct_entry& v) {
  using meridian::cli::Matches;
  if (v.flags & MER_CT_F_TUNNEL_FLOW) return !f.service && !f.backend;
  if (f.service && !Matches(*f.service, v.vip_be, v.vport_be)) return false;
  if (f.backend && !Matches(*f.backend, v.backend_addr_be, v.backend_port_be)) return false;
  return true;
}

int Conntrack(const PinnedMaps& p, bool json, const CtFilter& filter) {
  const std::uint32_t now = meridian::datapath::MonotonicSeconds();
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    ForEachEntry<mer_ct_key, mer_ct_entry>(p.maps().ct, [&](const auto& k, const auto& v) {
      if (!CtMatches(filter, v)) return;
      const bool idle = meridian::datapath::CtEntryIdle(v, now);
      out.push_back(
          {{"dir", k.dir == MER_CT_FORWARD ? "forward" : "reply"},
           {"proto", Proto(k.proto)},
           {"source", fmt::format("{}:{}", Addr(k.saddr_be), ntohs(k.sport_be))},
           {"destination", fmt::format("{}:{}", Addr(k.daddr_be), ntohs(k.dport_be))},
           {"backend_id", v.backend_id},
           {"service_id", v.service_id},
           {"backend", fmt::format("{}:{}", Addr(v.backend_addr_be), ntohs(v.backend_port_be))},
           {"nat", fmt::format("{}:{}", Addr(v.nat_addr_be), ntohs(v.nat_port_be))},
           {"vip", fmt::format("{}:{}", Addr(v.vip_be), ntohs(v.vport_be))},
           {"flags", v.flags},
           {"ttl_s", idle ? 0 : static_cast<std::int64_t>(v.expires_s) - now},
           {"idle", idle}});
    });
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  fmt::print("{:<7} {:<5} {:<22} {:<22} {:>6} {:<22} {:<22} {:<22} {:<11} {:>7} {}\n", "DIR",
             "PROTO", "SOURCE", "DESTINATION", "BE-ID", "BACKEND", "NAT", "VIP", "STATE", "TTL",
             "FLAGS");
  ForEachEntry<mer_ct_key, mer_ct_entry>(p.maps().ct, [&](const auto& k, const auto& v) {
    if (!CtMatches(filter, v)) return;
    const bool tunnel = v.flags & MER_CT_F_TUNNEL_FLOW;
    std::string state = "-";
    if (k.proto == IPPROTO_TCP) {
      state = (v.flags & MER_CT_F_CLOSING)        ? "closing"
              : (v.flags & MER_CT_F_SEEN_NON_SYN) ? "established"
                                                  : "syn";
    }
    const std::string ttl = meridian::datapath::CtEntryIdle(v, now)
                                ? "idle"
                                : std::to_string(static_cast<std::int32_t>(v.expires_s - now));
    std::vector<std::string> flags;
    if (tunnel) flags.push_back("tunnel-flow");
    if (v.flags & MER_CT_F_NODEPORT) flags.push_back("nodeport");
    if (v.flags & MER_CT_F_DSR) flags.push_back("dsr");
    fmt::print(
        "{:<7} {:<5} {:<22} {:<22} {:>6} {:<22} {:<22} {:<22} {:<11} {:>7} {}\n",
        k.dir == MER_CT_FORWARD ? "forward" : "reply", Proto(k.proto),
        fmt::format("{}:{}", Addr(k.saddr_be), ntohs(k.sport_be)),
        fmt::format("{}:{}", Addr(k.daddr_be), ntohs(k.dport_be)), v.backend_id,
        tunnel ? "-" : fmt::format("{}:{}", Addr(v.backend_addr_be), ntohs(v.backend_port_be)),
        tunnel ? "-" : fmt::format("{}:{}", Addr(v.nat_addr_be), ntohs(v.nat_port_be)),
        tunnel ? "-" : fmt::format("{}:{}", Addr(v.vip_be), ntohs(v.vport_be)), state, ttl,
        fmt::join(flags, ","));
  });
  return 0;
}

// What CLI11's "A subcommand is required" means: the word that is no
// subcommand (of meridianctl, or of `registry`), or the arguments it could
// not place. nullopt when no subcommand was given at all.
std::optional<std::string> WhyNoSubcommand(const CLI::App& app, const CLI::App& registry) {
  auto describe = [](const std::vector<std::string>& words, const std::string& where,
                     const std::string& help) -> std::optional<std::string> {
    if (words.empty()) return std::nullopt;
    if (!words.front().empty() && words.front().front() == '-') {
      return fmt::format("unexpected argument(s) {}; run {} --help", fmt::join(words, " "), help);
    }
    return fmt::format("unknown {}subcommand '{}'; run {} --help for the list", where,
                       words.front(), help);
  };
  if (registry.parsed()) return describe(registry.remaining(), "registry ", "meridianctl registry");
  return describe(app.remaining(), "", "meridianctl");
}

// `meridianctl imports [NAME]`: the ServiceImports this node serves, from
// its agent's status.json (the registry's merge of every cluster's
// exports): one line each, with its conflicts (the KEP's Conflict
// condition) on the lines below it. --json: the status's objects.
int Imports(std::istream& in, const std::string& path, const std::string& name, bool json) {
  const auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    std::cerr << "meridianctl: imports: " << path << " is not valid JSON\n";
    return 1;
  }
  nlohmann::json shown = nlohmann::json::array();
  for (const auto& i : doc.value("imports", nlohmann::json::array())) {
    if (name.empty() || i.value("name", "") == name) shown.push_back(i);
  }
  if (!name.empty() && shown.empty()) {
    std::cerr << "meridianctl: imports: no ServiceImport " << name << " on this node\n";
    return 1;
  }
  if (json) {
    std::cout << shown.dump(2) << "\n";
    return 0;
  }
  auto list = [](const nlohmann::json& j, const char* key) {
    std::vector<std::string> items;
    for (const auto& v : j.value(key, nlohmann::json::array()))
      items.push_back(v.get<std::string>());
    return items.empty() ? std::string("-") : fmt::format("{}", fmt::join(items, ","));
  };
  fmt::print("{:<28} {:<13} {:<15} {:<9} {:<16} {:<20} {}\n", "NAME", "TYPE", "CLUSTERSET-IP",
             "AFFINITY", "CLUSTERS", "PORTS", "CONFLICTS");
  for (const auto& i : shown) {
    const auto conflicts = i.value("conflicts", nlohmann::json::array());
    const std::string ip = i.value("clusterset_ip", "");
    fmt::print("{:<28} {:<13} {:<15} {:<9} {:<16} {:<20} {}\n", i.value("name", ""),
               i.value("type", ""), ip.empty() ? "-" : ip, i.value("session_affinity", ""),
               list(i, "clusters"), list(i, "ports"), conflicts.size());
    for (const auto& c : conflicts) fmt::print("  conflict: {}\n", c.get<std::string>());
  }
  return 0;
}

// `meridianctl clusters`: the ClusterSet's clusters from the agent's
// status.json, with what the datapath holds for each (pinned maps): its
// registered tunnel endpoints (mer_tunnel_peers) and the packets and bytes
// through the tunnel to and from it (mer_tunnel_stats). `pinned` is null
// when the maps cannot be opened (the agent never ran here): the datapath
// columns are then "-".
int Clusters(std::istream& in, const std::string& path, const PinnedMaps* pinned, bool json) {
  const auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    std::cerr << "meridianctl: clusters: " << path << " is not valid JSON\n";
    return 1;
  }
  std::map<std::uint32_t, std::uint64_t> peers;
  std::map<std::uint32_t, meridian::datapath::TunnelCount> tx, rx;
  if (pinned) {
    ForEachEntry<std::uint32_t, mer_tunnel_peer>(
        pinned->maps().tunnel_peers, [&](auto, const auto& peer) { ++peers[peer.cluster_id]; });
    if (auto counts = meridian::datapath::ReadTunnelCounts(pinned->maps().tunnel_stats);
        counts.ok()) {
      for (const auto& c : *counts) (c.rx ? rx : tx)[c.cluster_id] = c;
    }
  }
  const std::int64_t now_ms = meridian::UnixNowMs();
  nlohmann::json out = nlohmann::json::array();
  for (auto c : doc.value("clusters", nlohmann::json::array())) {
    const auto id = c.value("id", 0u);
    if (pinned) {
      c["datapath_peers"] = peers[id];
      c["tx_packets"] = tx[id].packets;
      c["tx_bytes"] = tx[id].bytes;
      c["rx_packets"] = rx[id].packets;
      c["rx_bytes"] = rx[id].bytes;
    }
    out.push_back(std::move(c));
  }
  if (json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  auto age = [&](std::int64_t since_ms) {
    const std::int64_t s = std::max<std::int64_t>(0, (now_ms - since_ms) / 1000);
    return s >= 3600 ? fmt::format("{}h{:02}m", s / 3600, s / 60 % 60)
                     : fmt::format("{}m{:02}s", s / 60, s % 60);
  };
  auto cell = [&](const nlohmann::json& c, const char* key) {
    return c.contains(key) ? std::to_string(c[key].get<std::uint64_t>()) : std::string("-");
  };
  // "reachable 2/2": the verdict and how many endpoints answer; RTT: the
  // slowest last reply.
  auto reach = [](const nlohmann::json& c) {
    const auto probes = c.value("probes", nlohmann::json::array());
    if (probes.empty()) return std::string("-");
    std::size_t up = 0;
    for (const auto& p : probes) up += p.value("state", "") == "reachable";
    return fmt::format("{} {}/{}", c.value("reachability", ""), up, probes.size());
  };
  auto rtt = [](const nlohmann::json& c) {
    std::int64_t worst = -1;
    for (const auto& p : c.value("probes", nlohmann::json::array())) {
      if (p.value("state", "") == "reachable") worst = std::max(worst, p.value("rtt_us", -1L));
    }
    return worst < 0 ? std::string("-") : fmt::format("{:.2f}ms", worst / 1000.0);
  };
  // "3s/10s": how long ago the cluster's controller renewed its registry
  // record, of the lease's TTL (as of the agent's last lease poll).
  auto lease = [](const nlohmann::json& c) {
    if (!c.contains("lease")) return std::string("-");
    const auto& l = c["lease"];
    return fmt::format("{}s/{}s", l.value("age_ms", 0L) / 1000, l.value("ttl_ms", 0L) / 1000);
  };
  fmt::print("{:<14} {:>4} {:<5} {:>8} {:>8} {:<15} {:>8} {:>5} {:>10} {:>10} {}\n", "NAME", "ID",
             "LOCAL", "KNOWN", "LEASE", "REACHABLE", "RTT", "PEERS", "TX-PKTS", "RX-PKTS",
             "TUNNEL-ENDPOINTS");
  for (const auto& c : out) {
    std::vector<std::string> eps;
    for (const auto& e : c.value("tunnel_endpoints", nlohmann::json::array()))
      eps.push_back(e.get<std::string>());
    fmt::print("{:<14} {:>4} {:<5} {:>8} {:>8} {:<15} {:>8} {:>5} {:>10} {:>10} {}\n",
               c.value("name", ""), c.value("id", 0u), c.value("local", false) ? "yes" : "no",
               age(c.value("known_since_unix_ms", now_ms)), lease(c), reach(c), rtt(c),
               cell(c, "datapath_peers"), cell(c, "tx_packets"), cell(c, "rx_packets"),
               eps.empty() ? std::string("-") : fmt::format("{}", fmt::join(eps, "; ")));
  }
  return 0;
}

// `meridianctl status FIELD...`: each field's value on a line of its own
// (common/json_query.h), as JSON with --json. A field that is not there
// is an error naming it, and nothing is printed.
int StatusFields(std::istream& in, const std::string& path, const std::vector<std::string>& fields,
                 bool json) {
  const auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    std::cerr << "meridianctl: " << path << " is not valid JSON (is the agent writing it?)\n";
    return 1;
  }
  std::vector<std::string> lines;
  for (const auto& field : fields) {
    auto value = meridian::QueryJson(doc, field);
    if (!value.ok()) {
      std::cerr << "meridianctl: status: " << value.error().message << "\n";
      return 1;
    }
    lines.push_back(json ? value->dump() : meridian::JsonValueText(*value));
  }
  for (const auto& line : lines) std::cout << line << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "meridianctl: inspect a node's Meridian datapath (pinned BPF maps) and agent status; "
      "registry records; what-if scheduling"};
  std::string node, bpffs = meridian::datapath::kDefaultBpffs, state_dir;
  bool json = false;
  app.add_option("--node", node,
                 "Node name (as given to meridian-agent --node); needed by every subcommand but "
                 "registry and schedule");
  app.add_option("--bpffs", bpffs, "BPF filesystem mount point")->capture_default_str();
  app.add_option("--state-dir", state_dir, "Agent state directory (default /run/meridian/<node>)");
  app.add_flag("--json", json, "JSON output (every subcommand but registry)");
  app.require_subcommand(1);
  auto* stats = app.add_subcommand(
      "stats", "Verdict and drop counters, summed over CPUs; or the packets of the counters named");
  std::vector<std::string> stat_names;
  stats->add_option("COUNTER", stat_names, "Only these counters' packets, one per line")
      ->expected(0, -1);
  auto* services = app.add_subcommand(
      "services",
      "Frontends with their Maglev slot shares and each backend's weight and its source");
  auto* backends = app.add_subcommand("backends", "Backends by id");
  auto* ct = app.add_subcommand("ct", "Conntrack entries (both directions)");
  std::string ct_service, ct_backend;
  ct->add_option("--service", ct_service, "Only flows to this frontend: VIP or VIP:PORT");
  ct->add_option("--backend", ct_backend, "Only flows to this backend: IP or IP:PORT");
  auto* status = app.add_subcommand(
      "status",
      "The agent's status.json, or the fields named (one line each: strings without quotes, "
      "objects as JSON)");
  std::vector<std::string> status_fields;
  status
      ->add_option("FIELD", status_fields,
                   "A field: state, conntrack.evicted, imports.0.name, "
                   "imports[name=default/web].clusterset_ip (docs/meridianctl.md)")
      ->expected(0, -1);
  auto* imports = app.add_subcommand(
      "imports",
      "The ServiceImports this node serves (from its agent's status): type, ClusterSet IP, "
      "exporting clusters, ports and conflicts");
  std::string import_name;
  imports->add_option("NAME", import_name, "Only this import (namespace/name)");
  auto* clusters = app.add_subcommand(
      "clusters",
      "The ClusterSet's clusters (from the agent's status): id, local or not, since when this "
      "node knows it, its tunnel endpoints, and from the datapath its registered peers and the "
      "packets through the tunnel to and from it");
  meridian::cli::MonitorCommand monitor;
  meridian::cli::AddMonitorCommand(app, monitor);
  // -o json|table on each node subcommand, the spelling kubectl and
  // `schedule` use; the same as --json before the subcommand.
  std::string output = "table";
  for (auto* sub : {stats, services, backends, ct, status, imports, clusters, monitor.app}) {
    sub->add_option("-o,--output", output, "Output format: json or table (as --json)")
        ->check(CLI::IsMember({"json", "table"}));
  }
  meridian::cli::RegistryCommand registry;
  meridian::cli::AddRegistryCommand(app, registry);
  meridian::cli::ScheduleCommand schedule;
  meridian::cli::AddScheduleCommand(app, schedule);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports a word that is no subcommand as "A subcommand is
    // required", which does not say what was wrong: name the word.
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
      if (auto why = WhyNoSubcommand(app, *registry.app)) {
        std::cerr << "meridianctl: " << *why << "\n";
        return 2;
      }
    }
    return app.exit(e);
  }

  if (registry.app->parsed()) return meridian::cli::RunRegistryCommand(registry);
  if (schedule.app->parsed()) return meridian::cli::RunScheduleCommand(schedule);
  if (node.empty()) {
    std::cerr << "meridianctl: --node is required\n";
    return 2;
  }
  if (output == "json") json = true;

  if (state_dir.empty()) state_dir = "/run/meridian/" + node;
  const std::string status_path = state_dir + "/status.json";
  if (monitor.app->parsed()) {
    return meridian::cli::RunMonitorCommand(monitor, meridian::datapath::NodePinDir(bpffs, node),
                                            state_dir + "/monitor.lock", state_dir + "/agent.sock",
                                            json);
  }
  if (status->parsed() || imports->parsed() || clusters->parsed()) {
    auto doc = meridian::cli::ReadAgentStatus(state_dir);
    if (!doc.ok()) {
      std::cerr << "meridianctl: " << doc.error().message << "\n";
      return 1;
    }
    const std::string& path = doc->origin;
    std::istringstream in(doc->text);
    if (clusters->parsed()) {
      auto pinned = PinnedMaps::Open(meridian::datapath::NodePinDir(bpffs, node));
      return Clusters(in, path, pinned.ok() ? &*pinned : nullptr, json);
    }
    if (imports->parsed()) return Imports(in, path, import_name, json);
    if (status_fields.empty()) {
      std::cout << in.rdbuf();
      return 0;
    }
    return StatusFields(in, path, status_fields, json);
  }
  auto pinned = PinnedMaps::Open(meridian::datapath::NodePinDir(bpffs, node));
  if (!pinned.ok()) {
    std::cerr << "meridianctl: " << pinned.error().message << "\n";
    return 1;
  }
  if (stats->parsed()) return Stats(*pinned, json, stat_names);
  if (services->parsed()) return Services(*pinned, json, status_path);
  if (backends->parsed()) return Backends(*pinned, json);
  if (ct->parsed()) {
    CtFilter filter;
    for (auto [text, flag, noun, into] :
         {std::tuple{&ct_service, "--service", "VIP", &filter.service},
          std::tuple{&ct_backend, "--backend", "IP", &filter.backend}}) {
      if (text->empty()) continue;
      auto parsed = meridian::cli::ParseAddressPort(flag, *text, noun);
      if (!parsed.ok()) {
        std::cerr << "meridianctl: ct: " << parsed.error().message << "\n";
        return 2;
      }
      *into = *parsed;
    }
    return Conntrack(*pinned, json, filter);
  }
  return 0;
}
