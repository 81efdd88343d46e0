/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* NodePort direct server return (--nodeport-mode dsr) over the VXLAN
 * tunnel, between nodes of one cluster.
 *
 * The ingress node DNATs a new external flow to a backend on another node
 * as for a local one (the client's address kept), then encapsulates it to
 * that node and transmits it. The backend's node decapsulates it in XDP,
 * records a conntrack reply entry carrying the frontend, and passes it up
 * to the pod; the pod's replies are given the frontend as their source on
 * its veth and leave straight for the client (nodeport.h,
 * mer_nodeport_reply_from_pod), never through the ingress node again.
 *
 * The frame is standard VXLAN (RFC 7348, VNI = this cluster's id, UDP
 * source port from the flow hash). The backend's node must learn the
 * frontend (address and port the client used) to answer from it, and
 * VXLAN has no option space, so it rides in fields receivers ignore:
 *   - the frontend address in the header's reserved bits: its top 24 bits
 *     in the 24 after the flags, its low 8 in the byte after the VNI;
 *   - the frontend port in the outer IPv4 ID, which has no meaning in an
 *     atomic datagram (RFC 6864: DF set, never fragmented).
 * Frames of other VXLAN users (a CNI between the nodes of this cluster)
 * keep those bits zero and pass untouched. A received frame is trusted no
 * further than the packet inside it sent straight to this node: its
 * frontend must be an external frontend served here (or, for a NodePort on
 * another node's address, the same port on this node's), and its
 * destination a pod of this node. */
#ifndef MERIDIAN_DSR_H
#define MERIDIAN_DSR_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"
#include "meridian/jhash.h"
#include "meridian/lb.h"
#include "meridian/maps.h"
#include "meridian/monitor.h"
#include "meridian/nat.h"
#include "meridian/parse.h"
#include "meridian/stats.h"
#include "meridian/tunnel.h"
#include "meridian/xdp_forward.h"

/* The headers written in front of the inner frame (whose own Ethernet
 * header stays, as the inner one). */
struct mer_dsr_outer {
	struct iphdr ip;
	struct udphdr udp;
	struct mer_vxlanhdr vx;
};

_Static_assert(sizeof(struct mer_dsr_outer) == MER_VXLAN_OVERHEAD - sizeof(struct ethhdr),
	       "no padding in the outer headers");

static __always_inline int mer_dsr_enabled(void)
{
	return mer_cfg.flags & MER_CFG_DSR;
}

/* The node that holds `backend`: the gateway of this node's route to it,
 * out of the uplink. 0 when the route has none (the backend is on the
 * uplink's own link, or unroutable): such a flow is SNAT'd instead. */
static __always_inline __be32 mer_dsr_node(struct xdp_md *ctx, __be32 backend)
{
	struct bpf_fib_lookup fib = {
		.family = AF_INET,
		.ipv4_src = mer_cfg.snat_addr_be,
		.ipv4_dst = backend,
		.ifindex = ctx->ingress_ifindex,
	};
	int rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);

	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return 0;
	if (fib.ifindex != ctx->ingress_ifindex || fib.ipv4_dst == backend)
		return 0;
	return fib.ipv4_dst;
}

/* Conntrack of a new DSR flow on the ingress node: the forward entry
 * only (the replies never come back here), the client's address and port
 * kept. Returns 0 or the drop reason. */
