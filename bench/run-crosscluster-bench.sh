#!/usr/bin/env bash
# Cross-cluster east-west benchmark: a client pod in cluster c1 talks to a
# server pod in cluster c2, three ways, in the same lab and the same run:
#
#   meridian  through a Service VIP, translated and VXLAN-encapsulated by
#             our tc programs, decapsulated by tc on the remote uplink
#   meridian-xdp  the same, decapsulated by our XDP program instead
#   vxlan     the kernel's own vxlan device between the two nodes, plain
#             routes, pod IP (no service translation)
#   direct    plain routing through the same router, no encapsulation
#
# TCP stream throughput (iperf3, one flow) and TCP request/response latency
# (sockperf ping-pong, p50/p99), each the median over --rounds rounds; the
# three modes alternate within every round so that they share this VM's
# speed drifts. Writes bench/results/crosscluster.{md,csv}. Run as root.
#
# Usage: bench/run-crosscluster-bench.sh [--rounds 3] [--seconds 5] [--out DIR]
# (DIR defaults to bench/results; bench/bench --quick passes bench/results/quick)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=3 SECONDS_PER_TEST=5
OUT="$REPO/bench/results"
while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --seconds) SECONDS_PER_TEST=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
"$REPO/scripts/install-deps.sh" >/dev/null
"$REPO/scripts/build.sh" --target meridian-agent meridianctl meridian-echo >/dev/null

source "$REPO/lab/lib.sh"
source "$REPO/lab/agents.sh"
source "$REPO/lab/manifests.sh"
PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d /tmp/meridian-xbench.XXXXXX)
mkdir -p "$OUT"
cleanup() {
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$REPO/lab/meridian-lab" down --prefix "$PREFIX" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== lab $PREFIX: 2 clusters x 1 node x 1 pod + client"
"$REPO/lab/meridian-lab" up --prefix "$PREFIX" --clusters 2 --nodes 1 --pods 1 --client \
  --bin-dir "$REPO/build/bin" >/dev/null
lab_load_env "$PREFIX"
N1=$(lab_node_ns "$PREFIX" 1 1)
N2=$(lab_node_ns "$PREFIX" 2 1)
SERVER_IP=$(lab_pod_ip c2n1p1)
VIP=10.96.0.50
lab_exec_pod "$PREFIX" c2n1p1 iperf3 -s -p 5201 -D
lab_exec_pod "$PREFIX" c2n1p1 sockperf sr --tcp -p 11111 >/dev/null 2>&1 &

# --- manifests for the meridian mode ---------------------------------------
mkdir -p "$WORK/m/c1" "$WORK/m/c2"
"$REPO/lab/meridian-lab" manifests --prefix "$PREFIX" --out "$WORK/clusters" >/dev/null
for c in c1 c2; do cp "$WORK/clusters/"*.yaml "$WORK/m/$c/"; done
service_yaml() {
  lab_service_yaml bench "$VIP" "iperf:TCP:5201:5201,sockperf:TCP:11111:11111" c2n1p1
}
service_yaml >"$WORK/m/c1/bench.yaml"
{
  service_yaml
  lab_service_export bench
} >"$WORK/m/c2/bench.yaml"

# --- the three modes ---------------------------------------------------------
detach_all() {  # remove every tc filter the agents left (they outlive the agent)
  local ns dev
  for ns in "$N1" "$N2"; do
    for dev in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
      tc -n "$ns" qdisc del dev "$dev" clsact 2>/dev/null || true
    done
  done
}
setup_meridian() { lab_agents_start_clusterset "$WORK/m" --uplink-decap tc >/dev/null; }
teardown_meridian() { lab_agents_stop; detach_all; }
setup_meridian-xdp() { lab_agents_start_clusterset "$WORK/m" --uplink-decap xdp >/dev/null; }
teardown_meridian-xdp() {
  lab_agents_stop
  detach_all
  ip -n "$N1" link set "${PREFIX}up" xdp off 2>/dev/null || true
  ip -n "$N2" link set "${PREFIX}up" xdp off 2>/dev/null || true
}
setup_vxlan() {
  ip -n "$N1" link add vxb type vxlan id 4242 dstport 4790 local 172.16.1.11 remote 172.16.2.11 dev "${PREFIX}up"
  ip -n "$N2" link add vxb type vxlan id 4242 dstport 4790 local 172.16.2.11 remote 172.16.1.11 dev "${PREFIX}up"
  ip -n "$N1" addr add 192.168.250.1/30 dev vxb
  ip -n "$N2" addr add 192.168.250.2/30 dev vxb
  ip -n "$N1" link set vxb up
  ip -n "$N2" link set vxb up
  ip -n "$N1" route add 10.2.0.0/16 via 192.168.250.2 dev vxb
  ip -n "$N2" route add 10.1.0.0/16 via 192.168.250.1 dev vxb
}
teardown_vxlan() { ip -n "$N1" link del vxb; ip -n "$N2" link del vxb; }
setup_direct() {
  ip -n "$LAB_ROUTER_NS" route add 10.1.0.0/16 via 172.16.1.11
  ip -n "$LAB_ROUTER_NS" route add 10.2.0.0/16 via 172.16.2.11
  ip -n "$N1" route add 10.2.0.0/16 via 172.16.1.1
  ip -n "$N2" route add 10.1.0.0/16 via 172.16.2.1
}
teardown_direct() {
  ip -n "$LAB_ROUTER_NS" route del 10.1.0.0/16
  ip -n "$LAB_ROUTER_NS" route del 10.2.0.0/16
  ip -n "$N1" route del 10.2.0.0/16
  ip -n "$N2" route del 10.1.0.0/16
}
target_of() { [[ $1 == meridian* ]] && echo "$VIP" || echo "$SERVER_IP"; }

measure() {  # measure MODE ROUND -> appends "mode,round,gbps,p50_us,p99_us" to the CSV
  local mode=$1 round=$2 target gbps lat p50 p99
  target=$(target_of "$mode")
  gbps=$(lab_exec_pod "$PREFIX" c1client timeout $((SECONDS_PER_TEST + 10)) \
    iperf3 -c "$target" -p 5201 -t "$SECONDS_PER_TEST" -J |
    python3 -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9, 3))')
  lat=$(lab_exec_pod "$PREFIX" c1client timeout $((SECONDS_PER_TEST + 10)) \
    sockperf pp --tcp -i "$target" -p 11111 -t "$SECONDS_PER_TEST" 2>&1)
  p50=$(awk '/percentile 50.000/ {print $NF}' <<<"$lat")
  p99=$(awk '/percentile 99.000/ {print $NF}' <<<"$lat")
  [[ -n $gbps && -n $p50 && -n $p99 ]] || { echo "measure $mode failed: $lat" >&2; return 1; }
  echo "$mode,$round,$gbps,$p50,$p99" >>"$WORK/raw.csv"
  printf '   round %s %-12s %7.2f Gbit/s  p50 %7.2f us  p99 %7.2f us\n' "$round" "$mode" "$gbps" "$p50" "$p99"
}

