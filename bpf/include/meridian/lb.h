/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Service lookup, Maglev backend selection and conntrack. */
#ifndef MERIDIAN_LB_H
#define MERIDIAN_LB_H

#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"
#include "meridian/ct_lifetime.h"
#include "meridian/jhash.h"
#include "meridian/maps.h"
#include "meridian/monitor.h"
#include "meridian/parse.h"
#include "meridian/stats.h"

static __always_inline struct mer_service *mer_service_lookup(const struct mer_pkt *p)
{
	struct mer_service_key key = {
		.vip_be = p->daddr,
		.port_be = p->dport,
		.proto = p->proto,
	};

	return bpf_map_lookup_elem(&mer_services, &key);
}

/* The frontend a client inside the cluster (a pod, the node) reaches: the
 * internal twin of an external frontend with externalTrafficPolicy Local
 * (all endpoints, kube-proxy's rule for in-cluster clients), else the
 * frontend itself. */
static __always_inline struct mer_service *mer_service_lookup_internal(const struct mer_pkt *p)
{
	struct mer_service *svc = mer_service_lookup(p);
	struct mer_service_key key = {
		.vip_be = p->daddr,
		.port_be = p->dport,
		.proto = p->proto,
		.scope = MER_SVC_SCOPE_INTERNAL,
	};
	struct mer_service *twin;

	if (!svc || !(svc->flags & MER_SVC_F_INTERNAL_TWIN))
		return svc;
	twin = bpf_map_lookup_elem(&mer_services, &key);
	return twin ? twin : svc;
}

/* True when addr is a VIP of any service (the (VIP, 0, 0) marker). */
static __always_inline int mer_is_vip(__be32 addr)
{
	struct mer_service_key key = {.vip_be = addr};

	return bpf_map_lookup_elem(&mer_services, &key) != NULL;
}

/* Weighted Maglev: the flow hash picks a slot of the service's table.
 * Returns the backend id, or 0 with *stat set to the drop reason. */
static __always_inline __u32 mer_maglev_select(const struct mer_pkt *p,
					       const struct mer_service *svc, enum mer_stat *stat)
{
	const struct mer_maglev_pair *pair;
	__u32 slot, element, backend_id;

	if (svc->maglev_size == 0 || svc->maglev_size > MER_MAGLEV_MAX_SIZE) {
		*stat = MER_STAT_DROP_NO_MAGLEV_TABLE;
		return 0;
	}
	slot = svc->maglev_offset +
	       mer_flow_hash(p->saddr, p->daddr, p->sport, p->dport, p->proto) % svc->maglev_size;
	element = mer_maglev_element(slot);
	/* The array bounds the element; a range past its end finds nothing. */
	pair = bpf_map_lookup_elem(&mer_maglev, &element);
	if (!pair) {
		*stat = MER_STAT_DROP_NO_MAGLEV_TABLE;
		return 0;
	}
	backend_id = pair->backend_id[mer_maglev_lane(slot)];
	if (backend_id == 0) {
		*stat = MER_STAT_DROP_NO_MAGLEV_TABLE;
		return 0;
	}
	return backend_id;
}

/* Session affinity: the backend of the client's last new flow to this
 * frontend, while it is fresh (less than affinity_timeout_s old), still
 * installed and not terminating; else 0 (Maglev chooses). An endpoint that
 * left the frontend has its entries deleted by the agent at once. */
static __always_inline __u32 mer_affinity_backend(const struct mer_pkt *p,
						  const struct mer_service *svc, __u64 now)
{
	struct mer_affinity_key key = {.client_be = p->saddr, .service_id = svc->id};
	struct mer_backend *be;
	struct mer_affinity *a;
	__u32 backend_id;

	if (!svc->affinity_timeout_s)
		return 0;
	a = bpf_map_lookup_elem(&mer_affinity, &key);
	if (!a || now - a->last_ns > (__u64)svc->affinity_timeout_s * 1000000000ull)
		return 0;
	backend_id = a->backend_id;
	be = bpf_map_lookup_elem(&mer_backends, &backend_id);
	if (!be || (be->flags & MER_BE_F_TERMINATING))
		return 0;
	return backend_id;
}

