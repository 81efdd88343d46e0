/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every verdict bumps exactly one counter, so the counters add up to the
 * packets seen and a test can prove which path a packet took. */
#ifndef MERIDIAN_STATS_H
#define MERIDIAN_STATS_H

#include "meridian/maps.h"

static __always_inline void mer_count(enum mer_stat stat, __u32 bytes)
{
	__u32 key = stat;
	struct mer_stat_value *v = bpf_map_lookup_elem(&mer_stats, &key);

	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

/* One more flow from a frontend to a backend (mer_flows). A pair's first
 * flow on this CPU creates its entry; when the map is full the flow is
 * not counted per pair (mer_stats still counts it). */
static __always_inline void mer_count_flow(__u32 service_id, __u32 backend_id)
{
	struct mer_flow_key key = {.service_id = service_id, .backend_id = backend_id};
	struct mer_flow_count *v = bpf_map_lookup_elem(&mer_flows, &key);

	if (!v) {
		struct mer_flow_count first = {.flows = 1};

		bpf_map_update_elem(&mer_flows, &key, &first, BPF_NOEXIST);
		return;
	}
	v->flows++;
}

/* A packet of a flow from frontend `service_id` to `backend_id`, in
 * direction `dir` (enum mer_ct_dir), translated (mer_traffic). Nothing
 * without MER_CFG_TRAFFIC, or for an entry of no frontend or backend (a
 * tunnelled pod flow's; a DSR reply's at the backend's node). A pair's
 * first packet on this CPU creates its entry; when the map is full it is
 * not counted per pair. */
static __always_inline void mer_count_traffic(__u32 service_id, __u32 backend_id, __u8 dir,
					      __u32 bytes)
{
	struct mer_flow_key key = {.service_id = service_id, .backend_id = backend_id};
	struct mer_traffic *v;

	if (!(mer_cfg.flags & MER_CFG_TRAFFIC) || !service_id || !backend_id)
		return;
	dir &= 1;
	v = bpf_map_lookup_elem(&mer_traffic, &key);
	if (!v) {
		struct mer_traffic first = {};

		first.packets[dir] = 1;
		first.bytes[dir] = bytes;
		bpf_map_update_elem(&mer_traffic, &key, &first, BPF_NOEXIST);
		return;
	}
	v->packets[dir]++;
	v->bytes[dir] += bytes;
}

/* A packet through the tunnel, to or from a peer cluster (mer_tunnel_stats):
 * the first on this CPU creates the entry; when the map is full it is not
 * counted per cluster (mer_stats still counts encap/decap). */
static __always_inline void mer_count_tunnel(__u32 cluster_id, __u32 dir, __u32 bytes)
{
	struct mer_tunnel_stat_key key = {.cluster_id = cluster_id, .dir = dir};
	struct mer_stat_value *v = bpf_map_lookup_elem(&mer_tunnel_stats, &key);

	if (!v) {
		struct mer_stat_value first = {.packets = 1, .bytes = bytes};

		bpf_map_update_elem(&mer_tunnel_stats, &key, &first, BPF_NOEXIST);
		return;
	}
	v->packets++;
	v->bytes += bytes;
}

#endif /* MERIDIAN_STATS_H */
