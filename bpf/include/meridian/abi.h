/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Meridian kernel/user ABI: every struct that crosses the boundary between
 * the BPF programs and the C++ agent lives here, and only here.
 *
 * Included by BPF C (clang -target bpf) and by C++20. Plain C types only:
 * fixed-width integers, explicit padding, network byte order where the
 * field name ends in _be. userspace/datapath/abi_layout_test.cc
 * static_asserts every size and offset, so a change here that alters the
 * layout fails the build instead of corrupting pinned maps.
 */
#ifndef MERIDIAN_ABI_H
#define MERIDIAN_ABI_H

#ifdef __cplusplus
#include <cstdint>
#define MER_U8	std::uint8_t
#define MER_U16 std::uint16_t
#define MER_U32 std::uint32_t
#define MER_U64 std::uint64_t
#else
#define MER_U8	__u8
#define MER_U16 __u16
#define MER_U32 __u32
#define MER_U64 __u64
#endif

/* Bumped whenever a map key or value changes shape. The agent refuses to
 * reuse pinned maps written under another version. */
#define MER_ABI_VERSION 9

/* ---- Sizes ----------------------------------------------------------- */
#define MER_MAX_SERVICES   262144 /* frontends: (VIP, port, proto) */
#define MER_MAX_BACKENDS   524288 /* distinct (addr, port, proto) */
#define MER_MAX_CT_ENTRIES 524288 /* two entries per flow */
/* Largest Maglev table the agent may install; the datapath bounds its
 * slot index by the per-service size it reads from mer_services. */
#define MER_MAGLEV_MAX_SIZE 131071
/* Slots of the flat Maglev array shared by every service's table (the
 * agent sets it: --maglev-slots); 4 bytes each. */
#define MER_MAX_MAGLEV_SLOTS (1u << 23)
#define MER_MAX_REMOTE_CIDRS 16384  /* pod CIDRs of other clusters */
#define MER_MAX_TUNNEL_PEERS 16384  /* registered tunnel endpoints */
#define MER_MAX_EXPORTED_EPS 262144 /* local endpoints of exported services */
#define MER_MAX_AFFINITY     65536  /* (client, frontend) of ClientIP services */
#define MER_MAX_SOCK_REV     65536  /* (socket, backend) pairs the socket LB translated */
#define MER_MAX_TUNNEL_STATS 4096   /* (peer cluster, direction) tunnel counters */

/* ---- Node configuration ----------------------------------------------- */
/* Conntrack lifetimes in seconds, by the state of a flow's direction. */
struct mer_ct_timeouts {
	MER_U32 tcp_syn_s;	   /* SYN seen, no other packet yet */
	MER_U32 tcp_established_s; /* any other packet seen */
	MER_U32 tcp_fin_s;	   /* FIN seen */
	MER_U32 tcp_rst_s;	   /* RST seen */
	MER_U32 udp_s;		   /* a UDP flow's forward direction */
	MER_U32 udp_reply_s;	   /* its replies (a "stream") */
};

/* Set by the agent in the programs' read-only data before load (one object
 * serves every node). node_ip_be == 0 disables tunnelling altogether. */
struct mer_config {
	MER_U32 cluster_id;	/* this cluster: the VNI of what it sends */
	MER_U32 node_ip_be;	/* outer source address */
	MER_U32 uplink_ifindex; /* where decapsulation runs */
	MER_U32 uplink_mtu;	/* encapsulated packets must fit */
	MER_U16 vxlan_port_be;	/* UDP destination port, 4789 by default */
	MER_U16 flags;		/* MER_CFG_* */
	/* Source address of NodePort/LoadBalancer flows forwarded to another
	 * node's backend (SNAT, as kube-proxy does): the uplink's address. */
	MER_U32 snat_addr_be;
	/* Conntrack lifetimes; a field left 0 takes its MER_CT_DEFAULT_*
	 * value. */
	struct mer_ct_timeouts ct;
};

/* Linux nf_conntrack's defaults (nf_conntrack_tcp_timeout_syn_sent,
 * _established, _fin_wait/_time_wait, _close; nf_conntrack_udp_timeout
 * and _udp_timeout_stream). kube-proxy lowers established to 86400 s
 * (--conntrack-tcp-timeout-established): an agent flag does the same. */
#define MER_CT_DEFAULT_TCP_SYN_S	 120
#define MER_CT_DEFAULT_TCP_ESTABLISHED_S 432000
#define MER_CT_DEFAULT_TCP_FIN_S	 120
#define MER_CT_DEFAULT_TCP_RST_S	 10
#define MER_CT_DEFAULT_UDP_S		 30
#define MER_CT_DEFAULT_UDP_REPLY_S	 120

