#!/usr/bin/env bash
# What the monitor (meridianctl monitor) costs, in the same run:
#
#   1. per packet of the pod datapath (lxc-bench, BPF_PROG_TEST_RUN): a new
#      flow (conntrack miss) and a conntrack hit, with the monitor's code
#      compiled out (none: the baseline), in but nobody attached (off: what
#      every node runs), a monitor attached taking every event (full) and
#      one in 100 (1/100), interleaved within every run;
#   2. real traffic through a cross-cluster Service (every packet tunnelled,
#      so every packet is an event at full rate): TCP request/response
#      (sockperf ping-pong, p50) and one TCP stream (iperf3), with no
#      monitor, a monitor at full rate and one sampling 1/100 on the
#      client's node, alternating within every round.
#
# Writes bench/results/monitor.md. Run as root.
#
# Usage: bench/run-monitor-bench.sh [--rounds 3] [--seconds 5] [--runs 31] [--out DIR]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=3 SECONDS_PER_TEST=5 RUNS=31
OUT="$REPO/bench/results"
ARGS="$*"
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --seconds) SECONDS_PER_TEST=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
echo "== step 1 of 4: dependencies and build"
"$REPO/scripts/install-deps.sh" >/dev/null
"$REPO/scripts/build.sh" --target meridian-agent meridianctl meridian-echo lxc-bench >/dev/null
mkdir -p "$OUT"

echo "== step 2 of 4: lxc-bench, $RUNS runs of each setting ($(date -u +%T))"
# shellcheck disable=SC2054  # the commas are lxc-bench syntax
LXC_ARGS=(--services 1 --repeat 100000 --runs "$RUNS" --monitor none,off,full,1/100)
micro=$("$REPO/build/bin/lxc-bench" "${LXC_ARGS[@]}" 2>/dev/null)

