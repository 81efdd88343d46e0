// meridian-agent: the per-node dataplane agent (replaces kube-proxy).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "agent/agent.h"
#include "agent/nodeport_config.h"
#include "common/log_flags.h"
#include "lb/maglev.h"
#include "sources/source_flags.h"

int main(int argc, char** argv) {
  meridian::agent::AgentOptions o;
  CLI::App app{
      "meridian-agent: loads Meridian's BPF datapath on this node, attaches it to pod "
      "interfaces, and keeps the service maps equal to the desired state read from "
      "its source: the Kubernetes API server or a directory of manifests."};
  std::uint32_t resync_ms = 10000;
  std::uint32_t debounce_ms = 50;

  app.add_option("--node", o.node,
                 "Node name; maps are pinned in <bpffs>/meridian/<node> (default: $NODE_NAME, "
                 "the downward API's spec.nodeName in a DaemonSet)")
      ->envname("NODE_NAME")
      ->required();
  meridian::sources::SourceFlags source_flags(app, o.source, o.kubeconfig, o.health_listen);
  app.add_option("--pod-interfaces", o.pod_interfaces,
                 "Glob(s) of host-side pod interfaces to attach to (repeat or comma-separate)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--bpffs", o.bpffs, "BPF filesystem mount point (mounted if needed)")
      ->capture_default_str();
  app.add_option("--state-dir", o.state_dir,
                 "Where status.json is written (default /run/meridian/<node>)");
  app.add_option("--max-services", o.map_sizes.services,
                 "Capacity of mer_services (frontends + one per VIP)")
      ->capture_default_str();
  app.add_option("--max-backends", o.map_sizes.backends, "Capacity of mer_backends")
      ->capture_default_str();
  app.add_option("--max-conntrack", o.map_sizes.ct, "Capacity of mer_ct (two entries per flow)")
      ->capture_default_str();
  app.add_option("--max-affinity", o.map_sizes.affinity,
                 "Capacity of mer_affinity: clients of sessionAffinity: ClientIP frontends "
                 "remembered (LRU: when full, the coldest are forgotten)")
      ->check(CLI::Range(1u, 1u << 24))
      ->capture_default_str();
  app.add_option("--maglev-slots", o.map_sizes.maglev_slots,
                 "Capacity of mer_maglev, the Maglev slots of all services (4 bytes each, "
                 "allocated at load)")
      ->check(CLI::Range(2u, 1u << 31))
      ->capture_default_str();
  // Checked here, not per service: a Maglev config BuildMaglevTable rejects
  // would fail every service (lb/maglev.h has the rules).
  constexpr std::uint32_t kMaxTable = meridian::lb::kMaglevMaxTableSize;
  app.add_option("--maglev-slots-per-backend", o.maglev.slots_per_backend,
                 "Maglev table size is a prime >= this x backends (rounded up to a power of two)")
      ->check(CLI::Range(1u, kMaxTable))
      ->capture_default_str();
  app.add_option("--maglev-min-table", o.maglev.min_table_size, "Smallest Maglev table")
      ->check(CLI::Range(1u, kMaxTable))
      ->capture_default_str();
  auto* max_table = app.add_option("--maglev-max-table", o.maglev.max_table_size,
                                   "Largest Maglev table (rounded down to a prime)")
                        ->check(CLI::Range(2u, kMaxTable))
                        ->capture_default_str();
  app.add_option("--resync-interval-ms", resync_ms,
                 "Full re-read of the manifests even without change events")
      ->capture_default_str();
  app.add_option("--debounce-ms", debounce_ms,
                 "A manifest directory's changes are read this long after the last event of a "
                 "burst (0: at once)")
      ->check(CLI::Range(0u, 60000u))
      ->capture_default_str();
  std::uint32_t lease_poll_ms = 5000;
  app.add_option("--registry-lease-poll-ms", lease_poll_ms,
                 "With --registry: read the lease of every cluster's info record this often "
                 "(one request per cluster), to show how long ago each cluster's controller "
                 "renewed it (meridianctl clusters, /metrics); 0: never")
      ->check(CLI::Range(0u, 3600000u))
      ->capture_default_str();
  std::uint32_t peer_probe_ms = 1000;
  app.add_option("--peer-probe-interval-ms", peer_probe_ms,
                 "With --cluster: ICMP echo to every peer cluster's tunnel endpoints (or "
                 "gateway) this often; one is unreachable after 3 intervals without a reply "
                 "(meridianctl clusters); 0: off")
      ->check(CLI::Range(0u, 60000u))
      ->capture_default_str();
  std::uint32_t ct_gc_ms = 10000;
  auto& ct = o.ct_timeouts;
  ct = {MER_CT_DEFAULT_TCP_SYN_S, MER_CT_DEFAULT_TCP_ESTABLISHED_S,
        MER_CT_DEFAULT_TCP_FIN_S, MER_CT_DEFAULT_TCP_RST_S,
        MER_CT_DEFAULT_UDP_S,     MER_CT_DEFAULT_UDP_REPLY_S};
  const auto seconds = CLI::Range(1u, 1u << 30);
  app.add_option("--ct-timeout-tcp-syn", ct.tcp_syn_s,
                 "Conntrack: seconds a TCP flow that has sent only its SYN stays")
      ->check(seconds)
      ->capture_default_str();
  app.add_option("--ct-timeout-tcp-established", ct.tcp_established_s,
                 "Conntrack: seconds an idle established TCP flow stays (kube-proxy: 86400)")
      ->check(seconds)
      ->capture_default_str();
  app.add_option("--ct-timeout-tcp-fin", ct.tcp_fin_s,
                 "Conntrack: seconds a TCP flow stays after a FIN")
      ->check(seconds)
      ->capture_default_str();
  app.add_option("--ct-timeout-tcp-rst", ct.tcp_rst_s,
                 "Conntrack: seconds a TCP flow stays after a RST")
      ->check(seconds)
      ->capture_default_str();
  app.add_option("--ct-timeout-udp", ct.udp_s,
                 "Conntrack: seconds an idle UDP flow stays before any reply")
      ->check(seconds)
      ->capture_default_str();
  app.add_option("--ct-timeout-udp-reply", ct.udp_reply_s,
                 "Conntrack: seconds an idle UDP flow stays after its last reply")
      ->check(seconds)
      ->capture_default_str();
  app.add_option("--ct-gc-interval-ms", ct_gc_ms,
                 "How often idle conntrack entries are deleted (0: never; the LRU alone "
                 "evicts)")
      ->capture_default_str();
  app.add_option("--traffic-counters", o.traffic_counters,
                 "Count packets and bytes per frontend, backend and direction "
                 "(meridian_backend_packets_total, meridian_backend_bytes_total): one per-CPU "
                 "hash lookup per translated packet; false leaves it out of the programs")
      ->capture_default_str();
  app.add_option("--cluster", o.cluster,
                 "This node's cluster: the name of a Cluster manifest (enables the VXLAN tunnel)");
  app.add_option("--uplink", o.uplink,
                 "Underlay interface: VXLAN is decapsulated there; its IPv4 and MTU are used");
  app.add_option("--node-ip", o.node_ip, "Outer source address (default: the uplink's IPv4)");
  app.add_option("--vxlan-port", o.vxlan_port, "VXLAN UDP destination port")->capture_default_str();
  app.add_option("--foreign-vxlan", o.foreign_vxlan,
                 "VXLAN on --vxlan-port from an address that is not a registered tunnel peer: "
                 "pass (up the host stack, counted as pass_tunnel_not_peer: a CNI's own VXLAN "
                 "may use the port) or drop (counted as drop_tunnel_not_peer: nothing else uses "
                 "the port)")
      ->check(CLI::IsMember({"pass", "drop"}))
      ->capture_default_str();
  app.add_option("--uplink-decap", o.uplink_decap,
                 "Where VXLAN is decapsulated on the uplink: tc (fastest on veth) or xdp")
      ->check(CLI::IsMember({"tc", "xdp"}))
      ->capture_default_str();
  std::string nodeport_mode;  // empty: snat with --uplink, off without
  app.add_option("--nodeport-mode", nodeport_mode,
                 "NodePort, LoadBalancer and externalIPs from outside, in XDP on --uplink: snat "
                 "(a backend on another node gets the packet from this node's address), dsr "
                 "(it gets the client's packet through the VXLAN tunnel and answers the client "
                 "directly) or off. Default: snat with --uplink (kube-proxy serves NodePorts "
                 "unless told not to), off without")
      ->check(CLI::IsMember({"snat", "dsr", "off"}));
  std::vector<std::string> nodeport_cidrs;
  app.add_option("--nodeport-addresses", nodeport_cidrs,
                 "CIDRs selecting the node addresses that serve NodePorts (default: every "
                 "non-loopback IPv4 address)")
      ->delimiter(',');
  std::string nodeport_range = "30000-32767";
  app.add_option("--nodeport-range", nodeport_range,
                 "nodePorts served (others are ignored), as the API server's "
                 "--service-node-port-range")
      ->capture_default_str();
  app.add_option("--registry", o.registry_url,
                 "ClusterSet registry (dir:/path or etcd://host:port): remote clusters, their "
                 "exports and the ClusterSet IPs are read from it");
  app.add_option("--dns-listen", o.dns_listen,
                 "UDP+TCP address of the clusterset.local DNS server (with --registry only); "
                 "\"off\" disables it")
      ->check(meridian::sources::ListenAddressCheck("--dns-listen"))
      ->capture_default_str();
  app.add_option("--metrics-listen", o.metrics_listen,
                 "TCP address of the Prometheus /metrics endpoint (ADDRESS:PORT); \"off\" "
                 "disables it (docs/metrics.md)")
      ->check(meridian::sources::ListenAddressCheck("--metrics-listen"))
      ->capture_default_str();
  app.add_option("--dns-rate-limit", o.dns_rate_limit,
                 "DNS: UDP queries answered per second per client address (bursts of twice "
                 "that); more are dropped and counted (0: no limit)")
      ->capture_default_str();
  app.add_option("--socket-lb-cgroup", o.socket_lb_cgroup,
                 "cgroup v2 directory whose processes (and their descendants' cgroups) get the "
                 "socket load balancer: Service frontends translated at connect()/sendmsg() for "
                 "clients no pod veth sees, the host network namespace and hostNetwork pods "
                 "(e.g. /sys/fs/cgroup); default: none")
      ->check(CLI::ExistingDirectory);
  app.add_flag("--detach-on-exit", o.detach_on_exit,
               "Detach from pod interfaces on exit (default: the datapath keeps forwarding)");
  app.add_flag("--once", o.once, "Reconcile once, attach to existing pods, and exit");
  meridian::logging::LogFlags log_flags(app, "node");
  // Rules between options, checked once each option has passed its own
  // check; a ValidationError here is reported like theirs.
  app.final_callback([&] {
    source_flags.Resolve();
    for (const auto& text : nodeport_cidrs) {
      auto cidr = meridian::model::Cidr::Parse(text);
      if (!cidr) throw CLI::ValidationError("--nodeport-addresses", text + " is not an IPv4 CIDR");
      o.nodeport_addresses.push_back(*cidr);
    }
    auto range = meridian::agent::ParsePortRange(nodeport_range);
    if (!range.ok()) throw CLI::ValidationError("--nodeport-range", range.error().message);
    std::tie(o.nodeport_min, o.nodeport_max) = *range;
    o.nodeport_mode = !nodeport_mode.empty() ? nodeport_mode : o.uplink.empty() ? "off" : "snat";
    o.nodeport_mode_defaulted = nodeport_mode.empty();
    if (o.nodeport_mode != "off" && o.uplink.empty()) {
      throw CLI::ValidationError(
          "--nodeport-mode",
          "--nodeport-mode " + o.nodeport_mode + " needs --uplink (where outside traffic arrives)");
    }
    if (!o.cluster.empty() && o.uplink.empty()) {
      throw CLI::ValidationError(
          "--cluster", "--cluster " + o.cluster + " needs --uplink (the underlay interface)");
    }
    using std::to_string;
    const auto& m = o.maglev;
    if (m.min_table_size > m.max_table_size) {
      const std::string conflict = "--maglev-min-table " + to_string(m.min_table_size) +
                                   " exceeds --maglev-max-table " + to_string(m.max_table_size);
      if (max_table->count() > 0) {
        throw CLI::ValidationError("--maglev-max-table",
                                   conflict + "; allowed: [" +
                                       to_string(std::max(m.min_table_size, 2u)) + " - " +
                                       to_string(kMaxTable) + "] (at least --maglev-min-table)");
      }
      throw CLI::ValidationError("--maglev-min-table", conflict + "; allowed: [1 - " +
                                                           to_string(m.max_table_size) +
                                                           "] (at most --maglev-max-table)");
    }
    // The smallest table (one backend) must fit mer_maglev, or no service
    // with a backend could be installed.
    const std::uint32_t smallest = meridian::lb::MaglevTableSize(1, m);
    if (o.map_sizes.maglev_slots < smallest) {
      throw CLI::ValidationError(
          "--maglev-slots",
          to_string(o.map_sizes.maglev_slots) + " cannot hold the smallest Maglev table (" +
              to_string(smallest) + " slots, from --maglev-min-table " +
              to_string(m.min_table_size) + " and --maglev-slots-per-backend " +
              to_string(m.slots_per_backend) + "); allowed: >= " + to_string(smallest));
    }
  });
  CLI11_PARSE(app, argc, argv);
  if (source_flags.check_flags()) {
    std::puts("flags ok");
    return 0;
  }

  o.resync_interval = std::chrono::milliseconds(resync_ms);
  o.debounce = std::chrono::milliseconds(debounce_ms);
  o.ct_gc_interval = std::chrono::milliseconds(ct_gc_ms);
  o.peer_probe_interval = std::chrono::milliseconds(peer_probe_ms);
  o.registry_lease_poll = std::chrono::milliseconds(lease_poll_ms);
  log_flags.Apply({.text_prefix = o.node, .fields = {{"component", "agent"}, {"node", o.node}}});
  meridian::agent::Agent agent(std::move(o));
  return agent.Run();
}