/* This node is its cluster's gateway: it relays the cluster's traffic to
 * other clusters (its non-gateway nodes route it here, unencapsulated). */
#define MER_CFG_GATEWAY 0x1
/* The uplink XDP program serves external frontends (MER_SVC_F_EXTERNAL):
 * NodePorts, LoadBalancer ingress IPs, externalIPs. */
#define MER_CFG_NODEPORT 0x2
/* The uplink XDP program also decapsulates VXLAN (--uplink-decap xdp);
 * without it the tc program does. */
#define MER_CFG_XDP_DECAP 0x4
/* --nodeport-mode dsr: a new external flow to a backend on another node of
 * this cluster is DNAT'd and VXLAN-encapsulated to that node, which
 * answers the client directly (meridian/dsr.h). Every node with
 * MER_CFG_NODEPORT receives such frames, whatever its own mode. */
#define MER_CFG_DSR 0x8
/* --traffic-counters: every packet a conntrack entry translates is counted
 * in mer_traffic for its (frontend, backend) pair and direction. Off, the
 * verifier drops the counting (one per-CPU hash lookup per packet). */
#define MER_CFG_TRAFFIC 0x10
/* --foreign-vxlan drop: VXLAN on the tunnel port from an address that is
 * not a registered peer is dropped and counted (drop_tunnel_not_peer)
 * instead of passed up the host stack (pass_tunnel_not_peer): for nodes
 * where nothing else (a CNI's own VXLAN) uses the port. */
#define MER_CFG_DROP_FOREIGN_VXLAN 0x20

/* VXLAN (RFC 7348) framing added in front of the inner IPv4 packet:
 * outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
#define MER_VXLAN_OVERHEAD 50

/* ---- Cross-cluster routing ------------------------------------------- */
/* Key of mer_remote_cidrs (LPM trie): prefixlen, then the address. */
struct mer_cidr_key {
	MER_U32 prefixlen;
	MER_U32 addr_be;
};

struct mer_remote_cidr {
	/* the remote node, or the remote cluster's gateway; 0 marks one of the
	 * local cluster's own pod CIDRs (written on gateways only: the source
	 * check of relayed traffic) */
	MER_U32 tunnel_ip_be;
	MER_U32 cluster_id;
};

/* Value of mer_tunnel_peers, keyed by the peer's underlay address (u32,
 * network order): VXLAN is decapsulated only from these, and only with
 * the VNI of the peer's cluster. */
struct mer_tunnel_peer {
	MER_U32 cluster_id;
	MER_U32 pad;
};

/* Key of mer_exported_eps: an endpoint of a service this cluster exports,
 * as the tunnel delivers to it (pod address, target port). Value: u32 0. */
struct mer_endpoint_key {
	MER_U32 addr_be;
	MER_U16 port_be;
	MER_U8 proto;
	MER_U8 pad;
};

/* ---- Services (frontends) -------------------------------------------- */
/* Key of mer_services. port_be == 0 and proto == 0 is the "VIP marker":
 * present for every VIP, so that a known VIP on an unknown port is told
 * apart from traffic that is not for a service at all. */
struct mer_service_key {
	MER_U32 vip_be;
	MER_U16 port_be;
	MER_U8 proto; /* IPPROTO_TCP / IPPROTO_UDP, 0 for the VIP marker */
	MER_U8 scope; /* 0, or MER_SVC_SCOPE_INTERNAL for an internal twin */
};

/* The internal twin of an external frontend whose externalTrafficPolicy is
 * Local: the same address and port for clients inside the cluster (pods,
 * the node), balanced over every endpoint, as kube-proxy sends in-cluster
 * traffic to a LoadBalancer IP, externalIP or NodePort through the
 * Service's cluster-wide chain. Only the tc and socket paths look it up
 * (after finding MER_SVC_F_INTERNAL_TWIN on the scope-0 entry); XDP never. */
#define MER_SVC_SCOPE_INTERNAL 1

enum mer_service_flags {
	MER_SVC_F_VIP_MARKER = 1u << 0, /* the (vip, 0, 0) entry */
	/* internalTrafficPolicy Local: with no backend on this node a new
	 * flow is dropped (kube-proxy's rule), not refused */
	MER_SVC_F_DROP_NO_BACKEND = 1u << 1,
	/* Reached from outside the cluster: a NodePort on a node address, a
	 * LoadBalancer ingress IP or an externalIP. Served on the uplink (XDP)
	 * as well as from pods; it has no VIP marker (a node address serves
	 * other ports than its NodePorts). */
	MER_SVC_F_EXTERNAL = 1u << 2,
	/* This external frontend has an internal twin (scope
	 * MER_SVC_SCOPE_INTERNAL) for clients inside the cluster. */
	MER_SVC_F_INTERNAL_TWIN = 1u << 3,
};

