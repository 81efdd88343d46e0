/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The pod-veth datapath: service translation for packets a pod sends, and
 * reverse translation for replies delivered to it. A header so that the
 * entry file (lxc.bpf.c) and the benchmark harness run the same code. */
#ifndef MERIDIAN_POD_H
#define MERIDIAN_POD_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"
#include "meridian/icmp_error.h"
#include "meridian/lb.h"
#include "meridian/maps.h"
#include "meridian/monitor.h"
#include "meridian/nat.h"
#include "meridian/nodeport.h"
#include "meridian/parse.h"
#include "meridian/reject.h"
#include "meridian/stats.h"
#include "meridian/tunnel.h"

static __always_inline int mer_verdict(enum mer_stat stat, const struct mer_pkt *p, int action)
{
	mer_count(stat, p->len);
	mer_monitor_drop(stat, p);
	return action;
}

/* Sends a packet (already translated) on its way: into the VXLAN tunnel
 * when its destination is in another cluster, else up the local stack. */
static __always_inline int mer_forward(struct __sk_buff *skb, const struct mer_pkt *p,
				       const struct mer_remote_cidr *remote, enum mer_stat stat)
{
	enum mer_stat drop = MER_STAT_DROP_ENCAP_FAILED;
	__u32 hash;
	int ret;

	if (!remote)
		return mer_verdict(stat, p, TC_ACT_OK);
	hash = mer_flow_hash(p->saddr, p->daddr, p->sport, p->dport, p->proto);
	ret = mer_vxlan_encap(skb, remote, hash, &drop);
	if (ret < 0)
		return mer_verdict(drop, p, TC_ACT_SHOT);
	mer_count(MER_STAT_ENCAP, p->len);
	mer_count_tunnel(remote->cluster_id, MER_TUNNEL_TX, p->len);
	mer_monitor_encap(p, remote->cluster_id, MER_STAT_ENCAP);
	return mer_verdict(stat, p, ret);
}

/* A packet for another cluster that would not fit once encapsulated gets
 * fragmentation-needed (quoting it as the sender sent it, so the sender's
 * socket matches it); returns 0 when it fits. */
static __always_inline int mer_check_tunnel_mtu(struct __sk_buff *skb, const struct mer_pkt *p,
						const struct mer_remote_cidr *remote, int *action)
{
	int ret;

	if (!remote || !mer_too_big_for_tunnel(skb, p))
		return 0;
	ret = mer_reject_too_big(skb, p);
	*action = ret < 0 ? mer_verdict(MER_STAT_DROP_REJECT_FAILED, p, TC_ACT_SHOT)
			  : mer_verdict(MER_STAT_REJECT_FRAG_NEEDED, p, ret);
	return 1;
}

/* Non-service packets with a problem pass (the kernel decides), unless they
 * are addressed to a VIP: then the problem is ours, and we drop and count. */
static __always_inline int mer_from_pod_unparsed(int parsed, const struct mer_pkt *p)
{
	switch (parsed) {
	case MER_PARSE_NOT_IPV4:
		return mer_verdict(MER_STAT_PASS_NOT_IPV4, p, TC_ACT_OK);
	case MER_PARSE_MALFORMED_IP:
		return mer_verdict(MER_STAT_DROP_MALFORMED_IP, p, TC_ACT_SHOT);
	case MER_PARSE_NOT_TCP_UDP:
		return mer_verdict(MER_STAT_PASS_NOT_TCP_UDP, p, TC_ACT_OK);
	case MER_PARSE_FRAGMENT:
		if (mer_is_vip(p->daddr))
			return mer_verdict(MER_STAT_DROP_FRAGMENT, p, TC_ACT_SHOT);
		return mer_verdict(MER_STAT_PASS_NOT_SERVICE, p, TC_ACT_OK);
	default: /* MER_PARSE_TRUNCATED_L4 */
		if (mer_is_vip(p->daddr))
			return mer_verdict(MER_STAT_DROP_TRUNCATED_L4, p, TC_ACT_SHOT);
		return mer_verdict(MER_STAT_PASS_NOT_SERVICE, p, TC_ACT_OK);
	}
}

