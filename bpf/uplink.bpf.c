// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Programs on the node's uplink (the underlay interface).
 *
 *   mer_from_uplink      (tc ingress)
 *       VXLAN from registered peers of other clusters -> decapsulated and
 *       delivered, if the inner packet is allowed; everything else that is
 *       not VXLAN passes untouched.
 *   mer_xdp_from_uplink  (XDP, native where the driver allows)
 *       with MER_CFG_NODEPORT: external frontends (NodePort,
 *       LoadBalancer, externalIPs) and their SNAT'd replies
 *       (meridian/nodeport.h); with MER_CFG_XDP_DECAP: the same
 *       decapsulation as the tc program.
 *
 * Decapsulation runs in one of the two (--uplink-decap). tc is the
 * default: on veth, native XDP turns TSO off on the peer (see
 * docs/benchmarks.md); XDP is for real NICs. Logic: meridian/decap.h.
 * Maps are shared with lxc.bpf.c.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "meridian/decap.h"
#include "meridian/nodeport.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int mer_from_uplink(struct __sk_buff *skb)
{
	return mer_handle_from_uplink(skb);
}

SEC("xdp")
int mer_xdp_from_uplink(struct xdp_md *ctx)
{
	int ret = mer_handle_xdp_nodeport(ctx);

	if (ret >= 0)
		return ret;
	if (!(mer_cfg.flags & MER_CFG_XDP_DECAP))
		return XDP_PASS; /* tc ingress decapsulates and counts it */
	return mer_handle_xdp_from_uplink(ctx);
}
