#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lab test of issue 13: input and datapath robustness, with real traffic.
# 1 cluster x 2 nodes x 2 pods + a client pod, one agent per node, and the
# cluster's meridian-controller on a dir: registry.
#
#  - bytes that are not UTF-8 (an escape in YAML, 100 KB of /dev/urandom, a
#    file named with byte 0xff, an annotation) abort nothing: agents and
#    controller run on, report the bad field in valid-UTF-8 status JSON,
#    the controller publishes no record an agent would reject, traffic runs
#  - a conflicting duplicate in a file that sorts first, then kill -9 of the
#    agent and of the controller: nothing served changes, 20 long-lived
#    connections and a request loop lose nothing
#  - two VIPs sharing one backend, one client port: the second flow is
#    remapped, the first keeps working; churn on one VIP beside long-lived
#    connections on the other breaks none
#  - hairpin: a pod reaches itself through a VIP (1 and 4 endpoints, TCP
#    and UDP)
#  - endpoint removal: established TCP keeps going, UDP moves, whether or
#    not another service shares the endpoint
#  - status says "stopped" after SIGTERM and carries a heartbeat
#  - a restart with larger maps recreates them with their entries (no
#    long-lived connection breaks)
#  - a registry password never reaches an agent's status.json or log
#
# Usage: robustness_test.sh [--bin-dir DIR]. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d "/tmp/meridian-robust-test.XXXXXX")
M="$WORK/manifests"
REG="$WORK/registry"
FLOWS="$HERE/flows.py"
mkdir -p "$M" "$REG"
CONTROLLER_PID=""
cleanup() {
  [[ -n $CONTROLLER_PID ]] && kill -KILL "$CONTROLLER_PID" 2>/dev/null
  touch "$WORK/stop"
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1
  [[ -n ${PW_NODE:-} ]] && rm -rf "/sys/fs/bpf/meridian/$PW_NODE"
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "# lab $PREFIX: 1 cluster x 2 nodes x 2 pods + client, controller on dir:$REG"
"$LAB" up --prefix "$PREFIX" --clusters 1 --nodes 2 --pods 2 --client --bin-dir "$BIN_DIR" >"$WORK/lab-up.log" 2>&1 ||
  { cat "$WORK/lab-up.log"; exit 1; }
lab_load_env "$PREFIX"
NODE1=${LAB_NODE_NAMES[0]}
NODE2=${LAB_NODE_NAMES[1]}
"$LAB" manifests --prefix "$PREFIX" --out "$M" >/dev/null

client() { lab_exec_pod "$PREFIX" c1client "$@"; }
in_pod() { lab_exec_pod "$PREFIX" "$@"; }
node_ctl() { "$BIN_DIR/meridianctl" --node "$1" "${@:2}"; }
frontends() { node_ctl "$1" --json services | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
stat_of() { lab_stat "$@"; }  # stat_of NODE COUNTER: its packets
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null; }

# service NAME VIP POD...: a Service (TCP and UDP on 80 -> 8080) and its
# EndpointSlice with these pods ready.
service() {
  local name=$1 vip=$2 pod
  shift 2
  cat <<YAML
---
apiVersion: v1
kind: Service
metadata: {name: $name, namespace: default}
spec:
  clusterIP: $vip
  ports:
  - {name: http, protocol: TCP, port: 80, targetPort: 8080}
  - {name: udp, protocol: UDP, port: 80, targetPort: 8080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: $name-1, namespace: default, labels: {kubernetes.io/service-name: $name}}
addressType: IPv4
ports:
- {name: http, protocol: TCP, port: 8080}
- {name: udp, protocol: UDP, port: 8080}
YAML
  echo "endpoints:"
  for pod in "$@"; do
    printf -- '- addresses: ["%s"]\n  conditions: {ready: true}\n  nodeName: %s\n' "$(lab_pod_ip "$pod")" "$pod"
  done
}
ALL=(c1n1p1 c1n1p2 c1n2p1 c1n2p2)
{
  service web 10.96.0.10 "${ALL[@]}"
  service self 10.96.0.50 c1n1p2
  service twin 10.96.0.51 c1n1p2
  service loop1 10.96.0.60 c1n1p1
  service lines 10.96.0.70 c1n1p2 c1n2p1 c1n2p2
  service other 10.96.0.71 c1n2p1
  cat <<YAML
---
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceExport
metadata: {name: web, namespace: default}
YAML
} >"$M/services.yaml"

check "agents attach to every pod and serve" lab_agents_start "$M"
"$BIN_DIR/meridian-controller" --cluster c1 --manifests "$M" --registry "dir:$REG" \
  --lease-ttl-ms 3000 --status-file "$WORK/controller.json" >"$WORK/controller.log" 2>&1 &
CONTROLLER_PID=$!
published() { test -n "$(find "$REG" -type f 2>/dev/null | head -1)" && [[ $(field "$WORK/controller.json" state) == publishing ]]; }
check "the controller publishes" wait_for 5 published
FRONTENDS=$(frontends "$NODE1")
check_eq "node 1 serves 12 frontends (6 services x TCP/UDP)" 12 "$FRONTENDS"

# A request loop and 20 long-lived connections run through every step.
client bash -c "while [ ! -e $WORK/stop ]; do curl -s --max-time 2 -o /dev/null http://10.96.0.10/; rc=\$?; [ \$rc = 0 ] && echo ok || echo \"FAILED rc=\$rc \$(date +%T.%N)\"; sleep 0.05; done" >"$WORK/loop.txt" 2>&1 &
LOOP=$!
client python3 "$FLOWS" hold --dst 10.96.0.10:80 --count 20 --out "$WORK/hold.json" --stop "$WORK/stop" &
HOLD=$!
wait_for 5 test -s "$WORK/loop.txt"

# --- 1. bytes that are not UTF-8 ---------------------------------------------
printf 'a: "\\\xe3"\n' >"$M/bad.yaml"
head -c 100000 /dev/urandom >"$M/random.yaml"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: y}\nspec: {clusterIP: 10.96.0.99, ports: [{port: 70000}]}\n' >"$M/$(printf '\xff').yaml"
printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  annotations: {service.meridian.io/x: "\xe9"}\nspec: {clusterIP: 10.96.0.98, ports: [{port: 80}]}\n---\napiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceExport\nmetadata: {name: x, namespace: default}\n' >"$M/x.yaml"
degraded() { [[ $(lab_agent_field "$NODE1" state) == degraded ]]; }
check "an agent reports the bad files (state degraded, status.json parses)" wait_for 5 degraded
sleep 2
alive() { kill -0 "$(cat "$LAB_STATE_DIR/agent-$1.pid")" 2>/dev/null; }
check "agent of node 1 is still running" alive "$NODE1"
check "agent of node 2 is still running" alive "$NODE2"
check "the controller is still running" kill -0 "$CONTROLLER_PID"
status=$(lab_agent_status "$NODE1")
check "status.json is valid UTF-8 JSON" python3 -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode("utf-8"))' "$LAB_STATE_DIR/agent-$NODE1/status.json"
check "the YAML escape error quotes the byte as \\xe3" grep -qF 'unknown escape character: \\xe3' <<<"$status"
check "the annotation error names the field" grep -qF 'metadata.annotations[\"service.meridian.io/x\"]: not valid UTF-8 (byte 0xe9 at offset 0)' <<<"$status"
check "the file named 0xff is named as \\xff.yaml" grep -qF '/\\xff.yaml: document 1: Service default/y: spec.ports[0].port' <<<"$status"
check "controller status is valid UTF-8 JSON and degraded" python3 -c '
import json,sys; s=json.loads(open(sys.argv[1],"rb").read().decode("utf-8")); sys.exit(s["state"] != "degraded")' "$WORK/controller.json"
check "no record for the export whose Service has the bad annotation" \
  bash -c "! find '$REG' -type f | grep -q 'exports%default%x$'"
