// Everything meridian-agent is told on its command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "datapath/node_datapath.h"
#include "lb/maglev.h"
#include "meridian/abi.h"
#include "model/cidr.h"

namespace meridian::agent {

struct AgentOptions {
  std::string node;  // node name; pins live in <bpffs>/meridian/<node>
  // Where Services, EndpointSlices, ServiceExports and Clusters are read:
  // "dir:PATH" (--manifests PATH) or "kubernetes" (sources/source.h).
  std::string source;
  std::string kubeconfig;  // with "kubernetes"; empty: client-go's order
  std::vector<std::string> pod_interfaces = {"lxc*"};  // globs of host-side pod veths
  std::string bpffs = "/sys/fs/bpf";
  std::string state_dir;  // status.json; default /run/meridian/<node>
  datapath::MapSizes map_sizes;
  lb::MaglevConfig maglev;
  std::chrono::milliseconds resync_interval{10000};
  std::chrono::milliseconds debounce{50};
  // Conntrack lifetimes (0: the datapath's default, MER_CT_DEFAULT_*) and
  // how often the collector deletes idle flows (0: never).
  mer_ct_timeouts ct_timeouts{};
  std::chrono::milliseconds ct_gc_interval{10000};
  // Packets and bytes per (frontend, backend) and direction (mer_traffic,
  // MER_CFG_TRAFFIC): one per-CPU hash lookup per translated packet.
  bool traffic_counters = true;
  // VXLAN on --vxlan-port from an address that is not a registered peer:
  // "pass" (up the host stack: a CNI may use the port too) or "drop"
  // (MER_CFG_DROP_FOREIGN_VXLAN, counted as drop_tunnel_not_peer).
  std::string foreign_vxlan = "pass";
  // How long the start waits for the source's first complete read.
  std::chrono::milliseconds first_sync_timeout{30000};
  // Cross-cluster tunnel (all optional: without --cluster the node is
  // single-cluster and nothing is tunnelled).
  std::string cluster;  // name of this node's Cluster manifest
  std::string uplink;   // underlay interface: decapsulation, node IP, MTU
  std::string node_ip;  // outer source address; default: the uplink's IPv4
  std::uint16_t vxlan_port = 4789;
  std::string uplink_decap = "tc";  // "tc" or "xdp"
  // ICMP echo to every peer cluster's tunnel endpoints (health/peer_prober.h)
  // this often; 0: off. A peer is unreachable after 3 intervals without a reply.
  std::chrono::milliseconds peer_probe_interval{1000};
  // NodePort, LoadBalancer and externalIPs from outside the cluster, served
  // by XDP on --uplink: "snat" (kube-proxy's forwarding), "dsr" or "off".
  // The flag's default (snat with an uplink, else off) is resolved in main().
  std::string nodeport_mode = "off";
  // The mode is the default, not given: a node that cannot serve NodePorts
  // (accept_local not writable) starts without them, degraded, instead of
  // not at all.
  bool nodeport_mode_defaulted = false;
  std::vector<model::Cidr> nodeport_addresses;  // empty: every non-loopback address
  std::uint16_t nodeport_min = 30000, nodeport_max = 32767;
  // ClusterSet registry (dir:/path or etcd://...): remote clusters, their
  // exports and the ClusterSet IPs. Empty: manifests only.
  std::string registry_url;
  // How often the leases of the clusters' info records are read (status,
  // meridianctl clusters, /metrics); 0: never.
  std::chrono::milliseconds registry_lease_poll{5000};
  // The clusterset.local DNS server ("ADDR:PORT"; "off" disables it). It
  // runs only with a registry: the imports it answers for come from there.
  std::string dns_listen = "127.0.0.1:53535";
  // UDP queries answered per second per client (burst: twice that); 0: no
  // limit.
  std::uint32_t dns_rate_limit = 1000;
  // /healthz and /readyz ("ADDR:PORT"; "off": not served).
  std::string health_listen = "off";
  // Prometheus /metrics ("ADDR:PORT"; "off": not served). Localhost: the
  // lab's agents each have their own network namespace, and a node's
  // scraper reaches it through the DaemonSet's hostNetwork.
  std::string metrics_listen = "127.0.0.1:9965";
  bool detach_on_exit = false;
  // A cgroup v2 directory whose processes get the socket load balancer
  // (clients in the host network namespace); empty: none.
  std::string socket_lb_cgroup;
  bool once = false;  // reconcile once, attach existing pods, exit
};

}  // namespace meridian::agent