/* Sends a packet the pod sent back down its own veth: the Ethernet
 * addresses swap (the pod accepts only frames to its MAC). */
static __always_inline int mer_back_to_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	return bpf_redirect(skb->ifindex, 0);
}

/* Applies a flow's translation: destination VIP:port -> backend, and the
 * source when it was remapped or the flow is a hairpin. */
static __always_inline int mer_translate(struct __sk_buff *skb, const struct mer_pkt *p,
					 const struct mer_nat *nat)
{
	if (mer_dnat(skb, p, nat->backend_addr, nat->backend_port))
		return -1;
	if (nat->saddr == p->saddr && nat->sport == p->sport)
		return 0;
	return mer_rewrite_addr_port(skb, p, MER_IP_SADDR_OFF, p->saddr, nat->saddr,
				     offsetof(struct udphdr, source), p->sport, nat->sport);
}

static __always_inline int mer_from_pod_service(struct __sk_buff *skb, const struct mer_pkt *p,
						const struct mer_service *svc)
{
	enum mer_stat stat = MER_STAT_LB_CT_HIT;
	struct mer_remote_cidr *remote;
	struct mer_ct_entry *ct;
	struct mer_ct_key key;
	struct mer_nat nat;
	int have = 0;
	int ret;

	mer_ct_forward_key(&key, p);
	ct = bpf_map_lookup_elem(&mer_ct, &key);
	if (ct) {
		if (mer_ct_usable(p, ct)) {
			mer_ct_nat(ct, &nat);
			mer_ct_used(ct, p, MER_CT_FORWARD);
			have = 1;
			if (mer_ct_restore_reply(p, ct))
				mer_count(MER_STAT_CT_REPLY_RESTORED, p->len);
		} else {
			/* Its backend is gone: choose again rather than black-hole. */
			stat = MER_STAT_LB_CT_RESELECT;
		}
	} else {
		stat = MER_STAT_LB_NEW_FLOW;
	}

	if (!have) {
		enum mer_stat drop = MER_STAT_DROP_NO_MAGLEV_TABLE;
		struct mer_backend *be;
		__u32 backend_id;
		__u64 now;

		/* Checked after conntrack: flows to terminating backends finish. */
		if (svc->backend_count == 0) {
			if (svc->flags & MER_SVC_F_DROP_NO_BACKEND)
				return mer_verdict(MER_STAT_DROP_NO_LOCAL_ENDPOINT, p, TC_ACT_SHOT);
			ret = mer_reject_port_unreachable(skb, p);
			if (ret < 0)
				return mer_verdict(MER_STAT_DROP_REJECT_FAILED, p, TC_ACT_SHOT);
			return mer_verdict(MER_STAT_REJECT_NO_BACKEND, p, ret);
		}

		now = bpf_ktime_get_ns();
		backend_id = mer_affinity_backend(p, svc, now);
		if (backend_id)
			mer_count(MER_STAT_LB_AFFINITY_HIT, p->len);
		else
			backend_id = mer_maglev_select(p, svc, &drop);
		if (!backend_id)
			return mer_verdict(drop, p, TC_ACT_SHOT);
		be = bpf_map_lookup_elem(&mer_backends, &backend_id);
		if (!be)
			return mer_verdict(MER_STAT_DROP_BACKEND_MISSING, p, TC_ACT_SHOT);
		drop = mer_ct_create(p, svc, backend_id, be, &nat, 0, 0);
		if (drop)
			return mer_verdict(drop, p, TC_ACT_SHOT);
		mer_affinity_note(p, svc, backend_id, now);
	}

	/* Hairpin: the pod reaches itself. Sent straight back down its veth,
	 * from MER_HAIRPIN_ADDR: up the host stack, a packet from the pod's own
	 * address to itself would be dropped as a martian. */
	if (nat.backend_addr == p->saddr) {
		if (mer_translate(skb, p, &nat))
			return mer_verdict(MER_STAT_DROP_REWRITE_FAILED, p, TC_ACT_SHOT);
		mer_count(stat, p->len);
		return mer_verdict(MER_STAT_HAIRPIN, p, mer_back_to_pod(skb));
	}

	remote = mer_remote_lookup(nat.backend_addr);
	if (mer_check_tunnel_mtu(skb, p, remote, &ret))
		return ret;
	if (mer_translate(skb, p, &nat))
		return mer_verdict(MER_STAT_DROP_REWRITE_FAILED, p, TC_ACT_SHOT);
	return mer_forward(skb, p, remote, stat);
}