static __always_inline enum mer_stat
mer_dsr_ct_create(const struct mer_pkt *p, const struct mer_service *svc, __u32 backend_id,
		  const struct mer_backend *be, __be32 node, struct mer_nat *nat)
{
	struct mer_ct_entry entry = {
		.backend_id = backend_id,
		.service_id = svc->id,
		.vip_be = p->daddr,
		.vport_be = p->dport,
		.flags = MER_CT_F_NODEPORT | MER_CT_F_DSR,
		.created_ns = bpf_ktime_get_ns(),
		.backend_addr_be = be->addr_be,
		.backend_port_be = be->port_be,
		.nat_addr_be = p->saddr,
		.nat_port_be = p->sport,
		.dsr_node_be = node,
	};
	struct mer_ct_key key;

	mer_ct_nat(&entry, nat);
	mer_ct_forward_key(&key, p);
	mer_ct_start(&entry, p, MER_CT_FORWARD);
	if (bpf_map_update_elem(&mer_ct, &key, &entry, BPF_NOEXIST) == 0) {
		mer_count(MER_STAT_CT_ENTRIES_ADDED, 0);
	} else if (bpf_map_update_elem(&mer_ct, &key, &entry, BPF_ANY)) {
		return MER_STAT_DROP_CT_FULL;
	}
	mer_count(MER_STAT_CT_CREATED, 0);
	mer_count_flow(svc->id, backend_id);
	mer_count_traffic(svc->id, backend_id, MER_CT_FORWARD, p->len);
	mer_monitor_flow(p, svc->id, backend_id, be, entry.flags, MER_STAT_LB_NEW_FLOW);
	return 0;
}

/* Encapsulates the DNAT'd frame to `node`, with the frontend the client
 * used (p's original destination) in the header, and sends it on. */
static __always_inline int mer_dsr_encap(struct xdp_md *ctx, const struct mer_pkt *p, __be32 node)
{
	__u32 inner_len = (__u32)(ctx->data_end - ctx->data) - MER_L3_OFF;
	__u32 faddr = bpf_ntohl(p->daddr);
	struct mer_dsr_outer h = {};
	void *data, *data_end;
	__s64 csum;

	if (mer_cfg.uplink_mtu && inner_len + MER_VXLAN_OVERHEAD > mer_cfg.uplink_mtu) {
		mer_drop(MER_STAT_DROP_DSR_TOO_BIG, p);
		return XDP_DROP;
	}
	h.ip.version = 4;
	h.ip.ihl = 5;
	h.ip.tot_len = bpf_htons(inner_len + MER_VXLAN_OVERHEAD);
	h.ip.id = p->dport;
	h.ip.frag_off = bpf_htons(MER_IP_DF);
	h.ip.ttl = 64;
	h.ip.protocol = IPPROTO_UDP;
	h.ip.saddr = mer_cfg.snat_addr_be;
	h.ip.daddr = node;
	csum = bpf_csum_diff(0, 0, (__be32 *)&h.ip, sizeof(h.ip), 0);
	if (csum < 0)
		goto failed;
	h.ip.check = mer_csum_fold(csum);
	h.udp.source = bpf_htons(
		49152 + (mer_flow_hash(p->saddr, p->daddr, p->sport, p->dport, p->proto) & 0x3fff));
	h.udp.dest = mer_cfg.vxlan_port_be;
	h.udp.len = bpf_htons(inner_len + MER_VXLAN_OVERHEAD - sizeof(struct iphdr));
	h.vx.flags = bpf_htonl(MER_VXLAN_FLAG_VNI | (faddr >> 8));
	h.vx.vni = bpf_htonl(mer_cfg.cluster_id << 8 | (faddr & 0xff));

	if (bpf_xdp_adjust_head(ctx, -(int)MER_VXLAN_OVERHEAD))
		goto failed;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + MER_INNER_ETH_OFF + sizeof(struct ethhdr) > data_end)
		goto failed;
	/* The frame's Ethernet header, now the inner one, starts the outer
	 * one too: addressed to this node, the stack takes it as its own if it
	 * has to forward it (mer_xdp_forward, no neighbour entry yet). */
	__builtin_memcpy(data, data + MER_INNER_ETH_OFF, sizeof(struct ethhdr));
	__builtin_memcpy(data + MER_L3_OFF, &h, sizeof(h));
	return mer_xdp_forward(ctx, p, MER_STAT_NODEPORT_DSR, MER_STAT_NODEPORT_VIA_STACK);

failed:
	mer_drop(MER_STAT_DROP_ENCAP_FAILED, p);
	return XDP_DROP;
}

/* Is (addr, port) of protocol proto an external frontend this node
 * serves? */
