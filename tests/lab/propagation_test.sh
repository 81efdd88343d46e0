#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lab test of propagation decisions (issue 16): 3 clusters x 1 node x 2
# pods + a client in c1, a dir: registry, one meridian-controller per
# cluster (c1's and c2's are scheduler candidates, --scheduler), one agent
# per node.
#
#  - web is exported by all three clusters, two pods each; the scheduler's
#    manifests hold a PropagationPolicy (Divided, staticWeightList 6/3/1)
#    and a Deployment web of 10 replicas: one leader publishes
#    /meridian/v1/decisions/default/web = c1 6, c2 3, c3 1
#  - every agent weights web's ClusterSet VIP by it (6,6,3,3,1,1), and
#    meridianctl services says so; 3,000 new connections from the client
#    split 60/30/10 (each within 3 points), none fails
#  - c1's own ClusterIP of web is global with affinity local: 100% stays in
#    c1; when c1's endpoints go, traffic fails over to c2 and c3 in the
#    decision's proportion (3:1) with no failed connection
#  - the leader is killed (SIGKILL) and its cluster's controller restarted:
#    the other candidate takes over within the lease (3 s) plus a round,
#    and the decision stays (same generation)
#  - c3's controller stops (SIGTERM withdraws its ClusterInfo): the
#    scheduler re-decides without c3 (generation + 1, 10 replicas on c1 and
#    c2) and c3 takes no new connection
#
# Usage: propagation_test.sh [--bin-dir DIR]. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d "/tmp/meridian-prop-test.XXXXXX")
REG="dir:$WORK/registry"
TTL_MS=3000
FLOWS="$HERE/flows.py"
CONNS=${MERIDIAN_PROPAGATION_CONNS:-3000}
declare -A CTRL_PID
cleanup() {
  local c
  for c in "${!CTRL_PID[@]}"; do kill -TERM "${CTRL_PID[$c]}" 2>/dev/null; done
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "# lab $PREFIX: 3 clusters x 1 node x 2 pods + client, dir registry"
"$LAB" up --prefix "$PREFIX" --clusters 3 --nodes 1 --pods 2 --client --bin-dir "$BIN_DIR" >"$WORK/lab-up.log" 2>&1 ||
  { cat "$WORK/lab-up.log"; exit 1; }
lab_load_env "$PREFIX"
C1N1=$(lab_node_ns "$PREFIX" 1 1)

"$LAB" manifests --prefix "$PREFIX" --out "$WORK/clusters" >/dev/null
for c in 1 2 3; do
  mkdir -p "$WORK/m/c$c"
  cp "$WORK/clusters/cluster-c$c.yaml" "$WORK/m/c$c/"
done
# c1_web POD...: c1's web, global with affinity local (its ClusterIP
# prefers c1's pods), exported; written atomically.
c1_web() {
  {
    lab_service_yaml web 10.96.0.10 "http:TCP:80:8080" "$@" |
      sed 's/^metadata: {name: web, namespace: default}$/metadata:\n  name: web\n  namespace: default\n  annotations: {service.meridian.io\/global: "true", service.meridian.io\/affinity: local}/'
    lab_service_export web
  } >"$WORK/m/c1/services.yaml.new"
  mv "$WORK/m/c1/services.yaml.new" "$WORK/m/c1/services.yaml"
}
c1_web c1n1p1 c1n1p2
for c in 2 3; do
  { lab_service_yaml web "10.96.$c.10" "http:TCP:80:8080" "c${c}n1p1" "c${c}n1p2"; lab_service_export web; } >"$WORK/m/c$c/services.yaml"
done

mkdir -p "$WORK/sched"
cat >"$WORK/sched/web.yaml" <<'YAML'
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: web, namespace: default}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]
  placement:
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
        - {targetCluster: {clusterNames: [c1]}, weight: 6}
        - {targetCluster: {clusterNames: [c2]}, weight: 3}
        - {targetCluster: {clusterNames: [c3]}, weight: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, uid: 0b6c1f9e-5d1a-4c1e-9a5e-2f1e3d4c5b6a}
spec: {replicas: 10}
YAML

start_controller() {  # start_controller C [--scheduler DIR]
  local c=$1
  shift
  "$BIN_DIR/meridian-controller" --cluster "c$c" --manifests "$WORK/m/c$c" --registry "$REG" \
    --lease-ttl-ms "$TTL_MS" --metrics-listen off --status-file "$WORK/controller-c$c.json" "$@" \
    >>"$WORK/controller-c$c.log" 2>&1 &
  CTRL_PID[$c]=$!
}
start_controller 1 --scheduler "$WORK/sched"
start_controller 2 --scheduler "$WORK/sched"
start_controller 3
require "agents of the three clusters attach and serve with --registry" \
  lab_agents_start_clusterset "$WORK/m" --registry "$REG"

