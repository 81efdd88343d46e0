/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* VXLAN (RFC 7348) encapsulation towards other clusters, and the checks a
 * tunnelled packet must pass before it is decapsulated. */
#ifndef MERIDIAN_TUNNEL_H
#define MERIDIAN_TUNNEL_H

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
#include "meridian/jhash.h"
#include "meridian/maps.h"
#include "meridian/parse.h"
#include "meridian/reject.h"

#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7) /* missing from Debian 12 uapi */
#endif

#define MER_AF_INET	   2
#define MER_IP_DF	   0x4000
#define MER_VXLAN_FLAG_VNI 0x08000000 /* the I flag, in the first word */

struct mer_vxlanhdr {
	__be32 flags;
	__be32 vni; /* VNI << 8 */
};

/* Everything written in front of the inner IPv4 header. */
struct mer_vxlan_encap {
	struct iphdr ip;
	struct udphdr udp;
	struct mer_vxlanhdr vx;
	struct ethhdr inner_eth;
} __attribute__((packed));

_Static_assert(sizeof(struct mer_vxlan_encap) == MER_VXLAN_OVERHEAD, "VXLAN overhead");

/* Offsets inside a VXLAN frame with a 20-byte outer IPv4 header. */
#define MER_OUTER_UDP_OFF (MER_L3_OFF + sizeof(struct iphdr))
#define MER_VXLAN_OFF	  (MER_OUTER_UDP_OFF + sizeof(struct udphdr))
#define MER_INNER_ETH_OFF (MER_VXLAN_OFF + sizeof(struct mer_vxlanhdr))
#define MER_INNER_IP_OFF  (MER_INNER_ETH_OFF + sizeof(struct ethhdr))

/* XDP: strips a VXLAN frame's outer headers (outer IPv4 + UDP + VXLAN +
 * inner Ethernet) by moving the packet start. The outer Ethernet header
 * (addressed to this node) is copied over the inner one first, so that the
 * stack accepts the frame as ours. Returns 0, or -1 when the frame is too
 * short or the head cannot move. */
static __always_inline int mer_xdp_strip_vxlan(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *outer = data;
	struct ethhdr *inner = data + MER_INNER_ETH_OFF;

	if ((void *)(outer + 1) > data_end || (void *)(inner + 1) > data_end)
		return -1;
	__builtin_memcpy(inner->h_dest, outer->h_dest, ETH_ALEN);
	__builtin_memcpy(inner->h_source, outer->h_source, ETH_ALEN);
	return bpf_xdp_adjust_head(ctx, MER_VXLAN_OVERHEAD) ? -1 : 0;
}

static __always_inline int mer_tunnel_enabled(void)
{
	return mer_cfg.node_ip_be != 0;
}

/* The tunnel endpoint for addr, or NULL when addr is not in another
 * cluster's pod CIDRs. */
static __always_inline struct mer_remote_cidr *mer_remote_lookup(__be32 addr)
{
	struct mer_cidr_key key = {.prefixlen = 32, .addr_be = addr};
	struct mer_remote_cidr *r;

	if (!mer_tunnel_enabled())
		return NULL;
	r = bpf_map_lookup_elem(&mer_remote_cidrs, &key);
	/* tunnel_ip 0: one of our own pod CIDRs (gateway source check) */
	return r && r->tunnel_ip_be ? r : NULL;
}

/* Is addr in one of the local cluster's pod CIDRs? Known on gateways only. */
static __always_inline int mer_local_pod_addr(__be32 addr)
{
	struct mer_cidr_key key = {.prefixlen = 32, .addr_be = addr};
	struct mer_remote_cidr *r = bpf_map_lookup_elem(&mer_remote_cidrs, &key);

	return r && !r->tunnel_ip_be;
}

/* True when the packet cannot be carried once 50 bytes are added. GSO
 * packets are judged by the segments they will be cut into. */
static __always_inline int mer_too_big_for_tunnel(struct __sk_buff *skb, const struct mer_pkt *p)
{
	__u32 mtu = mer_cfg.uplink_mtu;
	__u32 l3_len;

	if (mtu == 0)
		return 0;
	if (skb->gso_size) {
		/* the largest segment: headers + one segment's payload */
		l3_len = p->ihl_len + p->l4_hdr_len + skb->gso_size;
		return l3_len + MER_VXLAN_OVERHEAD > mtu;
	}
	l3_len = skb->len - MER_L3_OFF;
	return l3_len + MER_VXLAN_OVERHEAD > mtu;
}

/* Answers a packet that does not fit the tunnel with ICMP
 * fragmentation-needed, so that the sender lowers its path MTU. */
