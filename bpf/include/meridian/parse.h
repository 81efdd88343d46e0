/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Ethernet/IPv4/TCP/UDP parsing into a flat view of the packet, one parser
 * for the tc and the XDP programs. Offsets are kept rather than pointers
 * because the rewrite helpers invalidate packet pointers. */
#ifndef MERIDIAN_PARSE_H
#define MERIDIAN_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define MER_IP_MF     0x2000
#define MER_IP_OFFSET 0x1fff

enum mer_parse_result {
	MER_PARSE_OK = 0,
	MER_PARSE_NOT_IPV4,	/* not an IPv4 Ethernet frame */
	MER_PARSE_MALFORMED_IP, /* IPv4 header truncated or inconsistent */
	MER_PARSE_NOT_TCP_UDP,	/* other L4 protocol */
	MER_PARSE_FRAGMENT,	/* IPv4 fragment: no usable L4 ports */
	MER_PARSE_TRUNCATED_L4, /* TCP/UDP header missing or short */
};

struct mer_pkt {
	__u32 len;    /* packet length at entry, for byte counters */
	__u32 l4_off; /* offset of the TCP/UDP header */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 ihl_len;	  /* IPv4 header length in bytes, options included */
	__u16 l4_hdr_len; /* TCP header with options, or the 8-byte UDP header */
	__u8 tcp_syn;	  /* TCP SYN without ACK: a connection's first packet */
	__u8 tcp_flags;	  /* the TCP header's flags byte (MER_TCP_*); 0 for UDP */
};

/* Bits of the TCP flags byte (RFC 9293), as conntrack reads them. */
#define MER_TCP_FIN 0x01
#define MER_TCP_SYN 0x02
#define MER_TCP_RST 0x04
#define MER_TCP_ACK 0x10

#define MER_L3_OFF ((__u32)sizeof(struct ethhdr))

/* Longest header run the parser reads: Ethernet, IPv4 with options, TCP
 * without options (the TCP options are never read). */
#define MER_PARSE_HDR_MAX (MER_L3_OFF + 60 + (__u32)sizeof(struct tcphdr))

/* The parser itself, context-neutral: it reads the linear bytes [data,
 * data_end) of a packet of `len` bytes, as tc (after a pull) and XDP both
 * present them (Cilium's ctx/skb.h, ctx/xdp.h split). */
static __always_inline int mer_parse_linear(void *data, void *data_end, __u32 len,
					    struct mer_pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u32 l4_len;

	p->len = len;
	if ((void *)(eth + 1) > data_end)
		return MER_PARSE_NOT_IPV4;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return MER_PARSE_NOT_IPV4;

	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return MER_PARSE_MALFORMED_IP;
	if (ip->version != 4 || ip->ihl < 5)
		return MER_PARSE_MALFORMED_IP;
	p->ihl_len = ip->ihl * 4;
	if (bpf_ntohs(ip->tot_len) < p->ihl_len || bpf_ntohs(ip->tot_len) > len - MER_L3_OFF)
		return MER_PARSE_MALFORMED_IP;

	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	p->l4_off = MER_L3_OFF + p->ihl_len;

	if (ip->frag_off & bpf_htons(MER_IP_MF | MER_IP_OFFSET))
		return MER_PARSE_FRAGMENT;
	if (p->proto == IPPROTO_TCP)
		l4_len = sizeof(struct tcphdr);
	else if (p->proto == IPPROTO_UDP)
		l4_len = sizeof(struct udphdr);
	else
		return MER_PARSE_NOT_TCP_UDP;

	if (bpf_ntohs(ip->tot_len) < p->ihl_len + l4_len)
		return MER_PARSE_TRUNCATED_L4;
	if (p->l4_off > 14 + 60)
		return MER_PARSE_MALFORMED_IP; /* unreachable; bounds the verifier */
	if (data + p->l4_off + l4_len > data_end)
		return MER_PARSE_TRUNCATED_L4;

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + p->l4_off;

		if ((void *)(th + 1) > data_end)
			return MER_PARSE_TRUNCATED_L4;
		if (th->doff < 5)
			return MER_PARSE_TRUNCATED_L4;
		p->sport = th->source;
		p->dport = th->dest;
		p->l4_hdr_len = th->doff * 4;
		p->tcp_syn = th->syn && !th->ack;
		p->tcp_flags = ((__u8 *)th)[13];
	} else {
		struct udphdr *uh = data + p->l4_off;

		if ((void *)(uh + 1) > data_end)
			return MER_PARSE_TRUNCATED_L4;
		p->sport = uh->source;
		p->dport = uh->dest;
		p->l4_hdr_len = sizeof(struct udphdr);
	}
	return MER_PARSE_OK;
}

/* tc: the same parser over an skb whose headers may not all be linear
 * (headers of locally sent packets are; pull only when not). */
static __always_inline int mer_parse(struct __sk_buff *skb, struct mer_pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (data + MER_PARSE_HDR_MAX > data_end && data_end - data < skb->len) {
		bpf_skb_pull_data(skb, skb->len < MER_PARSE_HDR_MAX ? skb->len : MER_PARSE_HDR_MAX);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	return mer_parse_linear(data, data_end, skb->len, p);
}

/* XDP: the frame is linear (no multi-buffer programs here). */
static __always_inline int mer_parse_xdp(struct xdp_md *ctx, struct mer_pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return mer_parse_linear(data, data_end, data_end - data, p);
}

#endif /* MERIDIAN_PARSE_H */
