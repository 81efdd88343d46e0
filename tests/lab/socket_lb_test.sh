#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lab test of the socket load balancer (issue 15: clients on the node
# itself, as kube-proxy's OUTPUT rules serve them): 1 cluster x 2 nodes x 2
# pods; each agent runs with --socket-lb-cgroup on a cgroup v2 directory of
# the lab's own, one per node (never the machine's root cgroup), and
# --uplink (NodePorts).
# Clients run in node 1's network namespace (the host's), inside that cgroup.
#
#  - 200 TCP connections to web's ClusterIP reach pods of both nodes; the
#    socket's peer (getpeername) is the ClusterIP, not the pod
#  - UDP to the ClusterIP: the answer's source (recvfrom) is the ClusterIP
#  - web's NodePort on node 1's own address is served
#  - a Service without endpoints, and an unknown port of a known ClusterIP:
#    connect() fails at once with ECONNREFUSED
#  - a process outside the cgroup is not translated (the hooks are scoped)
#  - counters sock_lb_connect, sock_lb_reject, sock_lb_revnat; a monitor
#    shows both refusals as sock_lb_reject drop events
#  - an agent restart leaves exactly one set of programs on the cgroup
#
# Usage: socket_lb_test.sh [--bin-dir DIR]. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d "/tmp/meridian-socklb-test.XXXXXX")
CG_ROOT=$(findmnt -n -t cgroup2 -o TARGET | head -1)
MOUNTED=""
if [[ -z $CG_ROOT ]]; then
  CG_ROOT="$WORK/cgroup2"
  mkdir -p "$CG_ROOT"
  mount -t cgroup2 none "$CG_ROOT" || { echo "SKIP: no cgroup v2 and cannot mount one"; exit 77; }
  MOUNTED=$CG_ROOT
