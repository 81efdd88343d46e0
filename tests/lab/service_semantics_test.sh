#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lab test of kube-proxy's Service semantics with real traffic, one
# scenario per Kubernetes e2e network test it mirrors: 1 cluster x 2 nodes
# x 2 pods + a client pod, one meridian-agent per node (manifest source).
#
#  - "should have session affinity work for service with type clusterIP":
#    every request of one client reaches one pod (and, as a control, the
#    same requests without affinity reach several)
#  - "should have session affinity timeout work for service with type
#    clusterIP": requests further apart than the timeout are balanced again
#  - "should fallback to terminating endpoints when there are no ready
#    endpoints": serving, terminating endpoints answer while none is ready;
#    once they stop serving, a connection is refused at once
#  - a known VIP on a port it does not serve refuses the connection at
#    once (kube-proxy's nftables mode)
#  - "should respect internalTrafficPolicy=Local Pod to Pod": the client's
#    node's pods only; a node without one drops (no refusal)
#  - "should route traffic to an endpoint in the same zone when using
#    PreferClose": zones from Node manifests, hints from the slice
#
# Usage: service_semantics_test.sh [--bin-dir DIR]. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d "/tmp/meridian-svc-sem.XXXXXX")
MANIFESTS="$WORK/manifests"
mkdir -p "$MANIFESTS"
cleanup() {
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

VIP=10.96.0.10
PODS=(c1n1p1 c1n1p2 c1n2p1 c1n2p2)

# write_web AFFINITY-TIMEOUT|none CONDITIONS: Service web and its slice with
# all 4 pods in the given conditions, written atomically.
write_web() {
  local affinity=$1 conditions=$2
  lab_service_yaml web "$VIP" http:TCP:80:8080 "${PODS[@]}" |
    if [[ $affinity == none ]]; then cat; else
      sed "/^spec:\$/a\\  sessionAffinity: ClientIP\\n  sessionAffinityConfig: {clientIP: {timeoutSeconds: $affinity}}"
    fi |
    sed "s/conditions: {ready: true}/conditions: $conditions/" >"$MANIFESTS/.web.tmp"
  mv "$MANIFESTS/.web.tmp" "$MANIFESTS/web.yaml"
}
READY='{ready: true}'
client() { lab_exec_pod "$PREFIX" c1client "$@"; }
installed() {  # NODE: "<active backends>/<affinity timeout>" of the VIP's frontend
  "$BIN_DIR/meridianctl" --node "$1" --json services 2>/dev/null | python3 -c '
import json, sys
fes = [f for f in json.load(sys.stdin) if f["frontend"] == sys.argv[1]]
print("%d/%d" % (fes[0]["active_backends"], fes[0]["affinity_timeout_s"]) if fes else "none")' "$VIP:80/TCP"
}
both_have() { [[ $(installed "${LAB_NODE_NAMES[0]}") == "$1" && $(installed "${LAB_NODE_NAMES[1]}") == "$1" ]]; }
distinct() { sort -u "$1" | grep -c '^c1n'; }

echo "# lab $PREFIX: 1 cluster x 2 nodes x 2 pods + client"
"$LAB" up --prefix "$PREFIX" --clusters 1 --nodes 2 --pods 2 --client --bin-dir "$BIN_DIR" >"$WORK/lab-up.log" 2>&1 ||
  { cat "$WORK/lab-up.log"; exit 1; }
lab_load_env "$PREFIX"

# --- control: no affinity ---------------------------------------------
write_web none "$READY"
# Short conntrack lifetimes after a FIN and a fast collector, for the
# conntrack section below; an established flow keeps the default (5 days).
require "agents attach and serve" lab_agents_start "$MANIFESTS" --ct-timeout-tcp-fin 2 --ct-gc-interval-ms 500
check "both nodes installed $VIP with 4 backends" wait_for 5 both_have 4/0
client bash -c "for i in \$(seq 40); do curl -s --max-time 2 http://$VIP/ || echo FAILED; done" >"$WORK/none.txt"
check_eq "control, no affinity: 40 requests, none failed" 0 "$(grep -c FAILED "$WORK/none.txt")"
check "... and they reached several pods ($(distinct "$WORK/none.txt"))" test "$(distinct "$WORK/none.txt")" -ge 3

# A port the VIP does not serve: refused at once, not left to time out.
start=$(date +%s%N)
client curl -s --max-time 5 "http://$VIP:81/" >/dev/null
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "a known VIP on an unknown port is refused (curl exit $rc = 7, in $ms ms < 1000)" test "$rc" -eq 7 -a "$ms" -lt 1000

# --- conntrack lifetimes ---------------------------------------------------
# The requests above closed their connections: 2 s after the FIN the
# collector deletes both entries of each. A connection left idle meanwhile
# is established, not closing: it keeps its entries and still answers.
NODE1=${LAB_NODE_NAMES[0]}
vip_entries() { "$BIN_DIR/meridianctl" --node "$NODE1" ct | grep -c " $VIP:80 "; }
ct_status() { lab_agent_field "$NODE1" "conntrack.$1"; }
client bash -c "exec 3<>/dev/tcp/$VIP/80; sleep 6; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3" >"$WORK/idle.txt" 2>&1 &
idle_pid=$!
vip_entries_are() { test "$(vip_entries)" -eq "$1"; }
check "closed connections leave conntrack 2 s after their FIN; the idle one's 2 entries stay" \
  wait_for 5 vip_entries_are 2
"$BIN_DIR/meridianctl" --node "$NODE1" ct | grep " $VIP:80 " >"$WORK/ct-idle.txt"
check_eq "... both in state established" 2 "$(grep -c ' established ' "$WORK/ct-idle.txt")"
wait "$idle_pid"
check "a connection idle for 6 s (3 collections past the FIN lifetime) still answers" grep -q '^c1n' "$WORK/idle.txt"
check_eq "conntrack.gc_interval_ms: the configured 500 ms (its floor too, so it stays)" 500 "$(ct_status gc_interval_ms)"
expired=$(ct_status expired)
check "the agent counted the deleted entries (conntrack.expired $expired >= 80: 40 flows x 2)" test "$expired" -ge 80
ct_expired=$("$BIN_DIR/meridianctl" --node "$NODE1" --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["ct_expired"]["packets"])' 2>&1)
check_eq "... and so does mer_stats (ct_expired)" "$expired" "$ct_expired"

# The collector looks for mer_flows pairs of removed frontends and
# backends only after an apply removed some: with nothing removed, three
# collections (every 0.5 s) scan nothing.
scans0=$(ct_status flow_pair_scans) collections0=$(ct_status collections)
three_more() { test "$(ct_status collections)" -ge $((collections0 + 3)); }
wait_for 5 three_more || true
check_eq "nothing removed: $(($(ct_status collections) - collections0)) collections, no scan of mer_flows" \
  "$scans0" "$(ct_status flow_pair_scans)"

# --- session affinity ---------------------------------------------------
write_web 2 "$READY"
check "both nodes installed the ClientIP affinity (timeout 2 s)" wait_for 5 both_have 4/2
client bash -c "for i in \$(seq 40); do curl -s --max-time 2 http://$VIP/ || echo FAILED; done" >"$WORK/affinity.txt"
check_eq "should have session affinity work for service with type clusterIP: 40 requests, 1 pod" \
  "0 1" "$(grep -c FAILED "$WORK/affinity.txt") $(distinct "$WORK/affinity.txt")"
hits=$("$BIN_DIR/meridianctl" --node "${LAB_NODE_NAMES[0]}" --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["lb_affinity_hit"]["packets"])' 2>&1)
check "... 39 of them chosen by the affinity (lb_affinity_hit on the client's node: $hits)" test "$hits" -ge 39

# Requests 3 s apart with a 2 s timeout: each is balanced afresh.
client bash -c "for i in \$(seq 8); do curl -s --max-time 2 http://$VIP/ || echo FAILED; sleep 3; done" >"$WORK/timeout.txt"
check "should have session affinity timeout work for service with type clusterIP: 8 requests 3 s apart reached $(distinct "$WORK/timeout.txt") pods (>= 2)" \
  test "$(distinct "$WORK/timeout.txt")" -ge 2

# --- terminating endpoints ----------------------------------------------
write_web none '{ready: false, serving: true, terminating: true}'
check "every endpoint serving and terminating: 4 backends take new flows" wait_for 5 both_have 4/0
client bash -c "for i in \$(seq 20); do curl -s --max-time 2 http://$VIP/ || echo FAILED; done" >"$WORK/terminating.txt"
check_eq "should fallback to terminating endpoints when there are no ready endpoints: 20 requests, none failed" \
  0 "$(grep -c FAILED "$WORK/terminating.txt")"
scans1=$(ct_status flow_pair_scans)
write_web none '{ready: false, serving: false, terminating: true}'
check "no longer serving: no backend takes new flows" wait_for 5 both_have 0/0
scanned() { test "$(ct_status flow_pair_scans)" -eq $((scans1 + 1)); }
check "... the backends removed: the next collection scanned mer_flows, once" wait_for 3 scanned
sleep 1.2  # two more collections
check_eq "... and only once" $((scans1 + 1)) "$(ct_status flow_pair_scans)"
start=$(date +%s%N)
client curl -s --max-time 5 "http://$VIP/" >/dev/null
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "... a connection is refused at once (curl exit $rc = 7, in $ms ms < 1000)" test "$rc" -eq 7 -a "$ms" -lt 1000

# --- internalTrafficPolicy Local and topology hints -----------------------
NODE1=${LAB_NODE_NAMES[0]} NODE2=${LAB_NODE_NAMES[1]}
# write_placed SPEC-LINE: web with the pods' nodeName and zone hints (node 1
# zone-a, node 2 zone-b) and SPEC-LINE added to the spec; the Nodes too.
write_placed() {
  local pod node zone
  {
    printf 'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n'
    printf 'spec:\n  clusterIP: %s\n%s\n  ports: [{name: http, protocol: TCP, port: 80, targetPort: 8080}]\n---\n' "$VIP" "$1"
    printf 'apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-1\n  namespace: default\n'
    printf '  labels: {kubernetes.io/service-name: web}\naddressType: IPv4\nports: [{name: http, protocol: TCP, port: 8080}]\nendpoints:\n'
    for pod in "${PODS[@]}"; do
      node=$NODE1 zone=zone-a
      [[ $pod == c1n2* ]] && node=$NODE2 zone=zone-b
      printf -- '- {addresses: [%s], conditions: {ready: true}, nodeName: %s, zone: %s, hints: {forZones: [{name: %s}]}}\n' \
        "$(lab_pod_ip "$pod")" "$node" "$zone" "$zone"
    done
  } >"$MANIFESTS/.web.tmp"
  mv "$MANIFESTS/.web.tmp" "$MANIFESTS/web.yaml"
}
cat >"$MANIFESTS/nodes.yaml" <<YAML
apiVersion: v1
kind: Node
metadata: {name: $NODE1, labels: {topology.kubernetes.io/zone: zone-a}}
---
apiVersion: v1
kind: Node
metadata: {name: $NODE2, labels: {topology.kubernetes.io/zone: zone-b}}
YAML
write_placed "  internalTrafficPolicy: Local"
check "internalTrafficPolicy Local: each node installs its own 2 pods" wait_for 5 both_have 2/0
client bash -c "for i in \$(seq 30); do curl -s --max-time 2 http://$VIP/ || echo FAILED; done" >"$WORK/local.txt"
check_eq "should respect internalTrafficPolicy=Local Pod to Pod: 30 requests from node 1, none failed, only node 1's pods" \
  "0 c1n1p1 c1n1p2" "$(grep -c FAILED "$WORK/local.txt") $(sort -u "$WORK/local.txt" | grep '^c1n' | tr '\n' ' ' | sed 's/ $//')"

zone_of() { lab_agent_field "$1" node_object.zone; }
check_eq "the agents read their zones from the Node manifests" "zone-a zone-b" "$(zone_of "$NODE1") $(zone_of "$NODE2")"
write_placed "  trafficDistribution: PreferClose"
check "PreferClose: each node installs its zone's 2 pods" wait_for 5 both_have 2/0
client bash -c "for i in \$(seq 30); do curl -s --max-time 2 http://$VIP/ || echo FAILED; done" >"$WORK/zone.txt"
check_eq "should route traffic to an endpoint in the same zone when using PreferClose: 30 requests, only zone-a's pods" \
  "0 c1n1p1 c1n1p2" "$(grep -c FAILED "$WORK/zone.txt") $(sort -u "$WORK/zone.txt" | grep '^c1n' | tr '\n' ' ' | sed 's/ $//')"

# Node 1's pods gone from the slice: with Local, node 1 drops (the client
# times out instead of being refused); PreferClose falls back to all.
write_placed "  internalTrafficPolicy: Local"
sed -i "/$(lab_pod_ip c1n1p1)\|$(lab_pod_ip c1n1p2)/d" "$MANIFESTS/web.yaml"
node1_none() { [[ $(installed "$NODE1") == 0/0 ]]; }
check "Local without a pod on node 1: node 1 installs no backend" wait_for 5 node1_none
client curl -s --max-time 2 "http://$VIP/" >/dev/null
rc=$?
drops=$("$BIN_DIR/meridianctl" --node "$NODE1" --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin).get("drop_no_local_endpoint",{}).get("packets",0))' 2>&1)
check "... a connection times out (curl exit $rc = 28), dropped and counted (drop_no_local_endpoint: $drops)" \
  test "$rc" -eq 28 -a "$drops" -ge 1

finish
