#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# NodePort DSR versus SNAT, measured from a client outside the cluster, in
# one run. A namespace lab (1 cluster x 2 nodes x 1 pod, meridian-lab
# --outside) and one Service of type NodePort with a single endpoint, pod
# c1n2p1 on node 2; every flow enters through node 1's address, so each one
# crosses to node 2:
#
#   snat  node 1 SNATs the flow to its own address; the pod's replies go
#         back to node 1, whose XDP program reverses the NAT and sends them
#         on to the client
#   dsr   node 1 DNATs and VXLAN-encapsulates the flow to node 2; the pod's
#         replies leave node 2 straight for the client
#
# For every round (snat, then dsr) the agents restart in that mode and the
# outside client measures: iperf3 through nodePort 30201, one TCP flow,
# server -> client (-R, the reply path DSR changes) and client -> server;
# sockperf ping-pong, UDP through nodePort 30112 and TCP through 30111,
# average and p99 latency as sockperf reports it (half the round trip).
# The datapath counters must prove the mode (else the run aborts): in snat
# rounds node 1's nodeport_snat rose and neither node 1's nodeport_dsr nor
# node 2's nodeport_dsr_in did; in dsr rounds the opposite.
#
# Writes OUT/nodeport-dsr.md (median, min and max over the rounds, ratio
# dsr/snat) and OUT/nodeport-dsr.csv (every sample: mode,round,metric,value).
# Builds nothing: the binaries must be in --bin-dir. Run as root; needs
# iperf3, sockperf, ethtool, clang (for meridian-lab --outside), python3.
#
# Usage: bench/run-dsr-bench.sh [--seconds 5] [--rounds 3] [--quick]
#                               [--out bench/results] [--bin-dir build/bin]
#   --seconds S   length of every iperf3 and sockperf test (default 5)
#   --rounds R    snat/dsr pairs (default 3)
#   --quick       1 round of 2 s tests (explicit --seconds/--rounds win)
#   --out DIR     where nodeport-dsr.{md,csv} go (default bench/results)
#   --bin-dir DIR meridian-agent, meridianctl, meridian-echo (default build/bin)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CMDLINE="bench/run-dsr-bench.sh"
for a in "$@"; do CMDLINE+=" $(printf '%q' "$a")"; done

