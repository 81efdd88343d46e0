/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The NodePort benchmark's template frame, shared by nodeport_bench.bpf.c
 * and the C++ harness (the skeleton exposes it as skel->bss->tmpl). */
#ifndef MERIDIAN_NODEPORT_BENCH_ABI_H
#define MERIDIAN_NODEPORT_BENCH_ABI_H

#ifdef __cplusplus
#include <cstdint>
typedef std::uint8_t npb_u8;
typedef std::uint16_t npb_u16;
typedef std::uint32_t npb_u32;
#else
typedef __u8 npb_u8;
typedef __u16 npb_u16;
typedef __u32 npb_u32;
#endif

#define NPB_HDR_LEN	 42 /* Ethernet + IPv4 + UDP, no options */
#define NPB_SPORT_OFF	 34
#define NPB_BACKEND_PORT 8080 /* the backends' port: what the sink counts */

struct npb_tmpl {
	npb_u8 bytes[NPB_HDR_LEN];
	npb_u16 sport_base; /* host order */
	npb_u32 flows;	    /* source ports sport_base .. sport_base + flows - 1 */
	npb_u32 seq;
};

#endif /* MERIDIAN_NODEPORT_BENCH_ABI_H */
