// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tc program on the node's uplink (the underlay interface).
 *
 *   mer_from_uplink  (tc ingress)
 *       VXLAN from registered peers of other clusters -> decapsulated and
 *       delivered, if the inner packet is allowed; everything else that is
 *       not VXLAN passes untouched.
 *
 * The design brief measured tc ingress decapsulation (~16.5 Gbit/s TCP)
 * faster than native XDP on veth (TSO is lost on the peer); XDP is kept for
 * real NICs in a later step. Logic: meridian/decap.h. Maps are shared with
 * lxc.bpf.c through their pins.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "meridian/decap.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int mer_from_uplink(struct __sk_buff *skb)
{
	return mer_handle_from_uplink(skb);
}
