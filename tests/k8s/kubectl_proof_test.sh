#!/usr/bin/env bash
# Proves that tests/k8s/fake_apiserver.py speaks the Kubernetes API the way the
# real client expects: the real kubectl (v1.32) discovers, applies (client-side
# and server-side), lists with pagination, watches, patches /status, deletes
# and reports auth errors against it, and raw curl sees the 410 paths. Every
# assertion compares exact output. Prints PASS:/FAIL: lines and
# "N passed, M failed"; exits 1 if anything failed, 77 (skip) without kubectl.
#
# kubectl apply runs with --validate=false: the test server serves no OpenAPI,
# and kubectl's client-side validation needs /openapi/v2 (protobuf).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVER="$HERE/fake_apiserver.py"
KUBECTL=${KUBECTL:-kubectl}
# The interpreter itself, not a wrapper (a pyenv shim costs ~1 s per call).
PY=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
  echo "SKIP: kubectl not found"
  exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/meridian-k8s-proof.XXXXXX")
SERVER_PID=""
SERVER2_PID=""
WATCH_PID=""
cleanup() {
  local pid
  for pid in "$WATCH_PID" "$SERVER_PID" "$SERVER2_PID"; do
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# kubectl must not see the user's kubeconfig or discovery cache.
export HOME="$WORK/home"
unset KUBECONFIG
mkdir -p "$HOME"

TOKEN=proof-token-1
FORBIDDEN=proof-forbidden-token
FORBIDDEN_USER=system:serviceaccount:meridian-system:unprivileged
PASS=0
FAIL=0

pass() { echo "PASS: $1"; PASS=$((PASS + 1)); }
fail() { echo "FAIL: $1"; FAIL=$((FAIL + 1)); }
# check NAME EXPECTED ACTUAL
check() {
  if [[ "$2" == "$3" ]]; then
    pass "$1"
  else
    fail "$1"
    echo "  expected:"; printf '%s\n' "$2" | sed 's/^/    | /'
    echo "  actual:"; printf '%s\n' "$3" | sed 's/^/    | /'
  fi
}
# run CMD...: OUT = stdout+stderr, RC = exit code; never aborts the script.
run() {
  set +e
  OUT=$("$@" 2>&1)
  RC=$?
  set -e
}

# start_server DIR OUTFILE EXTRA-ARGS...: sets STARTED_PID and STARTED_URL.
start_server() {
  local dir=$1 out=$2
  shift 2
  "$PY" "$SERVER" --dir "$dir" "$@" >"$out" 2>"$out.err" &
  STARTED_PID=$!
  local i
  for i in $(seq 1 100); do
    if grep -q '^READY ' "$out" 2>/dev/null; then
      STARTED_URL=$(sed -n 's/^READY //p' "$out")
      return 0
    fi
    if ! kill -0 "$STARTED_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "FAIL: the test API server did not print READY"
  cat "$out" "$out.err" >&2 || true
  exit 1
}

start_server "$WORK/srv" "$WORK/server.out" --token "$TOKEN" --forbidden-token "$FORBIDDEN" \
  --forbidden-user "$FORBIDDEN_USER"
SERVER_PID=$STARTED_PID
URL=$STARTED_URL
DIR="$WORK/srv"

k() { "$KUBECTL" --server "$URL" --certificate-authority "$DIR/ca.crt" --token "$TOKEN" "$@"; }
kc() { "$KUBECTL" --kubeconfig "$DIR/kubeconfig" "$@"; }
ctl() { curl -sS --cacert "$DIR/ca.crt" "$@"; }                       # /_test/ (no auth)
api() { curl -sS --cacert "$DIR/ca.crt" -H "Authorization: Bearer $TOKEN" "$@"; }
# json CODE: run Python CODE with d = the JSON on stdin; a parse or key error
# prints "<json error ...>" (so the check that uses it fails) instead of aborting.
json() {
  "$PY" -c "
import json, sys
try:
    d = json.load(sys.stdin)
    exec(sys.argv[1])
except Exception as e:
    print('<json error %s: %s>' % (type(e).__name__, e))
" "$1"
}
last_request_id() { ctl "$URL/_test/requests" | json 'print(d[-1]["id"] if d else 0)'; }
# drop_age: drop the last column (AGE) and squeeze blanks, for exact table checks.
drop_age() { awk '{ $NF = ""; sub(/ +$/, ""); print }'; }

# ---------------------------------------------------------------- files and version
check "READY line names https://127.0.0.1:PORT" "1" \
  "$(grep -cE '^READY https://127\.0\.0\.1:[0-9]+$' "$WORK/server.out")"
check "DIR/url is the READY URL" "$URL" "$(cat "$DIR/url")"
check "the server certificate has SANs 127.0.0.1 and localhost" "IP Address:127.0.0.1, DNS:localhost" \
  "$(openssl x509 -in "$DIR/server.crt" -noout -ext subjectAltName | tail -n1 | sed 's/^ *//')"

run k version -o json
check "kubectl version -o json: serverVersion.gitVersion" "0 v1.32.0-meridian-test" \
  "$RC $(printf '%s' "$OUT" | json 'print(d["serverVersion"]["gitVersion"])')"
run kc version -o json
check "kubectl --kubeconfig DIR/kubeconfig version" "0 v1.32.0-meridian-test" \
  "$RC $(printf '%s' "$OUT" | json 'print(d["serverVersion"]["gitVersion"])')"
check "kubeconfig: current context's server" "$URL" \
  "$(kc config view --minify -o jsonpath='{.clusters[0].cluster.server}')"

# ---------------------------------------------------------------- apply (client-side)
cat >"$WORK/demo.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
  labels:
    app: web
spec:
  clusterIP: 10.96.0.50
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: demo
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses: ["10.1.0.5"]
  conditions: {ready: true}
  nodeName: node-a
- addresses: ["10.1.0.6"]
  conditions: {ready: false}
ports:
- name: http
  protocol: TCP
  port: 8080
---
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceExport
metadata:
  name: web
  namespace: demo
EOF
run k apply --validate=false -f "$WORK/demo.yaml"
check "kubectl apply: created" "0
namespace/demo created
service/web created
endpointslice.discovery.k8s.io/web-abc12 created
serviceexport.multicluster.x-k8s.io/web created" "$RC
$OUT"

# The Service's port changes 80 -> 8080: kubectl sends a strategic merge patch.
sed -i 's/    port: 80$/    port: 8080/' "$WORK/demo.yaml"
since=$(last_request_id)
run k apply --validate=false -f "$WORK/demo.yaml"
check "kubectl apply of a changed Service: configured" "0
namespace/demo unchanged
service/web configured
endpointslice.discovery.k8s.io/web-abc12 unchanged
serviceexport.multicluster.x-k8s.io/web unchanged" "$RC
$OUT"
check "client-side apply sent PATCH application/strategic-merge-patch+json" \
  "PATCH /api/v1/namespaces/demo/services/web application/strategic-merge-patch+json 200" \
  "$(ctl "$URL/_test/requests?since=$since" | json '
for e in d:
    if e["method"] == "PATCH": print(e["method"], e["path"], e["contentType"], e["status"])')"
check "the strategic merge patch replaced the port (ports by merge key)" "8080 TCP 8080" \
  "$(k get svc web -n demo -o jsonpath='{.spec.ports[*].port} {.spec.ports[*].protocol} {.spec.ports[*].targetPort}')"

# ---------------------------------------------------------------- apply --server-side
cat >"$WORK/other.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: other
---
apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: other
spec:
  ports:
  - port: 5432
EOF
since=$(last_request_id)
run k apply --server-side --validate=false -f "$WORK/other.yaml"
check "kubectl apply --server-side: serverside-applied" "0
namespace/other serverside-applied
service/db serverside-applied" "$RC
$OUT"
sed -i 's/  name: db$/  name: db\n  labels:\n    tier: data/' "$WORK/other.yaml"
run k apply --server-side --validate=false -f "$WORK/other.yaml"
check "kubectl apply --server-side of a changed Service: serverside-applied" "0
namespace/other serverside-applied
service/db serverside-applied" "$RC
$OUT"
check "server-side apply: PATCH application/apply-patch+yaml, fieldManager=kubectl, 201 then 200" \
  "PATCH /api/v1/namespaces/other/services/db application/apply-patch+yaml kubectl 201
PATCH /api/v1/namespaces/other/services/db application/apply-patch+yaml kubectl 200" \
  "$(ctl "$URL/_test/requests?since=$since" | json '
for e in d:
    if e["method"] == "PATCH" and "services" in e["path"]:
        print(e["method"], e["path"], e["contentType"].split(";")[0], e["query"].get("fieldManager"), e["status"])')"
check "server-side apply: label applied, ClusterIP allocated, port defaulted" \
  "data 10.96.0.10 TCP 5432" \
  "$(k get svc db -n other -o jsonpath='{.metadata.labels.tier} {.spec.clusterIP} {.spec.ports[0].protocol} {.spec.ports[0].targetPort}')"

# ---------------------------------------------------------------- get
run k get svc -A
check "kubectl get svc -A (server-side Table, AGE column dropped)" "0
NAMESPACE NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S)
demo web ClusterIP 10.96.0.50 <none> 8080/TCP
other db ClusterIP 10.96.0.10 <none> 5432/TCP" "$RC
$(printf '%s\n' "$OUT" | drop_age)"
check "kubectl get svc -A: AGE column and cells" "AGE ok ok" \
  "$(printf '%s\n' "$OUT" | awk 'NR == 1 { h = $NF } NR > 1 { c = c ($NF ~ /^[0-9]+s$/ ? " ok" : " bad:" $NF) } END { print h c }')"
run k get svc web -n demo -o jsonpath='{.spec.ports[0].port}'
check "kubectl get svc web -o jsonpath port" "0 8080" "$RC $OUT"
run k get serviceexports -n demo -o name
check "kubectl get serviceexports -o name" "0 serviceexport.multicluster.x-k8s.io/web" "$RC $OUT"
run k get svcex,endpointslices -n demo
check "kubectl get svcex,endpointslices (short name, CRD and built-in tables)" "0
NAME
serviceexport.multicluster.x-k8s.io/web

NAME ADDRESSTYPE PORTS ENDPOINTS
endpointslice.discovery.k8s.io/web-abc12 IPv4 8080 10.1.0.5,10.1.0.6" "$RC
$(printf '%s\n' "$OUT" | drop_age)"
run k get endpointslices -n demo -o json
check "kubectl get endpointslices -o json: items carry the data" \
  "0 List EndpointSlice discovery.k8s.io/v1 web-abc12 service=web IPv4 10.1.0.5:True 10.1.0.6:False http:8080/TCP" \
  "$RC $(printf '%s' "$OUT" | json '
i = d["items"][0]
print(d["kind"], i["kind"], i["apiVersion"], i["metadata"]["name"],
      "service=" + i["metadata"]["labels"]["kubernetes.io/service-name"], i["addressType"],
      " ".join(e["addresses"][0] + ":" + str(e["conditions"]["ready"]) for e in i["endpoints"]),
      " ".join("%s:%d/%s" % (p["name"], p["port"], p["protocol"]) for p in i["ports"]))')"
run kc get svc -n other -o name
check "kubectl --kubeconfig get svc -n other -o name" "0 service/db" "$RC $OUT"

since=$(last_request_id)
run k get svc --chunk-size=1 -A
check "kubectl get svc --chunk-size=1 -A returns every Service" "0
NAMESPACE NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S)
demo web ClusterIP 10.96.0.50 <none> 8080/TCP
other db ClusterIP 10.96.0.10 <none> 5432/TCP" "$RC
$(printf '%s\n' "$OUT" | drop_age)"
check "--chunk-size=1: two LISTs with limit=1, the second with continue" "limit=1 continue=no
limit=1 continue=yes" \
  "$(ctl "$URL/_test/requests?since=$since" | json '
for e in d:
    if e["path"] == "/api/v1/services":
        print("limit=" + e["query"].get("limit", ""), "continue=" + ("yes" if e["query"].get("continue") else "no"))')"

# ---------------------------------------------------------------- watch
rv_before=$(ctl "$URL/_test/state" | json 'print(d["resourceVersion"])')
timeout 30 "$KUBECTL" --server "$URL" --certificate-authority "$DIR/ca.crt" --token "$TOKEN" \
  get svc -n demo -w --output-watch-events >"$WORK/watch.out" 2>"$WORK/watch.err" &
WATCH_PID=$!
for _ in $(seq 1 100); do
  n=$(ctl "$URL/_test/state" | json 'print(sum(1 for w in d["watches"] if w["resource"] == "services" and w["namespace"] == "demo"))')
  [[ "$n" == 1 ]] && break
  sleep 0.1
done
check "kubectl get -w: the watch resumes from the list's resourceVersion" "watch=true resourceVersion=$rv_before" \
  "$(ctl "$URL/_test/requests" | json '
w = [e for e in d if e["watch"] and e["path"] == "/api/v1/namespaces/demo/services"][-1]
print("watch=" + w["query"]["watch"], "resourceVersion=" + w["query"]["resourceVersion"])')"
cat >"$WORK/cache.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: cache
  namespace: demo
spec:
  ports:
  - port: 6379
EOF
run k apply --validate=false -f "$WORK/cache.yaml"
check "watch: create" "0 service/cache created" "$RC $OUT"
run k label svc cache -n demo tier=cache
check "watch: modify" "0 service/cache labeled" "$RC $OUT"
run k delete svc cache -n demo
check "watch: delete" "0 service \"cache\" deleted" "$RC $OUT"
for _ in $(seq 1 100); do
  grep -q '^DELETED' "$WORK/watch.out" && break
  sleep 0.1
done
kill "$WATCH_PID" 2>/dev/null || true
wait "$WATCH_PID" 2>/dev/null || true
WATCH_PID=""
check "kubectl get -w --output-watch-events: ADDED/MODIFIED/DELETED lines" \
  "EVENT NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S)
ADDED web ClusterIP 10.96.0.50 <none> 8080/TCP
ADDED cache ClusterIP 10.96.0.11 <none> 6379/TCP
MODIFIED cache ClusterIP 10.96.0.11 <none> 6379/TCP
DELETED cache ClusterIP 10.96.0.11 <none> 6379/TCP" \
  "$(drop_age <"$WORK/watch.out")"
check "kubectl get -w: nothing on stderr" "" "$(cat "$WORK/watch.err")"

# ---------------------------------------------------------------- patch and /status
run k patch serviceexport web -n demo --subresource status --type merge \
  -p '{"status":{"conditions":[{"type":"Valid","status":"True","reason":"Valid","message":"ok","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
check "kubectl patch --subresource status" "0 serviceexport.multicluster.x-k8s.io/web patched" "$RC $OUT"
check "status condition stored" "Valid True ok" \
  "$(k get serviceexport web -n demo -o jsonpath='{.status.conditions[0].type} {.status.conditions[0].status} {.status.conditions[0].message}')"
run k patch serviceexport web -n demo --type merge \
  -p '{"status":{"conditions":[{"type":"Bogus","status":"False","reason":"X","message":"no","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
check "a merge patch of .status on the main resource is a no-op" \
  "0 serviceexport.multicluster.x-k8s.io/web patched (no change)" "$RC $OUT"
check "status unchanged by the main-resource patch" "Valid" \
  "$(k get serviceexport web -n demo -o jsonpath='{.status.conditions[0].type}')"
run k patch serviceexport web -n demo -p '{"metadata":{"labels":{"a":"b"}}}'
check "a strategic merge patch of a custom resource is refused (415), as by the real server" \
  "1 error: application/strategic-merge-patch+json is not supported by multicluster.x-k8s.io/v1alpha1, Kind=ServiceExport: the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml" \
  "$RC $OUT"
run k patch svc web -n demo --type json -p '[{"op":"add","path":"/metadata/labels/tier","value":"front"}]'
check "kubectl patch --type json" "0 service/web patched" "$RC $OUT"
check "json patch applied" "front" "$(k get svc web -n demo -o jsonpath='{.metadata.labels.tier}')"

# ---------------------------------------------------------------- injected faults seen by kubectl
# The fault rule's regex is matched against path?query.
ctl -X POST -G --data-urlencode 'path=^/api/v1/namespaces/other/services(\?|$)' -d status=500 -d count=1 \
  "$URL/_test/fail" >/dev/null
run k get svc -n other -o name
check "an injected 500 is reported with the Status message" \
  "1 Error from server (InternalError): Internal error occurred: injected fault" "$RC $OUT"
since=$(last_request_id)
ctl -X POST -G --data-urlencode 'path=^/api/v1/namespaces/other/services(\?|$)' -d status=429 -d count=1 \
  "$URL/_test/fail" >/dev/null
run k get svc -n other -o name
check "an injected 429 (Retry-After: 1) is retried by client-go" "0 service/db" "$RC $OUT"
check "the 429 then the retry" "429 200" \
  "$(ctl "$URL/_test/requests?since=$since" | json '
print(" ".join(str(e["status"]) for e in d if e["path"] == "/api/v1/namespaces/other/services"))')"

# ---------------------------------------------------------------- delete and NotFound
run k delete svc web -n demo
check "kubectl delete svc web" "0 service \"web\" deleted" "$RC $OUT"
run k get svc web -n demo
check "kubectl get of a deleted Service: NotFound" \
  "1 Error from server (NotFound): services \"web\" not found" "$RC $OUT"

# ---------------------------------------------------------------- authentication and authorization
run "$KUBECTL" --server "$URL" --certificate-authority "$DIR/ca.crt" --token wrong-token get svc -A
check "a wrong token: Unauthorized" "1 error: You must be logged in to the server (Unauthorized)" "$RC $OUT"
run "$KUBECTL" --server "$URL" --certificate-authority "$DIR/ca.crt" --token "$FORBIDDEN" get svc -A
check "the forbidden token: Forbidden with the RBAC message" \
  "1 Error from server (Forbidden): services is forbidden: User \"$FORBIDDEN_USER\" cannot list resource \"services\" in API group \"\" at the cluster scope" \
  "$RC $OUT"
run "$KUBECTL" --server "$URL" --certificate-authority "$DIR/ca.crt" --token "$FORBIDDEN" get svcex web -n demo
check "the forbidden token, one object in a namespace" \
  "1 Error from server (Forbidden): serviceexports.multicluster.x-k8s.io \"web\" is forbidden: User \"$FORBIDDEN_USER\" cannot get resource \"serviceexports\" in API group \"multicluster.x-k8s.io\" in the namespace \"demo\"" \
  "$RC $OUT"
check "raw 401 body is a Status" \
  '401 {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}' \
  "$(ctl -w '%{http_code} ' -o "$WORK/401.json" "$URL/api/v1/services"; cat "$WORK/401.json" | tr -d '\n')"
ctl -X POST "$URL/_test/token?value=rotated-token" >/dev/null
run "$KUBECTL" --kubeconfig "$DIR/kubeconfig" get svc db -n other -o name
check "/_test/token rotates the token and rewrites DIR/kubeconfig" "0 service/db" "$RC $OUT"
run k get svc db -n other -o name
check "the old token is refused after rotation" "1 error: You must be logged in to the server (Unauthorized)" "$RC $OUT"
ctl -X POST "$URL/_test/token?value=$TOKEN" >/dev/null

# ---------------------------------------------------------------- raw protocol: lists, bookmarks, 410
check "raw LIST of a built-in kind: ServiceList, items without kind/apiVersion" "ServiceList v1 db False False" \
  "$(api "$URL/api/v1/namespaces/other/services" | json '
i = d["items"][0]
print(d["kind"], d["apiVersion"], i["metadata"]["name"], "kind" in i, "apiVersion" in i)')"
check "raw LIST of a custom resource: items keep kind/apiVersion" \
  "ServiceExportList multicluster.x-k8s.io/v1alpha1 web ServiceExport multicluster.x-k8s.io/v1alpha1" \
  "$(api "$URL/apis/multicluster.x-k8s.io/v1alpha1/namespaces/demo/serviceexports" | json '
i = d["items"][0]
print(d["kind"], d["apiVersion"], i["metadata"]["name"], i.get("kind"), i.get("apiVersion"))')"
rv_now=$(ctl "$URL/_test/state" | json 'print(d["resourceVersion"])')
check "raw WATCH from the current RV: one BOOKMARK, then a clean end at timeoutSeconds" \
  "0 {\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"$rv_now\"}}}" \
  "$(set +e; out=$(api --max-time 10 "$URL/api/v1/services?watch=true&resourceVersion=$rv_now&allowWatchBookmarks=true&timeoutSeconds=1"); echo "$? $out")"

page1=$(api "$URL/api/v1/namespaces?limit=1")
token=$(printf '%s' "$page1" | json 'print(d["metadata"]["continue"])')
check "LIST namespaces limit=1 (2 exist): continue and remainingItemCount" "1 1" \
  "$(printf '%s' "$page1" | json 'print(len(d["items"]), d["metadata"]["remainingItemCount"])')"
k label svc db -n other compacted=yes >/dev/null
compacted=$(ctl -X POST "$URL/_test/compact" | json 'print(d["compactedResourceVersion"])')
check "LIST with a continue token older than the compaction: HTTP 410 Expired" "410 Expired 410" \
  "$(api -o "$WORK/410.json" -w '%{http_code}' "$URL/api/v1/namespaces?limit=1&continue=$token"; echo " $(json 'print(d["reason"], d["code"])' <"$WORK/410.json")")"
check "WATCH from an RV older than the compaction: in-stream ERROR 410, then the stream ends" \
  "200 {\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource version: 2 ($compacted)\",\"reason\":\"Expired\",\"code\":410}}" \
  "$(api --max-time 10 -o "$WORK/watch410.out" -w '%{http_code}' "$URL/api/v1/services?watch=true&resourceVersion=2"; echo " $(cat "$WORK/watch410.out")")"

api -N --max-time 20 "$URL/api/v1/namespaces/other/services?watch=true" >"$WORK/drop.out" 2>"$WORK/drop.err" &
WATCH_PID=$!
for _ in $(seq 1 100); do
  grep -q '"ADDED"' "$WORK/drop.out" 2>/dev/null && break
  sleep 0.1
done
ctl -X POST "$URL/_test/drop-watches" >/dev/null
set +e
wait "$WATCH_PID"
drop_rc=$?
set -e
WATCH_PID=""
# curl: 18 = transfer closed with outstanding read data (no last chunk); 56 =
# the same seen as a receive error (an OpenSSL build that reports the EOF).
case "$drop_rc" in 18 | 56) drop_rc=cut ;; esac
check "/_test/drop-watches: the stream is cut without its last chunk (curl exit 18 or 56)" "cut ADDED db" \
  "$drop_rc $(json 'print(d["type"], d["object"]["metadata"]["name"])' <"$WORK/drop.out")"

