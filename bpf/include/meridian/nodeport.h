/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* External frontends (NodePorts on node addresses, LoadBalancer ingress
 * IPs, externalIPs: MER_SVC_F_EXTERNAL) served by XDP on the uplink, where
 * traffic from outside the cluster arrives.
 *
 * A new flow is balanced exactly as a pod's would be (conntrack, session
 * affinity, the frontend's Maglev table: every node that receives the flow
 * picks the same backend). Then:
 *   - a backend on this node (the FIB routes it elsewhere than the uplink)
 *     gets the packet DNAT'd only, up the stack: the client's address is
 *     kept. Its replies are reverse-translated on its veth (pod.h) and
 *     sent out by FIB lookup, since their source may be this node's own
 *     address, which the stack would take for a martian;
 *   - a backend on another node gets it SNAT'd to this node's address
 *     (kube-proxy's rule: the reply must come back here to be reversed),
 *     forwarded straight back out of the uplink (XDP_TX) when the FIB knows
 *     the next hop's MAC, else up the stack (the agent sets accept_local
 *     on the uplink for that). Its replies arrive here and are reversed
 *     by mer_nodeport_reply. With --nodeport-mode dsr it is DNAT'd only
 *     and encapsulated to the backend's node instead, which answers the
 *     client directly (dsr.h); a flow whose backend's node the FIB cannot
 *     name is SNAT'd. Every node receives DSR frames (mer_dsr_receive).
 * Each packet gets one nodeport_* verdict or a drop (abi.h). Everything
 * else is left to the rest of the uplink path (decapsulation, the stack). */
#ifndef MERIDIAN_NODEPORT_H
#define MERIDIAN_NODEPORT_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"
#include "meridian/dsr.h"
#include "meridian/icmp_error.h"
#include "meridian/lb.h"
#include "meridian/maps.h"
#include "meridian/monitor.h"
#include "meridian/nat.h"
#include "meridian/parse.h"
#include "meridian/reject.h"
#include "meridian/stats.h"
#include "meridian/xdp_forward.h"

/* Applies a flow's translation in XDP: the destination always, the source
 * when it is SNAT'd or its port remapped. */
static __always_inline int mer_xdp_translate(struct xdp_md *ctx, const struct mer_pkt *p,
					     const struct mer_nat *nat)
{
	if (mer_xdp_rewrite_addr_port(ctx, p, MER_IP_DADDR_OFF, p->daddr, nat->backend_addr,
				      offsetof(struct udphdr, dest), p->dport, nat->backend_port))
		return -1;
	if (nat->saddr == p->saddr && nat->sport == p->sport)
		return 0;
	return mer_xdp_rewrite_addr_port(ctx, p, MER_IP_SADDR_OFF, p->saddr, nat->saddr,
					 offsetof(struct udphdr, source), p->sport, nat->sport);
}

/* A reply of a SNAT'd flow, from the backend's node to this node's
 * address: backend:port -> node:port becomes frontend:port -> client:port.
 * Returns -1 when the packet is no such reply. */
static __always_inline int mer_nodeport_reply(struct xdp_md *ctx, const struct mer_pkt *p)
{
	struct mer_ct_entry *ct;
	struct mer_ct_key key;
	__be32 client, vip;
	__be16 cport, vport;

	mer_ct_forward_key(&key, p);
	key.dir = MER_CT_REPLY;
	ct = bpf_map_lookup_elem(&mer_ct, &key);
	if (!ct || !(ct->flags & MER_CT_F_NODEPORT))
		return -1;
	mer_ct_used(ct, p, MER_CT_REPLY);
	client = ct->nat_addr_be;
	cport = ct->nat_port_be;
	vip = ct->vip_be;
	vport = ct->vport_be;
	if (mer_xdp_rewrite_addr_port(ctx, p, MER_IP_SADDR_OFF, p->saddr, vip,
				      offsetof(struct udphdr, source), p->sport, vport) ||
	    mer_xdp_rewrite_addr_port(ctx, p, MER_IP_DADDR_OFF, p->daddr, client,
				      offsetof(struct udphdr, dest), p->dport, cport)) {
		mer_drop(MER_STAT_DROP_REWRITE_FAILED, p);
		return XDP_DROP;
	}
	return mer_xdp_forward(ctx, p, MER_STAT_NODEPORT_REVNAT, MER_STAT_NODEPORT_REVNAT);
}