/* Records the client's new flow to `backend_id`: the affinity lasts
 * affinity_timeout_s from now (from the last new flow, as kube-proxy's
 * iptables `recent` match counts). */
static __always_inline void mer_affinity_note(const struct mer_pkt *p,
					      const struct mer_service *svc, __u32 backend_id,
					      __u64 now)
{
	struct mer_affinity_key key = {.client_be = p->saddr, .service_id = svc->id};
	struct mer_affinity value = {.backend_id = backend_id, .last_ns = now};

	if (svc->affinity_timeout_s)
		bpf_map_update_elem(&mer_affinity, &key, &value, BPF_ANY);
}

static __always_inline void mer_ct_forward_key(struct mer_ct_key *key, const struct mer_pkt *p)
{
	key->saddr_be = p->saddr;
	key->daddr_be = p->daddr;
	key->sport_be = p->sport;
	key->dport_be = p->dport;
	key->proto = p->proto;
	key->dir = MER_CT_FORWARD;
	key->pad = 0;
}

/* The reply key of the client's flow p, as the peer that answers it sends:
 * (from_addr, from_port) -> the client. The peer is the backend of a VIP
 * flow, or the destination itself of an untranslated one. */
static __always_inline void mer_ct_reply_key(struct mer_ct_key *key, const struct mer_pkt *p,
					     __be32 from_addr, __be16 from_port)
{
	key->saddr_be = from_addr;
	key->daddr_be = p->saddr;
	key->sport_be = from_port;
	key->dport_be = p->sport;
	key->proto = p->proto;
	key->dir = MER_CT_REPLY;
	key->pad = 0;
}

/* The translation of one flow: where it goes and the source it leaves
 * with. */
struct mer_nat {
	__be32 backend_addr;
	__be16 backend_port;
	__be16 sport; /* source port after translation */
	__be32 saddr; /* source address after translation */
};

/* The reply key of a translated flow: backend -> the translated source. */
static __always_inline void mer_ct_nat_reply_key(struct mer_ct_key *key, const struct mer_nat *nat,
						 __u8 proto)
{
	key->saddr_be = nat->backend_addr;
	key->daddr_be = nat->saddr;
	key->sport_be = nat->backend_port;
	key->dport_be = nat->sport;
	key->proto = proto;
	key->dir = MER_CT_REPLY;
	key->pad = 0;
}

/* Is the reply entry `e` the one of the client flow p (same client, same
 * VIP)? Then it may be rewritten; otherwise it belongs to a live flow. */
static __always_inline int mer_ct_reply_is_flow(const struct mer_ct_entry *e,
						const struct mer_pkt *p)
{
	return !(e->flags & MER_CT_F_TUNNEL_FLOW) && e->nat_addr_be == p->saddr &&
	       e->nat_port_be == p->sport && e->vip_be == p->daddr && e->vport_be == p->dport;
}

/* Records both directions of a new (or re-selected) flow to backend `be`.
 * The reply entry is keyed as the backend will answer: backend -> the
 * translated source. A reply key held by another live flow is never
 * overwritten: after DNAT two flows from one client port to two VIPs that
 * share a backend have the same tuple, so the second gets another source
 * port (as netfilter remaps), tried MER_NAT_PORT_TRIES times. A pod that
 * reaches itself (hairpin) leaves with MER_HAIRPIN_ADDR as its source, and
 * a flow with snat_addr set leaves from that address (a NodePort flow to
 * another node's backend). `flags` (MER_CT_F_*) mark both entries.
 * Returns 0, or the drop reason. */