die() {
  echo "run-dsr-bench: $*" >&2
  exit 1
}
usage() { sed -n '3,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
positive() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive integer, got '$2'"; }

SECONDS_PER_TEST="" ROUNDS="" QUICK=0
OUT="$REPO/bench/results"
BIN_DIR="$REPO/build/bin"
while (($#)); do
  case $1 in
    --seconds) (($# >= 2)) || die "--seconds needs a value"; positive "$1" "$2"; SECONDS_PER_TEST=$2; shift 2 ;;
    --rounds) (($# >= 2)) || die "--rounds needs a value"; positive "$1" "$2"; ROUNDS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --out) (($# >= 2)) || die "--out needs a value"; OUT=$2; shift 2 ;;
    --bin-dir) (($# >= 2)) || die "--bin-dir needs a value"; BIN_DIR=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if ((QUICK)); then
  : "${SECONDS_PER_TEST:=2}" "${ROUNDS:=1}"
else
  : "${SECONDS_PER_TEST:=5}" "${ROUNDS:=3}"
fi

[[ $(id -u) -eq 0 ]] || die "run as root"
for tool in iperf3 sockperf ethtool clang python3 ip nsenter timeout; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs the bench tools)"
done
[[ -d $BIN_DIR ]] || die "--bin-dir $BIN_DIR does not exist (build first: scripts/build.sh)"
BIN_DIR=$(cd "$BIN_DIR" && pwd)
for b in meridian-agent meridianctl meridian-echo; do
  [[ -x $BIN_DIR/$b ]] || die "$BIN_DIR/$b is missing (build first: scripts/build.sh)"
done
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# shellcheck source=../lab/lib.sh
source "$REPO/lab/lib.sh"
# shellcheck source=../lab/agents.sh
source "$REPO/lab/agents.sh"
# shellcheck source=../lab/manifests.sh
source "$REPO/lab/manifests.sh"

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d /tmp/meridian-dsrbench.XXXXXX)
MANIFESTS="$WORK/manifests"
SERVER_PIDS=()
cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ -n ${LAB_NODE_NAMES+x} ]]; then lab_agents_stop || true; fi
  "$REPO/lab/meridian-lab" down --prefix "$PREFIX" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SERVER_POD=c1n2p1
VIP=10.96.0.50
NP_IPERF=30201 NP_SPTCP=30111 NP_SPUDP=30112

echo "== lab $PREFIX: 1 cluster x 2 nodes x 1 pod + outside client; $ROUNDS round(s), $SECONDS_PER_TEST s per test"
"$REPO/lab/meridian-lab" up --prefix "$PREFIX" --clusters 1 --nodes 2 --pods 1 --outside \
  --bin-dir "$BIN_DIR" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log" >&2; die "meridian-lab up failed"; }
lab_load_env "$PREFIX"
N1=${LAB_NODE_NAMES[0]} N2=${LAB_NODE_NAMES[1]}
N1_IP=${LAB_NODE_IP[$N1]}
SERVER_NS=${LAB_POD_NS[$SERVER_POD]}
[[ ${LAB_POD_NODE[$SERVER_POD]} == "$N2" ]] || die "$SERVER_POD is not on node 2"
outside() { ip netns exec "$LAB_OUTSIDE_NS" "$@"; }

# --- servers in the endpoint pod (ip netns exec execs: $! is the server) ------
ip netns exec "$SERVER_NS" iperf3 -s -p 5201 >"$WORK/iperf3-server.log" 2>&1 &
SERVER_PIDS+=($!)
ip netns exec "$SERVER_NS" sockperf server --tcp -p 11111 >"$WORK/sockperf-tcp-server.log" 2>&1 &
SERVER_PIDS+=($!)
ip netns exec "$SERVER_NS" sockperf server -p 11111 >"$WORK/sockperf-udp-server.log" 2>&1 &
SERVER_PIDS+=($!)
listening() {  # all three sockets bound in the pod
  local tcp udp
  tcp=$(ip netns exec "$SERVER_NS" ss -Hltn 'sport = :5201 or sport = :11111' | wc -l)
  udp=$(ip netns exec "$SERVER_NS" ss -Hlun 'sport = :11111' | wc -l)
  ((tcp >= 2 && udp >= 1))
}
for ((i = 0; i < 50; i++)); do listening && break; sleep 0.1; done
listening || die "iperf3/sockperf servers in $SERVER_POD not listening after 5 s: $(cat "$WORK"/*-server.log)"

# --- the Service: NodePort, one endpoint on node 2 --------------------------
mkdir -p "$MANIFESTS"
lab_service_yaml bench "$VIP" "iperf:TCP:5201:5201,sptcp:TCP:11111:11111,spudp:UDP:11111:11111" "$SERVER_POD" |
  python3 -c '
import sys
nodeports = dict(zip(("iperf", "sptcp", "spudp"), sys.argv[1:]))
text = sys.stdin.read()
text = text.replace("spec:\n", "spec:\n  type: NodePort\n", 1)
for name, port in nodeports.items():
    start = text.index("  - {name: %s, protocol: " % name)   # the Service port, not the slice port
    end = text.index("}", start)
    text = text[:end] + ", nodePort: " + port + text[end:]
sys.stdout.write(text)' "$NP_IPERF" "$NP_SPTCP" "$NP_SPUDP" >"$MANIFESTS/bench.yaml"
grep -q "nodePort: $NP_SPUDP}" "$MANIFESTS/bench.yaml" || die "manifest rewrite failed: $(cat "$MANIFESTS/bench.yaml")"

external_ready() {  # NODE: the 3 external frontends (its NodePorts) have an active backend
  local n
  n=$("$BIN_DIR/meridianctl" --node "$1" --json services 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for f in json.load(sys.stdin) if f.get("external") and f["active_backends"] >= 1))' 2>/dev/null) || return 1
  [[ $n == 3 ]]
}
agent_logs() { tail -n 15 "$LAB_STATE_DIR"/agent-*.log >&2 || true; }
start_mode() {  # MODE: agents restarted with --nodeport-mode MODE, frontends installed
  local mode=$1 i
  lab_agents_stop
  lab_agents_start "$MANIFESTS" --uplink "${PREFIX}up" --nodeport-mode "$mode" ||
    { agent_logs; die "agents did not start with --nodeport-mode $mode"; }
  for ((i = 0; i < 100; i++)); do
    external_ready "$N1" && external_ready "$N2" && return 0
    sleep 0.1
  done
  "$BIN_DIR/meridianctl" --node "$N1" services >&2 || true
  agent_logs
  die "$mode: the NodePort frontends are not installed on both nodes after 10 s"
}

COUNTERS=(n1:nodeport_snat n1:nodeport_dsr n2:nodeport_dsr_in n1:nodeport_revnat n2:nodeport_revnat
  n1:drop_dsr_too_big n2:drop_dsr_bad_frame)
snapshot() {  # FILE: "nN_counter packets" for COUNTERS
  local c node name json
  : >"$1"
  for node in n1 n2; do
    if [[ $node == n1 ]]; then name=$N1; else name=$N2; fi
    json=$("$BIN_DIR/meridianctl" --node "$name" --json stats) || die "meridianctl --node $name --json stats failed"
    for c in "${COUNTERS[@]}"; do
      [[ ${c%%:*} == "$node" ]] || continue
      printf '%s_%s %s\n' "$node" "${c#*:}" \
        "$(python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], {}).get("packets", 0))' "${c#*:}" <<<"$json")" >>"$1"
    done
  done
}

T=$SECONDS_PER_TEST
LIMIT=$((T + 20))
sample() { echo "$1,$2,$3,$4" >>"$WORK/raw.csv"; }
iperf() {  # MODE ROUND DIR(rev|fwd) [-R]: one flow through node 1's nodePort
  local mode=$1 round=$2 dir=$3 out
  shift 3
  out="$WORK/iperf-$mode-$round-$dir.json"
  outside timeout "$LIMIT" iperf3 -c "$N1_IP" -p "$NP_IPERF" "$@" -t "$T" -J >"$out" 2>&1 ||
    die "$mode round $round: iperf3 -c $N1_IP -p $NP_IPERF $* -t $T -J failed: $(head -c 2000 "$out")"
  python3 - "$out" "$mode" "$round" "$dir" >>"$WORK/raw.csv" <<'PY' || die "$mode round $round: cannot parse $out: $(head -c 2000 "$out")"
import json, sys
path, mode, rnd, d = sys.argv[1:]
j = json.load(open(path))
if "error" in j:
    sys.exit("iperf3: " + j["error"])
end = j["end"]
gbps = end["sum_received"]["bits_per_second"] / 1e9
if gbps <= 0:
    sys.exit("nothing received")
print(f"{mode},{rnd},{d}_gbps,{gbps:.3f}")
print(f"{mode},{rnd},{d}_retransmits,{end['sum_sent'].get('retransmits', 0)}")
PY
}
pingpong() {  # MODE ROUND PROTO(udp|tcp): sockperf ping-pong through node 1's nodePort
  local mode=$1 round=$2 proto=$3 out args avg p99
  out="$WORK/sockperf-$mode-$round-$proto.txt"
  if [[ $proto == tcp ]]; then args=(--tcp -p "$NP_SPTCP"); else args=(-p "$NP_SPUDP"); fi
  outside timeout "$LIMIT" sockperf ping-pong -i "$N1_IP" "${args[@]}" -t "$T" >"$out" 2>&1 ||
    die "$mode round $round: sockperf ping-pong -i $N1_IP ${args[*]} -t $T failed: $(tail -n 20 "$out")"
  avg=$(sed -n 's/.*avg-latency=\([0-9.]*\).*/\1/p' "$out" | head -n 1)
  p99=$(awk '/percentile 99.000 =/ {print $NF; exit}' "$out")
  [[ $avg =~ ^[0-9.]+$ && $p99 =~ ^[0-9.]+$ ]] ||
    die "$mode round $round: no latency in sockperf's output: $(tail -n 20 "$out")"
  sample "$mode" "$round" "${proto}_avg_us" "$avg"
  sample "$mode" "$round" "${proto}_p99_us" "$p99"
}

measure() {  # MODE ROUND
  local mode=$1 round=$2 c before after delta ok=1
  declare -A d
  snapshot "$WORK/before"
  iperf "$mode" "$round" rev -R
  iperf "$mode" "$round" fwd
  pingpong "$mode" "$round" udp
  pingpong "$mode" "$round" tcp
  snapshot "$WORK/after"
  while read -r c before; do
    after=$(awk -v c="$c" '$1 == c {print $2}' "$WORK/after")
    delta=$((after - before))
    d[$c]=$delta
    sample "$mode" "$round" "pkts_$c" "$delta"
  done <"$WORK/before"
  local seen="node 1 nodeport_snat +${d[n1_nodeport_snat]}, nodeport_dsr +${d[n1_nodeport_dsr]}, node 2 nodeport_dsr_in +${d[n2_nodeport_dsr_in]}"
  if [[ $mode == snat ]]; then
    ((d[n1_nodeport_snat] > 0 && d[n1_nodeport_dsr] == 0 && d[n2_nodeport_dsr_in] == 0)) || ok=0
  else
    ((d[n1_nodeport_dsr] > 0 && d[n2_nodeport_dsr_in] > 0 && d[n1_nodeport_snat] == 0)) || ok=0
  fi
  ((ok)) || die "$mode round $round: the counters contradict the mode: $seen"
  # Where the replies were reverse-NATed (node 1 in snat, node 2 in dsr) and
  # DSR drops: reported, not fatal.
  if [[ $mode == snat ]] && ((d[n1_nodeport_revnat] == 0)); then
    echo "   WARNING: snat round $round: node 1's nodeport_revnat did not rise" >&2
  fi
  if [[ $mode == dsr ]] && ((d[n1_nodeport_revnat] != 0 || d[n2_nodeport_revnat] == 0)); then
    echo "   WARNING: dsr round $round: nodeport_revnat node 1 +${d[n1_nodeport_revnat]}, node 2 +${d[n2_nodeport_revnat]}" >&2
  fi
  if ((d[n1_drop_dsr_too_big] != 0 || d[n2_drop_dsr_bad_frame] != 0)); then
    echo "   WARNING: $mode round $round: drop_dsr_too_big +${d[n1_drop_dsr_too_big]} (node 1), drop_dsr_bad_frame +${d[n2_drop_dsr_bad_frame]} (node 2)" >&2
  fi
  awk -F, -v m="$mode" -v r="$round" '$1 == m && $2 == r && $3 !~ /^pkts_/ {printf "%s %s  ", $3, $4} END {print ""}' \
    "$WORK/raw.csv" | sed "s/^/   round $round $mode: /"
  echo "   counters: $seen; nodeport_revnat node 1 +${d[n1_nodeport_revnat]}, node 2 +${d[n2_nodeport_revnat]}"
}

echo "mode,round,metric,value" >"$WORK/raw.csv"
for ((r = 1; r <= ROUNDS; r++)); do
  echo "== round $r of $ROUNDS"
  for mode in snat dsr; do
    start_mode "$mode"
    measure "$mode" "$r"
  done
done
lab_agents_stop

cp "$WORK/raw.csv" "$OUT/nodeport-dsr.csv"
CPU=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
# What was measured: the tree's commit, and when the agent binary was built
# (the tree may have changed since; the binaries are what ran).
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "?")
if [[ -n $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]]; then COMMIT+=" (tree with uncommitted changes)"; fi
COMMIT+=", meridian-agent built $(date -u -r "$BIN_DIR/meridian-agent" '+%Y-%m-%d %H:%M UTC')"
python3 - "$WORK/raw.csv" "$CMDLINE" "$ROUNDS" "$T" "$(nproc)" "$(uname -r)" "${CPU:-?}" \
  "$(date -u '+%Y-%m-%d %H:%M UTC')" "$COMMIT" "$(iperf3 --version | head -n 1 | awk '{print $2}')" \
  "$(sockperf --version 2>&1 | sed -n 's/.*version #\{0,1\}\([^ ]*\).*/\1/p' | head -n 1)" >"$OUT/nodeport-dsr.md" <<'PY'
import csv, statistics, sys
path, cmdline, rounds, secs, ncpu, kernel, cpu, date, commit, iperf_v, sockperf_v = sys.argv[1:]
rows = list(csv.DictReader(open(path)))
vals = {}
for r in rows:
    vals.setdefault((r["mode"], r["metric"]), []).append(float(r["value"]))

def stat(mode, metric):
    v = vals[(mode, metric)]
    return statistics.median(v), min(v), max(v)

def fmt(x, digits):
    return f"{x:.{digits}f}"

perf = [  # metric, label, unit, digits, higher is better
    ("rev_gbps", "throughput server → client (iperf3 -R), reply path", "Gbit/s", 2, True),
    ("fwd_gbps", "throughput client → server (iperf3)", "Gbit/s", 2, True),
    ("rev_retransmits", "TCP retransmits server → client, per test", "segments", 0, False),
    ("fwd_retransmits", "TCP retransmits client → server, per test", "segments", 0, False),
    ("udp_avg_us", "UDP ping-pong latency, average", "µs", 1, False),
    ("udp_p99_us", "UDP ping-pong latency, p99", "µs", 1, False),
    ("tcp_avg_us", "TCP ping-pong latency, average", "µs", 1, False),
    ("tcp_p99_us", "TCP ping-pong latency, p99", "µs", 1, False),
]
out = []
p = out.append
p("# NodePort from outside the cluster: DSR vs SNAT\n")
p(f"Command: `{cmdline}` ({rounds} round(s) of snat then dsr, {secs} s per test)\n")
p(f"Machine: {ncpu} CPUs, {cpu}, kernel {kernel}; iperf3 {iperf_v}, sockperf {sockperf_v}; run {date}; "
  f"commit {commit}\n")
p("Lab: `meridian-lab --clusters 1 --nodes 2 --pods 1 --outside`, one agent per node with `--uplink <prefix>up "
  "--nodeport-mode snat|dsr` (restarted for every mode, pinned maps kept). One Service of type NodePort with a "
  "single endpoint, pod c1n2p1 on node 2 (nodePorts 30201 iperf3, 30111 sockperf TCP, 30112 sockperf UDP). "
  "The outside client (172.16.1.200, on the underlay bridge, no route to pods) always connects to node 1's "
  "address 172.16.1.11, so every flow crosses to node 2. Links are veth pairs; everything shares the same "
  f"{ncpu} CPUs. Per mode and round: one iperf3 TCP flow each way, then sockperf ping-pong UDP and TCP "
  "(latency as sockperf reports it: half the round trip). Median over the rounds, min–max in brackets; "
  "dsr/snat is the ratio of the medians (throughput: above 1 favours DSR; latency and retransmits: below 1 "
  "favours DSR).\n")
p("| metric | unit | snat median (min–max) | dsr median (min–max) | dsr/snat |")
p("|---|---|---:|---:|---:|")
for metric, label, unit, digits, _ in perf:
    s, d = stat("snat", metric), stat("dsr", metric)
    ratio = f"{d[0] / s[0]:.2f}" if s[0] else "–"
    p(f"| {label} | {unit} | {fmt(s[0], digits)} ({fmt(s[1], digits)}–{fmt(s[2], digits)}) | "
      f"{fmt(d[0], digits)} ({fmt(d[1], digits)}–{fmt(d[2], digits)}) | {ratio} |")
p("")
p("Datapath counters, packets per round (all four tests), median over the rounds: they prove the mode "
  "(the run aborts otherwise).\n")
p("| counter | snat | dsr |")
p("|---|---:|---:|")
counters = [
    ("pkts_n1_nodeport_snat", "node 1 `nodeport_snat` (flow SNAT'd to node 1's address)"),
    ("pkts_n1_nodeport_dsr", "node 1 `nodeport_dsr` (flow encapsulated to node 2)"),
    ("pkts_n2_nodeport_dsr_in", "node 2 `nodeport_dsr_in` (DSR frame received)"),
    ("pkts_n1_nodeport_revnat", "node 1 `nodeport_revnat` (replies reverse-NATed on node 1)"),
    ("pkts_n2_nodeport_revnat", "node 2 `nodeport_revnat` (replies reverse-NATed on node 2)"),
    ("pkts_n1_drop_dsr_too_big", "node 1 `drop_dsr_too_big`"),
    ("pkts_n2_drop_dsr_bad_frame", "node 2 `drop_dsr_bad_frame`"),
]
for metric, label in counters:
    p(f"| {label} | {stat('snat', metric)[0]:.0f} | {stat('dsr', metric)[0]:.0f} |")
p("")
p("Node 1 counts in XDP, one frame at a time; node 2 reverse-NATs the pod's replies in tc on the pod's "
  "veth, where a TCP reply is one GSO packet of several segments: its `nodeport_revnat` is lower for "
  "the same traffic.\n")

def verdict(metric, higher_better):
    s, d = stat("snat", metric), stat("dsr", metric)
    ratio = f"{d[0] / s[0]:.2f}" if s[0] else "– (snat median 0)"
    if int(rounds) < 3:
        return ratio, "too few rounds to judge"
    if d[1] > s[2] or d[2] < s[1]:  # every dsr sample beyond every snat sample
        side = "higher" if d[0] > s[0] else "lower"
        better = (d[0] > s[0]) == higher_better
        return ratio, f"DSR {side} in every round: {'better' if better else 'worse'}"
    return ratio, "the ranges overlap: no difference this run can claim"

parts = []
for metric, label in (("rev_gbps", "reply-path throughput"), ("fwd_gbps", "forward throughput"),
                      ("udp_avg_us", "UDP average latency"), ("udp_p99_us", "UDP p99"),
                      ("tcp_avg_us", "TCP average latency"), ("tcp_p99_us", "TCP p99"),
                      ("rev_retransmits", "retransmits server → client"),
                      ("fwd_retransmits", "retransmits client → server")):
    ratio, v = verdict(metric, metric.endswith("gbps"))
    parts.append(f"{label} dsr/snat {ratio} ({v})")
lost = statistics.median(a - b for a, b in zip(vals[("dsr", "pkts_n1_nodeport_dsr")],
                                               vals[("dsr", "pkts_n2_nodeport_dsr_in")]))
lost_note = (f"Per dsr round node 1 counted {lost:.0f} more DSR frames sent than node 2 counted "
             "received (median of nodeport_dsr minus nodeport_dsr_in): frames lost between the two nodes. "
             if lost > 0 else "")
p("## What the numbers show\n")
p("With DSR the pod's replies leave node 2 straight for the client; with SNAT they go back over the "
  "bridge to node 1, through node 1's XDP reverse NAT and out again with XDP_TX. In this lab that is "
  "all DSR saves on the reply path: one XDP hop and one more crossing of a veth and the bridge, on the "
  "same CPUs that run the client, both nodes and the server. The forward path is not cheaper with DSR: "
  "node 1 still handles every client packet in XDP, and adds a 50-byte VXLAN header that node 2 removes. "
  f"Measured here, {rounds} round(s): " + "; ".join(parts) + ". "
  + lost_note +
  "These are single flows on one machine whose CPUs run everything, so work taken off the reply path "
  "can show up directly as throughput; they say nothing about a real network, where what DSR saves "
  "is node 1's uplink bandwidth and CPU for the replies. "
  f"With {rounds} round(s), ranges that do not overlap are evidence, not proof, and a ratio whose "
  "ranges overlap is noise, not a result.")
print("\n".join(out))
PY
echo
cat "$OUT/nodeport-dsr.md"
echo
echo "wrote $OUT/nodeport-dsr.md and $OUT/nodeport-dsr.csv"
