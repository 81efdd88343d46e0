#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# lab_topology: builds a 1 cluster x 2 nodes x 2 pods + client lab with
# lab/meridian-lab and checks the plumbing without any Meridian datapath:
# pod-to-pod HTTP, UDP and long-lived TCP across nodes through the underlay,
# the pod routing table, `up` refusing an existing prefix, and a complete,
# idempotent `down`.
#
# Usage: lab_topology_test.sh [--bin-dir DIR]   (root; DIR holds meridian-echo)
# Exit: 0 all passed, 1 a check failed, 77 skipped (not root).
set -uo pipefail

# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
if [[ ! -x $BIN_DIR/meridian-echo ]]; then
  fail "meridian-echo not found in $BIN_DIR (build target meridian-echo, pass --bin-dir)"
  finish
fi

PREFIX="lt$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-5)"
echo "lab prefix: $PREFIX"
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  if [[ -n $(lab_list_ns "$PREFIX") || -e $(lab_state_dir "$PREFIX") ]]; then
    echo "cleanup: tearing down lab $PREFIX"
    "$LAB" down --prefix "$PREFIX" || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- up ----------------------------------------------------------------------
require "up 1x2x2 + client" "$LAB" up --prefix "$PREFIX" --clusters 1 --nodes 2 --pods 2 --client --bin-dir "$BIN_DIR"

STATE_DIR=$(lab_state_dir "$PREFIX")
require "lab.env sources" lab_load_env "$PREFIX"
check_eq "lab.env prefix" "$PREFIX" "$LAB_PREFIX"
check_eq "lab.env pods" "c1n1p1 c1n1p2 c1n2p1 c1n2p2" "${LAB_POD_NAMES[*]}"
check_eq "lab.env clients" "c1client" "${LAB_CLIENT_NAMES[*]}"
check_eq "lab.env nodes" "$PREFIX-c1n1 $PREFIX-c1n2" "${LAB_NODE_NAMES[*]}"
check_eq "lab.env client IP" "10.1.1.100" "${LAB_POD_IP[c1client]}"
check_eq "lab.env host veth of c1n2p2" "${PREFIX}l2" "${LAB_POD_HOST_VETH[c1n2p2]}"

expected_ns=$(printf '%s\n' "$PREFIX"-c1ul "$PREFIX"-c1n1 "$PREFIX"-c1n2 "$PREFIX"-c1n1p1 "$PREFIX"-c1n1p2 \
  "$PREFIX"-c1n2p1 "$PREFIX"-c1n2p2 "$PREFIX"-c1client | sort)
check_eq "namespaces" "$expected_ns" "$(lab_list_ns "$PREFIX")"

CLIENT=c1client
PORT=8080