check_eq "node 1 still serves its 12 frontends" 12 "$(frontends "$NODE1")"
rm -f "$M/bad.yaml" "$M/random.yaml" "$M/$(printf '\xff').yaml" "$M/x.yaml"
serving() { [[ $(lab_agent_field "$1" state) == serving ]]; }
check "removing them returns node 1 to serving" wait_for 5 serving "$NODE1"

# --- 3. a conflict, then restarts ---------------------------------------------
service web 10.96.0.20 c1n2p2 >"$M/a-dup.yaml"
dup_error() { lab_agent_status "$NODE1" | grep -qF 'a-dup.yaml: document 1: Service default/web: already defined in'; }
check "a duplicate web in a-dup.yaml (sorts first) is rejected, named" wait_for 5 dup_error
check_eq "... and only it (and its slice web-1, a duplicate too): still 12 frontends" 12 "$(frontends "$NODE1")"
# web's packets counted on node 1 (mer_traffic, every pair and direction)
web_packets() {
  nsenter --net="/run/netns/$NODE1" curl -s --max-time 2 http://127.0.0.1:9965/metrics |
    awk 'index($1, "meridian_backend_packets_total{frontend=\"10.96.0.10:80/TCP\"") == 1 { s += $2 }
      END { printf "%d\n", s }'
}
packets_before=$(web_packets)
check "the request loop and the long-lived connections are counted on node 1 (web: $packets_before packets)" \
  test "$packets_before" -gt 100
