/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Sending a frame on from XDP on the uplink: where an address is routed
 * (a pod of this node or elsewhere), and out of the interface the FIB
 * names, or up the stack when the FIB cannot say. Used by the external
 * frontends' paths (nodeport.h, dsr.h). */
#ifndef MERIDIAN_XDP_FORWARD_H
#define MERIDIAN_XDP_FORWARD_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"
#include "meridian/maps.h"
#include "meridian/monitor.h"
#include "meridian/nat.h"
#include "meridian/parse.h"
#include "meridian/stats.h"

#ifndef AF_INET
#define AF_INET 2
#endif

static __always_inline int mer_nodeport_enabled(void)
{
	return mer_cfg.flags & MER_CFG_NODEPORT;
}

/* Fills a FIB query for the IPv4 packet at `ip` as it now is. */
static __always_inline void mer_fib_params(struct bpf_fib_lookup *fib, const struct iphdr *ip,
					   __u32 ifindex)
{
	fib->family = AF_INET;
	fib->tos = ip->tos;
	fib->l4_protocol = ip->protocol;
	fib->tot_len = bpf_ntohs(ip->tot_len);
	fib->ipv4_src = ip->saddr;
	fib->ipv4_dst = ip->daddr;
	fib->ifindex = ifindex;
}

/* A forwarded packet loses one hop of TTL, as the stack would take. */
static __always_inline void mer_ttl_dec(struct iphdr *ip)
{
	__be16 before = *(__be16 *)&ip->ttl; /* ttl and protocol: one word */

	ip->ttl--;
	ip->check = mer_csum_replace2(ip->check, before, *(__be16 *)&ip->ttl);
}

/* Is `addr` reached through another interface than the uplink (a pod of
 * this node)? The kernel's own routes decide, so no per-backend state is
 * kept. An address the FIB cannot route counts as remote. */
static __always_inline int mer_xdp_is_local(struct xdp_md *ctx, __be32 src, __be32 addr)
{
	struct bpf_fib_lookup fib = {
		.family = AF_INET,
		.ipv4_src = src,
		.ipv4_dst = addr,
		.ifindex = ctx->ingress_ifindex,
	};
	int rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);

	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return 0;
	return fib.ifindex != ctx->ingress_ifindex;
}

/* Sends a translated frame to its next hop: out of the interface the FIB
 * names, Ethernet addresses set and TTL taken, or up the stack when the
 * FIB cannot say (no neighbour entry yet, TTL expiring: the stack resolves,
 * or answers time-exceeded). Counted as `fwd` or `stack`. */
static __always_inline int mer_xdp_forward(struct xdp_md *ctx, const struct mer_pkt *p,
					   enum mer_stat fwd, enum mer_stat stack)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + MER_L3_OFF;
	struct bpf_fib_lookup fib = {};
	int rc;

	if ((void *)(ip + 1) > data_end)
		return mer_drop(MER_STAT_DROP_REWRITE_FAILED, p), XDP_DROP;
	mer_fib_params(&fib, ip, ctx->ingress_ifindex);
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || ip->ttl <= 1) {
		mer_count(stack, p->len);
		return XDP_PASS;
	}
	mer_ttl_dec(ip);
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	mer_count(fwd, p->len);
	if (fib.ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(fib.ifindex, 0);
}

#endif /* MERIDIAN_XDP_FORWARD_H */