static __always_inline enum mer_stat
mer_ct_create(const struct mer_pkt *p, const struct mer_service *svc, __u32 backend_id,
	      const struct mer_backend *be, struct mer_nat *nat, __be32 snat_addr, __u16 flags)
{
	struct mer_ct_entry entry = {
		.backend_id = backend_id,
		.service_id = svc->id,
		.vip_be = p->daddr,
		.vport_be = p->dport,
		.created_ns = bpf_ktime_get_ns(),
		.backend_addr_be = be->addr_be,
		.backend_port_be = be->port_be,
		.nat_addr_be = p->saddr, /* reply: the client's own */
		.nat_port_be = p->sport,
		.flags = flags,
	};
	struct mer_ct_entry *held;
	struct mer_ct_key key = {};
	__u32 hash = 0;
	int i;

	nat->backend_addr = be->addr_be;
	nat->backend_port = be->port_be;
	nat->saddr = p->saddr;
	nat->sport = p->sport;
	if (snat_addr)
		nat->saddr = snat_addr;
	else if (be->addr_be == p->saddr)
		nat->saddr = bpf_htonl(MER_HAIRPIN_ADDR_HOST);

	/* Both entries start as the flow's first packet leaves them: a reply
	 * entry that no reply has used yet lives as long as the forward one. */
	mer_ct_start(&entry, p, MER_CT_FORWARD);
	for (i = 0; i < MER_NAT_PORT_TRIES; i++) {
		mer_ct_nat_reply_key(&key, nat, p->proto);
		held = bpf_map_lookup_elem(&mer_ct, &key);
		if (!held || mer_ct_reply_is_flow(held, p)) {
			if (bpf_map_update_elem(&mer_ct, &key, &entry, BPF_ANY))
				return MER_STAT_DROP_CT_FULL;
			if (!held)
				mer_count(MER_STAT_CT_ENTRIES_ADDED, 0);
			break;
		}
		if (i == 0)
			hash = mer_flow_hash(p->saddr, p->daddr, p->sport, p->dport, p->proto);
		nat->sport = bpf_htons(MER_NAT_PORT_MIN + (hash + i * 7919) % MER_NAT_PORT_RANGE);
	}
	if (i == MER_NAT_PORT_TRIES)
		return MER_STAT_DROP_NAT_NO_PORT;
	if (i > 0)
		mer_count(MER_STAT_CT_PORT_REMAPPED, p->len);

	entry.nat_addr_be = nat->saddr;
	entry.nat_port_be = nat->sport;
	mer_ct_forward_key(&key, p);
	/* A new flow's key is new; a re-selected flow's is replaced. */
	if (bpf_map_update_elem(&mer_ct, &key, &entry, BPF_NOEXIST) == 0) {
		mer_count(MER_STAT_CT_ENTRIES_ADDED, 0);
	} else if (bpf_map_update_elem(&mer_ct, &key, &entry, BPF_ANY)) {
		return MER_STAT_DROP_CT_FULL;
	}
	mer_count(MER_STAT_CT_CREATED, 0);
	mer_count_flow(svc->id, backend_id);
	mer_count_traffic(svc->id, backend_id, MER_CT_FORWARD, p->len);
	mer_monitor_flow(p, svc->id, backend_id, be, flags, MER_STAT_LB_NEW_FLOW);
	return 0;
}

/* May an existing forward entry carry this packet? An established TCP
 * flow always may: it follows the backend address in the entry, so it
 * keeps going while the pod answers even after its endpoint left the
 * service, whatever other services share the backend (kube-proxy's rule).
 * A SYN on an entry whose connection closed (FIN or RST seen) is a new
 * connection on a reused port, balanced afresh as nf_conntrack reopens
 * it: the old backend may have left this service while another service
 * keeps it installed. Another SYN (a retransmission) and UDP must find the
 * backend still installed as it was; UDP flows of an endpoint removed from
 * one service while another still uses it are purged by the agent. */
static __always_inline int mer_ct_usable(const struct mer_pkt *p, const struct mer_ct_entry *ct)
{
	__u32 backend_id = ct->backend_id;
	struct mer_backend *be;

	if (p->proto == IPPROTO_TCP && !p->tcp_syn)
		return 1;
	if (p->proto == IPPROTO_TCP && (ct->flags & MER_CT_F_CLOSING))
		return 0;
	be = bpf_map_lookup_elem(&mer_backends, &backend_id);
	return be && be->addr_be == ct->backend_addr_be && be->port_be == ct->backend_port_be;
}

