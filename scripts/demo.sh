#!/usr/bin/env bash
# Meridian demo, from a fresh Debian 12 machine, as root: a live ClusterSet
# on the embedded dir: registry.
#
# It builds a lab of network namespaces (2 clusters x 2 nodes x 2 pods + a
# client pod in each cluster; the clusters' underlays are joined by a router
# that does not route pod CIDRs), runs one meridian-controller per cluster
# (publishing exports to the registry under a lease) and one meridian-agent
# per node (reading the registry, translating and tunnelling in the kernel).
#   - web is exported by both clusters, db only by c2
#   - the client pod of c1 resolves web.demo.svc.clusterset.local and
#     db.demo.svc.clusterset.local with the system resolver (getent, curl)
#     through the agent's DNS server, and the demo prints which cluster and
#     pod answered each request
#   - a PropagationPolicy places web's 8 replicas 2:6 over c1 and c2; the
#     elected scheduler (c1's controller, --scheduler) publishes the
#     decision and every agent weights web by it: about 1 request in 4
#     goes to c1
#   - then c2's controller is killed: its exports expire from the registry
#     and web is served by c1 alone
# Everything it creates is removed at the end.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ $(id -u) -ne 0 ]]; then
  echo "demo.sh: run as root (BPF and network namespaces need it)" >&2
  exit 1
fi

echo "== installing packages (first run only)"
"$REPO/scripts/install-deps.sh" | sed 's/^/   /'
echo "== building"
"$REPO/scripts/build.sh" --progress --target meridian-agent meridian-controller meridianctl meridian-echo

source "$REPO/lab/lib.sh"
source "$REPO/lab/agents.sh"
source "$REPO/lab/manifests.sh"
BIN="$REPO/build/bin"
PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d /tmp/meridian-demo.XXXXXX)
REG="dir:$WORK/registry"
CTRL_PIDS=()
cleanup() {
  local p
  for p in "${CTRL_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$REPO/lab/meridian-lab" down --prefix "$PREFIX" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== lab $PREFIX: 2 clusters x 2 nodes x 2 pods, client pods c1client and c2client"
"$REPO/lab/meridian-lab" up --prefix "$PREFIX" --clusters 2 --nodes 2 --pods 2 --client \
  --bin-dir "$BIN" >/dev/null
lab_load_env "$PREFIX"

# ns_service NAME VIP POD...: a Service in namespace demo (HTTP 80 -> 8080).
ns_service() {
  local name=$1 vip=$2
  shift 2
  lab_service_yaml "$name" "$vip" "http:TCP:80:8080" "$@" | sed 's/namespace: default/namespace: demo/'
}
ns_export() { lab_service_export "$1" | sed 's/namespace: default/namespace: demo/'; }
mkdir -p "$WORK/m/c1" "$WORK/m/c2"
"$REPO/lab/meridian-lab" manifests --prefix "$PREFIX" --out "$WORK/clusters" >/dev/null
cp "$WORK/clusters/cluster-c1.yaml" "$WORK/m/c1/"
cp "$WORK/clusters/cluster-c2.yaml" "$WORK/m/c2/"
{
  ns_service web 10.96.0.10 c1n1p1 c1n2p1
  ns_export web
} >"$WORK/m/c1/services.yaml"
{
  ns_service web 10.96.0.10 c2n1p1 c2n2p1
  ns_export web
  ns_service db 10.96.0.20 c2n1p2 c2n2p2
  ns_export db
} >"$WORK/m/c2/services.yaml"
echo "== manifests: web (pods c1n1p1 c1n2p1 | c2n1p1 c2n2p1) exported by c1 and c2;"
echo "   db (pods c2n1p2 c2n2p2) exported by c2 only"

mkdir -p "$WORK/sched"  # the scheduler's policies and workloads (empty for now)
for c in 1 2; do
  scheduler=()
  [[ $c == 1 ]] && scheduler=(--scheduler "$WORK/sched")
  "$BIN/meridian-controller" --cluster "c$c" --manifests "$WORK/m/c$c" --registry "$REG" \
    --lease-ttl-ms 3000 --metrics-listen "127.0.0.1:$((9970 + c))" "${scheduler[@]}" \
    >>"$WORK/controller-c$c.log" 2>&1 &
  CTRL_PIDS+=($!)
done
echo "== controllers publish to $REG (lease 3 s)"
lab_agents_start_clusterset "$WORK/m" --registry "$REG" --dns-listen 0.0.0.0:53
echo "== agents running on ${LAB_NODE_NAMES[*]}, reading the registry, serving clusterset.local DNS"
# Each client pod's resolver is its node's agent (what a node-local DNS
# setup, or CoreDNS forwarding clusterset.local, would give a pod).
lab_pod_resolver "$PREFIX" c1client "$(lab_node_ip 1 1)"
lab_pod_resolver "$PREFIX" c2client "$(lab_node_ip 2 1)"
NODE1=${LAB_NODE_NAMES[0]}
ctl1() { "$BIN/meridianctl" --node "$NODE1" --state-dir "$LAB_STATE_DIR/agent-$NODE1" "$@"; }
imports_ready() {  # both imports have their ClusterSet IP
  [[ $(ctl1 status 'imports[name=demo/web].clusterset_ip' 'imports[name=demo/db].clusterset_ip' 2>/dev/null |
    grep -c .) == 2 ]]
}
for _ in $(seq 50); do imports_ready && break; sleep 0.1; done
echo "== ServiceImports on $NODE1 (meridianctl imports):"
ctl1 imports | sed 's/^/   /'
echo "== registry records:"
"$BIN/meridianctl" registry --url "$REG" list | cut -c1-110 | sed 's/^/   /'

WEB=web.demo.svc.clusterset.local
DB=db.demo.svc.clusterset.local
echo "== names, resolved by the system resolver in the client pods:"
for client in c1client c2client; do
  for name in $WEB $DB; do
    printf '   %-9s %-31s -> %s\n' "$client" "$name" \
      "$(lab_exec_pod "$PREFIX" "$client" getent hosts "$name" | awk '{print $1}')"
  done
done
printf '   %-9s %-31s -> %s\n' c1client "_http._tcp.$WEB SRV" \
  "$(lab_exec_pod "$PREFIX" c1client dig +short "_http._tcp.$WEB" SRV)"

SUMMARY=()  # one row per ask: step, client, URL, requests, answered by c1, by c2, failed
STEP=""
ask() {  # ask CLIENT URL COUNT: requests tallied by the pod (and so cluster) that answered
  local i answers
  answers=$(for i in $(seq "$3"); do
    lab_exec_pod "$PREFIX" "$1" curl -s --max-time 2 "$2" || echo "(failed)"
  done)
  sort <<<"$answers" | uniq -c | awk '{c=substr($2,1,2); printf "   %3d x %-8s (cluster %s)\n", $1, $2, c}'
  SUMMARY+=("$(printf '%-34s %-9s %-38s %4d %4d %4d %4d' "$STEP" "$1" "$2" "$3" \
    "$(grep -c '^c1' <<<"$answers")" "$(grep -c '^c2' <<<"$answers")" "$(grep -vc '^c[12]' <<<"$answers")")")
}
STEP="both clusters export web"
echo "== 20 requests from c1client to http://$WEB/:"
ask c1client "http://$WEB/" 20
echo "== 10 requests from c1client to http://$DB/ (only c2 exports db):"
ask c1client "http://$DB/" 10
echo "== 10 requests from c2client to http://$WEB/ (the same name and VIP in c2):"
ask c2client "http://$WEB/" 10

echo "== a PropagationPolicy places web's 8 replicas with static weights 1:3 over c1:c2;"
echo "   c1's controller, the elected scheduler, publishes the decision"
cat >"$WORK/sched/web.yaml" <<'YAML'
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: web, namespace: demo}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]
  placement:
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
        - {targetCluster: {clusterNames: [c1]}, weight: 1}
        - {targetCluster: {clusterNames: [c2]}, weight: 3}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo, uid: 5b7f3a52-0d5e-4b0e-9c1a-3e2f1d0c9b8a}
