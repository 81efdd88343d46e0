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

/* RFC 1624 incremental update of a checksum over a changed 32-bit word.
 * Ones' complement sums are byte-order independent, so the raw in-memory
 * values go in as they are. Used for the IPv4 header checksum, which is
 * always complete (never CHECKSUM_PARTIAL), and by XDP for L4 checksums
 * (frames from a wire carry complete ones). */
static __always_inline __sum16 mer_csum_replace4(__sum16 check, __be32 from, __be32 to)
{
	__u32 sum = (__u16)~check;

	sum += (~from & 0xffff) + (~from >> 16) + (to & 0xffff) + (to >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__sum16)~sum;
}

/* The same over a changed 16-bit word (a port). */
static __always_inline __sum16 mer_csum_replace2(__sum16 check, __be16 from, __be16 to)
{
	__u32 sum = (__u16)~check;

	sum += (__u16)~from + (__u16)to;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__sum16)~sum;
}

/* Rewrites one address (at addr_off) and the matching port (at l4_off +
 * port_field). The bytes and the IPv4 checksum are written directly; the
 * L4 checksum goes through bpf_l4_csum_replace, the only way to update it
 * correctly for both complete and CHECKSUM_PARTIAL skbs (the address is in
 * the pseudo-header, the port is not). Returns 0 or a negative errno. */
static __always_inline int mer_rewrite_addr_port(struct __sk_buff *skb, const struct mer_pkt *p,
						 __u32 addr_off, __be32 old_addr, __be32 new_addr,
						 __u32 port_field, __be16 old_port, __be16 new_port)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + MER_L3_OFF;
	__u32 l4_off = p->l4_off;
	__u32 csum_off;
	__u64 l4_flags = 0;
	__be16 *port;
	__be32 *addr;
	int ret;

	/* parse bounded l4_off already; restated for the verifier */
	if (l4_off > MER_L3_OFF + 60 || addr_off > MER_L3_OFF + 16)
		return -1;
	if ((void *)(ip + 1) > data_end)
		return -1;
	port = data + l4_off + port_field;
	addr = data + addr_off;
	if ((void *)(port + 1) > data_end || (void *)(addr + 1) > data_end)
		return -1;

	*addr = new_addr;
	*port = new_port;
	ip->check = mer_csum_replace4(ip->check, old_addr, new_addr);

	if (p->proto == IPPROTO_TCP) {
		csum_off = l4_off + offsetof(struct tcphdr, check);
	} else {
		csum_off = l4_off + offsetof(struct udphdr, check);
		/* A zero UDP checksum means "none": keep it zero. */
		l4_flags = BPF_F_MARK_MANGLED_0;
	}
	ret = bpf_l4_csum_replace(skb, csum_off, old_addr, new_addr,
				  l4_flags | BPF_F_PSEUDO_HDR | sizeof(new_addr));
	if (ret || old_port == new_port)
		return ret;
	return bpf_l4_csum_replace(skb, csum_off, old_port, new_port, l4_flags | sizeof(new_port));
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

/* XDP: the same rewrite on a linear frame, without the skb csum helpers
 * (XDP has none). The checksums of a received frame are complete, so
 * both are updated by RFC 1624 arithmetic; a zero UDP checksum ("none")
 * stays zero, and a result of zero is sent as 0xffff (RFC 768). Returns 0
 * or -1 when the headers are not there. */
static __always_inline int mer_xdp_rewrite_addr_port(struct xdp_md *ctx, const struct mer_pkt *p,
						     __u32 addr_off, __be32 old_addr,
						     __be32 new_addr, __u32 port_field,
						     __be16 old_port, __be16 new_port)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + MER_L3_OFF;
	__u32 l4_off = p->l4_off;
	__sum16 *check;
	__be16 *port;
	__be32 *addr;

	if (l4_off > MER_L3_OFF + 60 || addr_off > MER_L3_OFF + 16)
		return -1;
	if ((void *)(ip + 1) > data_end)
		return -1;
	port = data + l4_off + port_field;
	addr = data + addr_off;
	if (p->proto == IPPROTO_TCP)
		check = data + l4_off + offsetof(struct tcphdr, check);
	else
		check = data + l4_off + offsetof(struct udphdr, check);
	if ((void *)(port + 1) > data_end || (void *)(addr + 1) > data_end ||
	    (void *)(check + 1) > data_end)
		return -1;

	*addr = new_addr;
	*port = new_port;
	ip->check = mer_csum_replace4(ip->check, old_addr, new_addr);
	if (p->proto == IPPROTO_UDP && *check == 0)
		return 0;
	*check = mer_csum_replace2(mer_csum_replace4(*check, old_addr, new_addr), old_port,
				   new_port);
	if (p->proto == IPPROTO_UDP && *check == 0)
		*check = (__sum16)0xffff;
	return 0;
}

#endif /* MERIDIAN_NAT_H */