struct mer_service {
	MER_U32 id;	       /* unique per frontend, never reused (conntrack names it) */
	MER_U32 backend_count; /* ready backends in the table; 0 => reject */
	MER_U32 maglev_size;   /* slots in this service's Maglev table */
	MER_U32 flags;	       /* enum mer_service_flags */
	MER_U32 maglev_offset; /* first slot of the table in mer_maglev */
	/* sessionAffinity: ClientIP: a client's new flows go to the backend of
	 * its last one until this many seconds pass without a new flow
	 * (mer_affinity); 0: no affinity. */
	MER_U32 affinity_timeout_s;
};

/* mer_sock_rev: what the socket load balancer (cgroup connect4 and
 * sendmsg4 on --socket-lb-cgroup) translated, so that recvmsg4 and
 * getpeername4 show the application the frontend it asked for instead of
 * the backend. Keyed by the socket's cookie and the backend; LRU. */
struct mer_sock_rev_key {
	MER_U64 cookie;
	MER_U32 backend_be;
	MER_U16 backend_port_be;
	MER_U8 proto;
	MER_U8 pad;
};

struct mer_sock_rev {
	MER_U32 vip_be;
	MER_U16 vport_be;
	MER_U16 pad;
};

/* mer_affinity: one client of one ClientIP frontend. */
struct mer_affinity_key {
	MER_U32 client_be;
	MER_U32 service_id; /* mer_service.id */
};

struct mer_affinity {
	MER_U32 backend_id;
	MER_U32 pad;
	MER_U64 last_ns; /* bpf_ktime_get_ns() of the client's last new flow */
};

/* An element of mer_maglev: two consecutive slots, each a backend id. The
 * kernel lays array elements out 8 bytes apart, so two 4-byte slots per
 * element make the mapped array one plain array of slots: slot s is
 * element s / 2, lane s % 2. */
struct mer_maglev_pair {
	MER_U32 backend_id[2];
};

/* The slot -> element rule, the one place it is written: the datapath, the
 * agent, meridianctl and the tests all use these. */
static inline MER_U32 mer_maglev_element(MER_U32 slot)
{
	return slot / 2;
}
static inline MER_U32 mer_maglev_lane(MER_U32 slot)
{
	return slot & 1;
}
/* Elements of an array holding `slots` slots. */
static inline MER_U32 mer_maglev_elements(MER_U32 slots)
{
	return (slots + 1) / 2;
}

/* ---- Backends -------------------------------------------------------- */
/* Key of mer_backends: a backend id allocated by the agent, monotonically
 * increasing and never reused, so that a conntrack entry can never point
 * at a different backend than the one it was created for. */
struct mer_backend {
	MER_U32 addr_be;
	MER_U16 port_be;
	MER_U8 proto;
	MER_U8 flags; /* enum mer_backend_flags */
	MER_U32 cluster_id;
	MER_U32 pad;
};

enum mer_backend_flags {
	MER_BE_F_TERMINATING = 1u << 0, /* kept for existing flows only */
};

/* ---- Conntrack ------------------------------------------------------- */
enum mer_ct_dir {
	MER_CT_FORWARD = 0, /* client -> VIP, as the client sent it */
	MER_CT_REPLY = 1,   /* backend -> client, as the backend replies */
};

struct mer_ct_key {
	MER_U32 saddr_be;
	MER_U32 daddr_be;
	MER_U16 sport_be;
	MER_U16 dport_be;
	MER_U8 proto;
	MER_U8 dir; /* enum mer_ct_dir */
	MER_U16 pad;
};

struct mer_ct_entry {
	/* FORWARD: chosen backend. REPLY: backend_id of the flow (for tools). */
	MER_U32 backend_id;
	MER_U32 service_id;
	/* REPLY: the VIP and port to restore as the source. */
	MER_U32 vip_be;
	MER_U16 vport_be;
	MER_U16 flags;
	MER_U64 created_ns; /* bpf_ktime_get_ns() at creation */
	/* Where the flow goes. An established TCP flow follows these, not
	 * mer_backends: it keeps its backend while the pod answers, even after
	 * the endpoint left the service (kube-proxy's rule). */
	MER_U32 backend_addr_be;
	MER_U16 backend_port_be;
	/* FORWARD: the source the flow leaves with; it differs from the
	 * client's when the translated tuple collided with a live flow (port
	 * remapped) or for hairpin (MER_HAIRPIN_ADDR). REPLY: the client's own
	 * address and port, restored as the destination. */
	MER_U16 nat_port_be;
	MER_U32 nat_addr_be;
	/* FORWARD of a MER_CT_F_DSR flow: the underlay address of the
	 * backend's node, where it is encapsulated to; 0 otherwise. */
	MER_U32 dsr_node_be;
	/* The second of the monotonic clock (CLOCK_MONOTONIC, as
	 * bpf_ktime_get_coarse_ns counts) after which this entry is idle:
	 * every packet that uses it moves this on by the lifetime of the
	 * flow's state (struct mer_ct_timeouts). The datapath never deletes
	 * an entry for age; the agent's collector (datapath/ct_gc.h) does,
	 * and only when the flow's other direction is idle too. */
	MER_U32 expires_s;
	MER_U32 pad2;
};