echo "mode,round,gbps,p50_us,p99_us" >"$WORK/raw.csv"
for ((r = 1; r <= ROUNDS; r++)); do
  echo "== round $r of $ROUNDS"
  for mode in meridian meridian-xdp vxlan direct; do
    "setup_$mode"
    sleep 0.5
    measure "$mode" "$r"
    "teardown_$mode"
  done
done
cp "$WORK/raw.csv" "$OUT/crosscluster.csv"

python3 - "$WORK/raw.csv" "$*" "$ROUNDS" "$SECONDS_PER_TEST" >"$OUT/crosscluster.md" <<'PY'
import csv, statistics, sys, platform, os
rows = list(csv.DictReader(open(sys.argv[1])))
med = {}
for mode in ("meridian", "meridian-xdp", "vxlan", "direct"):
    r = [x for x in rows if x["mode"] == mode]
    med[mode] = {k: statistics.median(float(x[k]) for x in r) for k in ("gbps", "p50_us", "p99_us")}
    med[mode]["spread"] = (min(float(x["gbps"]) for x in r), max(float(x["gbps"]) for x in r))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("# Cross-cluster east-west: Meridian tunnel vs kernel vxlan vs direct routing\n")
print(f"Command: `bench/run-crosscluster-bench.sh {sys.argv[2]}` ({sys.argv[3]} rounds, {sys.argv[4]} s per test)\n")
print(f"Machine: {os.cpu_count()} CPUs, {cpu}, kernel {platform.release()}\n")
print("One TCP flow (iperf3) and TCP ping-pong (sockperf, latency as sockperf reports it: half the round trip),")
print("client pod in c1 -> server pod in c2 through one router; pod MTU 1450 in every mode. Median of the rounds.\n")
print("| mode | throughput Gbit/s (min–max) | p50 µs | p99 µs | throughput vs vxlan | p50 vs vxlan | throughput vs direct | p50 vs direct |")
print("|------|------------------:|-------:|-------:|-----:|-----:|-----:|-----:|")
for mode in ("meridian", "meridian-xdp", "vxlan", "direct"):
    m = med[mode]
    print(f"| {mode} | {m['gbps']:.2f} ({m['spread'][0]:.2f}–{m['spread'][1]:.2f}) | {m['p50_us']:.2f} | {m['p99_us']:.2f} | "
          f"{m['gbps']/med['vxlan']['gbps']:.2f} | {m['p50_us']/med['vxlan']['p50_us']:.2f} | "
          f"{m['gbps']/med['direct']['gbps']:.2f} | {m['p50_us']/med['direct']['p50_us']:.2f} |")
PY
cat "$OUT/crosscluster.md"