static __always_inline int mer_reject_too_big(struct __sk_buff *skb, const struct mer_pkt *p)
{
	return mer_icmp_unreachable(skb, p, mer_cfg.node_ip_be, MER_ICMP_FRAG_NEEDED,
				    mer_cfg.uplink_mtu - MER_VXLAN_OVERHEAD);
}

/* Encapsulates the (already translated) packet in VXLAN towards `remote`
 * and redirects it to the next hop. `hash` is the inner flow hash, the
 * source of the outer UDP port's entropy. Returns a tc action, or a
 * negative value with *stat set to the drop reason. */
static __always_inline int mer_vxlan_encap(struct __sk_buff *skb,
					   const struct mer_remote_cidr *remote, __u32 hash,
					   enum mer_stat *stat)
{
	struct bpf_fib_lookup fib = {};
	struct mer_vxlan_encap h = {};
	struct ethhdr eth;
	__u32 inner_len;
	__s64 csum;
	int rc;

	fib.family = MER_AF_INET;
	fib.ipv4_src = mer_cfg.node_ip_be;
	fib.ipv4_dst = remote->tunnel_ip_be;
	fib.ifindex = skb->ingress_ifindex ? skb->ingress_ifindex : skb->ifindex;
	fib.tot_len = 0; /* GSO-aware: no MTU check here, done before */
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
		*stat = MER_STAT_DROP_FIB_FAILED;
		return -1;
	}

	inner_len = skb->len - MER_L3_OFF;
	h.ip.version = 4;
	h.ip.ihl = 5;
	/* outer IPv4 + UDP + VXLAN + inner Ethernet are the 50 bytes */
	h.ip.tot_len = bpf_htons(inner_len + MER_VXLAN_OVERHEAD);
	h.ip.frag_off = bpf_htons(MER_IP_DF);
	h.ip.ttl = 64;
	h.ip.protocol = IPPROTO_UDP;
	h.ip.saddr = mer_cfg.node_ip_be;
	h.ip.daddr = remote->tunnel_ip_be;
	csum = bpf_csum_diff(0, 0, (__be32 *)((void *)&h + offsetof(struct mer_vxlan_encap, ip)),
			     sizeof(h.ip), 0);
	if (csum < 0) {
		*stat = MER_STAT_DROP_ENCAP_FAILED;
		return -1;
	}
	h.ip.check = mer_csum_fold(csum);

	/* RFC 7348: source port from a hash of the inner flow, 49152-65535 */
	h.udp.source = bpf_htons(49152 + (hash & 0x3fff));
	h.udp.dest = mer_cfg.vxlan_port_be;
	h.udp.len = bpf_htons(inner_len + MER_VXLAN_OVERHEAD - sizeof(struct iphdr));
	h.udp.check = 0; /* allowed for IPv4 tunnels */

	h.vx.flags = bpf_htonl(MER_VXLAN_FLAG_VNI);
	h.vx.vni = bpf_htonl(mer_cfg.cluster_id << 8);

	/* The inner frame is addressed to the next hop's MAC: a standard
	 * Linux vxlan device accepts frames addressed to its own MAC. */
	__builtin_memcpy(h.inner_eth.h_source, fib.smac, ETH_ALEN);
	__builtin_memcpy(h.inner_eth.h_dest, fib.dmac, ETH_ALEN);
	h.inner_eth.h_proto = bpf_htons(ETH_P_IP);

	if (bpf_skb_adjust_room(skb, MER_VXLAN_OVERHEAD, BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
					BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
					BPF_F_ADJ_ROOM_ENCAP_L2(sizeof(struct ethhdr)))) {
		*stat = MER_STAT_DROP_ENCAP_FAILED;
		return -1;
	}
	if (bpf_skb_store_bytes(skb, MER_L3_OFF, &h, sizeof(h), 0)) {
		*stat = MER_STAT_DROP_ENCAP_FAILED;
		return -1;
	}

	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		/* First packet after a neighbour flush: let the kernel resolve. */
		struct bpf_redir_neigh nh = {.nh_family = MER_AF_INET, .ipv4_nh = fib.ipv4_dst};

		return bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0);
	}
	__builtin_memcpy(eth.h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth.h_source, fib.smac, ETH_ALEN);
	eth.h_proto = bpf_htons(ETH_P_IP);
	if (bpf_skb_store_bytes(skb, 0, &eth, sizeof(eth), 0)) {
		*stat = MER_STAT_DROP_ENCAP_FAILED;
		return -1;
	}
	return bpf_redirect(fib.ifindex, 0);
}

#endif /* MERIDIAN_TUNNEL_H */
