#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lab test of the Kubernetes source with the real datapath: 1 cluster x 2
# nodes x 2 pods + a client; the test API server (tests/k8s/fake_apiserver.py,
# proven against kubectl) runs in node 1's namespace on 172.16.1.11; one
# meridian-agent per node with --source kubernetes; objects are changed with
# the real kubectl.
#
#  - a Service and its EndpointSlice applied with kubectl reach both nodes'
#    maps, and traffic to the VIP reaches all 4 pods
#  - an EndpointSlice edit and a Service delete reach the maps
#  - /healthz and /readyz answer (kube-proxy's format)
#  - watches cut, history compacted (410 -> relist), the API server frozen
#    for 5 s: a request loop through the VIP never fails, nothing is
#    withdrawn, and a change made after it still arrives
#  - an object the API accepts but Meridian refuses is named in the status;
#    the last good version keeps serving
#  - the controller with --source kubernetes publishes the ServiceExport and
#    writes its KEP conditions back (Valid/Ready/Conflict; NoService)
#
# Usage: kubernetes_test.sh [--bin-dir DIR]. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
command -v kubectl >/dev/null || { echo "SKIP: kubectl not installed"; exit 77; }

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d "/tmp/meridian-k8s-lab.XXXXXX")
API_PID=
cleanup() {
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  [[ -n $API_PID ]] && { kill -CONT "$API_PID"; kill "$API_PID"; wait "$API_PID"; } 2>/dev/null
  "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

VIP=10.96.0.10
PODS=(c1n1p1 c1n1p2 c1n2p1 c1n2p2)
API_ADDR=172.16.1.11

echo "# lab $PREFIX: 1 cluster x 2 nodes x 2 pods + client, API server on $API_ADDR"
"$LAB" up --prefix "$PREFIX" --clusters 1 --nodes 2 --pods 2 --client --bin-dir "$BIN_DIR" >"$WORK/lab-up.log" 2>&1 ||
  { cat "$WORK/lab-up.log"; exit 1; }
lab_load_env "$PREFIX"
NODE1=${LAB_NODE_NAMES[0]}
NODE2=${LAB_NODE_NAMES[1]}
in_node1() { nsenter --net="/run/netns/$NODE1" "$@"; }
in_node() { nsenter --net="/run/netns/$1" "${@:2}"; }

mkfifo "$WORK/api.out"
in_node1 python3 "$REPO/tests/k8s/fake_apiserver.py" --dir "$WORK/api" --address "$API_ADDR" \
  --bookmark-interval 1000 >"$WORK/api.out" 2>"$WORK/api.err" &
API_PID=$!
read -r -t 20 ready <"$WORK/api.out"
require "the test API server listens on $API_ADDR in $NODE1" test "${ready%%:*}" = "READY https"
KCFG="$WORK/api/kubeconfig"
kc() { in_node1 kubectl --kubeconfig "$KCFG" "$@"; }
api_control() { in_node1 curl -sk -X "$1" "https://$API_ADDR:${ready##*:}$2" >/dev/null; }

web_yaml() {  # POD...: the Service web and its EndpointSlice with these pods ready
  lab_service_yaml web "$VIP" http:TCP:80:8080 "$@"
}
{
  printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n---\n'
  web_yaml "${PODS[@]}"
  cat <<YAML
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceExport
metadata: {name: web, namespace: default}
---
apiVersion: meridian.io/v1alpha1
kind: Cluster
metadata: {name: c1}
spec: {id: 1, podCIDRs: ["10.1.0.0/16"], tunnelEndpoints: [{address: 172.16.1.11, podCIDRs: ["10.1.1.0/24"]}, {address: 172.16.1.12, podCIDRs: ["10.1.2.0/24"]}]}
YAML
} >"$WORK/web.yaml"
check_eq "kubectl apply creates the Service, its EndpointSlice, the ServiceExport and the Cluster" \
  "namespace/default created
service/web created
endpointslice.discovery.k8s.io/web-1 created
serviceexport.multicluster.x-k8s.io/web created
cluster.meridian.io/c1 created" "$(kc apply --validate=false -f "$WORK/web.yaml" 2>&1)"

require "agents with --source kubernetes attach and serve" \
  lab_agents_start kubernetes --kubeconfig "$KCFG" --health-listen 127.0.0.1:10256

frontend_backends() {  # NODE: active backends of the VIP, or "none"
  "$BIN_DIR/meridianctl" --node "$1" --json services 2>/dev/null | python3 -c '
import json, sys
fes = [f for f in json.load(sys.stdin) if f["frontend"] == sys.argv[1]]
print(fes[0]["active_backends"] if fes else "none")' "$VIP:80/TCP"
}
both_nodes_have() { [[ $(frontend_backends "$NODE1") == "$1" && $(frontend_backends "$NODE2") == "$1" ]]; }
check "both nodes installed $VIP with 4 backends" wait_for 5 both_nodes_have 4

client() { lab_exec_pod "$PREFIX" c1client "$@"; }
client bash -c "for i in \$(seq 40); do curl -s --max-time 2 http://$VIP/ || echo FAILED; done" >"$WORK/spread.txt"
check_eq "40 requests to the VIP: none failed" 0 "$(grep -c FAILED "$WORK/spread.txt")"
check_eq "... and all 4 pods answered" 4 "$(sort -u "$WORK/spread.txt" | grep -c '^c1n')"

# --- probes ------------------------------------------------------------
healthz=$(in_node "$NODE2" curl -s -w ' %{http_code}' http://127.0.0.1:10256/healthz)
check "/healthz: 200 with lastUpdated and nodeHealthy true ($healthz)" \
  python3 -c 'import json,sys; b,c=sys.argv[1].rsplit(" ",1); d=json.loads(b); sys.exit(0 if c=="200" and d["nodeHealthy"] is True and d["lastUpdated"] else 1)' "$healthz"
check_eq "/readyz: 200 ok" "ok 200" "$(in_node "$NODE2" curl -s -w '%{http_code}' http://127.0.0.1:10256/readyz | tr '\n' ' ')"
check_eq "status.json names the source" "kubernetes" \
  "$(lab_agent_field "$NODE2" source)"

# --- the agent's own Node object ---------------------------------------
kc apply --validate=false -f - >/dev/null 2>&1 <<YAML
apiVersion: v1
kind: Node
metadata: {name: $NODE2, labels: {topology.kubernetes.io/zone: zone-b, topology.kubernetes.io/region: r1}}
status: {addresses: [{type: InternalIP, address: "fd00::12"}, {type: InternalIP, address: 172.16.1.12}, {type: Hostname, address: $NODE2}]}
---
apiVersion: v1
kind: Node
metadata: {name: $NODE1, labels: {topology.kubernetes.io/zone: zone-a}}
YAML
node_object() { lab_agent_field "$NODE2" node_object.found node_object.internal_ip node_object.zone node_object.region | paste -sd ' '; }
node2_read() { [[ $(node_object) == "true 172.16.1.12 zone-b r1" ]]; }
check "node 2's agent reads its own Node: the IPv4 InternalIP and the topology labels" \
  wait_for 5 node2_read
check_eq "... and only its own: node 1's agent reports zone-a" "zone-a" \
  "$(lab_agent_field "$NODE1" node_object.zone)"

# --- changes through the API -------------------------------------------
web_yaml c1n1p1 c1n2p2 >"$WORK/slice.yaml"
check_eq "kubectl apply of the slice with 2 endpoints: configured" "service/web unchanged
endpointslice.discovery.k8s.io/web-1 configured" "$(kc apply --validate=false -f "$WORK/slice.yaml" 2>&1)"
check "both nodes dropped to 2 backends" wait_for 5 both_nodes_have 2

# --- faults of the API server under a request loop -----------------------
client bash -c "for i in \$(seq 300); do curl -s --max-time 2 http://$VIP/ || echo FAILED; sleep 0.02; done" >"$WORK/loop.txt" &
LOOP=$!
sleep 1
api_control POST /_test/drop-watches
sleep 1
# A kind nobody watches moves the resourceVersion past every agent's (no
# bookmarks here): after the compaction their watches get 410 and relist.
kc create namespace bump >/dev/null 2>&1
api_control POST /_test/compact
api_control POST /_test/drop-watches
sleep 1
kill -STOP "$API_PID"
sleep 5
kill -CONT "$API_PID"
wait "$LOOP"
check_eq "a request loop through watch cuts, a compaction and a 5 s API freeze: 0 failed of 300" \
  "0 300" "$(grep -c FAILED "$WORK/loop.txt") $(wc -l <"$WORK/loop.txt")"
services_lists() {
  in_node1 curl -sk "https://$API_ADDR:${ready##*:}/_test/requests" | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["path"] == "/api/v1/services" and "watch" not in r["query"] and r["status"] == 200))'
}
check_eq "both agents relisted services after the compaction (2 LISTs at start, 2 after)" 4 "$(services_lists)"
check_eq "... and both nodes kept 2 backends throughout" "2 2" "$(frontend_backends "$NODE1") $(frontend_backends "$NODE2")"
web_yaml "${PODS[@]}" >"$WORK/slice.yaml"
kc apply --validate=false -f "$WORK/slice.yaml" >/dev/null 2>&1
check "a change after the faults still arrives: 4 backends again" wait_for 10 both_nodes_have 4
check "the agents logged no withdrawal: applied frontends never went to 0" \
  bash -c "! grep -h 'applied: 0 frontends' '$LAB_STATE_DIR'/agent-*.log"

