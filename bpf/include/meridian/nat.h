/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Address/port rewrites with incremental checksum updates. The csum helpers
 * handle CHECKSUM_PARTIAL skbs (locally sent pod traffic) correctly, which
 * an open-coded RFC 1624 update would not. */
#ifndef MERIDIAN_NAT_H
#define MERIDIAN_NAT_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "meridian/parse.h"

#define MER_IP_CSUM_OFF	 (MER_L3_OFF + offsetof(struct iphdr, check))
#define MER_IP_SADDR_OFF (MER_L3_OFF + offsetof(struct iphdr, saddr))
#define MER_IP_DADDR_OFF (MER_L3_OFF + offsetof(struct iphdr, daddr))

/* Rewrites one address (at addr_off) and the matching port (at l4_off +
 * port_field), updating the IPv4 header checksum and the L4 checksum
 * (pseudo-header for the address). Returns 0 or a negative errno. */
static __always_inline int mer_rewrite_addr_port(struct __sk_buff *skb, const struct mer_pkt *p,
						 __u32 addr_off, __be32 old_addr, __be32 new_addr,
						 __u32 port_field, __be16 old_port, __be16 new_port)
{
	__u32 csum_off;
	__u64 l4_flags = 0;
	int ret;

	if (p->proto == IPPROTO_TCP) {
		csum_off = p->l4_off + offsetof(struct tcphdr, check);
	} else {
		csum_off = p->l4_off + offsetof(struct udphdr, check);
		/* A zero UDP checksum means "none": keep it zero. */
		l4_flags = BPF_F_MARK_MANGLED_0;
	}

	ret = bpf_l4_csum_replace(skb, csum_off, old_addr, new_addr,
				  l4_flags | BPF_F_PSEUDO_HDR | sizeof(new_addr));
	if (ret)
		return ret;
	if (old_port != new_port) {
		ret = bpf_l4_csum_replace(skb, csum_off, old_port, new_port,
					  l4_flags | sizeof(new_port));
		if (ret)
			return ret;
		ret = bpf_skb_store_bytes(skb, p->l4_off + port_field, &new_port, sizeof(new_port),
					  0);
		if (ret)
			return ret;
	}
	ret = bpf_l3_csum_replace(skb, MER_IP_CSUM_OFF, old_addr, new_addr, sizeof(new_addr));
	if (ret)
		return ret;
	return bpf_skb_store_bytes(skb, addr_off, &new_addr, sizeof(new_addr), 0);
}

/* Destination NAT: VIP:port -> backend:port. */
static __always_inline int mer_dnat(struct __sk_buff *skb, const struct mer_pkt *p, __be32 addr,
				    __be16 port)
{
	/* source and dest sit at the same offsets in TCP and UDP headers */
	return mer_rewrite_addr_port(skb, p, MER_IP_DADDR_OFF, p->daddr, addr,
				     offsetof(struct udphdr, dest), p->dport, port);
}

/* Reverse NAT on replies: backend:port -> VIP:port as the source. */
static __always_inline int mer_snat(struct __sk_buff *skb, const struct mer_pkt *p, __be32 addr,
				    __be16 port)
{
	return mer_rewrite_addr_port(skb, p, MER_IP_SADDR_OFF, p->saddr, addr,
				     offsetof(struct udphdr, source), p->sport, port);
}

#endif /* MERIDIAN_NAT_H */