/* Source address of hairpin flows (a pod reaching itself through a VIP), as
 * Cilium's service loopback address: the pod must not see its own address
 * as the source, and its reply must come back through the translator.
 * 169.254.42.1, network order on little-endian hosts is built by the users. */
#define MER_HAIRPIN_ADDR_HOST 0xa9fe2a01u

/* Source ports tried when a new flow's translated tuple collides with a
 * live one (two VIPs sharing a backend, one client port): netfilter remaps
 * the same way, in the same range (1024-65535 for unprivileged ports). The
 * whole range, not only the ephemeral one: entries of closed flows stay
 * until the LRU evicts them, and 20,000 short connections would fill most
 * of the ephemeral range (lab_robustness measured it). */
#define MER_NAT_PORT_MIN   1024
#define MER_NAT_PORT_RANGE 64512 /* to 65535 */
#define MER_NAT_PORT_TRIES 16

enum mer_ct_flags {
	/* REPLY entry of a flow sent untranslated to a pod of another cluster
	 * (pod IP, headless endpoint, gateway relay): it admits the answers at
	 * decapsulation and is not a reverse translation (no VIP). */
	MER_CT_F_TUNNEL_FLOW = 1u << 0,
	/* A flow that came in on the uplink to an external frontend: its
	 * replies are reverse-translated where they leave (the pod's veth for
	 * a local backend, the uplink for one on another node, SNAT'd) and
	 * sent out by a FIB lookup, never up this node's stack (their source
	 * may be this node's own address). */
	MER_CT_F_NODEPORT = 1u << 1,
	/* FORWARD: an external flow sent by DSR to dsr_node_be (the ingress
	 * node). REPLY: a flow received by DSR (the backend's node): its
	 * replies leave from the pod's veth straight to the client. */
	MER_CT_F_DSR = 1u << 2,
	/* TCP state, kept per entry by the packets that use it: a packet
	 * other than a SYN was seen (the flow is established), and a FIN or
	 * RST was seen (it is closing). A new SYN on the tuple clears both. */
	MER_CT_F_SEEN_NON_SYN = 1u << 3,
	MER_CT_F_CLOSING = 1u << 4,
};

/* ---- Counters -------------------------------------------------------- */
/* X-macro: one line per counter, the name is what tooling prints. Drops
 * are named reasons; each verdict is counted exactly once per packet, except
 * "encap", an event counted in addition to the verdict of the packet it
 * tunnelled (lb_new_flow, lb_ct_hit, lb_ct_reselect or pass_not_service),
 * "ct_reply_restored", counted in addition to lb_ct_hit, and
 * "lb_affinity_hit", counted in addition to lb_new_flow / lb_ct_reselect
 * when session affinity chose the backend, and the conntrack events:
 * "ct_created" (a flow's entries written, counted by the datapath),
 * "ct_entries_added" (each new mer_ct key, counted by the datapath: the
 * agent's eviction estimate needs entries, not flows), "ct_expired" (idle
 * entries deleted, counted by the agent's collector in CPU 0's slot;
 * packets only, no bytes) and "ct_evicted" (entries the LRU evicted, as
 * the agent's collector estimates them: added - deleted - growth). A packet to an external
 * frontend on the uplink gets one nodeport_* verdict (or a drop): local
 * (to a backend on this node, client address kept), snat (to another
 * node's backend, from this node's address), dsr (to another node's
 * backend, encapsulated: --nodeport-mode dsr), via_stack (snat or dsr, left
 * to the kernel to forward: no neighbour entry yet), revnat (a reply), and
 * no_backend (passed to the stack, which refuses it); a DSR frame received
 * from another node is dsr_in (delivered to a pod of this node).
 * "monitor_events" and "monitor_lost" count the events written to the
 * monitor's ring (meridian/monitor.h) and those it had no room for: both
 * stay 0 while no monitor is attached. */