/* A hairpin flow's reply, as the pod answers itself: backend:port ->
 * MER_HAIRPIN_ADDR:port. Restores VIP:port -> the pod's own address and
 * port, and sends it back down the veth. Returns -1 when there is no such
 * flow (the packet is then treated as any other). */
static __always_inline int mer_hairpin_reply(struct __sk_buff *skb, const struct mer_pkt *p)
{
	struct mer_ct_entry *ct;
	struct mer_ct_key key;
	__be32 client_addr;
	__be16 client_port;

	mer_ct_forward_key(&key, p);
	key.dir = MER_CT_REPLY;
	ct = bpf_map_lookup_elem(&mer_ct, &key);
	if (!ct || (ct->flags & MER_CT_F_TUNNEL_FLOW))
		return -1;
	mer_ct_used(ct, p, MER_CT_REPLY);
	client_addr = ct->nat_addr_be;
	client_port = ct->nat_port_be;
	if (mer_snat(skb, p, ct->vip_be, ct->vport_be) ||
	    mer_rewrite_addr_port(skb, p, MER_IP_DADDR_OFF, p->daddr, client_addr,
				  offsetof(struct udphdr, dest), p->dport, client_port))
		return mer_verdict(MER_STAT_DROP_REWRITE_FAILED, p, TC_ACT_SHOT);
	return mer_verdict(MER_STAT_HAIRPIN_REPLY, p, mer_back_to_pod(skb));
}

/* An ICMP error the pod sends (its quote parsed into q, pulled): about a
 * NodePort flow it served, reversed and sent to the outside client; or to
 * a pod of another cluster (a backend's port unreachable to a remote
 * client), tunnelled like the flow's replies, where the client's node
 * admits and reverses it. Returns -1 when the packet is no such error. */
static __always_inline int mer_icmp_error_from_pod(struct __sk_buff *skb, const struct mer_pkt *p)
{
	struct mer_remote_cidr *remote;
	struct mer_icmp_quote q = {};
	int ret;

	if (mer_icmp_quote_skb(skb, p, &q))
		return -1;
	ret = mer_nodeport_icmp_error_from_pod(skb, p, &q);
	if (ret >= 0)
		return ret;
	remote = mer_remote_lookup(p->daddr);
	if (!remote)
		return -1;
	return mer_forward(skb, p, remote, MER_STAT_PASS_NOT_TCP_UDP);
}

/* An ICMP error about a flow this pod opened through a VIP (the quote is
 * the translated flow): reversed, so that the pod's socket recognizes it
 * (PMTU discovery, a refused UDP port). Returns -1 when the packet is no
 * such error. */
static __always_inline int mer_icmp_error_to_pod(struct __sk_buff *skb, const struct mer_pkt *p)
{
	struct mer_icmp_quote q = {};
	struct mer_ct_entry *ct;

	if (mer_icmp_quote_skb(skb, p, &q))
		return -1;
	ct = mer_icmp_quote_flow(&q);
	if (!ct || (ct->flags & MER_CT_F_NODEPORT))
		return -1;
	if (mer_icmp_revnat((void *)(long)skb->data, (void *)(long)skb->data_end, &q, ct))
		return mer_verdict(MER_STAT_DROP_REWRITE_FAILED, p, TC_ACT_SHOT);
	return mer_verdict(MER_STAT_ICMP_REVNAT, p, TC_ACT_OK);
}

