/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ICMP errors of translated flows: a backend's port unreachable, and
 * fragmentation needed or time exceeded from anywhere on the path, quote
 * the packet as it left the translator (translated source -> backend).
 * The client's socket would never match that quote, so PMTU discovery and
 * "connection refused" would not reach it through a VIP. The error is
 * reverse-translated where the flow's replies are, the way netfilter's
 * nf_nat_icmp_reply_translation does it: the quote back to client ->
 * frontend, the outer destination to the client, and the outer source to
 * the frontend when the backend itself sent the error (a router on the
 * path keeps its own address).
 *
 * Context-neutral: it works on the linear bytes [data, data_end) with
 * RFC 1624 arithmetic, for tc and XDP alike. The kernel computes an ICMP
 * error's checksums in full (never CHECKSUM_PARTIAL), and every change is
 * offset by its checksum's, so a received skb's CHECKSUM_COMPLETE sum
 * stays right too. */
#ifndef MERIDIAN_ICMP_ERROR_H
#define MERIDIAN_ICMP_ERROR_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"
#include "meridian/icmp.h"
#include "meridian/lb.h"
#include "meridian/maps.h"
#include "meridian/nat.h"
#include "meridian/parse.h"

/* Bytes of an ICMP error read, from its IPv4 header on: the header with
 * options, ICMP, the quoted IPv4 header without options, and the quoted
 * TCP header up to its checksum (UDP's is in its first 8 bytes). tc pulls
 * this much. */
#define MER_ICMP_ERR_L3_MAX (60 + 8 + 20 + 18)

/* Where an ICMP error's parts are, and what its quote says. */
struct mer_icmp_quote {
	__u32 icmp_off;	 /* the ICMP header */
	__u32 inner_off; /* the quoted IPv4 header (20 bytes: no options) */
	__be32 saddr;	 /* the quoted packet, as its sender sent it */
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
};

/* Parses an ICMP error (destination unreachable, time exceeded, parameter
 * problem) that quotes a TCP or UDP packet, from the frame at [data,
 * data_end) whose IPv4 header, `ihl_len` bytes, starts at l3_off (the
 * frame's, or a tunnelled one's). Returns 0, or -1 for any other packet. */
static __always_inline int mer_icmp_quote_parse(void *data, void *data_end, __u32 l3_off,
						__u32 ihl_len, struct mer_icmp_quote *q)
{
	struct mer_icmphdr *icmp;
	struct iphdr *inner;
	__be16 *ports;

	if (ihl_len < 20 || ihl_len > 60 || l3_off > 64)
		return -1;
	q->icmp_off = l3_off + ihl_len;
	icmp = data + q->icmp_off;
	if ((void *)(icmp + 1) > data_end)
		return -1;
	if (icmp->type != MER_ICMP_DEST_UNREACH && icmp->type != MER_ICMP_TIME_EXCEEDED &&
	    icmp->type != MER_ICMP_PARAMETERPROB)
		return -1;
	q->inner_off = q->icmp_off + sizeof(*icmp);
	inner = (void *)(icmp + 1);
	if ((void *)(inner + 1) > data_end)
		return -1;
	if (inner->version != 4 || inner->ihl != 5 ||
	    (inner->protocol != IPPROTO_TCP && inner->protocol != IPPROTO_UDP) ||
	    (inner->frag_off & bpf_htons(MER_IP_OFFSET)))
		return -1;
	ports = (void *)(inner + 1);
	if ((void *)(ports + 2) > data_end)
		return -1;
	q->saddr = inner->saddr;
	q->daddr = inner->daddr;
	q->sport = ports[0];
	q->dport = ports[1];
	q->proto = inner->protocol;
	return 0;
}

/* tc: makes an ICMP error's headers, quote included, linear. */
static __always_inline void mer_icmp_pull(struct __sk_buff *skb)
{
	__u32 want = MER_L3_OFF + MER_ICMP_ERR_L3_MAX;

	if ((long)skb->data + want > (long)skb->data_end && skb->data_end - skb->data < skb->len)
		bpf_skb_pull_data(skb, skb->len < want ? skb->len : want);
}

/* tc: the quote of an ICMP error the outer packet p (parsed) may be, its
 * headers made linear first. Returns 0, or -1 for any other packet. The
 * caller reads skb->data again for the rewrite (the pull moves it). */
static __always_inline int mer_icmp_quote_skb(struct __sk_buff *skb, const struct mer_pkt *p,
					      struct mer_icmp_quote *q)
{
	if (p->proto != MER_IPPROTO_ICMP)
		return -1;
	mer_icmp_pull(skb);
	return mer_icmp_quote_parse((void *)(long)skb->data, (void *)(long)skb->data_end,
				    MER_L3_OFF, p->ihl_len, q);
}