# --- an object Meridian refuses ------------------------------------------
kc patch svc web --type merge -p '{"metadata":{"annotations":{"service.meridian.io/affinity":"nearest"}}}' >/dev/null 2>&1
status_error() {
  [[ $(lab_agent_field "$NODE1" state) == degraded ]] &&
    lab_agent_field "$NODE1" errors | grep -q 'service.meridian.io/affinity'
}
check "an annotation Meridian refuses is named in the status (degraded)" wait_for 5 status_error
check_eq "... and the last good version keeps serving: 4 backends" "4 4" "$(frontend_backends "$NODE1") $(frontend_backends "$NODE2")"
kc patch svc web --type json -p '[{"op":"remove","path":"/metadata/annotations"}]' >/dev/null 2>&1
serving() { [[ $(lab_agent_field "$NODE1" state) == serving ]]; }
check "fixed through the API: serving again" wait_for 5 serving

# --- the controller reads the API too, and writes the conditions back -------
kc apply --validate=false -f - >/dev/null 2>&1 <<YAML
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceExport
metadata: {name: ghost, namespace: default}
YAML
in_node1 "$BIN_DIR/meridian-controller" --cluster c1 --source kubernetes --kubeconfig "$KCFG" \
  --registry "dir:$WORK/registry" --status-file "$WORK/controller.json" --once >"$WORK/controller.log" 2>&1
