#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lab test of single-cluster service load balancing with real traffic:
# 1 cluster x 2 nodes x 2 pods + a client pod, one meridian-agent per node.
#
#  - 200 connections to the VIP reach all 4 backends (each >= 10%)
#  - /metrics: 200 connections are 200 lb_new_flow on the client's node, and
#    each backend's meridian_backend_flows_total rose by what it answered;
#    the pairs' packets and bytes (meridian_backend_{packets,bytes}_total)
#    rose exactly as the translations counted (lb_new_flow + lb_ct_hit
#    forward, revnat back);
#    promtool parses and lints the live output; a real Prometheus scrapes it
#    (up, the counter, a histogram quantile), and every query of the Grafana
#    dashboard in deploy/grafana evaluates on it
#  - UDP request/response through the VIP
#  - a pod interface that appears later is attached within a second
#  - an invalid manifest is rejected, named in the status, and the last
#    good state keeps serving
#  - a long-lived TCP connection keeps its backend and keeps working while
#    another backend is removed and while the agent restarts
#  - with every backend removed, a connection is refused at once
#
# Usage: lb_service_test.sh [--bin-dir DIR]. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d "/tmp/meridian-lb-test.XXXXXX")
MANIFESTS="$WORK/manifests"
mkdir -p "$MANIFESTS"
PROM_PID=
cleanup() {
  [[ -n $PROM_PID ]] && { kill "$PROM_PID"; wait "$PROM_PID"; } 2>/dev/null
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT


VIP=10.96.0.10
PODS=(c1n1p1 c1n1p2 c1n2p1 c1n2p2)

write_service() {
  cat >"$MANIFESTS/web-service.yaml" <<YAML
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: default
spec:
  type: ClusterIP
  clusterIP: $VIP
  ports:
  - name: http
    protocol: TCP
    port: 80
    targetPort: 8080
  - name: echo-udp
    protocol: UDP
    port: 80
    targetPort: 8080
YAML
}

# write_endpoints POD...: the EndpointSlice of web, with these pods ready.
write_endpoints() {
  local tmp="$MANIFESTS/.web-endpoints.tmp" pod
  {
    cat <<YAML
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: default
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
ports:
- name: http
  protocol: TCP
  port: 8080
- name: echo-udp
  protocol: UDP
  port: 8080
YAML
    if (($# == 0)); then echo "endpoints: []"; else echo "endpoints:"; fi
    for pod in "$@"; do
      printf -- '- addresses: ["%s"]\n  conditions: {ready: true}\n  nodeName: %s\n' \
        "$(lab_pod_ip "$pod")" "$pod"
    done
  } >"$tmp"
  mv "$tmp" "$MANIFESTS/web-endpoints.yaml"  # atomic, as kubectl-style writers do
}

client() { lab_exec_pod "$PREFIX" c1client "$@"; }
node_ctl() { "$BIN_DIR/meridianctl" --node "$1" "${@:2}"; }
in_node() { nsenter --net="/run/netns/$1" "${@:2}"; }
scrape() { in_node "$1" curl -s --max-time 2 http://127.0.0.1:9965/metrics; }
# metric_in SERIES: the value of one series (as written, labels included) in
# the exposition text on stdin; metric NODE SERIES: the same, scraped now.
metric_in() { awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print "missing" }'; }
metric() { scrape "$1" | metric_in "$2"; }

# wait_for SECONDS command...: poll until the command succeeds.

# frontend_has_backends NODE N: mer_services shows N active backends for the VIP.
frontend_has_backends() {
  node_ctl "$1" --json services 2>/dev/null | python3 -c '
import json, sys
want = int(sys.argv[1])
fes = [f for f in json.load(sys.stdin) if f["frontend"] == sys.argv[2]]
sys.exit(0 if fes and fes[0]["active_backends"] == want else 1)' "$2" "$VIP:80/TCP"
}
all_nodes_have_backends() {
  local node
  for node in "${LAB_NODE_NAMES[@]}"; do frontend_has_backends "$node" "$1" || return 1; done
}

echo "# lab $PREFIX: 1 cluster x 2 nodes x 2 pods + client"
"$LAB" up --prefix "$PREFIX" --clusters 1 --nodes 2 --pods 2 --client --bin-dir "$BIN_DIR" >"$WORK/lab-up.log" 2>&1 ||
  { cat "$WORK/lab-up.log"; exit 1; }
lab_load_env "$PREFIX"
NODE1=${LAB_NODE_NAMES[0]}

write_service
write_endpoints "${PODS[@]}"
check "agents attach to every pod interface and serve" lab_agents_start "$MANIFESTS"
check "every node installed the VIP with 4 backends" wait_for 5 all_nodes_have_backends 4

# --- 200 connections spread over all 4 backends ---------------------------
# The client pod is on node 1: its connections are translated there, and
# node 1's /metrics counts each as one lb_new_flow.
new_flows_before=$(metric "$NODE1" 'meridian_datapath_packets_total{counter="lb_new_flow"}')
scrape "$NODE1" >"$WORK/metrics-before.txt"
backend_flows() {  # POD: new flows from the VIP to the pod in the scrape on stdin (0 if none yet)
  local v
  v=$(metric_in "meridian_backend_flows_total{frontend=\"$VIP:80/TCP\",backend=\"$(lab_pod_ip "$1"):8080/TCP\"}")
  echo "${v/missing/0}"
}
client bash -c "for i in \$(seq 200); do curl -s --max-time 2 http://$VIP/ || echo FAILED; done" >"$WORK/spread.txt"
for pod in "${PODS[@]}"; do
  n=$(grep -cx "$pod" "$WORK/spread.txt")
  check "200 connections: $pod answered $n times (>= 20)" test "$n" -ge 20
done
check "200 connections: none failed" test "$(grep -c FAILED "$WORK/spread.txt")" -eq 0

# --- /metrics: the counters of known traffic, read by promtool and a real Prometheus
scrape "$NODE1" >"$WORK/metrics.txt"
check_eq "/metrics answers 200 with Prometheus's text format" \
  "200 text/plain; version=0.0.4; charset=utf-8" \
  "$(in_node "$NODE1" curl -s -o /dev/null -w '%{http_code} %{content_type}' http://127.0.0.1:9965/metrics)"
check_eq "promtool check metrics: the live output parses and lints clean" "" \
  "$(promtool check metrics <"$WORK/metrics.txt" 2>&1)"
new_flows_after=$(metric_in 'meridian_datapath_packets_total{counter="lb_new_flow"}' <"$WORK/metrics.txt")
check_eq "200 connections: lb_new_flow on node 1 rose by 200 ($new_flows_before -> $new_flows_after)" \
  200 "$((new_flows_after - new_flows_before))"
for pod in "${PODS[@]}"; do
  answered=$(grep -cx "$pod" "$WORK/spread.txt")
  check_eq "meridian_backend_flows_total: $VIP:80 -> $pod rose by the $answered connections it answered" \
    "$answered" "$(($(backend_flows "$pod" <"$WORK/metrics.txt") - $(backend_flows "$pod" <"$WORK/metrics-before.txt")))"
done
# Packets and bytes per pair (mer_traffic): node 1 translated every packet
# of the 200 connections, forward where the client sent it (a new flow or
# a conntrack hit) and back where the reply reached the client (revnat), so
# the pairs' sums rise exactly as those counters do, packets and bytes.
pair_sum() {  # FAMILY DIRECTION [POD]: the family's samples for $VIP:80 on stdin, summed
  local backend=${3:+$(lab_pod_ip "$3"):8080/TCP}
  awk -v f="$1{frontend=\"$VIP:80/TCP\",backend=\"$backend" -v d="direction=\"$2\"}" \
    'index($1, f) == 1 && index($1, d) { s += $2 } END { printf "%d\n", s }'
}
rose() {  # FAMILY DIRECTION [POD]: how much the sum rose between the two scrapes
  echo $(($(pair_sum "$@" <"$WORK/metrics.txt") - $(pair_sum "$@" <"$WORK/metrics-before.txt")))
}
counter_rose() {  # FAMILY COUNTER
  echo $(($(metric_in "$1{counter=\"$2\"}" <"$WORK/metrics.txt") - $(metric_in "$1{counter=\"$2\"}" <"$WORK/metrics-before.txt")))
}
# (lb_ct_reselect: a SYN on a closed flow's entry, when a client port is
# reused, balanced again.)
fwd_sum() {  # FAMILY: what the forward translations counted
  echo $(($(counter_rose "$1" lb_new_flow) + $(counter_rose "$1" lb_ct_hit) + $(counter_rose "$1" lb_ct_reselect)))
}
fwd_packets=$(fwd_sum meridian_datapath_packets_total)
fwd_bytes=$(fwd_sum meridian_datapath_bytes_total)
check_eq "meridian_backend_packets_total forward: the pairs rose by lb_new_flow + lb_ct_hit + lb_ct_reselect ($fwd_packets)" \
  "$fwd_packets" "$(rose meridian_backend_packets_total forward)"
check_eq "meridian_backend_bytes_total forward: by their bytes ($fwd_bytes)" \
  "$fwd_bytes" "$(rose meridian_backend_bytes_total forward)"
check_eq "meridian_backend_packets_total reply: by revnat ($(counter_rose meridian_datapath_packets_total revnat))" \
  "$(counter_rose meridian_datapath_packets_total revnat)" "$(rose meridian_backend_packets_total reply)"
check_eq "meridian_backend_bytes_total reply: by revnat's bytes" \
  "$(counter_rose meridian_datapath_bytes_total revnat)" "$(rose meridian_backend_bytes_total reply)"
for pod in "${PODS[@]}"; do
  answered=$(grep -cx "$pod" "$WORK/spread.txt")
  check "meridian_backend_packets_total: $pod's $answered connections are >= $((4 * answered)) packets forward, >= $((3 * answered)) back" \
    test "$(rose meridian_backend_packets_total forward "$pod")" -ge $((4 * answered)) -a \
    "$(rose meridian_backend_packets_total reply "$pod")" -ge $((3 * answered))
done
check_eq "meridian_bpf_map_entries{map=mer_services}: the VIP's frontends (TCP and UDP)" 2 \
  "$(metric_in 'meridian_bpf_map_entries{map="mer_services"}' <"$WORK/metrics.txt")"
check_eq "meridian_agent_state{state=serving} is 1" 1 \
  "$(metric_in 'meridian_agent_state{state="serving"}' <"$WORK/metrics.txt")"
check "the reconcile histogram counted the first apply (total phase)" \
  test "$(metric_in 'meridian_reconcile_duration_seconds_count{phase="total"}' <"$WORK/metrics.txt")" -ge 1
# The same flows in meridianctl's JSON: each of the 200 has a forward
# conntrack entry to one of the 4 pods (a client port reused by chance would
# merge two), and the backends are the 4 pods' TCP and UDP ports.
pod_ips=$(for pod in "${PODS[@]}"; do lab_pod_ip "$pod"; done | paste -sd ,)
check "meridianctl --json ct on node 1: >= 195 forward entries to $VIP:80, each to a pod's 8080" \
  python3 -c '
import json, sys
e = [x for x in json.loads(sys.argv[1]) if x["dir"] == "forward" and x["vip"] == sys.argv[2]]
pods = {ip + ":8080" for ip in sys.argv[3].split(",")}
sys.exit(0 if len(e) >= 195 and all(x["backend"] in pods and x["proto"] == "TCP" for x in e) else 1)' \
  "$(node_ctl "$NODE1" --json ct)" "$VIP:80" "$pod_ips"
check_eq "meridianctl --json backends on node 1: the 4 pods' 8080/TCP and 8080/UDP" \
  "$(for ip in ${pod_ips//,/ }; do printf '%s:8080/TCP\n%s:8080/UDP\n' "$ip" "$ip"; done | sort | paste -sd ' ')" \
  "$(node_ctl "$NODE1" --json backends | python3 -c 'import json,sys; print(" ".join(sorted(b["backend"] for b in json.load(sys.stdin))))')"
check_eq "/other paths: 404" 404 \
  "$(in_node "$NODE1" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9965/status)"

# A real Prometheus in node 1's namespace scrapes the agent every second.
cat >"$WORK/prometheus.yml" <<'YAML'
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: meridian-agent
  static_configs: [{targets: ["127.0.0.1:9965"]}]
YAML
in_node "$NODE1" prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
  --web.listen-address=127.0.0.1:9090 >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
promql() {  # QUERY: the first result's value, or "none"
  in_node "$NODE1" curl -s --max-time 2 http://127.0.0.1:9090/api/v1/query --data-urlencode "query=$1" |
    python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")' 2>/dev/null || echo none
}
prometheus_sees() { [[ $(promql "$1") == "$2" ]]; }
check "Prometheus scrapes the agent: up{job=meridian-agent} is 1" \
  wait_for 15 prometheus_sees 'up{job="meridian-agent"}' 1
check "... and reads lb_new_flow = $new_flows_after (no traffic since)" \
  prometheus_sees 'meridian_datapath_packets_total{counter="lb_new_flow"}' "$new_flows_after"
check "... and a reconcile quantile from the histogram" \
  bash -c '[[ $1 != none && $1 != NaN ]]' _ \
  "$(promql 'histogram_quantile(0.99, sum by (le) (meridian_reconcile_duration_seconds_bucket{phase="total"}))')"
# The Grafana dashboard's queries (deploy/grafana) run on this Prometheus:
# every one parses and evaluates; the agent's own panels have data (the
# registry's, DNS's and the controller's have none in this lab).
dashboard_queries() {
  in_node "$NODE1" python3 - "$REPO/deploy/grafana/meridian-dashboard.json" <<'PY'
import json, subprocess, sys, urllib.parse
need_data = ("New flows", "Datapath drops", "Conntrack", "BPF map fill", "Reconcile time", "Agents by state")
bad = []
for panel in json.load(open(sys.argv[1]))["panels"]:
    for t in panel["targets"]:
        q = t["expr"].replace("$__rate_interval", "1m")
        out = subprocess.run(["curl", "-s", "--max-time", "2", "http://127.0.0.1:9090/api/v1/query",
                              "--data-urlencode", "query=" + q], capture_output=True, text=True).stdout
        try:
            r = json.loads(out)
        except ValueError:
            r = {"status": "no answer", "error": out[:80]}
        if r.get("status") != "success":
            bad.append(f"{panel['title']}: {r.get('error', r.get('status'))}")
        elif panel["title"].startswith(need_data) and not r["data"]["result"]:
            bad.append(f"{panel['title']}: no data")
print("; ".join(bad) if bad else "ok")
PY
}
dashboard_ok() { [[ $(dashboard_queries) == ok ]]; }
if wait_for 10 dashboard_ok; then
  pass "the Grafana dashboard's 15 queries evaluate on it, the agent's panels with data"
else
  fail "the Grafana dashboard's queries on it: $(dashboard_queries)"
fi
kill "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null; PROM_PID=

# --- UDP request/response ---------------------------------------------------
reply=$(client bash -c "echo hello | socat -T1 - UDP:$VIP:80")
check "UDP through the VIP: reply '$reply' comes from a backend" \
  grep -qxE "c1n[12]p[12] hello" <<<"$reply"

# --- a pod interface appearing later is attached within a second ----------
ip -n "$NODE1" link add "${PREFIX}l9" type veth peer name "${PREFIX}x9"
attached_late() { lab_agent_status "$NODE1" | grep -q "\"${PREFIX}l9\""; }
check "new pod interface ${PREFIX}l9 attached within 1 s" wait_for 1 attached_late
ip -n "$NODE1" link del "${PREFIX}l9"

# --- invalid manifest: rejected, named, last good state kept -------------
cat >"$MANIFESTS/broken.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: default}
spec:
  clusterIP: 10.96.0.99
  ports: [{name: http, protocol: TCP, port: 70000}]
YAML
degraded() { [[ $(lab_agent_field "$NODE1" state) == degraded ]]; }
check "invalid manifest puts the agent in state degraded" wait_for 3 degraded
status_text=$(lab_agent_status "$NODE1")
check "status error names broken.yaml and spec.ports[0].port" \
  bash -c 'grep -q "broken.yaml" <<<"$1" && grep -q "spec.ports\[0\].port" <<<"$1"' _ "$status_text"
check "the last good state still serves" client curl -s --max-time 2 -o /dev/null http://$VIP/
rm "$MANIFESTS/broken.yaml"
serving() { [[ $(lab_agent_field "$NODE1" state) == serving ]]; }
check "removing the bad file returns the agent to serving" wait_for 3 serving

# --- long-lived connection survives backend removal and agent restart ----
client bash -c "
  exec 3<>/dev/tcp/$VIP/80 || exit 1
  for i in \$(seq 60); do
    echo ping\$i >&3
    read -t 2 -r line <&3 || { echo BROKEN; exit 1; }
    echo \"\$line\"
    sleep 0.1
  done" >"$WORK/long.txt" 2>&1 &
LONG_PID=$!
wait_for 3 test -s "$WORK/long.txt"
first=$(head -1 "$WORK/long.txt")
long_backend=${first%% *}
check "long-lived connection answered by a backend ($long_backend)" \
  grep -qxE "c1n[12]p[12]" <<<"$long_backend"
REMAINING=()
victim=""
for pod in "${PODS[@]}"; do
  if [[ -z $victim && $pod != "$long_backend" ]]; then victim=$pod; else REMAINING+=("$pod"); fi
done
write_endpoints "${REMAINING[@]}"
check "backend $victim removed on every node" wait_for 3 all_nodes_have_backends 3
# Restart the agent of the client's node mid-connection.
lab_agent_stop "$NODE1"
lab_agent_start "$NODE1" "$MANIFESTS"
check "restarted agent serves again" lab_agent_wait "$NODE1" 3
restart_status=$(lab_agent_status "$NODE1")
check "restarted agent reused the pinned maps" grep -q '"reused_pinned_maps": true' <<<"$restart_status"
check "restarted agent rewrote nothing (state unchanged)" \
  python3 -c 'import json,sys; w=json.loads(sys.argv[1])["last_writes"]; sys.exit(0 if sum(w.values())==0 else 1)' "$restart_status"
wait "$LONG_PID"
long_rc=$?
check "long-lived connection completed 60 round trips" test "$(grep -c "^$long_backend ping" "$WORK/long.txt")" -eq 60
check "long-lived connection never broke (rc=$long_rc)" test "$long_rc" -eq 0
check "long-lived connection kept its backend" \
  test "$(cut -d' ' -f1 "$WORK/long.txt" | sort -u)" == "$long_backend"

client bash -c "for i in \$(seq 40); do curl -s --max-time 2 http://$VIP/ || echo FAILED; done" >"$WORK/after.txt"
check "after removal no new connection reaches $victim" test "$(grep -cx "$victim" "$WORK/after.txt")" -eq 0
check "after removal all 40 connections succeed" test "$(grep -cxE 'c1n[12]p[12]' "$WORK/after.txt")" -eq 40

# --- no backends: refused at once -------------------------------------------
write_endpoints
check "all backends removed on every node" wait_for 3 all_nodes_have_backends 0
start=$(date +%s%N)
out=$(client curl -sS --max-time 5 http://$VIP/ 2>&1)
rc=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
check "TCP to a VIP without backends fails with curl rc 7 (got $rc: $out)" test "$rc" -eq 7
# curl words ECONNREFUSED as "Couldn't connect"; bash prints strerror itself.
refused=$(client bash -c "exec 3<>/dev/tcp/$VIP/80" 2>&1)
check "... and connect() fails with ECONNREFUSED ($refused)" grep -q "Connection refused" <<<"$refused"
check "... at once (${elapsed_ms} ms < 1000 ms)" test "$elapsed_ms" -lt 1000
udp_out=$(client bash -c "echo hi | socat -T2 - UDP:$VIP:80" 2>&1)
check "UDP to a VIP without backends gets 'Connection refused' ($udp_out)" grep -q "Connection refused" <<<"$udp_out"
rejects=$(node_ctl "$NODE1" stats reject_no_backend)
check "reject_no_backend counter counted them ($rejects >= 2)" test "$rejects" -ge 2

finish
