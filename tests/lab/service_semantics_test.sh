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
require "agents attach and serve" lab_agents_start "$MANIFESTS"
check "both nodes installed $VIP with 4 backends" wait_for 5 both_have 4/0
client bash -c "for i in \$(seq 40); do curl -s --max-time 2 http://$VIP/ || echo FAILED; done" >"$WORK/none.txt"
check_eq "control, no affinity: 40 requests, none failed" 0 "$(grep -c FAILED "$WORK/none.txt")"
check "... and they reached several pods ($(distinct "$WORK/none.txt"))" test "$(distinct "$WORK/none.txt")" -ge 3

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
write_web none '{ready: false, serving: false, terminating: true}'
check "no longer serving: no backend takes new flows" wait_for 5 both_have 0/0
start=$(date +%s%N)
client curl -s --max-time 5 "http://$VIP/" >/dev/null
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "... a connection is refused at once (curl exit $rc = 7, in $ms ms < 1000)" test "$rc" -eq 7 -a "$ms" -lt 1000

finish