# ---------------------------------------------------------------- classic discovery and --seed
cat >"$WORK/seed.json" <<'EOF'
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "meridian.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "east"}},
 {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "seeded", "namespace": "default"},
  "spec": {"type": "ClusterIP", "clusterIP": "10.96.5.5", "ports": [{"port": 53, "protocol": "UDP"}]}}]}
EOF
start_server "$WORK/srv2" "$WORK/server2.out" --no-aggregated-discovery --seed "$WORK/seed.json"
SERVER2_PID=$STARTED_PID
run "$KUBECTL" --kubeconfig "$WORK/srv2/kubeconfig" get clusters.meridian.io,svc -A -o name
check "--no-aggregated-discovery + --seed: kubectl falls back to classic discovery" \
  "0 cluster.meridian.io/east
service/seeded" "$RC $OUT"
check "classic discovery: kubectl read /api/v1 and /apis/<group>/<version>" \
  "/api/v1 /apis/meridian.io/v1alpha1" \
  "$(curl -sS --cacert "$WORK/srv2/ca.crt" "$STARTED_URL/_test/requests" | json '
seen = {e["path"] for e in d}
print(" ".join(p for p in ("/api/v1", "/apis/meridian.io/v1alpha1") if p in seen))')"
kill "$SERVER2_PID"
set +e
wait "$SERVER2_PID"
rc2=$?
set -e
SERVER2_PID=""
check "SIGTERM: the server exits 0" "0" "$rc2"

echo "$PASS passed, $FAIL failed"
[[ "$FAIL" == 0 ]]
