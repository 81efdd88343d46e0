#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317  # cleanup, restart_agent, serving_as are called indirectly
# tests/chaos/run.sh: the chaos suite (issue 18). Faults injected into a
# running lab under load, and one table of what clients saw:
#
#   2 clusters x 2 nodes x 2 pods + a client pod in c1; etcd in the router
#   namespace as the ClusterSet registry; one meridian-controller per
#   cluster (3 s lease), one agent per node (VXLAN tunnel, --registry).
#   c1 and c2 both export web (a ClusterSet IP with the pods of both).
#   Load during every fault, from the client:
#   - 20 [50] long-lived TCP connections to a VIP whose backends are all in
#     c2 (every packet crosses the router) and 20 [50] to a VIP of c1's own
#     pods;
#   - 5 UDP sockets exchanging with the c2 VIP;
#   - a probe: a new TCP connection started every 0.1 s (a hung one does not
#     delay the next), 1 s allowed, to the c2 VIP
#     (to web's ClusterSet IP for the registry outage and the cluster death).
#
# Faults (short form; --long: the durations in brackets):
#   none              baseline, 10 s [60 s]
#   loss 5%           5% of packets dropped both ways on c2's router leg, 10 s [60 s]
#   partition         every packet dropped on c2's router leg, 10 s [30 s];
#                     c1n1's peer prober must call c2 unreachable, then reachable
#   bandwidth cap     the router's port to c2 paced to 1 Mbit/s (htb), 10 s [60 s]
#   saturated cap     the same cap, filled by a bulk TCP flow from the client
#                     to the c2 VIP, 10 s [60 s]
#   agent kill -9     the client node's agent killed, restarted 2 s later
#   registry outage   etcd killed, restarted 10 s [60 s] later
#   cluster death     c2 partitioned and its controller killed, 8 s [30 s];
#                     then healed and the controller restarted
#
# Columns: tried (probe connections), failed (probes that did not complete
# in 1 s; for the cluster death, those that started once c1 had withdrawn
# c2), lost (long-lived TCP connections broken: reset, stuck past 90 s, or
# answered by another pod), UDP lost (exchanges without an answer in 2 s),
# max stall (the longest a long-lived connection went without an answer),
# detect (fault to the client's node noticing it: the registry reported
# unreachable, c2's endpoints withdrawn), recover (from the end of the
# fault to the first probe that started after it and succeeded; for the
# agent kill, until the new agent is serving; for the registry, until the
# agent is connected again; for the cluster death, until c1 serves c2's
# endpoints again).
#
# Usage: tests/chaos/run.sh [--long] [--out FILE.md] [--bin-dir DIR]
# Exit 0 when every check passed, 1 otherwise, 77 when not root or etcd is
# not installed.
set -uo pipefail

LONG=0 OUT=""
args=()
while (($#)); do
  case $1 in
    --long) LONG=1; shift ;;
    --out) OUT=${2:?--out needs a file}; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- "${args[@]+"${args[@]}"}"