kill -KILL "$(cat "$LAB_STATE_DIR/agent-$NODE1.pid")"
# Restarted with larger maps: they are recreated with their entries, so the
# 20 long-lived connections of the client (on node 1) keep their conntrack.
LAB_AGENT_SIZES="--max-services 8192 --max-backends 16384 --max-conntrack 131072 --max-affinity 4096" \
  lab_agent_start "$NODE1" "$M"
sleep 1
LOG1="$LAB_STATE_DIR/agent-$NODE1.log"
check "the agent restarted with larger maps recreates mer_ct with its entries" \
  grep -qF 'map recreated with its entries (mer_ct: 65536 -> 131072 entries, flags 0x2 -> 0x2)' "$LOG1"
check "... and mer_affinity, smaller (LRU)" \
  grep -qF 'map recreated with its entries (mer_affinity: 65536 -> 4096 entries' "$LOG1"
check "... and finishes the copy once its programs are attached" wait_for 5 grep -q 'map resize done' "$LOG1"
check_eq "... no <map>_resized pin is left" 0 \
  "$(find "/sys/fs/bpf/meridian/$NODE1" -name '*_resized' | wc -l)"
check_eq "... status: conntrack capacity 131072" 131072 "$(lab_agent_field "$NODE1" conntrack.capacity)"
packets_after=$(web_packets)
check "... web's packet counters (mer_traffic, recreated too) kept their counts ($packets_before -> $packets_after)" \
  test "$packets_after" -ge "$packets_before"
check "after kill -9 and restart the agent reports the same conflict" wait_for 5 dup_error
check_eq "... and serves the same 12 frontends" 12 "$(frontends "$NODE1")"
web_vip_backends() { node_ctl "$NODE1" --json services | python3 -c '
import json,sys; print([f["active_backends"] for f in json.load(sys.stdin) if f["frontend"] == "10.96.0.10:80/TCP"])'; }
check_eq "... web keeps its 4 backends at 10.96.0.10" "[4]" "$(web_vip_backends)"
exports_before=$(find "$REG" -type f -name '*exports*' | sort)
check "web's export is published" grep -q 'exports%default%web$' <<<"$exports_before"
kill -KILL "$CONTROLLER_PID"
"$BIN_DIR/meridian-controller" --cluster c1 --manifests "$M" --registry "dir:$REG" \
  --lease-ttl-ms 3000 --status-file "$WORK/controller.json" >>"$WORK/controller.log" 2>&1 &
CONTROLLER_PID=$!
sleep 2
check_eq "the restarted controller publishes the same exports" "$exports_before" "$(find "$REG" -type f -name '*exports*' | sort)"
rm -f "$M/a-dup.yaml"

# --- 2. two VIPs sharing a backend, one client port ----------------------------
before=$(stat_of "$NODE1" ct_port_remapped)
pair=$(client python3 "$FLOWS" pair --dst 10.96.0.50:80 --dst2 10.96.0.51:80 --port 45678)
check_eq "one client port to self and twin: both answer, the first again after the second" \
  '{"first": "c1n1p2", "second": "c1n1p2", "first_again": "c1n1p2"}' "$pair"
check "... the second flow's source port was remapped (ct_port_remapped +1)" \
  test "$(stat_of "$NODE1" ct_port_remapped)" -ge $((before + 1))
client python3 "$FLOWS" hold --dst 10.96.0.50:80 --count 40 --out "$WORK/self.json" --stop "$WORK/stop-self" &
SELF=$!
sleep 1
before=$(stat_of "$NODE1" ct_port_remapped)
echo "# churn from $(date +%T.%N)"
churn=$(client python3 "$FLOWS" churn --dst 10.96.0.51:80 --count "${MERIDIAN_CHURN:-5000}")
echo "# churn until $(date +%T.%N)"
touch "$WORK/stop-self"
wait "$SELF"
remapped=$(($(stat_of "$NODE1" ct_port_remapped) - before))
check_eq "churn of ${MERIDIAN_CHURN:-5000} short connections to twin: none failed" 0 "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["failed"])' "$churn")"
check_eq "... 40 long-lived connections to self beside it: 0 broken ($remapped remapped ports)" \
  "[]" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["broken"])' "$WORK/self.json")"

