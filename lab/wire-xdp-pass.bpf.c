// SPDX-License-Identifier: GPL-2.0
// lab/wire-xdp-pass.bpf.c: the XDP program meridian-lab --outside attaches
// to the underlay bridge's side of each node's uplink veth. It passes every
// frame; its only job is to exist. A veth delivers the frames that the
// node's XDP program sends back out with XDP_TX into its peer's XDP ring,
// and the kernel wakes that ring (veth_xdp_flush) only when the peer has
// an XDP program of its own: without one, a NodePort frame forwarded by XDP
// waits in the ring until unrelated traffic polls it (seconds). A physical
// wire has no such peer, so the lab gives the veth one.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int wire_pass(struct xdp_md *ctx) {
  (void)ctx;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