# shellcheck source=../lab/testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/testlib.sh"

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d "/tmp/meridian-chaos.XXXXXX")
FLOWS="$REPO/tests/lab/flows.py"
cleanup() {
  local pid
  for pid in "${CTRL_PID[@]}"; do
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  touch "$WORK/stop"
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

if ((LONG)); then
  BASE_S=60 LOSS_S=60 PART_S=30 REG_S=60 DEATH_S=30 HELD=50
else
  BASE_S=10 LOSS_S=10 PART_S=10 REG_S=10 DEATH_S=8 HELD=20
fi

echo "# lab $PREFIX: 2 clusters x 2 nodes x 2 pods + client, etcd registry ($( ((LONG)) && echo long || echo short) form)"
"$LAB" up --prefix "$PREFIX" --clusters 2 --nodes 2 --pods 2 --client --bin-dir "$BIN_DIR" >"$WORK/lab-up.log" 2>&1 ||
  { cat "$WORK/lab-up.log"; exit 1; }
lab_load_env "$PREFIX"

command -v etcd >/dev/null || { echo "etcd not installed (apt-get install etcd-server)"; exit 77; }
IN_RT=(ip netns exec "$PREFIX-rt")
start_etcd() {
  lab_etcd_start "$PREFIX" "$WORK/etcd" "$WORK/etcd.log"
  ETCD_PID=$!
}
etcd_up() { lab_etcd_up "$PREFIX"; }
start_etcd
REG="etcd://172.16.1.1:2379"
require "etcd answers in the router namespace" wait_for 10 etcd_up

C1_PODS=(c1n1p1 c1n1p2 c1n2p1 c1n2p2)
C2_PODS=(c2n1p1 c2n1p2 c2n2p1 c2n2p2)
mkdir -p "$WORK/m/c1" "$WORK/m/c2"
"$LAB" manifests --prefix "$PREFIX" --out "$WORK/clusters" >/dev/null
cp "$WORK/clusters/"*.yaml "$WORK/m/c1/"
cp "$WORK/clusters/"*.yaml "$WORK/m/c2/"
svc() { lab_service_yaml "$1" "$2" "tcp:TCP:80:8080,udp:UDP:80:8080" "${@:3}"; }
{
  svc web 10.96.0.10 "${C2_PODS[@]}"
  lab_service_export web
} >"$WORK/m/c2/services.yaml"
{
  svc remote 10.96.1.10 "${C2_PODS[@]}"
  svc local 10.96.1.20 "${C1_PODS[@]}"
  svc web 10.96.0.10 c1n1p1 c1n2p1
  lab_service_export web
} >"$WORK/m/c1/services.yaml"
declare -A CTRL_PID
start_controller() {  # start_controller C
  "${IN_RT[@]}" "$BIN_DIR/meridian-controller" --cluster "c$1" --manifests "$WORK/m/c$1" --registry "$REG" \
    --lease-ttl-ms 3000 --metrics-listen off --status-file "$WORK/controller-c$1.json" >>"$WORK/controller-c$1.log" 2>&1 &
  CTRL_PID[$1]=$!
}
start_controller 1
start_controller 2
require "agents of both clusters attach and serve" lab_agents_start_clusterset "$WORK/m" --registry "$REG"
C1N1=$(lab_node_ns "$PREFIX" 1 1)
web_clusters() {  # the clusters c1n1 serves web from, sorted: "c1,c2" (the import lists them oldest export first)
  lab_agent_field "$C1N1" "imports[name=default/web].clusters" | tr -d '[]"' | tr ',' '\n' | sort | paste -sd,
}
both_clusters() { [[ $(web_clusters) == "c1,c2" ]]; }
require "c1n1 imports web from c1 and c2" wait_for 15 both_clusters
WEB_IP=$(lab_agent_field "$C1N1" "imports[name=default/web].clusterset_ip")
echo "# web's ClusterSet IP: $WEB_IP"

client() { lab_exec_pod "$PREFIX" c1client "$@"; }
now() { date +%s.%N; }
ROWS=()

# run_fault NAME SECONDS INJECT CLEAR: the load, INJECT, SECONDS, CLEAR, 3 s
# more, then one row of the table. INJECT and CLEAR are commands (strings);
# they may set FAULT_AT and DETECTED_AT (the fault was noticed), HEAL_AT and
# RECOVERED_AT (the fault ended, and what it broke works again) with now.
# PROBE_DST is where the probe connects (default the c2 VIP).
run_fault() {
  local name=$1 secs=$2 inject=$3 clear=$4 d="$WORK/$RANDOM" pids=()
  FAULT_AT="" DETECTED_AT="" HEAL_AT="" RECOVERED_AT=""
  mkdir -p "$d"
  client python3 "$FLOWS" hold --dst 10.96.1.10:80 --count "$HELD" --timeout 90 --out "$d/remote.json" --stop "$d/stop" &
  pids+=($!)
  client python3 "$FLOWS" hold --dst 10.96.1.20:80 --count "$HELD" --timeout 90 --out "$d/local.json" --stop "$d/stop" &
  pids+=($!)
  client python3 "$FLOWS" hold --dst 10.96.1.10:80 --count 5 --udp --timeout 2 --out "$d/udp.json" --stop "$d/stop" &
  pids+=($!)
  client python3 "$FLOWS" probe --dst "${PROBE_DST:-10.96.1.10:80}" --interval 0.1 --timeout 1 --out "$d/probe.json" --stop "$d/stop" &
  pids+=($!)
  sleep 1
  FAULT_AT=$(now)
  eval "$inject"
  sleep "$secs"
  [[ -n $HEAL_AT ]] || HEAL_AT=$(now)
  eval "$clear"
  sleep 3
  touch "$d/stop"
  wait "${pids[@]}"
  python3 - "$d" "$name" "$FAULT_AT" "$DETECTED_AT" "$HEAL_AT" "$RECOVERED_AT" <<'PY' >"$d/row.json"
import json, sys
d, name = sys.argv[1], sys.argv[2]
fault, detected, heal, recovered = (float(x) if x else None for x in sys.argv[3:7])
probe = json.load(open(d + "/probe.json"))
tcp = [json.load(open(d + f)) for f in ("/remote.json", "/local.json")]
udp = json.load(open(d + "/udp.json"))
if recovered is not None:
    recover = recovered - heal
else:
    after = [p for p in probe if p[0] >= heal and p[2]]
    recover = (after[0][1] - heal) if after else None
# Once a fault is detected, what a client sees from then on.
counted = [p for p in probe if detected is None or p[0] >= detected]
print(json.dumps({
    "fault": name,
    "tried": len(counted),
    "failed": sum(1 for p in counted if not p[2]),
    "lost": sum(len(t["broken"]) for t in tcp),
    "flows": sum(t["conns"] for t in tcp),
    "udp_lost": udp["lost"] + len(udp["broken"]),
    "udp_tried": udp["rounds"] * udp["conns"],
    "max_stall_s": max(t["max_stall_s"] for t in tcp),
    "detect_s": None if detected is None else round(detected - fault, 2),
    "recover_s": None if recover is None else round(recover, 2),
    # When the failed probes started, from the fault (for a failing check).
    "failed_at_s": [round(p[0] - fault, 2) for p in counted if not p[2]][:10],
}))
PY
  ROWS+=("$(cat "$d/row.json")")
  echo "  $(cat "$d/row.json")"
}
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print("none" if v is None else v)' "$1" "$2"; }

echo "# none (${BASE_S} s)"
run_fault "none" "$BASE_S" ":" ":"
row=${ROWS[-1]}
check_eq "baseline: no probe failed" 0 "$(field "$row" failed)"
check_eq "baseline: no long-lived connection lost" 0 "$(field "$row" lost)"

echo "# loss 5% on c2's router leg (${LOSS_S} s)"
run_fault "loss 5% c1<->c2, ${LOSS_S} s" "$LOSS_S" \
  "\"$LAB\" fault --prefix $PREFIX --cluster 2 --loss 5 2>/dev/null" \
  "\"$LAB\" fault --prefix $PREFIX --cluster 2 --show >$WORK/loss-dropped.txt; \"$LAB\" fault --prefix $PREFIX --cluster 2 --clear 2>/dev/null"
row=${ROWS[-1]}
dropped=$(awk '/^dropped/ {s += $2} END {print s + 0}' "$WORK/loss-dropped.txt")
check "the filter dropped packets ($dropped)" test "$dropped" -gt 0
check_eq "5% loss: no long-lived connection lost" 0 "$(field "$row" lost)"

# c2's reachability as c1n1's peer prober sees it (status.json clusters[].reachability).
c2_is() { [[ $(lab_agent_field "$C1N1" 'clusters[name=c2].reachability' 2>/dev/null) == "$1" ]]; }
# seconds_until STATE FILE: in the background, the seconds until c1n1 sees c2 STATE, into FILE.
seconds_until() {
  local t0
  t0=$(now)
  rm -f "$2"
  (wait_for 8 c2_is "$1" && python3 -c "print(round($(now) - $t0, 2))" >"$2") &
}
check "before the partition: c1n1 sees c2 reachable" wait_for 5 c2_is reachable
echo "# partition of c2 (${PART_S} s)"
run_fault "partition c1<->c2, ${PART_S} s" "$PART_S" \
  "\"$LAB\" fault --prefix $PREFIX --cluster 2 --partition 2>/dev/null; seconds_until unreachable $WORK/part-down.s" \
  "\"$LAB\" fault --prefix $PREFIX --cluster 2 --clear 2>/dev/null; seconds_until reachable $WORK/part-up.s"
row=${ROWS[-1]}
wait_for 8 test -s "$WORK/part-up.s"
down_s=$(cat "$WORK/part-down.s" 2>/dev/null || echo never)
up_s=$(cat "$WORK/part-up.s" 2>/dev/null || echo never)
# 3 probe intervals of 1 s without a reply, plus up to one interval.
check "partition: c1n1 reported c2 unreachable within 4.5 s ($down_s s)" \
  python3 -c "import sys; sys.exit(0 if '$down_s' != 'never' and float('$down_s') <= 4.5 else 1)"
check "partition healed: c1n1 reported c2 reachable again within 2 s ($up_s s)" \
  python3 -c "import sys; sys.exit(0 if '$up_s' != 'never' and float('$up_s') <= 2.0 else 1)"
check_eq "partition: no long-lived connection lost (they wait it out)" 0 "$(field "$row" lost)"
recover=$(field "$row" recover_s)
check "partition: new connections succeed within 1 s of the end ($recover s)" \
  python3 -c "import sys; sys.exit(0 if '$recover' != 'none' and float('$recover') <= 1.0 else 1)"

echo "# bandwidth cap of 1 Mbit/s on c2's router leg (${LOSS_S} s)"
# htb on the router's port towards c2: everything the router sends to c2 is
# paced to 1 Mbit/s (this kernel has no netem or tbf). What users see: the
# load's packets queue and slow down, nothing is lost.
run_fault "cap 1mbit router->c2, ${LOSS_S} s" "$LOSS_S" \
  "\"$LAB\" fault --prefix $PREFIX --cluster 2 --rate 1mbit 2>/dev/null" \
  "\"$LAB\" fault --prefix $PREFIX --cluster 2 --show >$WORK/cap.txt; \"$LAB\" fault --prefix $PREFIX --cluster 2 --clear 2>/dev/null"
row=${ROWS[-1]}
check "the cap was in place during the fault" grep -qx "cap: htb" "$WORK/cap.txt"
check_eq "1 Mbit/s cap: no long-lived connection lost" 0 "$(field "$row" lost)"
check_eq "1 Mbit/s cap: no UDP exchange lost" 0 "$(field "$row" udp_lost)"

echo "# the 1 Mbit/s cap saturated by a bulk TCP flow through it (${LOSS_S} s)"
# The client pushes lines to the c2 VIP as fast as TCP lets it (the echo
# server answers each line): the cap's queue fills, and every other flow to
# c2 waits behind it. What users see then is reported, not bounded (new
# connections and UDP time out in a full queue); long-lived connections
# must survive it.
saturate() {
  "$LAB" fault --prefix "$PREFIX" --cluster 2 --rate 1mbit 2>/dev/null
  client bash -c "yes 0123456789abcdef0123456789abcdef0123456789abcdef | timeout $LOSS_S socat - TCP:10.96.1.10:80 | wc -c" \
    >"$WORK/bulk.bytes" 2>/dev/null &
  BULK_PID=$!
}
unsaturate() {
  wait "$BULK_PID"
  "$LAB" fault --prefix "$PREFIX" --cluster 2 --clear 2>/dev/null
}
run_fault "cap 1mbit saturated by a bulk flow, ${LOSS_S} s" "$LOSS_S" "saturate" "unsaturate"
row=${ROWS[-1]}
# Answers are the request lines (49 bytes) with the pod's name in front (56
# bytes): the capped direction carried 49/56 of the answers' bytes.
bulk_kbit=$(($(cat "$WORK/bulk.bytes" 2>/dev/null || echo 0) * 8 * 49 / 56 / 1000 / LOSS_S))
check "the bulk flow filled the cap: $bulk_kbit kbit/s of requests through it (300-1000)" \
  test "$bulk_kbit" -ge 300 -a "$bulk_kbit" -le 1000
check_eq "saturated cap: no long-lived connection lost" 0 "$(field "$row" lost)"
SATURATED_ROW=$row

echo "# agent kill -9 on $C1N1, restarted 2 s later"
# serving_as PID: the node's status.json is the new agent's, and it serves
# (the killed agent's file says "serving" too, with its own pid).
serving_as() {
  local pid state interfaces
  read -r pid state interfaces < <(lab_agent_field "$C1N1" pid state attached_interfaces | paste -sd' ')
  [[ $pid == "$1" && $state == serving ]] && (($(grep -o '":' <<<"$interfaces" | wc -l) >= 3))
}
restart_agent() {
  local old pid
  old=$(cat "$LAB_STATE_DIR/agent-$C1N1.pid")
  kill -KILL "$old"
  wait "$old" 2>/dev/null  # reaped here: no "Killed" line from the shell
  sleep 2
  HEAL_AT=$(now)
  lab_agent_start "$C1N1" "$WORK/m/c1" --cluster c1 --uplink "${LAB_PREFIX}up" --registry "$REG"
  pid=$(cat "$LAB_STATE_DIR/agent-$C1N1.pid")
  wait_for 10 serving_as "$pid" && RECOVERED_AT=$(now)
}
run_fault "agent kill -9 (client's node)" 0 "restart_agent" ":"
row=${ROWS[-1]}
check_eq "agent kill -9: no long-lived connection lost" 0 "$(field "$row" lost)"
check_eq "agent kill -9: no probe failed (the datapath kept serving)" 0 "$(field "$row" failed)"
check "agent kill -9: the new agent serves within 5 s of its start ($(field "$row" recover_s) s)" \
  python3 -c "import sys; r = '$(field "$row" recover_s)'; sys.exit(0 if r != 'none' and float(r) <= 5 else 1)"

registry_state() { lab_agent_field "$C1N1" registry.state; }
unreachable() { [[ $(registry_state) == unreachable ]]; }
connected() { [[ $(registry_state) == connected ]]; }
etcd_down() {
  kill -KILL "$ETCD_PID"
  wait "$ETCD_PID" 2>/dev/null  # reaped here: no "Killed" line from the shell
  wait_for 10 unreachable && DETECTED_AT=$(now)
}
# The outage ends when etcd answers again (it takes ~1 s to start).
etcd_back() {
  start_etcd
  wait_for 20 etcd_up
  HEAL_AT=$(now)
  wait_for 20 connected && RECOVERED_AT=$(now)
}
echo "# registry outage: etcd down ${REG_S} s"
PROBE_DST="$WEB_IP:80" run_fault "registry outage, ${REG_S} s" "$REG_S" "etcd_down" "etcd_back"
row=${ROWS[-1]}
check "registry outage: c1n1 reported the registry unreachable ($(field "$row" detect_s) s)" \
  test "$(field "$row" detect_s)" != none
check_eq "registry outage: no probe to web's ClusterSet IP failed (the last records are served)" 0 "$(field "$row" failed)"
check_eq "registry outage: no long-lived connection lost" 0 "$(field "$row" lost)"
check "registry outage: c1n1 connected again after etcd answered ($(field "$row" recover_s) s)" \
  test "$(field "$row" recover_s)" != none
check "... and c1n1 still imports web from both clusters" wait_for 10 both_clusters

only_c1() { [[ $(web_clusters) == c1 ]]; }
c2_dies() {
  "$LAB" fault --prefix "$PREFIX" --cluster 2 --partition 2>/dev/null
  kill -KILL "${CTRL_PID[2]}"
  wait "${CTRL_PID[2]}" 2>/dev/null
  wait_for 15 only_c1 && DETECTED_AT=$(now)
}
c2_returns() {
  HEAL_AT=$(now)
  "$LAB" fault --prefix "$PREFIX" --cluster 2 --clear 2>/dev/null
  start_controller 2
  wait_for 20 both_clusters && RECOVERED_AT=$(now)
}
echo "# cluster death: c2 partitioned and its controller killed, ${DEATH_S} s"
PROBE_DST="$WEB_IP:80" run_fault "cluster c2 dies, ${DEATH_S} s" "$DEATH_S" "c2_dies" "c2_returns"
row=${ROWS[-1]}
detect=$(field "$row" detect_s)
check "cluster death: c1n1 withdrew c2's endpoints within the 3 s lease + 1 s ($detect s)" \
  python3 -c "import sys; sys.exit(0 if '$detect' != 'none' and float('$detect') <= 4.0 else 1)"
check_eq "cluster death: once withdrawn, no new connection to web's ClusterSet IP failed" 0 "$(field "$row" failed)"
check_eq "cluster death: no long-lived connection lost (c2's stall and resume)" 0 "$(field "$row" lost)"
check "cluster death: c2 rejoined ($(field "$row" recover_s) s after it returned)" test "$(field "$row" recover_s)" != none

# --- the table ----------------------------------------------------------------
table=$(python3 - "${ROWS[@]}" <<'PY'
import json, sys
print("| fault | probes tried | failed | TCP flows | lost | UDP exchanges | UDP lost | max stall s | detect s | recover s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in map(json.loads, sys.argv[1:]):
    rec = "-" if r["fault"] == "none" else ("never" if r["recover_s"] is None else r["recover_s"])
    det = "-" if r["detect_s"] is None else r["detect_s"]
    print(f'| {r["fault"]} | {r["tried"]} | {r["failed"]} | {r["flows"]} | {r["lost"]} | {r["udp_tried"]} | {r["udp_lost"]} | {r["max_stall_s"]} | {det} | {rec} |')
PY
)
echo
echo "$table"
if [[ -n $OUT ]]; then
  {
    echo "# Chaos suite ($( ((LONG)) && echo long || echo short) form)"
    echo
    echo "Command: \`tests/chaos/run.sh$( ((LONG)) && echo " --long") --out ${OUT#"$REPO"/}\`"
    echo
    echo "Machine: $(nproc) CPUs, kernel $(uname -r), $(date -u +%Y-%m-%d)"
    echo
    echo "$table"
    echo
    echo "Peer prober during the partition (c1n1, ICMP echo every 1 s to c2's endpoints, 3 misses):"
    echo "c2 reported unreachable $down_s s after the partition began, reachable again $up_s s after it ended."
    echo
    echo "Saturated cap: the bulk flow carried $bulk_kbit kbit/s of requests through the 1 Mbit/s cap;"
    echo "behind it, $(field "$SATURATED_ROW" failed) of $(field "$SATURATED_ROW" tried) new connections to the c2 VIP did not complete"
    echo "in 1 s and $(field "$SATURATED_ROW" udp_lost) of $(field "$SATURATED_ROW" udp_tried) UDP exchanges got no answer in 2 s (the cap's queue"
    echo "holds seconds of traffic); long-lived connections stalled at most $(field "$SATURATED_ROW" max_stall_s) s and none broke."
  } >"$OUT"
fi
finish