# --- 4. hairpin ------------------------------------------------------------------
check_eq "hairpin TCP: c1n1p1 -> loop1 (only endpoint: itself)" c1n1p1 \
  "$(in_pod c1n1p1 curl -s --max-time 2 http://10.96.0.60/)"
check_eq "hairpin UDP: c1n1p1 -> loop1" c1n1p1 \
  "$(in_pod c1n1p1 python3 "$FLOWS" udp --dst 10.96.0.60:80 --port 41000)"
in_pod c1n1p1 bash -c 'for i in $(seq 40); do curl -s --max-time 2 http://10.96.0.10/ || echo FAILED; done' >"$WORK/hairpin.txt"
check_eq "c1n1p1 -> web (4 endpoints, itself one): 40 of 40 answered" 40 "$(grep -cxE 'c1n[12]p[12]' "$WORK/hairpin.txt")"
check "... itself among them" grep -qx c1n1p1 "$WORK/hairpin.txt"
udp_ok=0
for port in $(seq 42000 42019); do
  [[ $(in_pod c1n1p1 python3 "$FLOWS" udp --dst 10.96.0.10:80 --port "$port") =~ ^c1n[12]p[12]$ ]] && udp_ok=$((udp_ok + 1))
done
check_eq "c1n1p1 -> web over UDP from 20 ports: 20 answered" 20 "$udp_ok"

# --- 5. endpoint removal: TCP stays, UDP moves -----------------------------------
# lines has c1n1p2, c1n2p1 and c1n2p2. c1n2p1 leaves lines only (it still
# backs other and web: its backend entry stays); c1n1p2 leaves every service
# (its backend entry goes). Both pods keep running.
client python3 "$FLOWS" hold --dst 10.96.0.70:80 --count 30 --out "$WORK/lines.json" --stop "$WORK/stop-lines" &
LINES=$!
sleep 1
udp_before=()
for port in $(seq 43000 43019); do udp_before+=("$(client python3 "$FLOWS" udp --dst 10.96.0.70:80 --port "$port")"); done
{
  service web 10.96.0.10 c1n1p1 c1n2p1 c1n2p2
  service self 10.96.0.50
  service twin 10.96.0.51
  service loop1 10.96.0.60 c1n1p1
  service lines 10.96.0.70 c1n2p2
  service other 10.96.0.71 c1n2p1
  printf -- '---\napiVersion: multicluster.x-k8s.io/v1alpha1\nkind: ServiceExport\nmetadata: {name: web, namespace: default}\n'
} >"$M/services.tmp" && mv "$M/services.tmp" "$M/services.yaml"
one_backend() { node_ctl "$NODE1" --json services | python3 -c '
import json,sys; sys.exit([f["active_backends"] for f in json.load(sys.stdin) if f["frontend"] == "10.96.0.70:80/UDP"] != [1])'; }
check "c1n2p1 (still backing other) and c1n1p2 (backing nothing) removed from lines" wait_for 5 one_backend
sleep 1.5
touch "$WORK/stop-lines"
wait "$LINES"
on() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pods"].count(sys.argv[2]))' "$WORK/lines.json" "$1"; }
check "established TCP connections were on both removed endpoints ($(on c1n2p1) on c1n2p1, $(on c1n1p2) on c1n1p2)" \
  test "$(on c1n2p1)" -gt 0 -a "$(on c1n1p2)" -gt 0
check_eq "... 30 established TCP connections to lines: 0 broken" \
  "[]" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["broken"])' "$WORK/lines.json")"
