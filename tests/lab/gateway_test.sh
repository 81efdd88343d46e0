#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lab test of gateway mode (Submariner-style): 2 clusters x 2 nodes x 2 pods,
# lab built with --gateway, so node 1 of each cluster is its gateway and the
# Cluster manifests publish only the gateway. Peers accept tunnelled traffic
# from gateways only; the other nodes route remote pod CIDRs to their
# gateway, which relays them into the tunnel.
#
#  - from c1's client (on the gateway) and from a pod on c1's node 2, a VIP
#    whose backends are c2's pods on both nodes reaches all of them
#  - the underlay between the clusters carries only gateway addresses
#  - both gateways count relayed packets; no tunnel packet is dropped as
#    coming from an unknown peer
#  - the peer prober of c1's nodes (gateway or not) probes c2's gateway
#
# Usage: gateway_test.sh [--bin-dir DIR]. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d "/tmp/meridian-gw-test.XXXXXX")
cleanup() {
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "# lab $PREFIX: 2 clusters x 2 nodes x 2 pods + client, gateways on node 1"
"$LAB" up --prefix "$PREFIX" --clusters 2 --nodes 2 --pods 2 --client --gateway --bin-dir "$BIN_DIR" >"$WORK/lab-up.log" 2>&1 ||
  { cat "$WORK/lab-up.log"; exit 1; }
lab_load_env "$PREFIX"
C1N1=$(lab_node_ns "$PREFIX" 1 1)
C2N1=$(lab_node_ns "$PREFIX" 2 1)

mkdir -p "$WORK/m/c1" "$WORK/m/c2"
"$LAB" manifests --prefix "$PREFIX" --out "$WORK/clusters" >/dev/null
check "the Cluster manifests publish gateways only" grep -q 'gateway: 172.16.2.11' "$WORK/clusters/cluster-c2.yaml"
cp "$WORK/clusters/"*.yaml "$WORK/m/c1/"
cp "$WORK/clusters/"*.yaml "$WORK/m/c2/"
C2_PODS=(c2n1p1 c2n1p2 c2n2p1 c2n2p2)
{
  lab_service_yaml web 10.96.0.10 "http:TCP:80:8080" "${C2_PODS[@]}"
  lab_service_export web
} >"$WORK/m/c2/services.yaml"
lab_service_yaml web-remote 10.96.1.10 "http:TCP:80:8080" "${C2_PODS[@]}" >"$WORK/m/c1/services.yaml"
require "agents of both clusters attach and serve" lab_agents_start_clusterset "$WORK/m"

stat_of() { lab_stat "$@"; }  # stat_of NODE COUNTER: its packets
ip netns exec "$(lab_ul_ns "$PREFIX" 2)" timeout 8 tcpdump -i "${PREFIX}rt" -nn -c 400 'udp port 4789' >"$WORK/capture.txt" 2>/dev/null &
CAP=$!
sleep 1
for pod in c1client c1n2p1; do
  lab_exec_pod "$PREFIX" "$pod" bash -c 'for i in $(seq 80); do curl -s --max-time 2 http://10.96.1.10/ || echo FAILED; done' >"$WORK/from-$pod.txt"
  for backend in "${C2_PODS[@]}"; do
    n=$(grep -cx "$backend" "$WORK/from-$pod.txt")
    check "from $pod (node $([[ $pod == c1client ]] && echo 1 || echo 2)): $backend answered $n of 80" test "$n" -ge 5
  done
  check "from $pod: no connection failed" test "$(grep -c FAILED "$WORK/from-$pod.txt")" -eq 0
done
wait "$CAP"
outer=$(grep -oE 'IP 172\.16\.[0-9]+\.[0-9]+\.[0-9]+ > 172\.16\.[0-9]+\.[0-9]+\.4789' "$WORK/capture.txt" |
  sed -E 's/^IP (172\.16\.[0-9]+\.[0-9]+)\.[0-9]+ > (172\.16\.[0-9]+\.[0-9]+)\.4789$/\1>\2/' | sort -u | tr '\n' ' ')
check_eq "tunnel packets between the clusters go gateway to gateway only" "172.16.1.11>172.16.2.11 172.16.2.11>172.16.1.11 " "$outer"
check "c1's gateway relayed node 2's traffic (gateway_relay > 0)" test "$(stat_of "$C1N1" gateway_relay)" -gt 0
check "c2's gateway relayed its node 2's replies (gateway_relay > 0)" test "$(stat_of "$C2N1" gateway_relay)" -gt 0
check_eq "c2's gateway saw no VXLAN from a non-peer" 0 "$(stat_of "$C2N1" pass_tunnel_not_peer)"
check_eq "c2's gateway dropped no inner source as foreign" 0 "$(stat_of "$C2N1" drop_tunnel_bad_source)"
check_eq "c1's gateway dropped nothing as not allowed" 0 "$(stat_of "$C1N1" drop_tunnel_not_allowed)"

# The peer prober of a gateway cluster's peers probes its gateway, from
# every node (node 2 reaches it over the underlay, as its tunnel traffic
# would if it were a gateway).
c2_probes() {  # c2_probes NODE: "verdict address:state ..." of c2 in the node's status
  local c="clusters[name=c2]" i=0 address out
  out=$(lab_agent_field "$1" "$c.reachability")
  while address=$(lab_agent_field "$1" "$c.probes.$i.address"); do
    out+=" $address:$(lab_agent_field "$1" "$c.probes.$i.state")"
    i=$((i + 1))
  done
  echo "$out"
}
for node in "$C1N1" "$(lab_node_ns "$PREFIX" 1 2)"; do
  gw_reachable() { [[ $(c2_probes "$1") == "reachable 172.16.2.11:reachable" ]]; }
  wait_for 5 gw_reachable "$node" || true
  check_eq "$node probes c2's gateway only, and reaches it" "reachable 172.16.2.11:reachable" "$(c2_probes "$node")"
done
finish
