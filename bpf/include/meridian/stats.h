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

#endif /* MERIDIAN_STATS_H */
