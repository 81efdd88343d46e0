#!/usr/bin/env bash
# The controller's MCS write-back across two clusters, each with its own
# test API server (fake_apiserver.py, proven against kubectl) on loopback
# and one file registry between them:
#  - cluster west takes its name from the ClusterProperty
#    cluster.clusterset.k8s.io (no --cluster flag);
#  - east's export appears in west as a ServiceImport (type, ports, the
#    ClusterSet IP of the registry, sessionAffinity, status.clusters) and
#    an EndpointSlice labelled multicluster.kubernetes.io/service-name and
#    source-cluster, owned by the ServiceImport;
#  - nothing is rewritten while nothing changes; an endpoint added in east,
#    a headless export, an export withdrawn and a controller stopped all
#    reach west's objects; a restart deletes what the previous run left
#    and only that (objects without Meridian's labels are never touched);
#  - propagation decisions applied (issue 16): east restarted with
#    --scheduler on a policy of static weights 3:1 for a Deployment of 4;
#    each cluster's controller sets its own Deployment web to its share
#    (east 3, west 1), and again when the decision changes (8: 6 and 2);
#  - each controller's /metrics (promtool-clean) agrees with its status file.
# Prints PASS:/FAIL: lines and "N passed, M failed"; exit 1 on a failure,
# 77 (skip) without kubectl.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN_DIR=${BIN_DIR:-$HERE/../../build/bin}
[[ ${1:-} == --bin-dir ]] && BIN_DIR=$2
command -v kubectl >/dev/null || { echo "SKIP: kubectl not installed"; exit 77; }
PY=$(python3 -c 'import sys; print(sys.executable)')