/* A packet to an external frontend. */
static __always_inline int mer_nodeport_forward(struct xdp_md *ctx, const struct mer_pkt *p,
						const struct mer_service *svc)
{
	struct mer_ct_entry *ct;
	struct mer_ct_key key;
	struct mer_nat nat;
	__be32 dsr_node = 0;
	int have = 0;

	mer_ct_forward_key(&key, p);
	ct = bpf_map_lookup_elem(&mer_ct, &key);
	if (ct && mer_ct_usable(p, ct)) {
		mer_ct_nat(ct, &nat);
		mer_ct_used(ct, p, MER_CT_FORWARD);
		if (ct->flags & MER_CT_F_DSR)
			dsr_node = ct->dsr_node_be;
		else
			mer_ct_restore_reply(p, ct);
		have = 1;
	}
	if (!have) {
		enum mer_stat drop = MER_STAT_DROP_NO_MAGLEV_TABLE;
		struct mer_backend *be;
		__be32 snat = 0;
		__u32 backend_id;
		__u64 now;

		if (svc->backend_count == 0) {
			int ret;

			/* externalTrafficPolicy Local without a local endpoint:
			 * dropped (kube-proxy). Otherwise refused at once with
			 * ICMP port unreachable from the frontend, as
			 * kube-proxy's REJECT rules do on every frontend; a
			 * packet with IPv4 options goes up the stack, which
			 * refuses it on a node address (no socket there). */
			if (svc->flags & MER_SVC_F_DROP_NO_BACKEND) {
				mer_drop(MER_STAT_DROP_NO_LOCAL_ENDPOINT, p);
				return XDP_DROP;
			}
			ret = mer_xdp_port_unreachable(ctx, p, p->daddr);
			if (ret >= 0) {
				mer_drop(MER_STAT_REJECT_NO_BACKEND, p);
				return ret;
			}
			mer_count(MER_STAT_NODEPORT_NO_BACKEND, p->len);
			return XDP_PASS;
		}
		now = bpf_ktime_get_ns();
		backend_id = mer_affinity_backend(p, svc, now);
		if (!backend_id)
			backend_id = mer_maglev_select(p, svc, &drop);
		if (!backend_id) {
			mer_drop(drop, p);
			return XDP_DROP;
		}
		be = bpf_map_lookup_elem(&mer_backends, &backend_id);
		if (!be) {
			mer_drop(MER_STAT_DROP_BACKEND_MISSING, p);
			return XDP_DROP;
		}
		if (!mer_xdp_is_local(ctx, mer_cfg.snat_addr_be, be->addr_be)) {
			/* DSR where the backend's node is known, else SNAT */
			if (mer_dsr_enabled())
				dsr_node = mer_dsr_node(ctx, be->addr_be);
			if (!dsr_node)
				snat = mer_cfg.snat_addr_be;
		}
		if (dsr_node)
			drop = mer_dsr_ct_create(p, svc, backend_id, be, dsr_node, &nat);
		else
			drop = mer_ct_create(p, svc, backend_id, be, &nat, snat, MER_CT_F_NODEPORT);
		if (drop) {
			mer_drop(drop, p);
			return XDP_DROP;
		}
		mer_affinity_note(p, svc, backend_id, now);
	}
	if (mer_xdp_translate(ctx, p, &nat)) {
		mer_drop(MER_STAT_DROP_REWRITE_FAILED, p);
		return XDP_DROP;
	}
	if (dsr_node)
		return mer_dsr_encap(ctx, p, dsr_node);
	if (nat.saddr == p->saddr) {
		mer_count(MER_STAT_NODEPORT_LOCAL, p->len);
		return XDP_PASS;
	}
	return mer_xdp_forward(ctx, p, MER_STAT_NODEPORT_SNAT, MER_STAT_NODEPORT_VIA_STACK);
}

/* XDP, the uplink: an ICMP error about a SNAT'd NodePort flow, sent to
 * this node by the backend (or a router on the way to it): reversed to
 * the client (icmp_error.h) and forwarded. Returns -1 when the packet is
 * no such error. */
static __always_inline int mer_nodeport_icmp_error(struct xdp_md *ctx, const struct mer_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct mer_icmp_quote q = {};
	struct mer_ct_entry *ct;

	if (p->proto != MER_IPPROTO_ICMP ||
	    mer_icmp_quote_parse(data, data_end, MER_L3_OFF, p->ihl_len, &q))
		return -1;
	ct = mer_icmp_quote_flow(&q);
	if (!ct || !(ct->flags & MER_CT_F_NODEPORT))
		return -1;
	if (mer_icmp_revnat(data, data_end, &q, ct)) {
		mer_drop(MER_STAT_DROP_REWRITE_FAILED, p);
		return XDP_DROP;
	}
	return mer_xdp_forward(ctx, p, MER_STAT_ICMP_REVNAT, MER_STAT_ICMP_REVNAT);
}

/* The uplink's XDP entry for external frontends: returns the XDP action,
 * or -1 when the packet is not for one (the caller goes on). */