CTL=("$BIN_DIR/meridianctl")
# decision FIELD: a field of the registry's decision for default/web ("" if none).
decision() {
  "${CTL[@]}" registry --url "$REG" get /meridian/v1/decisions/default/web 2>/dev/null | python3 -c '
import json, sys
text = sys.stdin.read()
try:
    d = json.loads(text[text.index("{"):])
except ValueError:
    print(""); sys.exit()
v = d.get(sys.argv[1], "")
print(" ".join("%s=%s" % kv for kv in sorted(v.items())) if isinstance(v, dict) else v)
' "$1"
}
decided() { [[ $(decision replicasPerCluster) == "c1=6 c2=3 c3=1" ]]; }
require "the elected scheduler publishes web's decision c1=6 c2=3 c3=1" wait_for 15 decided
check_eq "the decision names the workload" "Deployment default/web" "$(decision workload)"
# The scheduler may have decided before the last cluster joined: the
# generation counts every decision since.
GEN=$(decision generation)
check "the decision has a generation ($GEN)" test "${GEN:-0}" -ge 1

# leader C: "true" if cluster C's controller leads the scheduler.
leading() { python3 -c 'import json,sys; print(str(json.load(open(sys.argv[1])).get("scheduler", {}).get("leading", False)).lower())' "$WORK/controller-c$1.json" 2>/dev/null; }
LEADERS=$(for c in 1 2; do leading "$c"; done | grep -c true)
check_eq "exactly one of the two candidates leads" 1 "$LEADERS"
LEADER=1
[[ $(leading 2) == true ]] && LEADER=2

import_field() {  # NODE FIELD: a field of default/web's import (a list comma-separated)
  lab_agent_field "$1" "imports[name=default/web].$2" | tr -d '[]"'
}
# weights NODE VIP: "cluster:weight" of every backend of VIP:80, in order.
weights() {
  lab_agent_status "$1" | python3 -c '
import json, sys
s = json.load(sys.stdin)
for f in s.get("weighted_frontends", []):
    if f["frontend"] == sys.argv[1] + ":80/TCP":
        print(f["decision_generation"], " ".join("%s:%s" % (b["cluster"], b["weight"]) for b in f["backends"]))
' "$2"
}
wait_import() { [[ -n $(import_field "$C1N1" clusterset_ip) && $(import_field "$C1N1" clusters) == *c3* ]]; }
require "c1n1 imports web from the three clusters" wait_for 10 wait_import
WEB_IP=$(lab_agent_field "$C1N1" 'imports[name=default/web].clusterset_ip')
for node in "${LAB_NODE_NAMES[@]}"; do
  weighted() { [[ $(weights "$node" "$WEB_IP") == "$GEN c1:6 c1:6 c2:3 c2:3 c3:1 c3:1" ]]; }
  check "$node weights web's ClusterSet VIP $WEB_IP by the decision (6,6,3,3,1,1)" wait_for 10 weighted
done
services() { "${CTL[@]}" --node "$1" --state-dir "$LAB_STATE_DIR/agent-$1" services; }
SERVICES=$(services "$C1N1")
echo "$SERVICES" | sed 's/^/# /' 
check "meridianctl services: the VIP's weights come from decision g$GEN" \
  grep -qE "^$WEB_IP:80/TCP .* decision g$GEN .*\[[0-9]+ w6 c1\]" <<<"$SERVICES"
check "meridianctl services: c1's own ClusterIP (affinity local) is weighted by the decision too" \
  grep -qE "^10.96.0.10:80/TCP .* decision g$GEN " <<<"$SERVICES"
check "meridianctl services: other frontends weigh their endpoints" \
  grep -qE "^10.96.2.10:80/TCP .* endpoints " <<<"$(services "$(lab_node_ns "$PREFIX" 2 1)")"

# churn DST COUNT -> "ok failed c1 c2 c3" (connections answered per cluster)
churn() {
  lab_exec_pod "$PREFIX" c1client python3 "$FLOWS" churn --dst "$1" --count "$2" | python3 -c '
import json, sys
r = json.load(sys.stdin)
per = {"c1": 0, "c2": 0, "c3": 0}
for pod, n in r["pods"].items():
    per[pod[:2]] = per.get(pod[:2], 0) + n
print(r["ok"], r["failed"], per["c1"], per["c2"], per["c3"])
'
}
# within A B POINTS: |A - B| <= POINTS (percentages)
within() { python3 -c 'import sys; a,b,p=map(float,sys.argv[1:]); sys.exit(abs(a-b) > p)' "$@"; }
pct() { python3 -c 'import sys; print(round(100.0 * int(sys.argv[1]) / max(1, int(sys.argv[2])), 1))' "$1" "$2"; }

