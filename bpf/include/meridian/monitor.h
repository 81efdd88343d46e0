/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Events for an attached monitor (meridianctl monitor): new flows, tunnel
 * packets and drops, written to the ring buffer mer_events. Nothing is
 * produced while no monitor holds a lease in mer_monitor: the one cost
 * then is reading that entry (an inlined array lookup) on the paths that
 * could emit, never on a conntrack hit. */
#ifndef MERIDIAN_MONITOR_H
#define MERIDIAN_MONITOR_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"
#include "meridian/maps.h"
#include "meridian/parse.h"
#include "meridian/stats.h"

/* A zeroed event of `type`, reserved in the ring, or NULL when no monitor
 * wants it (none attached, its lease ran out, another kind, sampled out)
 * or the ring is full (counted as monitor_lost). The caller fills it and
 * submits it with mer_event_submit. */
static __always_inline struct mer_event *mer_event_reserve(__u32 type, __u32 reason)
{
	struct mer_monitor_config *m;
	struct mer_event *e;
	__u32 key = 0;
	__u64 now;

#ifdef MER_MONITOR_COMPILED_OUT
	/* Benchmarks only: the baseline without the monitor (lxc-bench). */
	return NULL;
#endif
	m = bpf_map_lookup_elem(&mer_monitor, &key);
	if (!m || !m->until_ns || !(m->types & MER_EVENT_TYPE_BIT(type)))
		return NULL;
	now = bpf_ktime_get_ns();
	if (now > m->until_ns)
		return NULL;
	if (m->sample_every > 1 && bpf_get_prandom_u32() % m->sample_every)
		return NULL;
	e = bpf_ringbuf_reserve(&mer_events, sizeof(*e), 0);
	if (!e) {
		mer_count(MER_STAT_MONITOR_LOST, 0);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = now;
	e->type = type;
	e->reason = reason;
	mer_count(MER_STAT_MONITOR_EVENTS, 0);
	return e;
}

/* Submits an event without waking the reader, unless the ring is a quarter
 * full: the reader polls on a timer anyway (MonitorSession::Poll), so an
 * event waits at most one poll interval. A wakeup per event, the ring's
 * default, cost more than the new flow itself (bench/results/monitor.md). */
static __always_inline void mer_event_submit(struct mer_event *e)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_query(&mer_events, BPF_RB_AVAIL_DATA) >= MER_MONITOR_RING_BYTES / 4)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

static __always_inline void mer_event_pkt(struct mer_event *e, const struct mer_pkt *p)
{
	e->saddr_be = p->saddr;
	e->daddr_be = p->daddr;
	e->sport_be = p->sport;
	e->dport_be = p->dport;
	e->proto = p->proto;
	e->len = p->len;
}

/* The addresses (and TCP/UDP ports) of the IPv4 header at `l3_off` of the
 * linear bytes [data, data_end): for packets the uplink saw but did not
 * parse into a struct mer_pkt. What is not there stays 0. */
static __always_inline void mer_event_linear(struct mer_event *e, void *data, void *data_end,
					     __u32 l3_off, __u32 len)
{
	struct iphdr *ip = data + l3_off;
	__be16 *ports;

	e->len = len;
	if ((void *)(ip + 1) > data_end)
		return;
	e->saddr_be = ip->saddr;
	e->daddr_be = ip->daddr;
	e->proto = ip->protocol;
	if (ip->ihl != 5 || (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP))
		return;
	ports = (void *)(ip + 1);
	if ((void *)(ports + 2) > data_end)
		return;
	e->sport_be = ports[0];
	e->dport_be = ports[1];
}

/* Is the counter a packet dropped or refused (MER_STAT_DROP_MASK)? */
static __always_inline int mer_stat_is_drop(enum mer_stat stat)
{
	return (MER_STAT_DROP_MASK >> stat) & 1;
}

/* A drop event for packet p with reason `stat`, whatever the counter (the
 * socket LB's sock_lb_reject is a refusal outside the mask). */
static __always_inline void mer_monitor_drop_event(enum mer_stat stat, const struct mer_pkt *p)
{
	struct mer_event *e = mer_event_reserve(MER_EVENT_DROP, stat);

	if (!e)
		return;
	mer_event_pkt(e, p);
	mer_event_submit(e);
}

/* A drop or refusal of packet p (any counter of MER_STAT_DROP_MASK; other
 * counters emit nothing). */
static __always_inline void mer_monitor_drop(enum mer_stat stat, const struct mer_pkt *p)
{
	if (mer_stat_is_drop(stat))
		mer_monitor_drop_event(stat, p);
}

/* Counts a drop (or refusal) of packet p and tells the monitor. */
static __always_inline void mer_drop(enum mer_stat stat, const struct mer_pkt *p)
{
	mer_count(stat, p->len);
	mer_monitor_drop(stat, p);
}

/* A drop on the uplink of a frame not parsed into a struct mer_pkt: its
 * (outer) IPv4 header follows the Ethernet header. */
static __always_inline void mer_monitor_drop_linear(enum mer_stat stat, void *data, void *data_end,
						    __u32 len)
{
	struct mer_event *e;

	if (!mer_stat_is_drop(stat))
		return;
	e = mer_event_reserve(MER_EVENT_DROP, stat);
	if (!e)
		return;
	mer_event_linear(e, data, data_end, MER_L3_OFF, len);
	mer_event_submit(e);
}

/* A new flow of packet p (client -> frontend) sent to backend `be`. */
static __always_inline void mer_monitor_flow(const struct mer_pkt *p, __u32 service_id,
					     __u32 backend_id, const struct mer_backend *be,
					     __u16 ct_flags, enum mer_stat reason)
{
	struct mer_event *e = mer_event_reserve(MER_EVENT_FLOW, reason);

	if (!e)
		return;
	mer_event_pkt(e, p);
	e->service_id = service_id;
	e->backend_id = backend_id;
	e->backend_addr_be = be->addr_be;
	e->backend_port_be = be->port_be;
	e->cluster_id = be->cluster_id;
	e->ct_flags = ct_flags;
	mer_event_submit(e);
}

/* Packet p encapsulated to peer cluster `cluster_id`. */
static __always_inline void mer_monitor_encap(const struct mer_pkt *p, __u32 cluster_id,
					      enum mer_stat reason)
{
	struct mer_event *e = mer_event_reserve(MER_EVENT_TUNNEL, reason);

	if (!e)
		return;
	mer_event_pkt(e, p);
	e->dir = MER_TUNNEL_TX;
	e->cluster_id = cluster_id;
	mer_event_submit(e);
}

/* A frame from peer cluster `cluster_id`, decapsulated: its inner IPv4
 * header now follows the Ethernet header at `data`. */
static __always_inline void mer_monitor_decap(void *data, void *data_end, __u32 len,
					      __u32 cluster_id)
{
	struct mer_event *e = mer_event_reserve(MER_EVENT_TUNNEL, MER_STAT_DECAP);

	if (!e)
		return;
	mer_event_linear(e, data, data_end, MER_L3_OFF, len);
	e->dir = MER_TUNNEL_RX;
	e->cluster_id = cluster_id;
	mer_event_submit(e);
}

#endif /* MERIDIAN_MONITOR_H */
