#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# lab_multicluster: builds a 2 clusters x 2 nodes x 2 pods + client lab with
# lab/meridian-lab and checks the router joining the underlays, without any
# Meridian datapath: node-to-node across clusters through the router, pod to
# pod inside a cluster, NO pod to pod between clusters (pod CIDRs are not
# routed between clusters), no 10.x route in the router, `meridian-lab
# manifests` (with and without --gateway), and a complete teardown.
#
# Usage: lab_multicluster_test.sh [--bin-dir DIR]   (root; DIR holds meridian-echo)
# Exit: 0 all passed, 1 a check failed, 77 skipped (not root).
set -uo pipefail

# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
if [[ ! -x $BIN_DIR/meridian-echo ]]; then
  fail "meridian-echo not found in $BIN_DIR (build target meridian-echo, pass --bin-dir)"
  finish
fi

rand5() {
  od -An -N3 -tx1 /dev/urandom | tr -d ' \n' | cut -c1-5
}
PREFIX="mc$(rand5)"
# A second, echo-less lab for `up --gateway`.
GW_PREFIX="mg$(rand5)"
OUT_DIR=$(mktemp -d /tmp/lab-multicluster.XXXXXX)
echo "lab prefixes: $PREFIX, $GW_PREFIX"
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local p
  for p in "$PREFIX" "$GW_PREFIX"; do
    if [[ -n $(lab_list_ns "$p") || -e $(lab_state_dir "$p") ]]; then
      echo "cleanup: tearing down lab $p"
      "$LAB" down --prefix "$p" || true
    fi
  done
  rm -rf -- "$OUT_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=8080
RT_NS=$(lab_router_ns "$PREFIX")

# --- up ----------------------------------------------------------------------
require "up 2x2x2 + client" "$LAB" up --prefix "$PREFIX" --clusters 2 --nodes 2 --pods 2 --client --bin-dir "$BIN_DIR"

STATE_DIR=$(lab_state_dir "$PREFIX")
require "lab.env sources" lab_load_env "$PREFIX"
check_eq "lab.env router namespace" "$RT_NS" "$LAB_ROUTER_NS"
check_eq "lab.env cluster ids" "1 2" "${LAB_CLUSTER_ID[1]} ${LAB_CLUSTER_ID[2]}"
check_eq "lab.env cluster names" "c1 c2" "${LAB_CLUSTER_NAME[1]} ${LAB_CLUSTER_NAME[2]}"
check_eq "lab.env router IPs" "172.16.1.1 172.16.2.1" "${LAB_ROUTER_IP[1]} ${LAB_ROUTER_IP[2]}"
check_eq "lab.env no gateways" "0 0" "$LAB_GATEWAY ${#LAB_GATEWAY_IP[@]}"
check_eq "lab.env node IP of c2n2" "172.16.2.12" "${LAB_NODE_IP[$PREFIX-c2n2]}"
check_eq "lab.env clients" "c1client c2client" "${LAB_CLIENT_NAMES[*]}"

expected_ns=$(
  echo "$RT_NS"
  for c in 1 2; do
    echo "$PREFIX-c${c}ul" "$PREFIX-c${c}client"
    for n in 1 2; do
      echo "$PREFIX-c${c}n$n" "$PREFIX-c${c}n${n}p1" "$PREFIX-c${c}n${n}p2"
    done
  done | tr ' ' '\n'
)
check_eq "namespaces" "$(sort <<<"$expected_ns")" "$(lab_list_ns "$PREFIX")"
if "$LAB" list | grep -qx "$PREFIX"; then
  pass "list shows the lab"
else
  fail "list does not show $PREFIX"
fi

# --- router plumbing -----------------------------------------------------------
out=$(ip netns exec "$RT_NS" sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.rp_filter \
  net.ipv4.conf.default.rp_filter "net.ipv4.conf.${PREFIX}r1.rp_filter" "net.ipv4.conf.${PREFIX}r2.rp_filter" | tr '\n' ' ')
check_eq "router sysctls (ip_forward, rp_filter all/default/r1/r2)" "1 0 0 0 0 " "$out"
out=$(ip -n "$RT_NS" -4 -o addr show | awk '$2 != "lo" {print $2, $4}' | sort | tr '\n' ',')
check_eq "router addresses" "${PREFIX}r1 172.16.1.1/24,${PREFIX}r2 172.16.2.1/24," "$out"
out=$(ip -n "$RT_NS" -br link show | awk '$1 != "lo" {sub(/@.*/, "", $1); print $1, $2}' | sort | tr '\n' ',')
check_eq "router links up" "${PREFIX}r1 UP,${PREFIX}r2 UP," "$out"
rt_routes=$(ip -n "$RT_NS" -4 route show)
if grep -q '^10\.' <<<"$rt_routes"; then
  fail "router has a 10.x route: $(grep '^10\.' <<<"$rt_routes" | tr '\n' ';')"
else
  pass "router has no 10.x route"