#define MER_STATS(X)                                                                               \
	X(PASS_NOT_IPV4, "pass_not_ipv4")                                                          \
	X(PASS_NOT_SERVICE, "pass_not_service")                                                    \
	X(PASS_NOT_TCP_UDP, "pass_not_tcp_udp")                                                    \
	X(LB_NEW_FLOW, "lb_new_flow")                                                              \
	X(LB_CT_HIT, "lb_ct_hit")                                                                  \
	X(LB_CT_RESELECT, "lb_ct_reselect")                                                        \
	X(REVNAT, "revnat")                                                                        \
	X(PASS_TO_POD, "pass_to_pod")                                                              \
	X(REJECT_NO_BACKEND, "reject_no_backend")                                                  \
	X(REJECT_UNKNOWN_PORT, "reject_unknown_port")                                              \
	X(DROP_MALFORMED_IP, "drop_malformed_ip")                                                  \
	X(DROP_TRUNCATED_L4, "drop_truncated_l4")                                                  \
	X(DROP_FRAGMENT, "drop_fragment")                                                          \
	X(DROP_NO_MAGLEV_TABLE, "drop_no_maglev_table")                                            \
	X(DROP_BACKEND_MISSING, "drop_backend_missing")                                            \
	X(DROP_CT_FULL, "drop_ct_full")                                                            \
	X(DROP_REWRITE_FAILED, "drop_rewrite_failed")                                              \
	X(DROP_REJECT_FAILED, "drop_reject_failed")                                                \
	X(ENCAP, "encap")                                                                          \
	X(DROP_FIB_FAILED, "drop_fib_failed")                                                      \
	X(DROP_ENCAP_FAILED, "drop_encap_failed")                                                  \
	X(REJECT_FRAG_NEEDED, "reject_frag_needed")                                                \
	X(PASS_UPLINK, "pass_uplink")                                                              \
	X(DECAP, "decap")                                                                          \
	X(PASS_TUNNEL_NOT_PEER, "pass_tunnel_not_peer")                                            \
	X(DROP_TUNNEL_BAD_VNI, "drop_tunnel_bad_vni")                                              \
	X(DROP_TUNNEL_MALFORMED, "drop_tunnel_malformed")                                          \
	X(DROP_TUNNEL_NOT_ALLOWED, "drop_tunnel_not_allowed")                                      \
	X(DROP_DECAP_FAILED, "drop_decap_failed")                                                  \
	X(GATEWAY_RELAY, "gateway_relay")                                                          \
	X(DROP_RELAY_TOO_BIG, "drop_relay_too_big")                                                \
	X(CT_REPLY_RESTORED, "ct_reply_restored")                                                  \
	X(DROP_TUNNEL_BAD_SOURCE, "drop_tunnel_bad_source")                                        \
	X(CT_PORT_REMAPPED, "ct_port_remapped")                                                    \
	X(DROP_NAT_NO_PORT, "drop_nat_no_port")                                                    \
	X(HAIRPIN, "hairpin")                                                                      \
	X(HAIRPIN_REPLY, "hairpin_reply")                                                          \
	X(LB_AFFINITY_HIT, "lb_affinity_hit")                                                      \
	X(DROP_NO_LOCAL_ENDPOINT, "drop_no_local_endpoint")                                        \
	X(NODEPORT_LOCAL, "nodeport_local")                                                        \
	X(NODEPORT_SNAT, "nodeport_snat")                                                          \
	X(NODEPORT_REVNAT, "nodeport_revnat")                                                      \
	X(NODEPORT_VIA_STACK, "nodeport_via_stack")                                                \
	X(NODEPORT_NO_BACKEND, "nodeport_no_backend")                                              \
	X(NODEPORT_DSR, "nodeport_dsr")                                                            \
	X(NODEPORT_DSR_IN, "nodeport_dsr_in")                                                      \
	X(DROP_DSR_TOO_BIG, "drop_dsr_too_big")                                                    \
	X(DROP_DSR_BAD_FRAME, "drop_dsr_bad_frame")                                                \
	X(ICMP_REVNAT, "icmp_revnat")                                                              \
	X(SOCK_LB_CONNECT, "sock_lb_connect")                                                      \
	X(SOCK_LB_REJECT, "sock_lb_reject")                                                        \
	X(SOCK_LB_REVNAT, "sock_lb_revnat")                                                        \
	X(SOCK_LB_REMOTE, "sock_lb_remote")                                                        \
	X(SOCK_LB_DROP, "sock_lb_drop")                                                            \
	X(CT_CREATED, "ct_created")                                                                \
	X(CT_EXPIRED, "ct_expired")                                                                \
	X(CT_ENTRIES_ADDED, "ct_entries_added")                                                    \
	X(CT_EVICTED, "ct_evicted")                                                                \
	X(MONITOR_EVENTS, "monitor_events")                                                        \
	X(MONITOR_LOST, "monitor_lost")                                                            \
	X(DROP_TUNNEL_NOT_PEER, "drop_tunnel_not_peer")

#define MER_STAT_ENUM_(name, str) MER_STAT_##name,
enum mer_stat { MER_STATS(MER_STAT_ENUM_) MER_STAT_MAX };
#undef MER_STAT_ENUM_