static __always_inline struct mer_service *mer_external_frontend(__be32 addr, __be16 port,
								 __u8 proto)
{
	struct mer_service_key key = {.vip_be = addr, .port_be = port, .proto = proto};
	struct mer_service *svc = bpf_map_lookup_elem(&mer_services, &key);

	return svc && (svc->flags & MER_SVC_F_EXTERNAL) ? svc : NULL;
}

/* The backend's node: a DSR frame from another node of this cluster
 * (outer packet p, parsed). Decapsulated, its flow's reply entry written
 * (the frontend to answer from, the client to answer to), then passed up
 * to the pod. Returns -1 when p is no DSR frame. */
static __always_inline int mer_dsr_receive(struct xdp_md *ctx, const struct mer_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *outer = data + MER_L3_OFF;
	struct mer_vxlanhdr *vx = data + MER_VXLAN_OFF;
	struct mer_ct_entry entry = {};
	struct mer_ct_entry *held;
	struct mer_service *svc;
	struct mer_pkt in = {};
	struct mer_ct_key key;
	__u32 w0, w1;
	__be32 faddr;
	__be16 fport;

	if (!mer_nodeport_enabled() || p->proto != IPPROTO_UDP ||
	    p->dport != mer_cfg.vxlan_port_be || p->ihl_len != sizeof(struct iphdr))
		return -1;
	if ((void *)(vx + 1) > data_end || (void *)(outer + 1) > data_end)
		return -1;
	w0 = bpf_ntohl(vx->flags);
	w1 = bpf_ntohl(vx->vni);
	faddr = bpf_htonl((w0 & 0xffffff) << 8 | (w1 & 0xff));
	if (!(w0 & MER_VXLAN_FLAG_VNI) || w1 >> 8 != mer_cfg.cluster_id || !faddr ||
	    !(outer->frag_off & bpf_htons(MER_IP_DF)))
		return -1;
	fport = outer->id;

	/* Ours: from here on delivered or dropped. */
	if (mer_xdp_strip_vxlan(ctx))
		goto bad;
	if (mer_parse_xdp(ctx, &in) != MER_PARSE_OK)
		goto bad;
	svc = mer_external_frontend(faddr, fport, in.proto);
	if (!svc)
		svc = mer_external_frontend(mer_cfg.snat_addr_be, fport, in.proto);
	if (!svc || !mer_xdp_is_local(ctx, in.saddr, in.daddr))
		goto bad;

	mer_ct_reply_key(&key, &in, in.daddr, in.dport);
	held = bpf_map_lookup_elem(&mer_ct, &key);
	if (!held || held->vip_be != faddr || held->vport_be != fport ||
	    !(held->flags & MER_CT_F_DSR)) {
		entry.service_id = svc->id;
		entry.vip_be = faddr;
		entry.vport_be = fport;
		entry.flags = MER_CT_F_NODEPORT | MER_CT_F_DSR;
		entry.created_ns = bpf_ktime_get_ns();
		entry.backend_addr_be = in.daddr;
		entry.backend_port_be = in.dport;
		entry.nat_addr_be = in.saddr;
		entry.nat_port_be = in.sport;
		mer_ct_start(&entry, &in, MER_CT_FORWARD);
		if (bpf_map_update_elem(&mer_ct, &key, &entry, BPF_ANY)) {
			mer_drop(MER_STAT_DROP_CT_FULL, p);
			return XDP_DROP;
		}
		mer_count(MER_STAT_CT_CREATED, 0);
		if (!held)
			mer_count(MER_STAT_CT_ENTRIES_ADDED, 0);
	} else {
		mer_ct_touch(held, &in, MER_CT_FORWARD);
	}
	mer_count(MER_STAT_NODEPORT_DSR_IN, p->len);
	return XDP_PASS;

bad:
	mer_drop(MER_STAT_DROP_DSR_BAD_FRAME, p);
	return XDP_DROP;
}

#endif /* MERIDIAN_DSR_H */