spec: {replicas: 8}
YAML
weighted() {
  "$BIN/meridianctl" --node "$NODE1" --state-dir "$LAB_STATE_DIR/agent-$NODE1" services | grep -q 'decision g'
}
for _ in $(seq 100); do weighted && break; sleep 0.1; done
"$BIN/meridianctl" registry --url "$REG" get /meridian/v1/decisions/demo/web | cut -c1-110 | sed 's/^/   /'
echo "== $NODE1 weights web's ClusterSet VIP by it (slots, weight, cluster per backend):"
"$BIN/meridianctl" --node "$NODE1" --state-dir "$LAB_STATE_DIR/agent-$NODE1" services |
  grep 'decision g' | sed 's/^/   /'
STEP="decision: web 2 in c1, 6 in c2"
echo "== 40 requests from c1client to http://$WEB/ (about 1 in 4 from c1):"
ask c1client "http://$WEB/" 40

echo "== c2's controller is killed (no withdrawal): its lease expires within 3 s"
kill -KILL "${CTRL_PIDS[1]}"
wait "${CTRL_PIDS[1]}" 2>/dev/null || true
sleep 4
STEP="c2's controller killed"
echo "== 10 requests from c1client to http://$WEB/: only c1 answers"
ask c1client "http://$WEB/" 10
echo "== db from c1client: the name is gone with its only exporter"
lab_exec_pod "$PREFIX" c1client curl -sS --max-time 2 "http://$DB/" 2>&1 | sed 's/^/   /' || true
echo "== what answered where"
printf '   %-34s %-9s %-38s %4s %4s %4s %4s\n' STEP CLIENT URL SENT C1 C2 FAIL
printf '   %s\n' "${SUMMARY[@]}"
echo "== done; tearing the lab down"