/* mer_stats has room for counters added later: a new counter then keeps
 * the pinned map's size, and an upgrade can reuse it. */
#define MER_STAT_CAPACITY 64
#ifdef __cplusplus
static_assert(MER_STAT_MAX <= MER_STAT_CAPACITY, "raise MER_STAT_CAPACITY (and the ABI)");
#endif

/* The counters that are a packet dropped or refused (every drop_* and
 * reject_*): the datapath sends a drop event for each to an attached
 * monitor. A unit test checks the mask against the names. */
#define MER_STAT_BIT(stat) (1ull << (stat))
#define MER_STAT_DROP_MASK                                                                         \
	(MER_STAT_BIT(MER_STAT_REJECT_NO_BACKEND) | MER_STAT_BIT(MER_STAT_REJECT_UNKNOWN_PORT) |   \
	 MER_STAT_BIT(MER_STAT_DROP_MALFORMED_IP) | MER_STAT_BIT(MER_STAT_DROP_TRUNCATED_L4) |     \
	 MER_STAT_BIT(MER_STAT_DROP_FRAGMENT) | MER_STAT_BIT(MER_STAT_DROP_NO_MAGLEV_TABLE) |      \
	 MER_STAT_BIT(MER_STAT_DROP_BACKEND_MISSING) | MER_STAT_BIT(MER_STAT_DROP_CT_FULL) |       \
	 MER_STAT_BIT(MER_STAT_DROP_REWRITE_FAILED) | MER_STAT_BIT(MER_STAT_DROP_REJECT_FAILED) |  \
	 MER_STAT_BIT(MER_STAT_DROP_FIB_FAILED) | MER_STAT_BIT(MER_STAT_DROP_ENCAP_FAILED) |       \
	 MER_STAT_BIT(MER_STAT_REJECT_FRAG_NEEDED) | MER_STAT_BIT(MER_STAT_DROP_TUNNEL_BAD_VNI) |  \
	 MER_STAT_BIT(MER_STAT_DROP_TUNNEL_MALFORMED) |                                            \
	 MER_STAT_BIT(MER_STAT_DROP_TUNNEL_NOT_ALLOWED) |                                          \
	 MER_STAT_BIT(MER_STAT_DROP_DECAP_FAILED) | MER_STAT_BIT(MER_STAT_DROP_RELAY_TOO_BIG) |    \
	 MER_STAT_BIT(MER_STAT_DROP_TUNNEL_BAD_SOURCE) | MER_STAT_BIT(MER_STAT_DROP_NAT_NO_PORT) | \
	 MER_STAT_BIT(MER_STAT_DROP_NO_LOCAL_ENDPOINT) | MER_STAT_BIT(MER_STAT_DROP_DSR_TOO_BIG) | \
	 MER_STAT_BIT(MER_STAT_DROP_DSR_BAD_FRAME) | MER_STAT_BIT(MER_STAT_DROP_TUNNEL_NOT_PEER))

/* Value of mer_stats (a per-CPU array indexed by enum mer_stat). */
struct mer_stat_value {
	MER_U64 packets;
	MER_U64 bytes;
};

/* mer_flows: new flows per (frontend, backend), counted where a flow's
 * backend is chosen (a conntrack entry created, or the socket load
 * balancer's connect/sendmsg), so /metrics can say which service sent how
 * many connections to which backend. Read by the agent, which deletes the
 * pairs that left the desired state. */
struct mer_flow_key {
	MER_U32 service_id; /* mer_service.id */
	MER_U32 backend_id;
};

struct mer_flow_count {
	MER_U64 flows;
};

/* mer_traffic: packets and bytes per (frontend, backend) pair (key: struct
 * mer_flow_key) and direction (enum mer_ct_dir: FORWARD client -> backend,
 * REPLY backend -> client), counted on every packet a conntrack entry
 * translates, its flow's first included, with MER_CFG_TRAFFIC: where a
 * flow is translated (the client's node, or a NodePort's ingress node),
 * not where a DSR frame is only delivered. Bytes are the packet's length
 * as the program saw it, Ethernet header included. Flows the socket load
 * balancer translated at connect() are not here: their packets never pass
 * a translation. Pruned with mer_flows. */
struct mer_traffic {
	MER_U64 packets[2]; /* by enum mer_ct_dir */
	MER_U64 bytes[2];
};

/* mer_tunnel_stats: what crossed the tunnel, per peer cluster and
 * direction: tx counted where a packet is encapsulated for the cluster
 * (pod egress, gateway relay), rx where one from it is accepted and
 * decapsulated (tc or XDP on the uplink). Value: struct mer_stat_value. */
enum mer_tunnel_dir {
	MER_TUNNEL_TX = 0,
	MER_TUNNEL_RX = 1,
};

