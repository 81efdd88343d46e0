// SPDX-License-Identifier: GPL-2.0
// lab/fault.bpf.c: the fault `meridian-lab fault` puts on a router leg
// (this kernel has no netem): every packet is dropped with probability
// FAULT_DROP_PPM / 1,000,000, drawn by bpf_get_prandom_u32. 1000000 is a
// partition. The lab compiles one object per rate (-DFAULT_DROP_PPM=...),
// since tc's loader cannot set read-only data. Drops show in the clsact
// qdisc's counters (tc -s qdisc show dev LEG), which the command reads.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#ifndef FAULT_DROP_PPM
#define FAULT_DROP_PPM 0
#endif

SEC("tc")
int fault_drop(struct __sk_buff *skb) {
  (void)skb;
  if (FAULT_DROP_PPM >= 1000000 || bpf_get_prandom_u32() % 1000000 < FAULT_DROP_PPM)
    return TC_ACT_SHOT;
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