source "$REPO/lab/lib.sh"
source "$REPO/lab/agents.sh"
source "$REPO/lab/manifests.sh"
PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d /tmp/meridian-monbench.XXXXXX)
MON=
cleanup() {
  [[ -n $MON ]] && kill "$MON" 2>/dev/null
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$REPO/lab/meridian-lab" down --prefix "$PREFIX" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== step 3 of 4: lab $PREFIX (2 clusters x 1 node x 1 pod + client) ($(date -u +%T))"
"$REPO/lab/meridian-lab" up --prefix "$PREFIX" --clusters 2 --nodes 1 --pods 1 --client \
  --bin-dir "$REPO/build/bin" >/dev/null
lab_load_env "$PREFIX"
N1=$(lab_node_ns "$PREFIX" 1 1)
VIP=10.96.0.50
lab_exec_pod "$PREFIX" c2n1p1 iperf3 -s -p 5201 -D
lab_exec_pod "$PREFIX" c2n1p1 sockperf sr --tcp -p 11111 >/dev/null 2>&1 &
mkdir -p "$WORK/m/c1" "$WORK/m/c2"
"$REPO/lab/meridian-lab" manifests --prefix "$PREFIX" --out "$WORK/clusters" >/dev/null
for c in c1 c2; do cp "$WORK/clusters/"*.yaml "$WORK/m/$c/"; done
service_yaml() { lab_service_yaml bench "$VIP" "iperf:TCP:5201:5201,sockperf:TCP:11111:11111" c2n1p1; }
service_yaml >"$WORK/m/c1/bench.yaml"
{
  service_yaml
  lab_service_export bench
} >"$WORK/m/c2/bench.yaml"
lab_agents_start_clusterset "$WORK/m" >/dev/null

start_monitor() {  # start_monitor off|full|1/N
  MON=
  [[ $1 == off ]] && return 0
  local sample=1
  [[ $1 == 1/* ]] && sample=${1#1/}
  lab_monitor_start "$N1" /dev/null "$WORK/monitor.err" -o json --sample "$sample"
  MON=$LAB_MONITOR_PID
  for _ in $(seq 50); do grep -q "monitor: attached" "$WORK/monitor.err" 2>/dev/null && return 0; sleep 0.1; done
  echo "monitor did not attach: $(cat "$WORK/monitor.err")" >&2
  return 1
}
stop_monitor() {
  [[ -z $MON ]] && return 0
  kill -INT "$MON"
  wait "$MON" || { echo "monitor exited with $?: $(cat "$WORK/monitor.err")" >&2; return 1; }
  MON=
}
events() { "$REPO/build/bin/meridianctl" --node "$N1" stats monitor_events monitor_lost | paste -sd ' '; }

echo "== step 4 of 4: $ROUNDS rounds x 3 settings x ${SECONDS_PER_TEST} s x 2 tests ($(date -u +%T))"
echo "setting,round,gbps,p50_us,events,lost" >"$WORK/raw.csv"
for ((r = 1; r <= ROUNDS; r++)); do
  for setting in off full 1/100; do
    read -r ev0 lost0 < <(events)
    start_monitor "$setting"
    gbps=$(lab_exec_pod "$PREFIX" c1client timeout $((SECONDS_PER_TEST + 10)) \
      iperf3 -c "$VIP" -p 5201 -t "$SECONDS_PER_TEST" -J |
      python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9, 3))')
    lat=$(lab_exec_pod "$PREFIX" c1client timeout $((SECONDS_PER_TEST + 10)) \
      sockperf pp --tcp -i "$VIP" -p 11111 -t "$SECONDS_PER_TEST" 2>&1)
    p50=$(awk '/percentile 50.000/ {print $NF}' <<<"$lat")
    stop_monitor
    read -r ev1 lost1 < <(events)
    echo "$setting,$r,$gbps,$p50,$((ev1 - ev0)),$((lost1 - lost0))" >>"$WORK/raw.csv"
    printf '   round %s/%s %-6s %6.2f Gbit/s  p50 %7.2f us  events %s lost %s\n' "$r" "$ROUNDS" \
      "$setting" "$gbps" "$p50" "$((ev1 - ev0))" "$((lost1 - lost0))"
  done
done

python3 - "$WORK/raw.csv" "$ARGS" "$ROUNDS" "$SECONDS_PER_TEST" "${LXC_ARGS[*]}" >"$OUT/monitor.md" <<PY
import csv, statistics, sys, platform, os
rows = list(csv.DictReader(open(sys.argv[1])))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("# What the monitor costs (meridianctl monitor)\n")
print(f"Command: \`bench/run-monitor-bench.sh {sys.argv[2]}\`\n")
print(f"Machine: {os.cpu_count()} CPUs, {cpu}, kernel {platform.release()}\n")
print("## Per packet of the pod datapath\n")
print(f"\`lxc-bench {sys.argv[5]}\`: ns/pkt of mer_from_pod (BPF_PROG_TEST_RUN), median of the runs; the")
print("settings alternate within every run. none: the monitor's code compiled out (the baseline); off: in,")
print("nobody attached (every node, always); full: a reader attached taking every event; 1/100: sampled.")
print("A conntrack hit never reads the monitor's state; a new flow reads it once.\n")
print("""$micro""")
print("\n## Real traffic through a cross-cluster Service\n")
print(f"Client pod in c1 -> VIP -> server pod in c2, every packet tunnelled (so at full rate every packet is")
print(f"an event on the client's node: encap, decap). iperf3 (one TCP stream) and sockperf ping-pong (TCP, p50),")
print(f"{sys.argv[4]} s each, {sys.argv[3]} rounds, settings alternating within every round; median of the rounds.")
print("events / lost: monitor_events / monitor_lost on the client's node during the setting.\n")
print("| monitor | Gbit/s (min–max) | vs off | sockperf p50 µs | vs off | events | lost |")
print("|---------|-----------------:|-------:|----------------:|-------:|-------:|-----:|")
med = {}
for s in ("off", "full", "1/100"):
    r = [x for x in rows if x["setting"] == s]
    g = [float(x["gbps"]) for x in r]; p = [float(x["p50_us"]) for x in r]
    med[s] = (statistics.median(g), statistics.median(p), min(g), max(g),
              sum(int(x["events"]) for x in r), sum(int(x["lost"]) for x in r))
for s in ("off", "full", "1/100"):
    g, p, lo, hi, ev, lost = med[s]
    print(f"| {s} | {g:.2f} ({lo:.2f}–{hi:.2f}) | {g/med['off'][0]:.3f} | {p:.2f} | {p/med['off'][1]:.3f} | {ev} | {lost} |")
PY
cat "$OUT/monitor.md"