static __always_inline int mer_handle_xdp_nodeport(struct xdp_md *ctx)
{
	struct mer_service *svc;
	struct mer_pkt p = {};
	int parsed, ret;

	if (!mer_nodeport_enabled())
		return -1;
	parsed = mer_parse_xdp(ctx, &p);
	if (parsed == MER_PARSE_NOT_TCP_UDP)
		return mer_nodeport_icmp_error(ctx, &p);
	if (parsed != MER_PARSE_OK)
		return -1;
	ret = mer_nodeport_reply(ctx, &p);
	if (ret >= 0)
		return ret;
	ret = mer_dsr_receive(ctx, &p);
	if (ret >= 0)
		return ret;
	svc = mer_service_lookup(&p);
	if (!svc || !(svc->flags & MER_SVC_F_EXTERNAL))
		return -1;
	return mer_nodeport_forward(ctx, &p, svc);
}

/* tc, a pod's veth: sends a reverse-translated packet of a NodePort flow
 * to its client by FIB lookup (bpf_redirect_neigh resolves the next hop)
 * rather than up the stack, which would drop a packet from its own
 * address as a martian. Counted as `sent`, or nodeport_via_stack when the
 * FIB cannot say. */
static __always_inline int mer_tc_send_by_fib(struct __sk_buff *skb, const struct mer_pkt *p,
					      enum mer_stat sent)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + MER_L3_OFF;
	struct bpf_fib_lookup fib = {};
	int rc;

	if ((void *)(ip + 1) > data_end) {
		mer_drop(MER_STAT_DROP_REWRITE_FAILED, p);
		return TC_ACT_SHOT;
	}
	mer_fib_params(&fib, ip, skb->ifindex);
	/* No MTU check: a pod's TCP replies are GSO packets far larger than
	 * the MTU, cut into segments on the way out. Checked, every one was
	 * "fragmentation needed", went up the stack and was dropped there as a
	 * martian (its source is this node's address): a 200 kB answer took
	 * 10 s of retransmissions (lab_nodeport). */
	fib.tot_len = 0;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if ((rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) || ip->ttl <= 1) {
		mer_count(MER_STAT_NODEPORT_VIA_STACK, p->len);
		return TC_ACT_OK;
	}
	mer_ttl_dec(ip);
	mer_count(sent, p->len);
	return bpf_redirect_neigh(fib.ifindex, NULL, 0, 0);
}

/* tc, a pod's veth: a reply of a NodePort flow served by this pod, which
 * kept the client's address: backend:port -> client becomes
 * frontend:port -> client, then sent by FIB lookup. Returns -1 when the
 * packet is no such reply. */
static __always_inline int mer_nodeport_reply_from_pod(struct __sk_buff *skb,
						       const struct mer_pkt *p)
{
	struct mer_ct_entry *ct;
	struct mer_ct_key key;
	__be16 client_port;

	if (!mer_nodeport_enabled())
		return -1;
	mer_ct_forward_key(&key, p);
	key.dir = MER_CT_REPLY;
	ct = bpf_map_lookup_elem(&mer_ct, &key);
	if (!ct || !(ct->flags & MER_CT_F_NODEPORT))
		return -1;
	mer_ct_used(ct, p, MER_CT_REPLY);
	client_port = ct->nat_port_be;
	if (mer_snat(skb, p, ct->vip_be, ct->vport_be))
		goto rewrite_failed;
	if (client_port != p->dport &&
	    mer_rewrite_addr_port(skb, p, MER_IP_DADDR_OFF, p->daddr, p->daddr,
				  offsetof(struct udphdr, dest), p->dport, client_port))
		goto rewrite_failed;
	return mer_tc_send_by_fib(skb, p, MER_STAT_NODEPORT_REVNAT);

rewrite_failed:
	mer_drop(MER_STAT_DROP_REWRITE_FAILED, p);
	return TC_ACT_SHOT;
}

/* tc, a pod's veth: an ICMP error this pod sends (its quote q parsed by
 * mer_icmp_quote_skb) about a NodePort flow it served (a UDP port
 * unreachable, say): reversed to the client, from the frontend, and sent by
 * FIB lookup. Returns -1 when the packet is no such error. */
static __always_inline int mer_nodeport_icmp_error_from_pod(struct __sk_buff *skb,
							    const struct mer_pkt *p,
							    const struct mer_icmp_quote *q)
{
	struct mer_ct_entry *ct;

	if (!mer_nodeport_enabled())
		return -1;
	ct = mer_icmp_quote_flow(q);
	if (!ct || !(ct->flags & MER_CT_F_NODEPORT))
		return -1;
	if (mer_icmp_revnat((void *)(long)skb->data, (void *)(long)skb->data_end, q, ct)) {
		mer_drop(MER_STAT_DROP_REWRITE_FAILED, p);
		return TC_ACT_SHOT;
	}
	return mer_tc_send_by_fib(skb, p, MER_STAT_ICMP_REVNAT);
}

#endif /* MERIDIAN_NODEPORT_H */
