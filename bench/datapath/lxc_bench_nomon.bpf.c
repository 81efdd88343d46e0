// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The benchmark's entry points built without the monitor's code
 * (meridian/monitor.h): the baseline of `lxc-bench --monitor none`, against
 * which the cost of the monitor while nobody is attached is measured. */
#define MER_MONITOR_COMPILED_OUT 1
#include "lxc_bench.bpf.c"
