/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* tc ingress of the node uplink: VXLAN decapsulation, stricter than a flat
 * network. A frame on the VXLAN port is Meridian's when its outer source is
 * a registered peer (a tunnel endpoint of another cluster). Frames from
 * anyone else are not ours: by default they go up the stack untouched
 * (counted as pass_tunnel_not_peer), so a CNI that runs its own VXLAN on
 * the same port (Calico and Flannel use 4789 between the nodes of one
 * cluster) keeps working, and a spoofed frame meets whatever the host does
 * with the port; with MER_CFG_DROP_FOREIGN_VXLAN (nothing else uses the
 * port) they are dropped and counted (drop_tunnel_not_peer). One of ours
 * is accepted only
 *   - with that peer's cluster id as VNI,
 *   - from an inner source inside that cluster's pod CIDRs (the VNI names
 *     the cluster; a peer cannot speak for our pods, our nodes or another
 *     cluster), and
 *   - to an endpoint of a service this cluster exports, or as a reply to a
 *     flow this node started (a conntrack reply entry: a VIP flow's, or
 *     MER_CT_F_TUNNEL_FLOW for a pod addressed by its IP).
 * Everything else of ours is dropped and counted by reason. What the outer
 * check cannot prevent: anyone who can spoof a peer's underlay address can
 * inject frames as that peer's cluster (docs/architecture.md, "Tunnel
 * trust"); only an authenticated tunnel (IPsec or WireGuard, absent from
 * this kernel) closes that.
 * The inner packet then continues up the stack, routed to its pod (through
 * the pod's veth, where mer_to_pod restores the VIP of replies). */
#ifndef MERIDIAN_DECAP_H
#define MERIDIAN_DECAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"
#include "meridian/ct_lifetime.h"
#include "meridian/icmp_error.h"
#include "meridian/maps.h"
#include "meridian/monitor.h"
#include "meridian/parse.h"
#include "meridian/stats.h"
#include "meridian/jhash.h"
#include "meridian/lb.h"
#include "meridian/tunnel.h"

static __always_inline int mer_uplink_verdict(enum mer_stat stat, __u32 len, int action)
{
	mer_count(stat, len);
	return action;
}

/* May the inner packet be delivered? inner is the parsed inner flow;
 * tcp_flags its TCP flags byte (0 when not read). A reply of a flow this
 * node sent keeps the flow's entry alive. */
static __always_inline int mer_tunnel_allowed(__be32 saddr, __be32 daddr, __be16 sport,
					      __be16 dport, __u8 proto, __u8 tcp_flags)
{
	struct mer_pkt p = {
		.proto = proto,
		.tcp_flags = tcp_flags,
		.tcp_syn = (tcp_flags & (MER_TCP_SYN | MER_TCP_ACK)) == MER_TCP_SYN,
	};
	struct mer_ct_entry *e;
	struct mer_endpoint_key ep = {.addr_be = daddr, .port_be = dport, .proto = proto};
	struct mer_ct_key ct = {
		.saddr_be = saddr,
		.daddr_be = daddr,
		.sport_be = sport,
		.dport_be = dport,
		.proto = proto,
		.dir = MER_CT_REPLY,
	};

	if (bpf_map_lookup_elem(&mer_exported_eps, &ep))
		return 1;
	e = bpf_map_lookup_elem(&mer_ct, &ct);
	if (!e)
		return 0;
	mer_ct_touch(e, &p, MER_CT_REPLY);
	return 1;
}

/* Classifies a frame that arrived on the uplink, from its linear bytes
 * [data, data_end) and its full length: MER_STAT_PASS_UPLINK (not ours),
 * MER_STAT_DECAP (ours and allowed) or the reason to drop it. Shared by the
 * tc and the XDP entry points. *peer_cluster is the sending peer's cluster
 * once the peer is known. */
static __always_inline enum mer_stat mer_classify_uplink(void *data, void *data_end, __u32 len,
							 __u32 *peer_cluster)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;
	struct mer_vxlanhdr *vx;
	struct mer_tunnel_peer *peer;
	struct mer_remote_cidr *remote;
	struct ethhdr *inner_eth;
	struct iphdr *inner;
	__be16 sport, dport;
	__u8 tcp_flags = 0;
	__u32 inner_l4;
	__u32 peer_ip;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return MER_STAT_PASS_UPLINK;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl != 5 ||
	    (ip->frag_off & bpf_htons(MER_IP_MF | MER_IP_OFFSET)))
		return MER_STAT_PASS_UPLINK;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end || udp->dest != mer_cfg.vxlan_port_be ||
	    !mer_tunnel_enabled())
		return MER_STAT_PASS_UPLINK;

	/* From here on the packet is for our tunnel: accept or drop. */
	peer_ip = ip->saddr;
	peer = bpf_map_lookup_elem(&mer_tunnel_peers, &peer_ip);
	if (!peer)
		return mer_cfg.flags & MER_CFG_DROP_FOREIGN_VXLAN ? MER_STAT_DROP_TUNNEL_NOT_PEER
								  : MER_STAT_PASS_TUNNEL_NOT_PEER;
	*peer_cluster = peer->cluster_id;

	vx = data + MER_VXLAN_OFF;
	inner_eth = data + MER_INNER_ETH_OFF;
	inner = data + MER_INNER_IP_OFF;
	if ((void *)(inner + 1) > data_end)
		return MER_STAT_DROP_TUNNEL_MALFORMED;
	if (!(vx->flags & bpf_htonl(MER_VXLAN_FLAG_VNI)) ||
	    bpf_ntohl(vx->vni) >> 8 != peer->cluster_id)
		return MER_STAT_DROP_TUNNEL_BAD_VNI;
	if (inner_eth->h_proto != bpf_htons(ETH_P_IP) || inner->version != 4 || inner->ihl < 5 ||
	    bpf_ntohs(inner->tot_len) + MER_INNER_IP_OFF > len ||
	    bpf_ntohs(inner->tot_len) < inner->ihl * 4)
		return MER_STAT_DROP_TUNNEL_MALFORMED;

	/* The inner source must be a pod of the sending cluster. */
	remote = mer_remote_lookup(inner->saddr);
	if (!remote || remote->cluster_id != peer->cluster_id)
		return MER_STAT_DROP_TUNNEL_BAD_SOURCE;

	/* Only TCP and UDP cross the tunnel, whole (no fragments), and ICMP
	 * errors about a flow this node translated (a remote backend's port
	 * unreachable: its quote matches a conntrack reply entry here). */
	if (inner->frag_off & bpf_htons(MER_IP_MF | MER_IP_OFFSET))
		return MER_STAT_DROP_TUNNEL_NOT_ALLOWED;
	if (inner->protocol == MER_IPPROTO_ICMP) {
		struct mer_icmp_quote q = {};

		if (mer_icmp_quote_parse(data, data_end, MER_INNER_IP_OFF, inner->ihl * 4, &q) ||
		    !mer_icmp_quote_flow(&q))
			return MER_STAT_DROP_TUNNEL_NOT_ALLOWED;
		return MER_STAT_DECAP;
	}
	if (inner->protocol != IPPROTO_TCP && inner->protocol != IPPROTO_UDP)
		return MER_STAT_DROP_TUNNEL_NOT_ALLOWED;
	inner_l4 = MER_INNER_IP_OFF + inner->ihl * 4;
	if (inner_l4 > MER_INNER_IP_OFF + 60 || bpf_ntohs(inner->tot_len) < inner->ihl * 4 + 8)
		return MER_STAT_DROP_TUNNEL_MALFORMED;
	if (data + inner_l4 + 4 > data_end)
		return MER_STAT_DROP_TUNNEL_MALFORMED;
	sport = *(__be16 *)(data + inner_l4);
	dport = *(__be16 *)(data + inner_l4 + 2);
	if (inner->protocol == IPPROTO_TCP && data + inner_l4 + 14 <= data_end)
		tcp_flags = *(__u8 *)(data + inner_l4 + 13);
	if (!mer_tunnel_allowed(inner->saddr, inner->daddr, sport, dport, inner->protocol,
				tcp_flags))
		return MER_STAT_DROP_TUNNEL_NOT_ALLOWED;
	return MER_STAT_DECAP;
}

