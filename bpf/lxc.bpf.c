// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tc programs on each pod's host-side veth.
 *
 *   mer_from_pod  (tc ingress: packets the pod sends)
 *       VIP:port -> backend by conntrack or weighted Maglev, DNAT;
 *       a VIP without backends answers ICMP port unreachable.
 *   mer_to_pod    (tc egress: packets delivered to the pod)
 *       replies from a backend -> source rewritten back to the VIP.
 *
 * Everything that is not service traffic passes untouched. The logic lives
 * in meridian/pod.h.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "meridian/pod.h"
#include "meridian/sock.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int mer_from_pod(struct __sk_buff *skb)
{
	return mer_handle_from_pod(skb);
}

SEC("tc")
int mer_to_pod(struct __sk_buff *skb)
{
	return mer_handle_to_pod(skb);
}

/* The socket load balancer (meridian/sock.h), attached to the cgroup
 * given by --socket-lb-cgroup. */
SEC("cgroup/connect4")
int mer_sock_connect4(struct bpf_sock_addr *ctx)
{
	return mer_sock_translate(ctx);
}

SEC("cgroup/sendmsg4")
int mer_sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return mer_sock_translate(ctx);
}

SEC("cgroup/recvmsg4")
int mer_sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	return mer_sock_restore(ctx);
}

SEC("cgroup/getpeername4")
int mer_sock_getpeername4(struct bpf_sock_addr *ctx)
{
	return mer_sock_restore(ctx);
}