check "the controller with --source kubernetes published the export of default/web" \
  grep -rqs "web" "$WORK/registry"
check_eq "... and its status says degraded, naming the export without a Service" "degraded NoService" \
  "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["state"], " ".join(e["reason"] for e in s["exports"] if not e["valid"]))' "$WORK/controller.json" 2>&1)"

conditions() { kc get serviceexport "$1" -o jsonpath='{range .status.conditions[*]}{.type}={.status}/{.reason} {end}' 2>&1; }
check_eq "ServiceExport web: the KEP conditions written back" \
  "Valid=True/Valid Ready=True/Ready Conflict=False/NoConflicts " "$(conditions web)"
check_eq "ServiceExport ghost (no Service): Valid=False/NoService" \
  "Valid=False/NoService Ready=False/Invalid " "$(conditions ghost)"
check_eq "ServiceImport web written back with the ClusterSet IP and the exporting cluster" "ClusterSetIP c1 yes" \
  "$(kc get serviceimport web -o 'jsonpath={.spec.type} {.status.clusters[0].cluster} {.spec.ips[0]}' 2>&1 | sed 's/ 10\.255\.[0-9.]*$/ yes/')"
check_eq "... and its MCS EndpointSlice holds the 4 pods" "4" \
  "$(kc get endpointslices -l multicluster.kubernetes.io/service-name=web -o 'jsonpath={range .items[*].endpoints[*]}{.addresses[0]}{"\n"}{end}' 2>&1 | grep -c '^10\.')"
check_eq "... counted in the controller's status" "2 0" \
  "$(python3 -c 'import json,sys; w=json.load(open(sys.argv[1]))["export_status_writes"]; print(w["patches"], w["failures"])' "$WORK/controller.json" 2>&1)"

# --- delete ---------------------------------------------------------------
check_eq "kubectl delete svc web" 'service "web" deleted' "$(kc delete svc web 2>&1)"
both_gone() { both_nodes_have none; }
check "the VIP left both nodes' maps" wait_for 5 both_gone

finish