struct mer_tunnel_stat_key {
	MER_U32 cluster_id;
	MER_U32 dir; /* enum mer_tunnel_dir */
};

/* ---- The monitor (meridianctl monitor) -------------------------------- */
/* While a monitor is attached the datapath writes events to the ring
 * buffer mer_events: a new flow's backend chosen, a packet through the
 * tunnel, a drop. mer_monitor's one entry says until when (a lease the
 * monitor renews, so one killed with SIGKILL stops costing within
 * MER_MONITOR_LEASE_MS), which kinds, and one in how many. With no monitor
 * the paths that could emit read that entry and produce nothing; a
 * conntrack hit does not even read it. */
enum mer_event_type {
	MER_EVENT_FLOW = 1,   /* a new flow: its backend chosen */
	MER_EVENT_DROP = 2,   /* a packet dropped or refused: the reason */
	MER_EVENT_TUNNEL = 3, /* a packet encapsulated to, or decapsulated from, a peer cluster */
};
#define MER_EVENT_TYPE_BIT(type) (1u << (type))
#define MER_EVENT_ALL_TYPES                                                                        \
	(MER_EVENT_TYPE_BIT(MER_EVENT_FLOW) | MER_EVENT_TYPE_BIT(MER_EVENT_DROP) |                 \
	 MER_EVENT_TYPE_BIT(MER_EVENT_TUNNEL))

/* The ring's size: 4096 events of 64 bytes (with the ring's header). */
#define MER_MONITOR_RING_BYTES (256u * 1024u)
/* How long an attachment lasts unless renewed. */
#define MER_MONITOR_LEASE_MS 3000

/* mer_monitor's value (one entry, key 0). */
struct mer_monitor_config {
	MER_U64 until_ns;     /* CLOCK_MONOTONIC deadline (bpf_ktime_get_ns); 0: none attached */
	MER_U32 sample_every; /* 0 or 1: every event; N: one in N, at random */
	MER_U32 types;	      /* MER_EVENT_TYPE_BIT of the kinds wanted */
};

/* One event. Addresses and ports in network order, as the packet had
 * them when the datapath saw it: a flow's client -> frontend (VIP), a
 * tunnel packet's inner header, a drop's header. */
struct mer_event {
	MER_U64 ts_ns;	/* bpf_ktime_get_ns() */
	MER_U32 type;	/* enum mer_event_type */
	MER_U32 reason; /* enum mer_stat: the verdict or drop reason */
	MER_U32 saddr_be;
	MER_U32 daddr_be;
	MER_U16 sport_be;
	MER_U16 dport_be;
	MER_U8 proto;
	MER_U8 dir;	    /* tunnel: enum mer_tunnel_dir */
	MER_U16 ct_flags;   /* flow: MER_CT_F_* of the new entries (NodePort, DSR) */
	MER_U32 service_id; /* flow: mer_service.id */
	MER_U32 backend_id; /* flow */
	MER_U32 backend_addr_be;
	MER_U16 backend_port_be;
	MER_U16 pad;
	MER_U32 cluster_id; /* flow: the backend's cluster; tunnel: the peer's */
	MER_U32 len;	    /* bytes of the packet (0 for a socket's connect) */
};

