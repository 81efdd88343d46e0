#!/usr/bin/env bash
# East-west benchmark: one client pod -> one server pod on another node of the
# same cluster, through four translators, in the same lab and the same run:
#
#   direct    to the pod IP, no service translation (the physical limit)
#   iptables  kube-proxy-shaped iptables rules (iptables-restore) in the
#             client's node namespace, to the service VIP
#   nft       kube-proxy-shaped nftables rules (nft -f), same place, VIP
#   meridian  our tc programs on the client's host-side veth, VIP
#
# at every scale of --scales services (10 endpoints each; the measured
# service is the one in the middle, see bench/kubeproxy/kpgen.py). Per scale:
#   1. control plane, once: full sync from cold and one-endpoint update time
#      for iptables-restore, nft -f and meridian-agent (each capped by
#      --load-timeout; a capped load is reported as a lower bound), the
#      loaders' peak RSS, the agent's RSS and BPF map memory;
#   2. datapath, --rounds rounds; in every round the four modes run one after
#      another (so they share the VM's speed drifts), each: iperf3 1 flow and
#      4 flows, sockperf ping-pong TCP and UDP (p50/p99), connrate (new
#      connections/s and connect() latency = first-packet latency).
#      Exactly one translator is active at a time: iptables/nft tables are
#      loaded for their mode and deleted after it; Meridian's pinned programs
#      are attached to the client veth for its mode and detached after it
#      (the agent itself only runs during step 1).
#      Up to --full-chains-max services the baselines use the full rule set;
#      above, the sparse one (every VIP match rule present, full chains only
#      for the measured service: the same per-packet walk, loads in seconds).
#
# Writes raw rows (scale,mode,round,metric,value,note) to --out/eastwest-raw.csv.
# Run as root. Usage:
#   bench/run-eastwest-bench.sh [--quick] [--scales 1,1000,10000,50000]
#     [--rounds 5] [--seconds 1] [--load-timeout 120] [--full-chains-max 1000]
#     [--agent-timeout 600 (the agent's sync and update; reaching it is a failure)]
#     [--out DIR]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCALES=1,1000,10000,50000 ROUNDS=5 SECS=1 LOAD_TIMEOUT=120 FULL_MAX=1000 AGENT_TIMEOUT=600
OUT="$REPO/bench/results"
while (($#)); do
  case $1 in
    --quick) SCALES=1,1000 ROUNDS=2 SECS=1 LOAD_TIMEOUT=60; shift ;;
    --scales) SCALES=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --load-timeout) LOAD_TIMEOUT=$2; shift 2 ;;
    --agent-timeout) AGENT_TIMEOUT=$2; shift 2 ;;
    --full-chains-max) FULL_MAX=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,37p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
BIN=${MERIDIAN_BUILD_DIR:-$REPO/build}/bin
for b in meridian-agent meridian-echo connrate; do
  [[ -x $BIN/$b ]] || { echo "missing $BIN/$b: build it first (bench/bench does)" >&2; exit 1; }
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