# --- traffic from the client pod (node 1) to every pod ------------------------
for pod in c1n1p1 c1n1p2 c1n2p1 c1n2p2; do
  ip=$(lab_pod_ip "$pod")
  check_eq "lab_pod_ip $pod" "${LAB_POD_IP[$pod]}" "$ip"

  out=$(lab_exec_pod "$PREFIX" "$CLIENT" curl -s --max-time 3 "http://$ip:$PORT/" 2>&1)
  check_eq "HTTP $CLIENT -> $pod ($ip)" "$pod" "$out"

  out=$(echo hello | lab_exec_pod "$PREFIX" "$CLIENT" socat -T1 - "UDP:$ip:$PORT" 2>&1)
  check_eq "UDP $CLIENT -> $pod ($ip)" "$pod hello" "$out"

  # Long-lived connection: two request/reply rounds on one TCP connection.
  # shellcheck disable=SC2016  # expanded by the inner bash
  out=$(lab_exec_pod "$PREFIX" "$CLIENT" timeout 5 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    echo ping >&3; read -r -t 2 a <&3
    sleep 0.2
    echo pong >&3; read -r -t 2 b <&3
    exec 3>&-
    printf "%s|%s" "$a" "$b"' _ "$ip" "$PORT" 2>&1)
  check_eq "TCP line mode $CLIENT -> $pod ($ip)" "$pod ping|$pod pong" "$out"
done

# Pod to pod across nodes (not only from the client).
out=$(lab_exec_pod "$PREFIX" c1n2p2 curl -s --max-time 3 "http://$(lab_pod_ip c1n1p1):$PORT/" 2>&1)
check_eq "HTTP c1n2p2 -> c1n1p1" "c1n1p1" "$out"
out=$(lab_exec_pod "$PREFIX" c1n2p1 curl -s --max-time 3 "http://$(lab_pod_ip "$CLIENT"):$PORT/" 2>&1)
check_eq "HTTP c1n2p1 -> $CLIENT" "$CLIENT" "$out"

# --- pod plumbing -------------------------------------------------------------
routes=$(lab_exec_pod "$PREFIX" "$CLIENT" ip -4 route show | sed 's/ *$//' | sort)
check_eq "client routes: only default via 169.254.1.1" \
  "$(printf '%s\n' '169.254.1.1 dev eth0 scope link' 'default via 169.254.1.1 dev eth0' | sort)" "$routes"
mtu=$(lab_exec_pod "$PREFIX" "$CLIENT" cat /sys/class/net/eth0/mtu)
check_eq "client eth0 MTU" "1450" "$mtu"
addr=$(lab_exec_pod "$PREFIX" c1n2p1 ip -4 -o addr show dev eth0 | awk '{print $4}')
check_eq "c1n2p1 address" "10.1.2.11/32" "$addr"
node_ns=$(lab_node_ns "$PREFIX" 1 2)
out=$(ip netns exec "$node_ns" ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep "^${PREFIX}l" | sort | tr '\n' ' ')
check_eq "host veths on node 2" "${PREFIX}l1 ${PREFIX}l2 " "$out"
out=$(ip netns exec "$node_ns" sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.rp_filter | tr '\n' ' ')
check_eq "node 2 sysctls (ip_forward, rp_filter)" "1 0 " "$out"
out=$(ip -n "$node_ns" -4 route show 10.1.1.0/24)
check_eq "node 2 route to node 1 pod CIDR" "10.1.1.0/24 via 172.16.1.11 dev ${PREFIX}up" "${out%% }"
# Nothing outside the lab is reachable: the node has no route beyond its
# underlay, pod CIDRs and pods (a route lookup, no traffic is sent).
if ip -n "$node_ns" route get 192.0.2.1 >/dev/null 2>&1; then
  fail "node has a route to 192.0.2.1 (outside the lab)"
else
  pass "node has no route outside the lab"
fi
node1_ns=$(lab_pod_node_ns "$PREFIX" "$CLIENT")
if ip -n "$node1_ns" route get 10.2.1.11 >/dev/null 2>&1; then
  fail "client's node has a route to 10.2.1.11 (no second cluster exists)"
else
  pass "client's node has no route to another cluster's pod CIDR"
fi

# --- up with an existing prefix is refused, the lab survives -------------------
msg=$("$LAB" up --prefix "$PREFIX" --bin-dir "$BIN_DIR" 2>&1)
rc=$?
if ((rc != 0)) && [[ $msg == *"already exist"* && $msg == *"down --prefix $PREFIX"* ]]; then
  pass "second up refused: $msg"
else
  fail "second up with the same prefix: rc=$rc, output: $msg"
fi
out=$(lab_exec_pod "$PREFIX" "$CLIENT" curl -s --max-time 3 "http://$(lab_pod_ip c1n2p2):$PORT/" 2>&1)
check_eq "lab intact after refused up" "c1n2p2" "$out"

# --- status / exec -------------------------------------------------------------
status_out=$("$LAB" status --prefix "$PREFIX" 2>&1)
if [[ $status_out == *"$PREFIX-c1n2p2:"*"10.1.2.12/32"* ]]; then
  pass "status lists addresses"
else
  fail "status lists addresses"
fi
out=$("$LAB" exec --prefix "$PREFIX" c1n1p2 -- ip -4 -o addr show dev eth0 | awk '{print $4}')
check_eq "exec in c1n1p2" "10.1.1.12/32" "$out"

# --- down ----------------------------------------------------------------------
echo_pids=$(cat "$STATE_DIR"/echo-*.pid 2>/dev/null | tr '\n' ' ')
if "$LAB" down --prefix "$PREFIX"; then
  pass "down"
else
  fail "down"
fi
check_eq "no namespace left" "" "$(lab_list_ns "$PREFIX")"
if [[ -e $STATE_DIR ]]; then
  fail "state dir $STATE_DIR still exists"
else
  pass "state dir removed"
fi
left=""
for pid in $echo_pids; do
  # Zombies (not yet reaped by init) count as gone.
  if [[ -r /proc/$pid/stat ]] && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; then
    left+=" $pid"
  fi
done
check_eq "echo servers stopped" "" "$left"
if "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1; then
  pass "second down succeeds"
else
  fail "second down fails"
fi

finish
