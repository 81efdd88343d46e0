/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The benchmark's template packet, shared by lxc_bench.bpf.c and the C++
 * harness (the skeleton exposes it as skel->bss->tmpl). */
#ifndef MERIDIAN_BENCH_ABI_H
#define MERIDIAN_BENCH_ABI_H

#ifdef __cplusplus
#include <cstdint>
typedef std::uint8_t bench_u8;
typedef std::uint32_t bench_u32;
#else
typedef __u8 bench_u8;
typedef __u32 bench_u32;
#endif

#define BENCH_HDR_LEN 54 /* Ethernet + IPv4 + TCP, no options */

struct bench_tmpl {
	bench_u8 bytes[BENCH_HDR_LEN];
	bench_u8 pad[2];
	bench_u32 vary_sport; /* 1: a new flow on every run (conntrack miss) */
	bench_u32 seq;
};

#endif /* MERIDIAN_BENCH_ABI_H */