fi
# One cgroup per node: an agent owns the mer_sock_ programs of its cgroup
# (it detaches an earlier agent's at start), as on a real node.
CG="$CG_ROOT/meridian-$PREFIX-n1" CG2="$CG_ROOT/meridian-$PREFIX-n2"
cleanup() {
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1
  # Processes of the test have exited; the directories are empty.
  rmdir "$CG" "$CG2" 2>/dev/null
  [[ -n $MOUNTED ]] && umount "$MOUNTED"
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$CG" "$CG2"

echo "# lab $PREFIX: 1 cluster x 2 nodes x 2 pods, socket LB on cgroup $CG"
"$LAB" up --prefix "$PREFIX" --clusters 1 --nodes 2 --pods 2 --bin-dir "$BIN_DIR" >"$WORK/lab-up.log" 2>&1 ||
  { cat "$WORK/lab-up.log"; exit 1; }
lab_load_env "$PREFIX"
N1=$(lab_node_ns "$PREFIX" 1 1)
N1_IP=$(lab_node_ip 1 1)

mkdir -p "$WORK/m"
{
  lab_service_yaml web 10.96.0.10 "http:TCP:80:8080,echo:UDP:80:8080" c1n1p1 c1n1p2 c1n2p1 c1n2p2 |
    sed 's/^spec:$/spec:\n  type: NodePort/; s/  - {name: http, protocol: TCP, port: 80, targetPort: 8080}/  - {name: http, protocol: TCP, port: 80, targetPort: 8080, nodePort: 30080}/'
  lab_service_yaml empty 10.96.0.20 "http:TCP:80:8080"
} >"$WORK/m/services.yaml"
N2=$(lab_node_ns "$PREFIX" 1 2)
lab_agent_start "$N1" "$WORK/m" --uplink "${LAB_PREFIX}up" --socket-lb-cgroup "$CG"
lab_agent_start "$N2" "$WORK/m" --uplink "${LAB_PREFIX}up" --socket-lb-cgroup "$CG2"
both_attached() { lab_agent_wait "$N1" 2 && lab_agent_wait "$N2" 2; }
require "agents attach with --socket-lb-cgroup (one cgroup per node)" both_attached

# in_cg CMD...: CMD in node 1's network namespace, inside the lab's cgroup
# (joined first: `ip netns exec` remounts /sys, where the cgroup lives).
in_cg() { bash -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$1" "${@:2}"' "$CG" "$N1" "$@"; }

py_tcp='
import json, socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pods, errors, peers = {}, {}, set()
t0 = time.monotonic()
for _ in range(n):
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            peers.add("%s:%d" % s.getpeername())
            s.sendall(b"ping\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(2048)
                if not chunk:
                    raise ConnectionError("closed")
                data += chunk
            pod = data.decode().split()[0]
            pods[pod] = pods.get(pod, 0) + 1
    except OSError as e:
        name = type(e).__name__ if e.errno is None else "errno%d" % e.errno
        errors[name] = errors.get(name, 0) + 1
print(json.dumps({"pods": pods, "errors": errors, "peers": sorted(peers),
                  "ms": round((time.monotonic() - t0) * 1000)}))
'
tcp() { in_cg python3 -c "$py_tcp" "$@"; }
# field JSON KEY: a value of the client's JSON ("NO-OUTPUT" when it printed none).
field() {
  python3 -c '
import json, sys
try:
    v = json.loads(sys.argv[1])[sys.argv[2]]
except (ValueError, KeyError):
    print("NO-OUTPUT"); sys.exit()
print(" ".join(sorted(v)) if isinstance(v, (dict, list)) else v)' "$1" "$2"
}

R=$(tcp 10.96.0.10 80 200)
echo "# 200 connections to 10.96.0.10:80 from node 1's host namespace: $R"
check_eq "200 connections from the host namespace: no error" "" "$(field "$R" errors)"
check_eq "they reach all 4 pods, of both nodes" "c1n1p1 c1n1p2 c1n2p1 c1n2p2" "$(field "$R" pods)"
check_eq "getpeername() shows the ClusterIP, not the pod" "10.96.0.10:80" "$(field "$R" peers)"

R=$(tcp "$N1_IP" 30080 20)
check_eq "web's NodePort on node 1's own address $N1_IP:30080: 20 connections, no error" "" "$(field "$R" errors)"

# The refusals below, seen by a monitor: drop events of the socket LB.
lab_monitor_start "$N1" "$WORK/monitor.jsonl" "$WORK/monitor.err" -o json --type drop --duration 20
MON=$LAB_MONITOR_PID
check "a monitor attaches to node 1" wait_for 5 grep -q "monitor: attached" "$WORK/monitor.err"
R=$(tcp 10.96.0.20 80 1)
check_eq "a Service without endpoints: connect() fails with ECONNREFUSED" "errno111" "$(field "$R" errors)"
check "... at once (under 100 ms: $(field "$R" ms) ms)" test "$(field "$R" ms)" -lt 100
R=$(tcp 10.96.0.10 81 1)
check_eq "an unknown port of a known ClusterIP: ECONNREFUSED" "errno111" "$(field "$R" errors)"
two_rejects() { [[ $(grep -c '"reason":"sock_lb_reject"' "$WORK/monitor.jsonl") -ge 2 ]]; }
wait_for 3 two_rejects || true
kill -INT "$MON"
wait "$MON"
LAB_MONITOR_PID=""
check_eq "the monitor showed both refusals as sock_lb_reject drops, to the VIP and port refused" \
  "drop sock_lb_reject TCP 10.96.0.20:80|drop sock_lb_reject TCP 10.96.0.10:81" \
  "$(python3 -c '
import json, sys
print("|".join("%s %s %s %s" % (e["type"], e["reason"], e["proto"], e["destination"])
               for e in map(json.loads, open(sys.argv[1])) if e["reason"] == "sock_lb_reject"))' "$WORK/monitor.jsonl")"

UDP=$(in_cg python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"ping\n", ("10.96.0.10", 80))
data, src = s.recvfrom(2048)
print(data.decode().split()[0][:2], "%s:%d" % src)
')
check_eq "UDP to the ClusterIP: answered by a pod, from the ClusterIP (recvmsg)" "c1 10.96.0.10:80" "$UDP"

OUTSIDE=$(ip netns exec "$N1" python3 -c "$py_tcp" 10.96.0.10 80 1)
check "a process outside the cgroup is not translated (no pod answers: $(field "$OUTSIDE" errors))" \
  test -z "$(field "$OUTSIDE" pods)"

stat() { "$BIN_DIR/meridianctl" --node "$N1" --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]]["packets"])' "$1"; }
check "sock_lb_connect counts the translations ($(stat sock_lb_connect))" test "$(stat sock_lb_connect)" -ge 221
check_eq "sock_lb_reject counts the two refusals" 2 "$(stat sock_lb_reject)"
check "sock_lb_revnat counts restored peers ($(stat sock_lb_revnat))" test "$(stat sock_lb_revnat)" -ge 201

ours() { bpftool cgroup show "$CG" 2>/dev/null | grep -c 'mer_sock_'; }
check_eq "4 programs on the cgroup (connect4, sendmsg4, recvmsg4, getpeername4)" 4 "$(ours)"
lab_agent_stop "$N1"
lab_agent_start "$N1" "$WORK/m" --uplink "${LAB_PREFIX}up" --socket-lb-cgroup "$CG"
require "node 1's agent restarts" lab_agent_wait "$N1" 2
check_eq "after the restart: still 4, not 8" 4 "$(ours)"
R=$(tcp 10.96.0.10 80 20)
check_eq "connections after the restart: no error" "" "$(field "$R" errors)"

finish
