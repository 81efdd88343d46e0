/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map definitions shared by every Meridian BPF program. The agent pins them
 * under /sys/fs/bpf/meridian/<node>/ and resizes them before load; the sizes
 * here are the compile-time defaults (see meridian/abi.h). */
#ifndef MERIDIAN_MAPS_H
#define MERIDIAN_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"

/* Every map of MER_MAPS (meridian/abi.h, which says what each holds). */
#define MER_DEFINE_MAP(name, type_, max_entries_, flags_, key_, value_)                            \
	struct {                                                                                   \
		__uint(type, type_);                                                               \
		__uint(max_entries, max_entries_);                                                 \
		__uint(map_flags, flags_);                                                         \
		__type(key, key_);                                                                 \
		__type(value, value_);                                                             \
	} mer_##name SEC(".maps");
MER_MAPS(MER_DEFINE_MAP)
#undef MER_DEFINE_MAP

/* The monitor's ring (meridian/monitor.h); outside MER_MAPS because a
 * ring buffer has no key or value. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MER_MONITOR_RING_BYTES);
} mer_events SEC(".maps");

/* The node's configuration, written by the agent before load. */
const volatile struct mer_config mer_cfg = {};

#endif /* MERIDIAN_MAPS_H */
