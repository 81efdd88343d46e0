// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Entry points of the NodePort forwarding benchmark (nodeport-bench).
 *
 * They run under BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES, as
 * xdp-trafficgen does: the kernel honours the verdict (XDP_TX leaves the
 * ingress veth, XDP_PASS enters the stack as if received there), so each
 * program is both the traffic generator and, for npb_meridian, the
 * datapath under test. Live mode recycles pages without rewriting them, so
 * a frame the datapath rewrote would come back rewritten: every program
 * first restores the template headers, then spreads the frames over
 * `tmpl.flows` source ports (established flows, as a busy NodePort sees).
 *
 *   npb_gen_drop  restore, drop: the generator's own ceiling
 *   npb_gen_pass  restore, pass: the stack (kube-proxy's iptables rules)
 *                 does the NodePort work
 *   npb_meridian  restore, then the uplink's NodePort path
 *                 (mer_handle_xdp_nodeport, the code of uplink.bpf.c)
 *   npb_sink      on the peer veth: counts the forwarded frames, drops all
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "meridian/nodeport.h"

#include "bench_nodeport_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct npb_tmpl tmpl = {};
__u64 sink_frames = 0;

static __always_inline int npb_restore(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + NPB_HDR_LEN > data_end)
		return -1;
	__builtin_memcpy(data, tmpl.bytes, NPB_HDR_LEN);
	if (tmpl.flows > 1) {
		__u32 seq = tmpl.seq++; /* one CPU runs the test: no race */

		*(__u16 *)(data + NPB_SPORT_OFF) = bpf_htons(tmpl.sport_base + seq % tmpl.flows);
	}
	return 0;
}

SEC("xdp")
int npb_gen_drop(struct xdp_md *ctx)
{
	if (npb_restore(ctx))
		return XDP_ABORTED;
	return XDP_DROP;
}

SEC("xdp")
int npb_gen_pass(struct xdp_md *ctx)
{
	if (npb_restore(ctx))
		return XDP_ABORTED;
	return XDP_PASS;
}

SEC("xdp")
int npb_meridian(struct xdp_md *ctx)
{
	int ret;

	if (npb_restore(ctx))
		return XDP_ABORTED;
	ret = mer_handle_xdp_nodeport(ctx);
	return ret >= 0 ? ret : XDP_PASS;
}

/* Counts forwarded frames only (UDP to NPB_BACKEND_PORT): the stack also
 * sends ARP and ICMP out of the ingress veth, and those prove nothing. */
SEC("xdp")
int npb_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP) && ip->ihl == 5 &&
	    ip->protocol == IPPROTO_UDP && udp->dest == bpf_htons(NPB_BACKEND_PORT))
		__sync_fetch_and_add(&sink_frames, 1);
	return XDP_DROP;
}
