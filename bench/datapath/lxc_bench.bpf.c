// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark entry points for the pod datapath.
 *
 * BPF_PROG_TEST_RUN with repeat > 1 does not restore the packet between
 * runs, so a program that rewrites it would time its own output (a
 * non-service packet) from the second run on. Each program here first
 * restores the original headers from `tmpl`; bench_restore does only that,
 * so its time can be subtracted. In "miss" mode the source port changes on
 * every run, so every run is a new flow. The harness checks the counters to
 * prove which path was timed.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "meridian/pod.h"

#include "bench_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct bench_tmpl tmpl = {};

static __always_inline int bench_restore_headers(struct __sk_buff *skb)
{
	if (bpf_skb_store_bytes(skb, 0, tmpl.bytes, BENCH_HDR_LEN, 0))
		return -1;
	if (tmpl.vary_sport) {
		/* Never the same flow twice: port and source address both vary. */
		__u32 seq = tmpl.seq++;
		__u16 sport = bpf_htons(seq & 0xffff);
		__u32 saddr = *(__u32 *)&tmpl.bytes[26] + bpf_htonl(seq >> 16);

		if (bpf_skb_store_bytes(skb, 26, &saddr, sizeof(saddr), 0))
			return -1;
		if (bpf_skb_store_bytes(skb, 34, &sport, sizeof(sport), 0))
			return -1;
	}
	return 0;
}

SEC("tc")
int bench_restore(struct __sk_buff *skb)
{
	if (bench_restore_headers(skb))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc")
int bench_from_pod(struct __sk_buff *skb)
{
	if (bench_restore_headers(skb))
		return TC_ACT_SHOT;
	return mer_handle_from_pod(skb);
}