source "$REPO/lab/lib.sh"
KPGEN="$REPO/bench/kubeproxy/kpgen.py"
EWTOOL="$REPO/bench/eastwest/ewtool.py"
PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d /tmp/meridian-ewbench.XXXXXX)
mkdir -p "$OUT"
RAW="$OUT/eastwest-raw.csv"
AGENT_PID=
cleanup() {
  [[ -n $AGENT_PID ]] && kill -TERM "$AGENT_PID" 2>/dev/null && sleep 1
  [[ -n $AGENT_PID ]] && kill -KILL "$AGENT_PID" 2>/dev/null
  "$REPO/lab/meridian-lab" down --prefix "$PREFIX" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
T0=$(date +%s)
say() { printf '[%s] %s\n' "$(date -u -d "@$(($(date +%s) - T0))" +%M:%S)" "$*"; }

say "lab $PREFIX: 1 cluster x 2 nodes x 1 pod + client (client on node 1, server c1n2p1 on node 2)"
"$REPO/lab/meridian-lab" up --prefix "$PREFIX" --clusters 1 --nodes 2 --pods 1 --client \
  --bin-dir "$BIN" >/dev/null
lab_load_env "$PREFIX"
N1=$(lab_node_ns "$PREFIX" 1 1)
CVETH=${PREFIX}lc
SERVER=c1n2p1
SERVER_IP=$(lab_pod_ip $SERVER)
PIN=/sys/fs/bpf/meridian/$N1
lab_exec_pod "$PREFIX" $SERVER iperf3 -s -p 5201 -D
lab_exec_pod "$PREFIX" $SERVER sockperf sr --tcp -p 11111 >/dev/null 2>&1 &
lab_exec_pod "$PREFIX" $SERVER sockperf sr -p 11111 >/dev/null 2>&1 &
lab_exec_pod "$PREFIX" c1client sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
sleep 0.5

echo "scale,mode,round,metric,value,note" >"$RAW"
row() { echo "$1,$2,$3,$4,$5,${6:-}" >>"$RAW"; }

# ---------------------------------------------------------------- modes
nat_clear() {  # remove every table the baselines create (only in N1)
  ip netns exec "$N1" nft delete table ip nat 2>/dev/null || true
  ip netns exec "$N1" nft delete table ip kube-proxy 2>/dev/null || true
}
setup_direct() { :; }
teardown_direct() { :; }
setup_iptables() { ip netns exec "$N1" iptables-restore <"$WORK/ipt-dp.txt"; }
teardown_iptables() { nat_clear; }
setup_nft() { ip netns exec "$N1" nft -f "$WORK/nft-dp.txt"; }
teardown_nft() { nat_clear; }
setup_meridian() {
  # nsenter, not tc -n: tc -n remounts /sys, hiding the bpffs pins
  nsenter --net="/run/netns/$N1" tc qdisc add dev "$CVETH" clsact
  nsenter --net="/run/netns/$N1" tc filter add dev "$CVETH" ingress bpf direct-action pinned "$PIN/prog_from_pod"
  nsenter --net="/run/netns/$N1" tc filter add dev "$CVETH" egress bpf direct-action pinned "$PIN/prog_to_pod"
}
teardown_meridian() { tc -n "$N1" qdisc del dev "$CVETH" clsact 2>/dev/null || true; }

in_client() { lab_exec_pod "$PREFIX" c1client "$@"; }

measure() {  # measure SCALE MODE ROUND TARGET
  local n=$1 mode=$2 r=$3 t=$4 out g1 g4 tp50 tp99 up50 up99 cr
  local j='import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9, 3))'
  out=$(in_client timeout $((SECS + 10)) iperf3 -c "$t" -p 5201 -t "$SECS" -J) || true
  g1=$(python3 -c "$j" <<<"$out" 2>/dev/null) || say "  iperf3 failed: $(grep -m1 '"error"' <<<"$out")"
  out=$(in_client timeout $((SECS + 10)) iperf3 -c "$t" -p 5201 -t "$SECS" -P 4 -J) || true
  g4=$(python3 -c "$j" <<<"$out" 2>/dev/null) || say "  iperf3 -P 4 failed: $(grep -m1 '"error"' <<<"$out")"
  out=$(in_client timeout $((SECS + 10)) sockperf pp --tcp -i "$t" -p 11111 -t "$SECS" 2>&1)
  tp50=$(awk '/percentile 50.000/ {print $NF}' <<<"$out")
  tp99=$(awk '/percentile 99.000/ {print $NF}' <<<"$out")
  out=$(in_client timeout $((SECS + 10)) sockperf pp -i "$t" -p 11111 -t "$SECS" 2>&1)
  up50=$(awk '/percentile 50.000/ {print $NF}' <<<"$out")
  up99=$(awk '/percentile 99.000/ {print $NF}' <<<"$out")
  cr=$(in_client timeout $((SECS + 10)) "$BIN/connrate" --host "$t" --port 8080 --seconds "$SECS") || true
  declare -A c=()
  local kv
  for kv in $cr; do c[${kv%%=*}]=${kv#*=}; done
  [[ -n $g1 && -n $g4 && -n $tp50 && -n $up50 && -n ${c[rate]:-} ]] ||
    { say "measure $n $mode failed (tcp1=$g1 tcp4=$g4 tcp_p50=$tp50 udp_p50=$up50 conn='$cr')"; return 1; }
  row "$n" "$mode" "$r" tcp1_gbps "$g1"
  row "$n" "$mode" "$r" tcp4_gbps "$g4"
  row "$n" "$mode" "$r" tcp_rr_p50_us "$tp50"
  row "$n" "$mode" "$r" tcp_rr_p99_us "$tp99"
  row "$n" "$mode" "$r" udp_rr_p50_us "$up50"
  row "$n" "$mode" "$r" udp_rr_p99_us "$up99"
  row "$n" "$mode" "$r" conn_per_s "${c[rate]}"
  row "$n" "$mode" "$r" conn_errors "${c[errors]}"
  if ((${c[conns]:-0} > 0)); then  # latencies of a run without one good connection mean nothing
    row "$n" "$mode" "$r" first_pkt_p50_us "${c[connect_p50_us]}"
    row "$n" "$mode" "$r" first_pkt_p99_us "${c[connect_p99_us]}"
    row "$n" "$mode" "$r" conn_txn_p50_us "${c[txn_p50_us]}"
  fi
  say "  n=$n r=$r $(printf '%-8s' "$mode") tcp1 $g1 tcp4 $g4 Gbit/s | rr p50 tcp $tp50 udp $up50 us | conn/s ${c[rate]} first-pkt p50 ${c[connect_p50_us]} us (errors ${c[errors]})"
}

# ------------------------------------------------- control plane, per scale
timed_load() {  # timed_load SCALE MODE METRIC FILE CMD... -> row; returns 1 if timed out/failed
  local n=$1 mode=$2 metric=$3 file=$4 res el rss rc
  shift 4
  res=$(python3 "$EWTOOL" timed --timeout "$LOAD_TIMEOUT" --stdin "$file" -- "$@")
  read -r el rss rc <<<"$res"
  if [[ $rc == 124 ]]; then
    row "$n" "$mode" 0 "$metric" "$el" "lower bound: timed out"
    say "  $mode $metric > ${el} s (timed out)"
    return 1
  elif [[ $rc != 0 ]]; then
    row "$n" "$mode" 0 "$metric" "" "failed rc=$rc"
    say "  $mode $metric FAILED rc=$rc"
    return 1
  fi
  row "$n" "$mode" 0 "$metric" "$el"
  [[ $metric == full_sync_s ]] && row "$n" "$mode" 0 loader_peak_rss_mib "$rss"
  say "  $mode $metric ${el} s (loader peak RSS ${rss} MiB)"
}

control_plane() {  # control_plane SCALE
  local n=$1 nsvc want caps_s caps_b before t rss mem cnt
  nat_clear
  python3 "$KPGEN" iptables --services "$n" --server "$SERVER_IP" --out "$WORK/ipt-full.txt"
  python3 "$KPGEN" iptables --services "$n" --server "$SERVER_IP" --update --out "$WORK/ipt-upd.txt"
  python3 "$KPGEN" nft --services "$n" --server "$SERVER_IP" --out "$WORK/nft-full.txt"
  python3 "$KPGEN" nft --services "$n" --server "$SERVER_IP" --update --out "$WORK/nft-upd.txt"
  row "$n" iptables 0 rules_lines "$(wc -l <"$WORK/ipt-full.txt")"
  row "$n" nft 0 rules_lines "$(wc -l <"$WORK/nft-full.txt")"
  say "scale $n: full sync iptables-restore ($(wc -l <"$WORK/ipt-full.txt") lines, cap ${LOAD_TIMEOUT}s)"
  if timed_load "$n" iptables full_sync_s "$WORK/ipt-full.txt" ip netns exec "$N1" iptables-restore; then
    timed_load "$n" iptables update_s "$WORK/ipt-upd.txt" ip netns exec "$N1" iptables-restore --noflush || true
  else
    row "$n" iptables 0 update_s "" "not measured: full load did not finish"
  fi
  nat_clear
  say "scale $n: full sync nft -f ($(wc -l <"$WORK/nft-full.txt") lines)"
  if timed_load "$n" nft full_sync_s "$WORK/nft-full.txt" ip netns exec "$N1" nft -f -; then
    timed_load "$n" nft update_s "$WORK/nft-upd.txt" ip netns exec "$N1" nft -f - || true
  else
    row "$n" nft 0 update_s "" "not measured: full load did not finish"
  fi
  nat_clear

  # Meridian: cold start (no pins) -> serving every frontend.
  rm -rf "$WORK/manifests" "$PIN" "$WORK/agent-state"
  # JSON (v1 Lists): the agent's fast path, and what a Kubernetes watch
  # delivers; the YAML path costs ~4 s more at 10k services (docs/benchmarks.md).
  python3 "$KPGEN" manifests --format json --services "$n" --server "$SERVER_IP" --out "$WORK/manifests" >/dev/null
  python3 "$KPGEN" manifests --format json --services "$n" --server "$SERVER_IP" --update --out "$WORK/upd.json"
  local utarget=update-target.json
  ((n == 1)) && utarget=bench.json
  cp "$WORK/manifests/$utarget" "$WORK/orig.json"
  want=$((n - 1 + 4))                       # frontends: 1 port per filler, 4 for bench
  caps_s=4096; while ((caps_s < 2 * want + 64)); do caps_s=$((caps_s * 2)); done
  nsvc=$((n * 10)); ((nsvc > 60000)) && nsvc=60000
  caps_b=8192; while ((caps_b < nsvc + 64)); do caps_b=$((caps_b * 2)); done
  # Maglev slots: a 1601-slot table per 10-endpoint service, plus a quarter
  # for tables being replaced.
  local caps_m=$((n * 1601 + n * 1601 / 4 + 65536))
  before=$(python3 "$EWTOOL" maps-before)
  say "scale $n: full sync meridian-agent ($want frontends, --max-services $caps_s --max-backends $caps_b --maglev-slots $caps_m)"
  if t=$(python3 "$EWTOOL" agent-sync --status "$WORK/agent-state/status.json" --services "$want" \
      --pidfile "$WORK/agent.pid" --log "$WORK/agent.log" --timeout "$AGENT_TIMEOUT" -- \
      nsenter --net="/run/netns/$N1" "$BIN/meridian-agent" --node "$N1" --manifests "$WORK/manifests" \
      --pod-interfaces "$LAB_HOST_VETH_GLOB" --state-dir "$WORK/agent-state" \
      --max-services "$caps_s" --max-backends "$caps_b" --maglev-slots "$caps_m" \
      --max-conntrack 65536 --detach-on-exit); then
    AGENT_PID=$(<"$WORK/agent.pid")
    row "$n" meridian 0 full_sync_s "$t"
    # The same sync by phase, as the agent timed it: the map writer alone
    # is the counterpart of iptables-restore loading a prepared ruleset.
    local p_read p_desired p_write
    read -r p_read p_desired p_write <<<"$(python3 "$EWTOOL" phases --status "$WORK/agent-state/status.json")"
    row "$n" meridian 0 read_s "$p_read"
    row "$n" meridian 0 desired_s "$p_desired"
    row "$n" meridian 0 writer_s "$p_write"
    say "  meridian phases: read ${p_read} s, desired ${p_desired} s, map writer ${p_write} s"
    rss=$(python3 "$EWTOOL" rss --pid "$AGENT_PID")
    read -r mem cnt <<<"$(python3 "$EWTOOL" map-mem --before "$before")"
    row "$n" meridian 0 agent_rss_mib "$rss"
    row "$n" meridian 0 bpf_map_mib "$mem" "$cnt maps"
    say "  meridian full_sync_s $t s, agent RSS $rss MiB, BPF maps $mem MiB ($cnt maps)"
    if t=$(python3 "$EWTOOL" update --status "$WORK/agent-state/status.json" --file "$WORK/manifests/$utarget" \
        --content "$WORK/upd.json" --timeout "$AGENT_TIMEOUT"); then
      row "$n" meridian 0 update_s "$t"
      say "  meridian update_s $t s"
    else
      row "$n" meridian 0 update_s "" "failed"
    fi
    python3 "$EWTOOL" update --status "$WORK/agent-state/status.json" --file "$WORK/manifests/$utarget" \
      --content "$WORK/orig.json" --timeout "$AGENT_TIMEOUT" >/dev/null
  else
    row "$n" meridian 0 full_sync_s "$AGENT_TIMEOUT" "lower bound: timed out"
    say "  meridian full sync timed out; log:"; tail -5 "$WORK/agent.log"
    AGENT_PID=$(<"$WORK/agent.pid")
  fi
  kill -TERM "$AGENT_PID"
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$AGENT_PID" 2>/dev/null || true
  AGENT_PID=
  teardown_meridian
}

# ---------------------------------------------------------------- main loop
IFS=, read -r -a scale_list <<<"$SCALES"
say "scales ${SCALES}, $ROUNDS rounds, ${SECS} s per test, load timeout ${LOAD_TIMEOUT} s"
for n in "${scale_list[@]}"; do
  control_plane "$n"
  [[ -e $PIN/prog_from_pod ]] || { say "no pinned program in $PIN: meridian mode skipped"; }
  sparse=""
  ((n > FULL_MAX)) && sparse=--sparse
  python3 "$KPGEN" iptables --services "$n" --server "$SERVER_IP" $sparse --out "$WORK/ipt-dp.txt"
  python3 "$KPGEN" nft --services "$n" --server "$SERVER_IP" $sparse --out "$WORK/nft-dp.txt"
  row "$n" all 0 datapath_ruleset "${sparse:-full}"
  VIP=$(python3 -c "import sys; sys.path.insert(0,'$REPO/bench/kubeproxy'); import kpgen; print(list(kpgen.services($n,'x'))[kpgen.measured_index($n)].vip)")
  for ((r = 1; r <= ROUNDS; r++)); do
    say "scale $n round $r/$ROUNDS (ruleset ${sparse:-full}, VIP $VIP)"
    for mode in direct iptables nft meridian; do
      [[ $mode == meridian && ! -e $PIN/prog_from_pod ]] && continue
      target=$VIP
      [[ $mode == direct ]] && target=$SERVER_IP
      "setup_$mode"
      sleep 0.2
      measure "$n" "$mode" "$r" "$target" || true
      "teardown_$mode"
    done
  done
done
say "done: $RAW"
