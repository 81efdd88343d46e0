/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map definitions shared by every Meridian BPF program. The agent pins them
 * under /sys/fs/bpf/meridian/<node>/ and resizes them before load; the sizes
 * here are the compile-time defaults (see meridian/abi.h). */
#ifndef MERIDIAN_MAPS_H
#define MERIDIAN_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"

/* (VIP, port, proto) -> service; plus one (VIP, 0, 0) marker per VIP. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MER_MAX_SERVICES);
	__type(key, struct mer_service_key);
	__type(value, struct mer_service);
} mer_services SEC(".maps");

/* backend id -> backend address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MER_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct mer_backend);
} mer_backends SEC(".maps");

/* Every service's Maglev table, back to back: a service's table is slots
 * [maglev_offset, maglev_offset + maglev_size) (struct mer_maglev_pair has
 * the layout). One array instead of a map per service: at 10k services,
 * creating and filling 10k maps was half of a cold sync, and their
 * page-rounded memory twice the slots'. Mappable, so the agent writes
 * tables with memcpy. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MER_MAX_MAGLEV_SLOTS / 2);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct mer_maglev_pair);
} mer_maglev SEC(".maps");

/* Two entries per flow (forward and reply); LRU, so a full table evicts
 * the coldest flows instead of refusing new ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(max_entries, MER_MAX_CT_ENTRIES);
	__type(key, struct mer_ct_key);
	__type(value, struct mer_ct_entry);
} mer_ct SEC(".maps");

/* Pod CIDRs of other clusters -> tunnel endpoint. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MER_MAX_REMOTE_CIDRS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mer_cidr_key);
	__type(value, struct mer_remote_cidr);
} mer_remote_cidrs SEC(".maps");

/* Underlay address of a registered peer -> its cluster. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MER_MAX_TUNNEL_PEERS);
	__type(key, __u32);
	__type(value, struct mer_tunnel_peer);
} mer_tunnel_peers SEC(".maps");

/* Local endpoints of exported services: what the tunnel may deliver to. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MER_MAX_EXPORTED_EPS);
	__type(key, struct mer_endpoint_key);
	__type(value, __u32);
} mer_exported_eps SEC(".maps");

/* Session affinity (ClientIP): the backend each client of each such
 * frontend last got; LRU, so a full table forgets the coldest clients
 * (their next flow is balanced afresh) instead of refusing new ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MER_MAX_AFFINITY);
	__type(key, struct mer_affinity_key);
	__type(value, struct mer_affinity);
} mer_affinity SEC(".maps");

/* Socket load balancer: frontends translated at connect()/sendmsg(), per
 * socket and backend, for recvmsg()/getpeername() (meridian/sock.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MER_MAX_SOCK_REV);
	__type(key, struct mer_sock_rev_key);
	__type(value, struct mer_sock_rev);
} mer_sock_rev SEC(".maps");

/* The node's configuration, written by the agent before load. */
const volatile struct mer_config mer_cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MER_STAT_CAPACITY);
	__type(key, __u32);
	__type(value, struct mer_stat_value);
} mer_stats SEC(".maps");

#endif /* MERIDIAN_MAPS_H */
