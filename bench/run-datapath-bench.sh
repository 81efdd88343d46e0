#!/usr/bin/env bash
# Per-packet cost of the pod datapath (mer_from_pod) vs the number of
# services installed: conntrack miss (new flow) and hit, at 1, 1k, 10k and
# 100k services, through BPF_PROG_TEST_RUN (repeat 1e6, median of 5 runs).
# Writes bench/results/datapath.md and datapath.csv. Run as root.
#
# Usage: bench/run-datapath-bench.sh [lxc-bench flags...]   e.g. --repeat 200000
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT="$REPO/bench/results"
mkdir -p "$OUT"
"$REPO/scripts/install-deps.sh" >/dev/null
"$REPO/scripts/build.sh" --target lxc-bench >/dev/null

# shellcheck disable=SC2054  # the commas are lxc-bench syntax
args=(--services 1,1000,10000,100000 --repeat 1000000 --runs 9 "$@")
table=$("$REPO/build/bin/lxc-bench" "${args[@]}" --csv "$OUT/datapath.csv")
{
  echo "# Datapath cost per packet (mer_from_pod)"
  echo
  echo "Command: \`bench/run-datapath-bench.sh $*\` → \`lxc-bench ${args[*]}\`"
  echo
  echo "Machine: $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r), $(date -u +%Y-%m-%d)"
  echo
  echo "ns/pkt = time of the restore+datapath program minus that of the restore-only program"
  echo "(per run, then the median; see docs/benchmarks.md). Every run checked that all packets took the timed path (counters)."
  echo
  echo "$table"
} >"$OUT/datapath.md"
cat "$OUT/datapath.md"