/* tc ingress of a pod's host-side veth: packets the pod sends. */
static __always_inline int mer_handle_from_pod(struct __sk_buff *skb)
{
	struct mer_pkt p = {};
	struct mer_service *svc;
	int parsed;

	parsed = mer_parse(skb, &p);
	if (parsed == MER_PARSE_NOT_TCP_UDP) {
		int ret = mer_icmp_error_from_pod(skb, &p);

		if (ret >= 0)
			return ret;
	}
	if (parsed != MER_PARSE_OK)
		return mer_from_pod_unparsed(parsed, &p);

	/* A NodePort flow's reply, when this pod served it. */
	if (mer_nodeport_enabled()) {
		int ret = mer_nodeport_reply_from_pod(skb, &p);

		if (ret >= 0)
			return ret;
	}

	if (p.daddr == bpf_htonl(MER_HAIRPIN_ADDR_HOST)) {
		int ret = mer_hairpin_reply(skb, &p);

		if (ret >= 0)
			return ret;
	}
	svc = mer_service_lookup_internal(&p);
	if (!svc) {
		struct mer_remote_cidr *remote;
		int action;

		/* A known VIP on a port it does not serve: refused at once, as
		 * kube-proxy's nftables mode does, not left to a client timeout. */
		if (mer_is_vip(p.daddr)) {
			int ret = mer_reject_port_unreachable(skb, &p);

			if (ret < 0)
				return mer_verdict(MER_STAT_DROP_REJECT_FAILED, &p, TC_ACT_SHOT);
			return mer_verdict(MER_STAT_REJECT_UNKNOWN_PORT, &p, ret);
		}
		/* Pod-to-pod across clusters: a backend's replies, or a client
		 * that addresses a remote pod by its IP (headless imports). */
		remote = mer_remote_lookup(p.daddr);
		if (mer_check_tunnel_mtu(skb, &p, remote, &action))
			return action;
		if (remote && mer_ct_note_tunnel_flow(&p))
			return mer_verdict(MER_STAT_DROP_CT_FULL, &p, TC_ACT_SHOT);
		return mer_forward(skb, &p, remote, MER_STAT_PASS_NOT_SERVICE);
	}
	return mer_from_pod_service(skb, &p, svc);
}

/* tc egress of a pod's host-side veth: packets delivered to the pod. */
static __always_inline int mer_handle_to_pod(struct __sk_buff *skb)
{
	struct mer_pkt p = {};
	struct mer_ct_entry *ct;
	struct mer_ct_key key;
	__be16 client_port;
	int parsed;

	parsed = mer_parse(skb, &p);
	if (parsed == MER_PARSE_NOT_TCP_UDP) {
		int ret = mer_icmp_error_to_pod(skb, &p);

		if (ret >= 0)
			return ret;
	}
	if (parsed != MER_PARSE_OK)
		return mer_verdict(MER_STAT_PASS_TO_POD, &p, TC_ACT_OK);

	mer_ct_forward_key(&key, &p);
	key.dir = MER_CT_REPLY;
	ct = bpf_map_lookup_elem(&mer_ct, &key);
	if (!ct || (ct->flags & MER_CT_F_TUNNEL_FLOW))
		return mer_verdict(MER_STAT_PASS_TO_POD, &p, TC_ACT_OK);

	mer_ct_used(ct, &p, MER_CT_REPLY);
	client_port = ct->nat_port_be;
	if (mer_snat(skb, &p, ct->vip_be, ct->vport_be))
		return mer_verdict(MER_STAT_DROP_REWRITE_FAILED, &p, TC_ACT_SHOT);
	/* The flow's source port was remapped: give the client its own back. */
	if (client_port != p.dport &&
	    mer_rewrite_addr_port(skb, &p, MER_IP_DADDR_OFF, p.daddr, p.daddr,
				  offsetof(struct udphdr, dest), p.dport, client_port))
		return mer_verdict(MER_STAT_DROP_REWRITE_FAILED, &p, TC_ACT_SHOT);
	return mer_verdict(MER_STAT_REVNAT, &p, TC_ACT_OK);
}

#endif /* MERIDIAN_POD_H */