read -r NOK NFAILED N1 N2 N3 <<<"$(churn "$WEB_IP:80" "$CONNS")"
echo "# $CONNS connections to $WEB_IP:80: ok $NOK failed $NFAILED; c1 $N1, c2 $N2, c3 $N3"
check_eq "$CONNS connections to the ClusterSet VIP: none failed" 0 "$NFAILED"
check "c1's share $(pct "$N1" "$NOK")% is within 3 points of 60" within "$(pct "$N1" "$NOK")" 60 3
check "c2's share $(pct "$N2" "$NOK")% is within 3 points of 30" within "$(pct "$N2" "$NOK")" 30 3
check "c3's share $(pct "$N3" "$NOK")% is within 3 points of 10" within "$(pct "$N3" "$NOK")" 10 3

# Local affinity: c1's ClusterIP stays in c1 while it has endpoints.
read -r NOK NFAILED N1 N2 N3 <<<"$(churn 10.96.0.10:80 500)"
check_eq "affinity local: 500 connections to c1's ClusterIP all stay in c1 (ok failed c1 c2 c3)" \
  "500 0 500 0 0" "$NOK $NFAILED $N1 $N2 $N3"
# c1's endpoints go (scaled to zero): the failover takes c2 and c3 by the
# decision (3:1), once the agent applied it.
c1_web
failed_over() { [[ $(weights "$C1N1" 10.96.0.10) == "$GEN c2:3 c2:3 c3:1 c3:1" ]]; }
check "c1n1 fails web's ClusterIP over to c2 and c3, weighted 3:1" wait_for 10 failed_over
read -r NOK NFAILED N1 N2 N3 <<<"$(churn 10.96.0.10:80 1000)"
echo "# after failover, 1000 connections to 10.96.0.10:80: ok $NOK failed $NFAILED; c1 $N1, c2 $N2, c3 $N3"
check_eq "after the failover: no connection failed, none reached c1" "0 0" "$NFAILED $N1"
check "c2's share after the failover $(pct "$N2" "$NOK")% is within 4 points of 75" within "$(pct "$N2" "$NOK")" 75 4
c1_web c1n1p1 c1n1p2
restored() { [[ $(weights "$C1N1" "$WEB_IP") == "$GEN c1:6 c1:6 c2:3 c2:3 c3:1 c3:1" ]]; }
check "c1's pods are back in the VIP's weights" wait_for 10 restored

# The leader dies; its cluster's controller comes back at once (a pod
# restart): the other candidate (or the new process) takes over, the
# decision stays.
OLD_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scheduler"]["identity"])' "$WORK/controller-c$LEADER.json")
kill -KILL "${CTRL_PID[$LEADER]}"
wait "${CTRL_PID[$LEADER]}" 2>/dev/null
start_controller "$LEADER" --scheduler "$WORK/sched"
KILLED_AT=$(date +%s%N)
new_leader() {
  local c
  for c in 1 2; do
    python3 -c '
import json, sys
s = json.load(open(sys.argv[1])).get("scheduler", {})
sys.exit(not (s.get("leading") and s.get("identity") != sys.argv[2]))' "$WORK/controller-c$c.json" "$OLD_ID" 2>/dev/null && return 0
  done
  return 1
}
check "a new scheduler leads within the lease (3 s) plus 3 s" wait_for 6 new_leader
echo "# new leader after $((($(date +%s%N) - KILLED_AT) / 1000000)) ms"
sleep 2  # a round or two of the new leader
check_eq "the decision stays after the takeover (generation, replicas)" "$GEN c1=6 c2=3 c3=1" \
  "$(decision generation) $(decision replicasPerCluster)"

# c3 leaves the ClusterSet: the scheduler re-decides without it.
kill -TERM "${CTRL_PID[3]}"
wait "${CTRL_PID[3]}" 2>/dev/null
unset 'CTRL_PID[3]'
redecided() { [[ $(decision replicasPerCluster) == "c1=7 c2=3" ]]; }
check "c3 gone: the scheduler re-decides c1=7 c2=3 (Webster over 6:3)" wait_for 8 redecided
check_eq "the new decision's generation" $((GEN + 1)) "$(decision generation)"
c3_gone() { [[ $(weights "$C1N1" "$WEB_IP") == "$((GEN + 1)) c1:7 c1:7 c2:3 c2:3" ]]; }
check "c1n1 reweights the VIP (7,7,3,3) without c3" wait_for 8 c3_gone
read -r NOK NFAILED N1 N2 N3 <<<"$(churn "$WEB_IP:80" 500)"
check_eq "500 connections after c3 left: none failed, none reached c3" "0 0" "$NFAILED $N3"

finish