/* Gateway relay (Submariner-style): a gateway node receives, unencapsulated
 * from the underlay, what its cluster's other nodes send to other clusters
 * (their routes for remote pod CIDRs point at the gateway) and tunnels it,
 * so that peers only ever see the gateway's address. Only packets from the
 * local cluster's own pod CIDRs are relayed, and each relayed flow gets a
 * conntrack reply entry so that its replies pass the decapsulation check
 * here (decapsulated, they are routed on to the node that sent the flow).
 * Returns -1 when the packet is not for relaying. */
static __always_inline int mer_gateway_relay(struct __sk_buff *skb)
{
	struct mer_remote_cidr *remote;
	enum mer_stat drop = MER_STAT_DROP_ENCAP_FAILED;
	struct mer_pkt p = {};
	int ret;

	if (!(mer_cfg.flags & MER_CFG_GATEWAY) || !mer_tunnel_enabled())
		return -1;
	if (mer_parse(skb, &p) != MER_PARSE_OK)
		return -1;
	remote = mer_remote_lookup(p.daddr);
	if (!remote || !mer_local_pod_addr(p.saddr))
		return -1;
	if (mer_too_big_for_tunnel(skb, &p))
		return mer_drop(MER_STAT_DROP_RELAY_TOO_BIG, &p), TC_ACT_SHOT;
	if (mer_ct_note_tunnel_flow(&p))
		return mer_drop(MER_STAT_DROP_CT_FULL, &p), TC_ACT_SHOT;
	ret = mer_vxlan_encap(skb, remote,
			      mer_flow_hash(p.saddr, p.daddr, p.sport, p.dport, p.proto), &drop);
	if (ret < 0)
		return mer_drop(drop, &p), TC_ACT_SHOT;
	mer_count(MER_STAT_ENCAP, p.len);
	mer_count_tunnel(remote->cluster_id, MER_TUNNEL_TX, p.len);
	mer_monitor_encap(&p, remote->cluster_id, MER_STAT_GATEWAY_RELAY);
	return mer_uplink_verdict(MER_STAT_GATEWAY_RELAY, p.len, ret);
}