for pod in c1n2p1 c1n1p2; do
  moved=0 was=0 i=0
  for port in $(seq 43000 43019); do
    if [[ ${udp_before[$i]} == "$pod" ]]; then
      was=$((was + 1))
      [[ $(client python3 "$FLOWS" udp --dst 10.96.0.70:80 --port "$port") == c1n2p2 ]] && moved=$((moved + 1))
    fi
    i=$((i + 1))
  done
  check "UDP flows were on $pod before ($was of 20)" test "$was" -gt 0
  check_eq "... every one of them moved to c1n2p2" "$was" "$moved"
done
check "the agent purged the conntrack entries of c1n2p1's flows (udp_flows_purged > 0)" \
  test "$(lab_agent_field "$NODE1" udp_flows_purged)" -gt 0

# --- 7. status of a stopped agent ---------------------------------------------------
check "status carries a heartbeat and the pid" python3 -c '
import json,sys,time; s=json.load(open(sys.argv[1])); sys.exit(not (s["pid"] > 0 and abs(time.time()*1000 - s["heartbeat_unix_ms"]) < 30000))' \
  "$LAB_STATE_DIR/agent-$NODE2/status.json"
lab_agent_stop "$NODE2"
check_eq "after SIGTERM node 2's status says stopped" stopped "$(field "$LAB_STATE_DIR/agent-$NODE2/status.json" state)"
lab_agent_start "$NODE2" "$M"
check "node 2's agent serves again" lab_agent_wait "$NODE2" 2

# A registry password never reaches status.json or the log: an agent of a
# node of its own (its own pins, no pods) in node 2's namespace, --once,
# against an etcd URL with a password where nothing answers.
PW_NODE="${NODE2}pw"
nsenter --net="/run/netns/$NODE2" "$BIN_DIR/meridian-agent" --node "$PW_NODE" --manifests "$M" \
  --pod-interfaces "${PREFIX}none*" --state-dir "$WORK/pw-state" --once --dns-listen off \
  --metrics-listen off --registry 'etcd://127.0.0.1:1?user=meridian&password=s3cr3t-pw' >"$WORK/pw.log" 2>&1
pw_rc=$?
rm -rf "/sys/fs/bpf/meridian/$PW_NODE"
check_eq "an agent given a registry password: exit 2 (registry unreachable), the URL shown redacted" \
  "2 etcd://127.0.0.1:1?user=meridian&password=***" \
  "$pw_rc $("$BIN_DIR/meridianctl" --node "$PW_NODE" --state-dir "$WORK/pw-state" status registry.url)"
check_eq "... the password is in neither its status.json nor its log" "0" \
  "$(cat "$WORK/pw-state/status.json" "$WORK/pw.log" | grep -c s3cr3t-pw)"
check "... which does show the URL, redacted" grep -qF 'password=***' "$WORK/pw.log"

# Restarts reuse the clsact qdiscs they find: libbpf used to log the
# kernel's "Exclusivity flag on, cannot modify" on every one (issue 13.7).
check_eq "agent restarts logged no libbpf error" 0 \
  "$(cat "$LAB_STATE_DIR/agent-$NODE1.log" "$LAB_STATE_DIR/agent-$NODE2.log" | grep -c 'Exclusivity flag on')"

# --- the background traffic ------------------------------------------------------------
touch "$WORK/stop"
wait "$HOLD" "$LOOP"
check_eq "20 long-lived connections to web through every step: 0 broken" \
  "[]" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["broken"])' "$WORK/hold.json")"
grep FAILED "$WORK/loop.txt" | head -5
check_eq "request loop through every step: 0 failed of $(grep -c . "$WORK/loop.txt")" 0 "$(grep -c FAILED "$WORK/loop.txt")"
finish