/* ---- The maps -------------------------------------------------------- */
/* Every map the programs share, described once. meridian/maps.h expands the
 * list into the BPF definitions; the agent expands it into its map set, the
 * pinning of tools, and the layout test over both BPF objects. Each map is
 * named mer_<name> (MER_MAP_NAME) and pinned under
 * /sys/fs/bpf/meridian/<node>/; the agent resizes services, backends,
 * maglev, ct and affinity before load (--max-*, --maglev-slots), and
 * recreates a pinned map of another size or flags with its entries
 * (userspace/datapath/map_resize.h). The maps only the agent writes
 * (services, backends, tunnel_peers, exported_eps, remote_cidrs) are not
 * preallocated: their memory follows the entries, not the capacity (at
 * 10k services, 35 MiB less); the agent inserts, the programs only look
 * up, so allocation never happens on a packet's path.
 *
 *   services      (VIP, port, proto, scope) -> service; plus one (VIP, 0, 0)
 *                 marker per VIP.
 *   backends      backend id -> backend address.
 *   maglev        every service's Maglev table, back to back: a service's
 *                 table is slots [maglev_offset, maglev_offset + maglev_size)
 *                 (struct mer_maglev_pair has the layout). One array instead
 *                 of a map per service: at 10k services, creating and filling
 *                 10k maps was half of a cold sync, and their page-rounded
 *                 memory twice the slots'. Mappable, so the agent writes
 *                 tables with memcpy.
 *   ct            two entries per flow (forward and reply); LRU, so a full
 *                 table evicts the coldest flows instead of refusing new ones.
 *   stats         per-CPU counters, indexed by enum mer_stat.
 *   remote_cidrs  pod CIDRs of other clusters -> tunnel endpoint.
 *   tunnel_peers  underlay address of a registered peer -> its cluster.
 *   exported_eps  local endpoints of exported services: what the tunnel may
 *                 deliver to.
 *   affinity      session affinity (ClientIP): the backend each client of
 *                 each such frontend last got; LRU, so a full table forgets
 *                 the coldest clients instead of refusing new ones.
 *   sock_rev      socket load balancer: frontends translated at connect() or
 *                 sendmsg(), per socket and backend, for recvmsg() and
 *                 getpeername() (meridian/sock.h).
 *   flows         per-CPU new-flow counters per (frontend, backend); not
 *                 preallocated, so memory follows the pairs that carried
 *                 traffic; sized like backends (--max-backends).
 *   traffic       per-CPU packets and bytes per (frontend, backend) and
 *                 direction (MER_CFG_TRAFFIC); not preallocated, sized
 *                 like flows.
 *   tunnel_stats  per-CPU packets and bytes through the tunnel per (peer
 *                 cluster, direction); not preallocated.
 *   monitor       one entry: the attached monitor's lease, kinds and
 *                 sampling (struct mer_monitor_config).
 *
 * Outside the list, because a ring buffer has no key or value: mer_events,
 * the monitor's ring (MER_MONITOR_RING_BYTES), defined in meridian/maps.h
 * and pinned beside the others.
 *
 * X(name, type, max_entries, flags, key, value) */
#define MER_MAPS(X)                                                                                \
	X(services, BPF_MAP_TYPE_HASH, MER_MAX_SERVICES, BPF_F_NO_PREALLOC,                        \
	  struct mer_service_key, struct mer_service)                                              \
	X(backends, BPF_MAP_TYPE_HASH, MER_MAX_BACKENDS, BPF_F_NO_PREALLOC, MER_U32,               \
	  struct mer_backend)                                                                      \
	X(maglev, BPF_MAP_TYPE_ARRAY, MER_MAX_MAGLEV_SLOTS / 2, BPF_F_MMAPABLE, MER_U32,           \
	  struct mer_maglev_pair)                                                                  \
	X(ct, BPF_MAP_TYPE_LRU_HASH, MER_MAX_CT_ENTRIES, BPF_F_NO_COMMON_LRU, struct mer_ct_key,   \
	  struct mer_ct_entry)                                                                     \
	X(stats, BPF_MAP_TYPE_PERCPU_ARRAY, MER_STAT_CAPACITY, 0, MER_U32, struct mer_stat_value)  \
	X(remote_cidrs, BPF_MAP_TYPE_LPM_TRIE, MER_MAX_REMOTE_CIDRS, BPF_F_NO_PREALLOC,            \
	  struct mer_cidr_key, struct mer_remote_cidr)                                             \
	X(tunnel_peers, BPF_MAP_TYPE_HASH, MER_MAX_TUNNEL_PEERS, BPF_F_NO_PREALLOC, MER_U32,       \
	  struct mer_tunnel_peer)                                                                  \
	X(exported_eps, BPF_MAP_TYPE_HASH, MER_MAX_EXPORTED_EPS, BPF_F_NO_PREALLOC,                \
	  struct mer_endpoint_key, MER_U32)                                                        \
	X(affinity, BPF_MAP_TYPE_LRU_HASH, MER_MAX_AFFINITY, 0, struct mer_affinity_key,           \
	  struct mer_affinity)                                                                     \
	X(sock_rev, BPF_MAP_TYPE_LRU_HASH, MER_MAX_SOCK_REV, 0, struct mer_sock_rev_key,           \
	  struct mer_sock_rev)                                                                     \
	X(flows, BPF_MAP_TYPE_PERCPU_HASH, MER_MAX_BACKENDS, BPF_F_NO_PREALLOC,                    \
	  struct mer_flow_key, struct mer_flow_count)                                              \
	X(traffic, BPF_MAP_TYPE_PERCPU_HASH, MER_MAX_BACKENDS, BPF_F_NO_PREALLOC,                  \
	  struct mer_flow_key, struct mer_traffic)                                                 \
	X(tunnel_stats, BPF_MAP_TYPE_PERCPU_HASH, MER_MAX_TUNNEL_STATS, BPF_F_NO_PREALLOC,         \
	  struct mer_tunnel_stat_key, struct mer_stat_value)                                       \
	X(monitor, BPF_MAP_TYPE_ARRAY, 1, 0, MER_U32, struct mer_monitor_config)

#define MER_MAP_NAME(name) "mer_" #name

#endif /* MERIDIAN_ABI_H */