/* tc ingress of the uplink. */
static __always_inline int mer_handle_from_uplink(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	/* up to the inner ports, or an inner ICMP error's quoted ports */
	__u32 need = MER_INNER_IP_OFF + MER_ICMP_ERR_L3_MAX;
	__u32 len = skb->len;
	__u32 peer_cluster = 0;
	enum mer_stat stat;

	/* The classifier reads up to the inner ports: make them linear. */
	if (data + need > data_end && len > MER_INNER_IP_OFF) {
		bpf_skb_pull_data(skb, len < need ? len : need);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	stat = mer_classify_uplink(data, data_end, len, &peer_cluster);
	if (stat == MER_STAT_PASS_TUNNEL_NOT_PEER)
		return mer_uplink_verdict(stat, len, TC_ACT_OK);
	if (stat == MER_STAT_PASS_UPLINK) {
		int relayed = mer_gateway_relay(skb);

		if (relayed >= 0)
			return relayed;
		return mer_uplink_verdict(stat, len, TC_ACT_OK);
	}
	if (stat != MER_STAT_DECAP) {
		mer_monitor_drop_linear(stat, data, data_end, len);
		return mer_uplink_verdict(stat, len, TC_ACT_SHOT);
	}

	/* Strip outer IPv4 + UDP + VXLAN + inner Ethernet; the outer Ethernet
	 * header stays, addressed to this node. */
	if (bpf_skb_adjust_room(skb, -MER_VXLAN_OVERHEAD, BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_DECAP_L3_IPV4)) {
		mer_monitor_drop_linear(MER_STAT_DROP_DECAP_FAILED, (void *)(long)skb->data,
					(void *)(long)skb->data_end, len);
		return mer_uplink_verdict(MER_STAT_DROP_DECAP_FAILED, len, TC_ACT_SHOT);
	}
	mer_count_tunnel(peer_cluster, MER_TUNNEL_RX, len);
	mer_monitor_decap((void *)(long)skb->data, (void *)(long)skb->data_end, len, peer_cluster);
	return mer_uplink_verdict(MER_STAT_DECAP, len, TC_ACT_OK);
}

/* XDP on the uplink: the same checks, decapsulation by moving the packet
 * start (mer_xdp_strip_vxlan). */
static __always_inline int mer_handle_xdp_from_uplink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = data_end - data;
	__u32 peer_cluster = 0;
	enum mer_stat stat;

	stat = mer_classify_uplink(data, data_end, len, &peer_cluster);
	if (stat == MER_STAT_PASS_UPLINK || stat == MER_STAT_PASS_TUNNEL_NOT_PEER)
		return mer_uplink_verdict(stat, len, XDP_PASS);
	if (stat != MER_STAT_DECAP) {
		mer_monitor_drop_linear(stat, data, data_end, len);
		return mer_uplink_verdict(stat, len, XDP_DROP);
	}

	if (mer_xdp_strip_vxlan(ctx)) {
		mer_monitor_drop_linear(MER_STAT_DROP_DECAP_FAILED, (void *)(long)ctx->data,
					(void *)(long)ctx->data_end, len);
		return mer_uplink_verdict(MER_STAT_DROP_DECAP_FAILED, len, XDP_DROP);
	}
	mer_count_tunnel(peer_cluster, MER_TUNNEL_RX, len);
	mer_monitor_decap((void *)(long)ctx->data, (void *)(long)ctx->data_end, len, peer_cluster);
	return mer_uplink_verdict(MER_STAT_DECAP, len, XDP_PASS);
}

#endif /* MERIDIAN_DECAP_H */
