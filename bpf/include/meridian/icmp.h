/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ICMP definitions. linux/icmp.h drags in glibc's socket headers, which do
 * not build for the BPF target; the few needed are spelled out here. */
#ifndef MERIDIAN_ICMP_H
#define MERIDIAN_ICMP_H

#include <linux/types.h>

#define MER_ICMP_DEST_UNREACH  3
#define MER_ICMP_PORT_UNREACH  3
#define MER_ICMP_FRAG_NEEDED   4
#define MER_ICMP_TIME_EXCEEDED 11
#define MER_ICMP_PARAMETERPROB 12
#define MER_IPPROTO_ICMP       1

struct mer_icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 unused;
	__be16 mtu; /* next-hop MTU of a fragmentation-needed error (RFC 1191) */
};

#endif /* MERIDIAN_ICMP_H */