/* A packet the conntrack entry `e` translates, in direction `dir`: the
 * entry's lifetime moves on and its pair's traffic is counted. */
static __always_inline void mer_ct_used(struct mer_ct_entry *e, const struct mer_pkt *p, __u8 dir)
{
	mer_ct_touch(e, p, dir);
	mer_count_traffic(e->service_id, e->backend_id, dir, p->len);
}

/* The translation an existing forward entry records. */
static __always_inline void mer_ct_nat(const struct mer_ct_entry *fwd, struct mer_nat *nat)
{
	nat->backend_addr = fwd->backend_addr_be;
	nat->backend_port = fwd->backend_port_be;
	nat->saddr = fwd->nat_addr_be;
	nat->sport = fwd->nat_port_be;
}

/* Forward and reply entries share one LRU map and are evicted separately.
 * A flow whose forward entry survived its reply entry would send its
 * answers back untranslated, and the client would drop them: a TCP client
 * reusing a source port never completes its handshake. So a connection's
 * first packet (TCP SYN) and every UDP packet check that the reply entry is
 * there and put it back if not; an established TCP flow keeps both entries
 * warm by using them. Returns 1 if the entry was restored. */
static __always_inline int mer_ct_restore_reply(const struct mer_pkt *p,
						const struct mer_ct_entry *fwd)
{
	struct mer_ct_entry entry = *fwd;
	struct mer_ct_key key;
	struct mer_nat nat;

	if (p->proto == IPPROTO_TCP && !p->tcp_syn)
		return 0;
	mer_ct_nat(fwd, &nat);
	mer_ct_nat_reply_key(&key, &nat, p->proto);
	if (bpf_map_lookup_elem(&mer_ct, &key))
		return 0;
	entry.nat_addr_be = p->saddr;
	entry.nat_port_be = p->sport;
	/* NOEXIST: a flow that took the key meanwhile keeps it. */
	if (bpf_map_update_elem(&mer_ct, &key, &entry, BPF_NOEXIST))
		return 0;
	mer_count(MER_STAT_CT_ENTRIES_ADDED, 0);
	return 1;
}

/* A flow sent untranslated to a pod of another cluster (by its pod IP, as
 * for headless imports): records the reply entry that lets its answers pass
 * the decapsulation check (mer_tunnel_allowed), as a VIP flow's reply entry
 * does. It carries no VIP, so replies are delivered as they come. An entry
 * already there (this flow's, or a VIP flow's) is left alone. Returns -1
 * when conntrack has no room. */
static __always_inline int mer_ct_note_tunnel_flow(const struct mer_pkt *p)
{
	struct mer_ct_entry entry = {.flags = MER_CT_F_TUNNEL_FLOW};
	struct mer_ct_entry *held;
	struct mer_ct_key reply;

	mer_ct_reply_key(&reply, p, p->daddr, p->dport);
	held = bpf_map_lookup_elem(&mer_ct, &reply);
	if (held) {
		/* The flow's one entry: its packets both ways keep it. */
		mer_ct_touch(held, p, MER_CT_FORWARD);
		return 0;
	}
	entry.created_ns = bpf_ktime_get_ns();
	mer_ct_start(&entry, p, MER_CT_FORWARD);
	/* Lost a race with another CPU: the entry is there all the same. */
	if (bpf_map_update_elem(&mer_ct, &reply, &entry, BPF_NOEXIST)) {
		if (!bpf_map_lookup_elem(&mer_ct, &reply))
			return -1;
		return 0;
	}
	mer_count(MER_STAT_CT_CREATED, 0);
	mer_count(MER_STAT_CT_ENTRIES_ADDED, 0);
	return 0;
}

#endif /* MERIDIAN_LB_H */