WORK=$(mktemp -d "${TMPDIR:-/tmp}/meridian-import-wb.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
export HOME="$WORK/home"
unset KUBECONFIG
mkdir -p "$HOME"

PASS=0
FAIL=0
check_eq() {  # NAME EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then
    echo "PASS: $1"; PASS=$((PASS + 1))
  else
    echo "FAIL: $1"; FAIL=$((FAIL + 1))
    echo "  expected: $2"; echo "  actual:   $3"
  fi
}
# wait_eq NAME EXPECTED COMMAND...: COMMAND's output becomes EXPECTED within 10 s.
wait_eq() {
  local name=$1 want=$2 got
  shift 2
  for _ in $(seq 100); do
    got=$("$@" 2>&1)
    [[ "$got" == "$want" ]] && break
    sleep 0.1
  done
  check_eq "$name" "$want" "$got"
}

start_api() {  # NAME
  "$PY" "$HERE/fake_apiserver.py" --dir "$WORK/$1" --bookmark-interval 1000 >"$WORK/$1.out" 2>"$WORK/$1.err" &
  PIDS+=($!)
  for _ in $(seq 100); do grep -q READY "$WORK/$1.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "the test API server $1 did not start"; cat "$WORK/$1.err"; exit 1
}
start_api east
start_api west
ke() { kubectl --kubeconfig "$WORK/east/kubeconfig" "$@"; }
kw() { kubectl --kubeconfig "$WORK/west/kubeconfig" "$@"; }

cluster_yaml() {  # NAME ID OCTET
  cat <<YAML
apiVersion: meridian.io/v1alpha1
kind: Cluster
metadata: {name: $1}
spec: {id: $2, podCIDRs: ["10.$3.0.0/16"], gateway: 172.16.$3.1}
YAML
}
web_yaml() {  # ENDPOINT...
  cat <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: ClusterIP
  clusterIP: 10.96.0.10
  sessionAffinity: ClientIP
  ports: [{name: http, port: 80, protocol: TCP, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
YAML
  for ip in "$@"; do echo "- {addresses: [\"$ip\"], conditions: {ready: true}, zone: zone-a}"; done
  cat <<YAML
---
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceExport
metadata: {name: web, namespace: shop}
YAML
}
{ cluster_yaml east 1 1; echo ---; web_yaml 10.1.0.5 10.1.0.6; } | ke apply --validate=false -f - >/dev/null
{
  cluster_yaml west 2 2
  cat <<YAML
---
apiVersion: about.k8s.io/v1alpha1
kind: ClusterProperty
metadata: {name: cluster.clusterset.k8s.io}
spec: {value: west}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceImport
metadata: {name: foreign, namespace: shop}
spec: {type: ClusterSetIP, ports: [{port: 80, protocol: TCP}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: foreign-x, namespace: shop, labels: {multicluster.kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: []
YAML
} | kw apply --validate=false -f - >/dev/null

# Each controller's /metrics on its own loopback port (both run here).
declare -A METRICS_PORT=([east]=$((20000 + RANDOM % 20000)))
METRICS_PORT[west]=$((METRICS_PORT[east] + 1))
start_controller() {  # NAME [FLAGS...]
  "$BIN_DIR/meridian-controller" --source kubernetes --kubeconfig "$WORK/$1/kubeconfig" \
    --registry "dir:$WORK/registry" --lease-ttl-ms 1500 --status-file "$WORK/$1-status.json" \
    --metrics-listen "127.0.0.1:${METRICS_PORT[$1]}" \
    "${@:2}" >>"$WORK/$1-controller.log" 2>&1 &
  PIDS+=($!)
  eval "${1^^}_PID=$!"
}
start_controller east --cluster east
start_controller west   # named by its ClusterProperty

status_field() {  # NAME PYTHON-EXPR over s
  python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print($2)" "$WORK/$1-status.json" 2>&1
}
wait_eq "west takes its name from the ClusterProperty" "west publishing" status_field west 's["cluster"], s["state"]'

si() {  # CLUSTER NAME JSONPATH
  "k${1:0:1}" -n shop get serviceimport "$2" -o "jsonpath=$3" 2>&1
}
wait_eq "west: ServiceImport shop/web with east's export" \
  "ClusterSetIP ClientIP http/TCP/80 east meridian-controller" \
  si west web '{.spec.type} {.spec.sessionAffinity} {range .spec.ports[*]}{.name}/{.protocol}/{.port}{end} {range .status.clusters[*]}{.cluster}{end} {.metadata.labels.app\.kubernetes\.io/managed-by}'
ip_west=$(si west web '{.spec.ips[0]}')
ip_east=$(si east web '{.spec.ips[0]}')
check_eq "the ClusterSet IP is the same in both clusters and inside --clusterset-cidr" "yes" \
  "$([[ -n $ip_west && $ip_west == "$ip_east" && $ip_west == 10.255.* ]] && echo yes || echo "no: west '$ip_west' east '$ip_east'")"

slices() {  # CLUSTER SERVICE
  "k${1:0:1}" -n shop get endpointslices -l "multicluster.kubernetes.io/service-name=$2,app.kubernetes.io/managed-by=meridian-controller" \
    -o 'jsonpath={range .items[*]}{.metadata.labels.multicluster\.kubernetes\.io/source-cluster}:{range .endpoints[*]}{.addresses[0]}/{.zone} {end}{"\n"}{end}' 2>&1
}
wait_eq "west: one MCS EndpointSlice from east with both endpoints" "east:10.1.0.5/zone-a 10.1.0.6/zone-a " slices west web
uid=$(si west web '{.metadata.uid}')
check_eq "... owned by the ServiceImport (controller: true)" "ServiceImport/web/$uid/true" \
  "$(kw -n shop get endpointslices -l multicluster.kubernetes.io/source-cluster=east -o 'jsonpath={range .items[*].metadata.ownerReferences[*]}{.kind}/{.name}/{.uid}/{.controller}{end}' 2>&1)"
check_eq "... and not labelled as a Service's own slice (kubernetes.io/service-name)" "" \
  "$(kw -n shop get endpointslices -l 'kubernetes.io/service-name' -o name 2>&1)"
check_eq "... while east, the exporter, has the same import" "east:10.1.0.5/zone-a 10.1.0.6/zone-a " "$(slices east web)"

applies_before=$(status_field west 's["import_writes"]["applies"]')
sleep 2
check_eq "nothing rewritten while nothing changes (applies stay $applies_before over 6 syncs)" \
  "$applies_before 0" "$(status_field west 's["import_writes"]["applies"], s["import_writes"]["failures"]')"

# /metrics: the same figures as the status file, in Prometheus's format.
metric() {  # NAME SERIES: its value in the controller's /metrics, or "missing"
  curl -s --max-time 2 "http://127.0.0.1:${METRICS_PORT[$1]}/metrics" |
    awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "missing" }'
}
curl -s --max-time 2 "http://127.0.0.1:${METRICS_PORT[west]}/metrics" >"$WORK/west-metrics.txt"
check_eq "west's /metrics: promtool check metrics is clean" "" "$(promtool check metrics <"$WORK/west-metrics.txt" 2>&1)"
check_eq "west's /metrics: ServiceImport applies equal the status file's ($applies_before)" \
  "$applies_before" "$(metric west 'meridian_controller_api_writes_total{writer="imports"}')"
check_eq "east's /metrics: publishing, registry up, one valid export, record puts counted" "1 1 1 yes" \
  "$(metric east 'meridian_controller_state{state="publishing"}') $(metric east meridian_controller_registry_up) $(metric east 'meridian_controller_exports{valid="true"}') $([[ $(metric east 'meridian_controller_record_writes_total{op="put"}') -ge 1 ]] 2>/dev/null && echo yes || echo no)"

web_yaml 10.1.0.5 10.1.0.6 10.1.0.7 | ke apply --validate=false -f - >/dev/null
wait_eq "an endpoint added in east reaches west's slice" "east:10.1.0.5/zone-a 10.1.0.6/zone-a 10.1.0.7/zone-a " slices west web

ke apply --validate=false -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, ports: [{name: pg, port: 5432, protocol: TCP}]}
---
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceExport
metadata: {name: db, namespace: shop}
YAML
wait_eq "a headless export: ServiceImport db of type Headless, without ips" "Headless  pg/TCP/5432" \
  si west db '{.spec.type} {.spec.ips} {range .spec.ports[*]}{.name}/{.protocol}/{.port}{end}'

# A restart finds what the previous run wrote: a stale object carrying our
# label is deleted, a deleted one is written again, foreign ones stay.
kill "$WEST_PID"; wait "$WEST_PID" 2>/dev/null
kw -n shop delete serviceimport web >/dev/null
kw apply --validate=false -f - >/dev/null <<YAML
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceImport
metadata: {name: stale, namespace: shop, labels: {app.kubernetes.io/managed-by: meridian-controller}}
spec: {type: ClusterSetIP, ports: [{port: 80, protocol: TCP}]}
YAML
start_controller west
wait_eq "after a restart: web written again, stale deleted" "db web" \
  bash -c "kubectl --kubeconfig '$WORK/west/kubeconfig' -n shop get serviceimports -l app.kubernetes.io/managed-by=meridian-controller -o 'jsonpath={.items[*].metadata.name}'"
check_eq "... its slice points at the new ServiceImport's uid" "$(si west web '{.metadata.uid}')" \
  "$(kw -n shop get endpointslices -l multicluster.kubernetes.io/service-name=web,multicluster.kubernetes.io/source-cluster=east -o 'jsonpath={.items[0].metadata.ownerReferences[0].uid}' 2>&1)"
check_eq "... and the foreign ServiceImport and slice are untouched" "foreign foreign-x" \
  "$(kw -n shop get serviceimport foreign -o 'jsonpath={.metadata.name}' 2>&1) $(kw -n shop get endpointslice foreign-x -o 'jsonpath={.metadata.name}' 2>&1)"

ke -n shop delete serviceexport web >/dev/null
gone() { "k${1:0:1}" -n shop get serviceimport "$2" -o name 2>&1 | grep -c NotFound; }
wait_eq "east withdraws web: west's ServiceImport web is deleted" "1" gone west web
wait_eq "... with its slices" "" slices west web
wait_eq "... and east's own import of web too" "1" gone east web

kill "$EAST_PID"; wait "$EAST_PID" 2>/dev/null
wait_eq "east stops (withdrawing its records): west's ServiceImport db is deleted" "1" gone west db
check_eq "west wrote without failing" "0" "$(status_field west 's["import_writes"]["failures"]')"

# Propagation decisions: each cluster applies its share to its Deployment.
deployment_yaml() {
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, uid: 7d2c9a1e-1111-4c1e-9a5e-000000000016}
spec:
  replicas: $1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web}]}
YAML
}
deployment_yaml 1 | ke apply --validate=false -f - >/dev/null
deployment_yaml 1 | kw apply --validate=false -f - >/dev/null
mkdir -p "$WORK/sched"
policy_and_workload() {  # REPLICAS
  cat <<YAML
apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {name: web, namespace: shop}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]
  placement:
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
        - {targetCluster: {clusterNames: [east]}, weight: 3}
        - {targetCluster: {clusterNames: [west]}, weight: 1}
---
YAML
  deployment_yaml "$1"
}
policy_and_workload 4 >"$WORK/sched/web.yaml"
start_controller east --cluster east --scheduler "$WORK/sched"
replicas() { "k${1:0:1}" -n shop get deployment web -o 'jsonpath={.spec.replicas}' 2>&1; }
wait_eq "the decision 3:1 of 4: east's Deployment web gets 3 replicas" "3" replicas east
wait_eq "... and west's gets 1" "1" replicas west
policy_and_workload 8 >"$WORK/sched/web.yaml.new" && mv "$WORK/sched/web.yaml.new" "$WORK/sched/web.yaml"
wait_eq "the workload scaled to 8: east 6" "6" replicas east
wait_eq "... west 2" "2" replicas west
wait_eq "west's status shows what it applied" "2 0" \
  status_field west 's["share_writes"]["applied"]["shop/web"], s["share_writes"]["failures"]' 
kill "$EAST_PID"; wait "$EAST_PID" 2>/dev/null

echo "$PASS passed, $FAIL failed"
[[ $FAIL -eq 0 ]]
