/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Fast failure for a VIP with no backends: turn the packet into an ICMP
 * port-unreachable from the VIP and send it back to the pod. The client's
 * kernel then fails connect() with ECONNREFUSED (TCP) or reports the error
 * on the socket (UDP) at once, instead of timing out. */
#ifndef MERIDIAN_REJECT_H
#define MERIDIAN_REJECT_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "meridian/icmp.h"
#include "meridian/parse.h"

/* RFC 792: the original IP header (options included) + 64 bits of data. */
#define MER_ICMP_ORIG_MAX (60 + 8)

/* The leading pad puts the IP header on a 4-byte boundary for csum_diff. */
struct mer_icmp_reply {
	__u16 pad;
	struct ethhdr eth;
	struct iphdr ip;
	struct mer_icmphdr icmp;
	__u8 orig[MER_ICMP_ORIG_MAX];
} __attribute__((packed));

static __always_inline __u16 mer_csum_fold(__u32 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__u16)~csum;
}

/* Fills `out` (whose orig holds the quoted bytes, orig_len of them) as the
 * ICMP destination-unreachable error (code, and next-hop MTU for
 * fragmentation-needed) from `from` to `to`, sent back to the MAC the
 * packet came from (`in`: its Ethernet header). Returns the error's frame
 * length, or -1. */
static __always_inline int mer_icmp_build(struct mer_icmp_reply *out, const struct ethhdr *in,
					  __be32 from, __be32 to, __u8 code, __u16 mtu,
					  __u32 orig_len)
{
	__u32 icmp_len = sizeof(struct mer_icmphdr) + orig_len;
	__s64 csum;

	if (orig_len > MER_ICMP_ORIG_MAX || orig_len < 28)
		return -1;
	__builtin_memcpy(out->eth.h_dest, in->h_source, ETH_ALEN);
	__builtin_memcpy(out->eth.h_source, in->h_dest, ETH_ALEN);
	out->eth.h_proto = bpf_htons(ETH_P_IP);

	out->ip.version = 4;
	out->ip.ihl = 5;
	out->ip.tos = 0xc0; /* IPTOS_PREC_INTERNETCONTROL, as the kernel sends */
	out->ip.tot_len = bpf_htons(sizeof(struct iphdr) + icmp_len);
	out->ip.ttl = 64;
	out->ip.protocol = MER_IPPROTO_ICMP;
	out->ip.saddr = from;
	out->ip.daddr = to;
	csum = bpf_csum_diff(0, 0, (__be32 *)((void *)out + offsetof(struct mer_icmp_reply, ip)),
			     sizeof(out->ip), 0);
	if (csum < 0)
		return -1;
	out->ip.check = mer_csum_fold(csum);

	out->icmp.type = MER_ICMP_DEST_UNREACH;
	out->icmp.code = code;
	out->icmp.mtu = bpf_htons(mtu);
	/* icmp_len is a multiple of 4: ihl_len is, and 8 + 8 are. */
	csum = bpf_csum_diff(0, 0, (__be32 *)((void *)out + offsetof(struct mer_icmp_reply, icmp)),
			     icmp_len, 0);
	if (csum < 0)
		return -1;
	out->icmp.checksum = mer_csum_fold(csum);
	return sizeof(struct ethhdr) + sizeof(struct iphdr) + icmp_len;
}

/* Turns the packet into the ICMP destination-unreachable error that
 * quotes it, from `from` to the sender, and sends it back out of the
 * interface it came in on. Returns TC_ACT_REDIRECT on success, a negative
 * errno otherwise. */
static __always_inline int mer_icmp_unreachable(struct __sk_buff *skb, const struct mer_pkt *p,
						__be32 from, __u8 code, __u16 mtu)
{
	struct mer_icmp_reply out = {};
	struct ethhdr eth;
	__u32 orig_len = p->ihl_len + 8;
	int len;

	if (orig_len > MER_ICMP_ORIG_MAX || orig_len < 28)
		return -1;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)))
		return -1;
	if (bpf_skb_load_bytes(skb, MER_L3_OFF, out.orig, orig_len))
		return -1;
	len = mer_icmp_build(&out, &eth, from, p->saddr, code, mtu, orig_len);
	if (len < 0 || len > (int)(sizeof(out) - offsetof(struct mer_icmp_reply, eth)))
		return -1;
	if (bpf_skb_change_tail(skb, len, 0))
		return -1;
	if (bpf_skb_store_bytes(skb, 0, (void *)&out + offsetof(struct mer_icmp_reply, eth), len,
				0))
		return -1;
	/* Back out of the host-side veth, into the pod that sent it. */
	return bpf_redirect(skb->ifindex, 0);
}

/* XDP: turns the frame into ICMP port unreachable from `from` to its
 * sender, sent back to the MAC it came from (XDP_TX). Only a packet
 * without IPv4 options is answered (the error's size is then fixed);
 * returns -1 for others, or when the frame cannot be rewritten. */
static __always_inline int mer_xdp_port_unreachable(struct xdp_md *ctx, const struct mer_pkt *p,
						    __be32 from)
{
	const __u32 orig_len = sizeof(struct iphdr) + 8;
	const __u32 err_len = sizeof(struct ethhdr) + sizeof(struct iphdr) +
			      sizeof(struct mer_icmphdr) + orig_len;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct mer_icmp_reply out = {};
	int delta;

	if (p->ihl_len != sizeof(struct iphdr) || data + MER_L3_OFF + orig_len > data_end)
		return -1;
	__builtin_memcpy(out.orig, data + MER_L3_OFF, orig_len);
	if (mer_icmp_build(&out, data, from, p->saddr, MER_ICMP_PORT_UNREACH, 0, orig_len) !=
	    (int)err_len)
		return -1;
	/* Make the frame err_len bytes long: grow at the head (there is always
	 * headroom), shrink at the tail. */
	delta = (int)err_len - (int)(data_end - data);
	if (delta > 0 ? bpf_xdp_adjust_head(ctx, -delta) : bpf_xdp_adjust_tail(ctx, delta))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + err_len > data_end)
		return -1;
	__builtin_memcpy(data, (void *)&out + offsetof(struct mer_icmp_reply, eth), err_len);
	return XDP_TX;
}

/* Fast failure for a VIP with no backends, from the VIP. */
static __always_inline int mer_reject_port_unreachable(struct __sk_buff *skb,
						       const struct mer_pkt *p)
{
	return mer_icmp_unreachable(skb, p, p->daddr, MER_ICMP_PORT_UNREACH, 0);
}

#endif /* MERIDIAN_REJECT_H */
