/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Conntrack lifetimes: how long an entry stays after the last packet that
 * used it, by the state of the flow (TCP SYN sent, established, closing
 * after FIN or RST; UDP one-way or answered). The datapath only moves the
 * expiry on; the agent's collector deletes idle flows (datapath/ct_gc.h).
 * A packet writes the entry at most once per second of the clock: the
 * expiry changes only when the second does, so a busy flow does not
 * dirty its cache line on every packet. */
#ifndef MERIDIAN_CT_LIFETIME_H
#define MERIDIAN_CT_LIFETIME_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "meridian/abi.h"
#include "meridian/maps.h"
#include "meridian/parse.h"

/* Seconds of CLOCK_MONOTONIC, as the agent's collector reads it. */
static __always_inline __u32 mer_mono_s(void)
{
	return bpf_ktime_get_coarse_ns() / 1000000000ull;
}

/* A configured lifetime, or its default when the agent left it 0. The
 * configuration is read-only data: the verifier folds this. */
#define MER_CT_TIMEOUT(field, dflt) (mer_cfg.ct.field ? mer_cfg.ct.field : (dflt))

/* The state a packet `p` of direction `dir` moves an entry with `flags`
 * to, and the lifetime of that state. Returns the new flags. */
static __always_inline __u16 mer_ct_next_state(const struct mer_pkt *p, __u8 dir, __u16 flags,
					       __u32 *lifetime)
{
	if (p->proto != IPPROTO_TCP) {
		*lifetime = dir == MER_CT_REPLY
				    ? MER_CT_TIMEOUT(udp_reply_s, MER_CT_DEFAULT_UDP_REPLY_S)
				    : MER_CT_TIMEOUT(udp_s, MER_CT_DEFAULT_UDP_S);
		return flags;
	}
	if (p->tcp_syn) /* a connection's first packet: a reused tuple starts over */
		flags &= ~(MER_CT_F_SEEN_NON_SYN | MER_CT_F_CLOSING);
	else
		flags |= MER_CT_F_SEEN_NON_SYN;
	if (p->tcp_flags & (MER_TCP_FIN | MER_TCP_RST))
		flags |= MER_CT_F_CLOSING;

	if (p->tcp_flags & MER_TCP_RST)
		*lifetime = MER_CT_TIMEOUT(tcp_rst_s, MER_CT_DEFAULT_TCP_RST_S);
	else if (flags & MER_CT_F_CLOSING)
		*lifetime = MER_CT_TIMEOUT(tcp_fin_s, MER_CT_DEFAULT_TCP_FIN_S);
	else if (flags & MER_CT_F_SEEN_NON_SYN)
		*lifetime = MER_CT_TIMEOUT(tcp_established_s, MER_CT_DEFAULT_TCP_ESTABLISHED_S);
	else
		*lifetime = MER_CT_TIMEOUT(tcp_syn_s, MER_CT_DEFAULT_TCP_SYN_S);
	return flags;
}

/* Sets a new entry's state and expiry from its first packet. */
static __always_inline void mer_ct_start(struct mer_ct_entry *e, const struct mer_pkt *p, __u8 dir)
{
	__u32 lifetime;

	e->flags = mer_ct_next_state(p, dir, e->flags, &lifetime);
	e->expires_s = mer_mono_s() + lifetime;
}

/* A packet used the entry `e` (direction `dir`): its state and expiry
 * move on. Written only when they change. A UDP packet never shortens
 * the expiry (a flow's one entry, as a tunnelled pod flow's, serves both
 * directions; the answered lifetime stands); a TCP one may (FIN, RST). */
static __always_inline void mer_ct_touch(struct mer_ct_entry *e, const struct mer_pkt *p, __u8 dir)
{
	__u32 lifetime, expires;
	__u16 flags = mer_ct_next_state(p, dir, e->flags, &lifetime);

	expires = mer_mono_s() + lifetime;
	if (p->proto != IPPROTO_TCP && (__s32)(e->expires_s - expires) > 0)
		return;
	if (e->flags != flags)
		e->flags = flags;
	if (e->expires_s != expires)
		e->expires_s = expires;
}

#endif /* MERIDIAN_CT_LIFETIME_H */