/* The conntrack reply entry of the flow the quote belongs to: the quote is
 * the flow's translated direction, its reply key the reverse. NULL when
 * the quoted flow is not a translated one of this node. */
static __always_inline struct mer_ct_entry *mer_icmp_quote_flow(const struct mer_icmp_quote *q)
{
	struct mer_ct_key key = {
		.saddr_be = q->daddr,
		.daddr_be = q->saddr,
		.sport_be = q->dport,
		.dport_be = q->sport,
		.proto = q->proto,
		.dir = MER_CT_REPLY,
	};
	struct mer_ct_entry *ct = bpf_map_lookup_elem(&mer_ct, &key);

	if (!ct || (ct->flags & MER_CT_F_TUNNEL_FLOW))
		return NULL;
	return ct;
}

/* Rewrites the quote to client -> frontend (the flow as the client sent
 * it: from ct, the entry mer_icmp_quote_flow found) and the outer header
 * to frontend-or-router -> client. Every checksum follows: the quoted
 * IPv4 header's, the quoted UDP/TCP one when the quote holds it (the
 * receiver does not check it, netfilter keeps it right all the same), the
 * ICMP one over all of it, and the outer IPv4 one. Returns 0, or -1 when
 * the bytes are not there. */
static __always_inline int mer_icmp_revnat(void *data, void *data_end,
					   const struct mer_icmp_quote *q,
					   const struct mer_ct_entry *ct)
{
	struct iphdr *outer = data + MER_L3_OFF;
	struct mer_icmphdr *icmp = data + q->icmp_off;
	struct iphdr *inner = data + q->inner_off;
	__be32 client = ct->nat_addr_be, vip = ct->vip_be;
	__be16 cport = ct->nat_port_be, vport = ct->vport_be;
	__sum16 old_inner_csum, old_l4_csum;
	__u32 l4csum_off;
	__sum16 *l4csum = NULL;
	__be16 *ports;

	if (q->icmp_off > MER_L3_OFF + 60 || (void *)(outer + 1) > data_end ||
	    (void *)(icmp + 1) > data_end || (void *)(inner + 1) > data_end)
		return -1;
	ports = (void *)(inner + 1);
	if ((void *)(ports + 2) > data_end)
		return -1;
	l4csum_off = q->proto == IPPROTO_TCP ? 16 : 6;
	l4csum = (void *)ports + l4csum_off;
	if ((void *)(l4csum + 1) > data_end)
		l4csum = NULL; /* not quoted */
	if (l4csum && q->proto == IPPROTO_UDP && *l4csum == 0)
		l4csum = NULL; /* "no checksum" stays so */

	/* The quoted packet: addresses (its IPv4 checksum, and the L4 one
	 * through the pseudo-header), then ports (the L4 checksum). The
	 * ICMP checksum covers every word that changed. */
	old_inner_csum = inner->check;
	inner->check = mer_csum_replace4(inner->check, q->saddr, client);
	inner->check = mer_csum_replace4(inner->check, q->daddr, vip);
	icmp->checksum = mer_csum_replace4(icmp->checksum, q->saddr, client);
	icmp->checksum = mer_csum_replace4(icmp->checksum, q->daddr, vip);
	icmp->checksum = mer_csum_replace2(icmp->checksum, old_inner_csum, inner->check);
	inner->saddr = client;
	inner->daddr = vip;
	icmp->checksum = mer_csum_replace2(icmp->checksum, q->sport, cport);
	icmp->checksum = mer_csum_replace2(icmp->checksum, q->dport, vport);
	ports[0] = cport;
	ports[1] = vport;
	if (l4csum) {
		old_l4_csum = *l4csum;
		*l4csum = mer_csum_replace4(*l4csum, q->saddr, client);
		*l4csum = mer_csum_replace4(*l4csum, q->daddr, vip);
		*l4csum = mer_csum_replace2(*l4csum, q->sport, cport);
		*l4csum = mer_csum_replace2(*l4csum, q->dport, vport);
		if (q->proto == IPPROTO_UDP && *l4csum == 0)
			*l4csum = (__sum16)0xffff;
		icmp->checksum = mer_csum_replace2(icmp->checksum, old_l4_csum, *l4csum);
	}

	/* The outer header: to the client, from the frontend when the
	 * backend itself answered. */
	if (outer->saddr == q->daddr) {
		outer->check = mer_csum_replace4(outer->check, outer->saddr, vip);
		outer->saddr = vip;
	}
	if (outer->daddr != client) {
		outer->check = mer_csum_replace4(outer->check, outer->daddr, client);
		outer->daddr = client;
	}
	return 0;
}

#endif /* MERIDIAN_ICMP_ERROR_H */
