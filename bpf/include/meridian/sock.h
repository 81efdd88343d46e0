/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Socket load balancer for clients in the host network namespace (and
 * hostNetwork pods), which no pod veth sees: cgroup sock_addr programs
 * translate a frontend to a backend once, at connect() (TCP, connected
 * UDP) or per datagram at sendmsg() (unconnected UDP), so the kernel then
 * routes to the backend directly and no reverse NAT is needed per packet;
 * recvmsg() and getpeername() show the frontend again (mer_sock_rev).
 *
 * Selection is the tc path's: session affinity (the client is this node:
 * mer_cfg.snat_addr_be, the address the backend sees), else weighted
 * Maglev, hashed on the socket cookie instead of the 5-tuple (the source
 * port is not chosen yet at connect()). A frontend without backends fails
 * connect()/sendmsg() with ECONNREFUSED, as the tc path answers RST/ICMP;
 * an unknown port of a known VIP too. Backends in another cluster are not
 * translated (the host has no tunnel route): counted as sock_lb_remote,
 * the packet goes to the VIP as before.
 */
#ifndef MERIDIAN_SOCK_H
#define MERIDIAN_SOCK_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"
#include "meridian/lb.h"
#include "meridian/maps.h"
#include "meridian/monitor.h"
#include "meridian/stats.h"

#define MER_ECONNREFUSED 111

/* cgroup sock_addr verdicts */
#define MER_SOCK_ALLOW 1
#define MER_SOCK_DENY  0

static __always_inline int mer_sock_translate(struct bpf_sock_addr *ctx)
{
	struct mer_pkt p = {};
	struct mer_service *svc;
	struct mer_backend *be;
	enum mer_stat why = MER_STAT_SOCK_LB_REJECT;
	__u64 cookie, now;
	__u32 backend_id;

	if (ctx->user_family != 2 /* AF_INET */)
		return MER_SOCK_ALLOW;
	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return MER_SOCK_ALLOW;
	p.daddr = ctx->user_ip4;
	p.dport = (__be16)ctx->user_port;
	p.proto = (__u8)ctx->protocol;
	svc = mer_service_lookup_internal(&p);
	if (!svc) {
		/* A known VIP on a port it does not serve: refused at once. */
		if (!mer_is_vip(p.daddr))
			return MER_SOCK_ALLOW;
		goto refuse;
	}
	if (svc->backend_count == 0) {
		if (svc->flags & MER_SVC_F_DROP_NO_BACKEND) {
			/* internalTrafficPolicy Local without a local endpoint:
			 * untranslated, the packet goes nowhere, as kube-proxy drops it. */
			mer_count(MER_STAT_SOCK_LB_DROP, 0);
			return MER_SOCK_ALLOW;
		}
		goto refuse;
	}
	cookie = bpf_get_socket_cookie(ctx);
	now = bpf_ktime_get_ns();
	p.saddr = mer_cfg.snat_addr_be;
	backend_id = mer_affinity_backend(&p, svc, now);
	if (!backend_id) {
		/* The cookie stands in for the source port: per socket for a
		 * connect(), per socket too for sendmsg() (one UDP socket, one
		 * backend, as a conntrack entry would keep it). */
		p.sport = (__be16)(cookie ^ (cookie >> 16) ^ (cookie >> 32));
		p.saddr ^= (__u32)(cookie >> 32);
		backend_id = mer_maglev_select(&p, svc, &why);
		p.saddr = mer_cfg.snat_addr_be;
		if (!backend_id) {
			mer_count(why, 0);
			return MER_SOCK_ALLOW;
		}
	} else {
		mer_count(MER_STAT_LB_AFFINITY_HIT, 0);
	}
	be = bpf_map_lookup_elem(&mer_backends, &backend_id);
	if (!be) {
		mer_count(MER_STAT_DROP_BACKEND_MISSING, 0);
		return MER_SOCK_ALLOW;
	}
	if (be->cluster_id != mer_cfg.cluster_id) {
		mer_count(MER_STAT_SOCK_LB_REMOTE, 0);
		return MER_SOCK_ALLOW;
	}
	mer_affinity_note(&p, svc, backend_id, now);
	{
		struct mer_sock_rev_key key = {.cookie = cookie,
					       .backend_be = be->addr_be,
					       .backend_port_be = be->port_be,
					       .proto = p.proto};
		struct mer_sock_rev rev = {.vip_be = p.daddr, .vport_be = p.dport};

		bpf_map_update_elem(&mer_sock_rev, &key, &rev, BPF_ANY);
	}
	ctx->user_ip4 = be->addr_be;
	ctx->user_port = be->port_be;
	mer_count(MER_STAT_SOCK_LB_CONNECT, 0);
	mer_count_flow(svc->id, backend_id);
	mer_monitor_flow(&p, svc->id, backend_id, be, 0, MER_STAT_SOCK_LB_CONNECT);
	return MER_SOCK_ALLOW;

refuse:
	mer_count(MER_STAT_SOCK_LB_REJECT, 0);
	/* A refusal outside MER_STAT_DROP_MASK (no packet): told explicitly. */
	mer_monitor_drop_event(MER_STAT_SOCK_LB_REJECT, &p);
	bpf_set_retval(-MER_ECONNREFUSED);
	return MER_SOCK_DENY;
}

/* recvmsg()/getpeername(): a backend this socket was translated to reads
 * as the frontend. */
static __always_inline int mer_sock_restore(struct bpf_sock_addr *ctx)
{
	struct mer_sock_rev_key key = {};
	struct mer_sock_rev *rev;

	if (ctx->user_family != 2 /* AF_INET */)
		return MER_SOCK_ALLOW;
	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return MER_SOCK_ALLOW;
	key.cookie = bpf_get_socket_cookie(ctx);
	key.backend_be = ctx->user_ip4;
	key.backend_port_be = (__be16)ctx->user_port;
	key.proto = (__u8)ctx->protocol;
	rev = bpf_map_lookup_elem(&mer_sock_rev, &key);
	if (!rev)
		return MER_SOCK_ALLOW;
	ctx->user_ip4 = rev->vip_be;
	ctx->user_port = rev->vport_be;
	mer_count(MER_STAT_SOCK_LB_REVNAT, 0);
	return MER_SOCK_ALLOW;
}

#endif /* MERIDIAN_SOCK_H */