fi
check_eq "router routes: only the two underlays" \
  "172.16.1.0/24 dev ${PREFIX}r1|172.16.2.0/24 dev ${PREFIX}r2|" \
  "$(awk '{print $1, $2, $3}' <<<"$rt_routes" | sort | tr '\n' '|')"
for c in 1 2; do
  out=$(ip -n "$(lab_ul_ns "$PREFIX" "$c")" -o link show master "${PREFIX}br" | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ')
  check_eq "bridge ports of cluster $c" "${PREFIX}n1 ${PREFIX}n2 ${PREFIX}rt " "$out"
done

# --- node routes ----------------------------------------------------------------
for c in 1 2; do
  for n in 1 2; do
    node_ns=$(lab_node_ns "$PREFIX" "$c" "$n")
    out=$(ip -n "$node_ns" -4 route show 172.16.0.0/16)
    check_eq "c${c}n$n route to the underlays" "172.16.0.0/16 via 172.16.$c.1 dev ${PREFIX}up" "${out%% }"
    other=$((3 - c))
    if ip -n "$node_ns" route get "10.$other.1.11" >/dev/null 2>&1; then
      fail "c${c}n$n has a route to cluster $other's pod 10.$other.1.11"
    else
      pass "c${c}n$n has no route to cluster $other's pods"
    fi
  done
done
if ip -n "$(lab_node_ns "$PREFIX" 1 1)" route get 192.0.2.1 >/dev/null 2>&1; then
  fail "node c1n1 has a route to 192.0.2.1 (outside the lab)"
else
  pass "node c1n1 has no route outside the lab"
fi

# --- node to node across clusters, through the router ----------------------------
out=$(lab_exec_node "$PREFIX" 1 1 ip -4 route get 172.16.2.12)
if [[ $out == *"via 172.16.1.1 dev ${PREFIX}up"* ]]; then
  pass "c1n1 -> 172.16.2.12 routed via the router"
else
  fail "c1n1 -> 172.16.2.12 route: $out"
fi
# TTL 63 in the reply: exactly one router hop (Linux sends with TTL 64).
out=$(lab_exec_node "$PREFIX" 1 1 ping -c 1 -W 2 172.16.2.12 2>&1)
if [[ $out == *"from 172.16.2.12"*"ttl=63"* ]]; then
  pass "ping c1n1 -> c2n2 (172.16.2.12) through the router"
else
  fail "ping c1n1 -> c2n2 (172.16.2.12): $out"
fi
out=$(lab_exec_node "$PREFIX" 2 1 ping -c 1 -W 2 172.16.1.12 2>&1)
if [[ $out == *"from 172.16.1.12"*"ttl=63"* ]]; then
  pass "ping c2n1 -> c1n2 (172.16.1.12) through the router"
else
  fail "ping c2n1 -> c1n2 (172.16.1.12): $out"
fi

# --- pods ------------------------------------------------------------------------
for c in 1 2; do
  pod=$(lab_pod_name "$c" 2 1)
  out=$(lab_exec_pod "$PREFIX" "c${c}client" curl -s --max-time 3 "http://$(lab_pod_ip "$pod"):$PORT/" 2>&1)
  check_eq "HTTP c${c}client -> $pod (same cluster, other node)" "$pod" "$out"
done
# Pod CIDRs are not routed between clusters: the client's node has no route,
# so this fails fast (ICMP unreachable); --max-time bounds it anyway.
for pod in c2n1p1 c2n2p2; do
  out=$(lab_exec_pod "$PREFIX" c1client curl -s --max-time 2 "http://$(lab_pod_ip "$pod"):$PORT/" 2>&1)
  rc=$?
  if ((rc != 0)) && [[ $out != *"$pod"* ]]; then
    pass "HTTP c1client -> $pod (other cluster) fails (curl rc=$rc)"
  else
    fail "HTTP c1client -> $pod (other cluster) succeeded: rc=$rc, '$out'"
  fi
done
out=$(lab_exec_pod "$PREFIX" c2n2p1 curl -s --max-time 2 "http://$(lab_pod_ip c1n1p1):$PORT/" 2>&1)
rc=$?
if ((rc != 0)) && [[ $out != *c1n1p1* ]]; then
  pass "HTTP c2n2p1 -> c1n1p1 (other cluster) fails (curl rc=$rc)"
else
  fail "HTTP c2n2p1 -> c1n1p1 (other cluster) succeeded: rc=$rc, '$out'"
fi

# --- manifests -------------------------------------------------------------------
if out=$("$LAB" manifests --prefix "$PREFIX" --out "$OUT_DIR/te" 2>&1); then
  pass "manifests"
else
  fail "manifests: $out"
fi
check_eq "manifests: files" "cluster-c1.yaml cluster-c2.yaml" "$(find "$OUT_DIR/te" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ' | sed 's/ $//')"
check_file "manifest of c1 (tunnel endpoints)" "$OUT_DIR/te/cluster-c1.yaml" <<'EOF'
apiVersion: meridian.io/v1alpha1
kind: Cluster
metadata:
  name: c1
spec:
  id: 1
  podCIDRs: ["10.1.0.0/16"]
  tunnelEndpoints:
  - address: 172.16.1.11
    podCIDRs: ["10.1.1.0/24"]
  - address: 172.16.1.12
    podCIDRs: ["10.1.2.0/24"]
EOF
check_file "manifest of c2 (tunnel endpoints)" "$OUT_DIR/te/cluster-c2.yaml" <<'EOF'
apiVersion: meridian.io/v1alpha1
kind: Cluster
metadata:
  name: c2
spec:
  id: 2
  podCIDRs: ["10.2.0.0/16"]
  tunnelEndpoints:
  - address: 172.16.2.11
    podCIDRs: ["10.2.1.0/24"]
  - address: 172.16.2.12
    podCIDRs: ["10.2.2.0/24"]
EOF

# --- fault: bad values refused, naming the value; a cap shown and cleared ----------
fault_err() { "$LAB" fault --prefix "$PREFIX" "$@" 2>&1 >/dev/null | paste -sd ' '; echo "rc=${PIPESTATUS[0]}"; }
for case in "--cluster 1 --loss 0|fault: --loss must be a percentage in (0, 100], got '0'" \
  "--cluster 1 --loss 101|fault: --loss must be a percentage in (0, 100], got '101'" \
  "--cluster 1 --loss lots|fault: --loss must be a percentage in (0, 100], got 'lots'" \
  "--cluster 1 --loss 0.00001|fault: --loss 0.00001 is below one packet per million" \
  "--cluster 1 --rate fast|fault: --rate must be like 10mbit, got 'fast'" \
  "--cluster 0 --loss 5|--cluster must be in 1..9, got 0" \
  "--cluster x --loss 5|--cluster must be an integer, got 'x'" \
  "--cluster 1|fault: one of --loss, --partition, --rate, --clear, --show is required" \
  "--loss 5|fault: --cluster is required (see 'meridian-lab fault --help')" \
  "--cluster 7 --loss 5|no router leg ${PREFIX}r7 in $LAB_ROUTER_NS (cluster 7?)"; do
  args=${case%%|*} want=${case#*|}
  # shellcheck disable=SC2086  # the arguments are words
  check_eq "fault $args: refused" "meridian-lab: error: $want rc=1" "$(fault_err $args | paste -sd ' ')"
done
"$LAB" fault --prefix "$PREFIX" --cluster 2 --rate 10mbit >/dev/null
check_eq "fault --rate 10mbit then --show: the cap" "cap: htb" "$("$LAB" fault --prefix "$PREFIX" --cluster 2 --show)"
"$LAB" fault --prefix "$PREFIX" --cluster 2 --clear >/dev/null 2>&1
check_eq "fault --clear then --show: nothing" "" "$("$LAB" fault --prefix "$PREFIX" --cluster 2 --show)"

# --- --gateway (second lab, no echo servers) ---------------------------------------
if "$LAB" up --prefix "$GW_PREFIX" --clusters 2 --nodes 2 --pods 1 --no-echo --gateway; then
  pass "up 2x2x1 --gateway --no-echo"
  (
    lab_load_env "$GW_PREFIX" || exit 1
    echo "${LAB_GATEWAY}|${LAB_GATEWAY_IP[1]:-}|${LAB_GATEWAY_IP[2]:-}"
  ) >"$OUT_DIR/gw.env" 2>&1
  check_eq "lab.env gateway IPs" "1|172.16.1.11|172.16.2.11" "$(<"$OUT_DIR/gw.env")"
  if out=$("$LAB" manifests --prefix "$GW_PREFIX" --out "$OUT_DIR/gw" 2>&1); then
    pass "manifests --gateway lab"
  else
    fail "manifests --gateway lab: $out"
  fi
  check_file "manifest of c2 (gateway)" "$OUT_DIR/gw/cluster-c2.yaml" <<'EOF'
apiVersion: meridian.io/v1alpha1
kind: Cluster
metadata:
  name: c2
spec:
  id: 2
  podCIDRs: ["10.2.0.0/16"]
  gateway: 172.16.2.11
EOF
  if "$LAB" down --prefix "$GW_PREFIX"; then
    pass "down --gateway lab"
  else
    fail "down --gateway lab"
  fi
  check_eq "no namespace of the --gateway lab left" "" "$(lab_list_ns "$GW_PREFIX")"
else
  fail "up 2x2x1 --gateway --no-echo"
fi

# --- down ------------------------------------------------------------------------
if "$LAB" down --prefix "$PREFIX"; then
  pass "down"
else
  fail "down"
fi
check_eq "no namespace left" "" "$(lab_list_ns "$PREFIX")"
if lab_ns_exists "$RT_NS"; then
  fail "router namespace $RT_NS still exists"
else
  pass "router namespace removed"
fi
if [[ -e $STATE_DIR ]]; then
  fail "state dir $STATE_DIR still exists"
else
  pass "state dir removed"
fi
if "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1; then
  pass "second down succeeds"
else
  fail "second down fails"
fi

finish
