#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lab test of the cross-cluster datapath with real traffic: 2 clusters x 2
# nodes x 2 pods + a client in c1, underlays joined by a router that does not
# route pod CIDRs (only our VXLAN tunnel can carry pod traffic between sites),
# one meridian-agent per node with --cluster/--uplink.
#
#  - 200 connections from c1 to a VIP whose backends are all in c2 reach
#    every c2 backend; TCP and UDP; a 100 MB iperf3 transfer completes
#  - a c2 backend's ICMP port unreachable reaches the c1 client, reversed
#  - a VIP with backends in both clusters reaches both
#  - tcpdump decodes the underlay traffic as VXLAN, VNI 1, inner addresses
#  - a plain Linux vxlan device receives our encapsulated traffic
#  - a spoofed VXLAN packet from an unregistered address (passed up, and
#    with --foreign-vxlan drop dropped and counted), and a tunnelled
#    packet to a pod c1 does not export, are dropped and counted
#  - a Cluster's spec.id changed under running agents is reported in
#    status.json (the tunnel keeps the old id) and clears when restored
#  - a node restarted with the other --uplink-decap has only that program
#    on its uplink, and the tunnel still carries traffic
#  - meridianctl monitor shows a known flow (client -> VIP -> c2 backend),
#    its encap and decap, and a known drop; no event is produced while no
#    monitor is attached (monitor_events); a second monitor is refused; a
#    monitor attached across an agent restart sees the new programs' flows
#  - the agent's control socket: GET /status, /metrics, 404, mode 0600;
#    removed at stop, when meridianctl reads status.json
#  - meridianctl ct --service / --backend show only those flows
#  - meridianctl clusters: both clusters, c2's peers and tunnel counters;
#    c2's endpoints reachable by ICMP, partial while one is down, then back
#
# Usage: cross_cluster_test.sh [--bin-dir DIR]. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d "/tmp/meridian-xc-test.XXXXXX")
VXNS="$PREFIX-vx"  # the interop namespace
cleanup() {
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  ip netns del "$VXNS" 2>/dev/null
  "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT


C2_PODS=(c2n1p1 c2n1p2 c2n2p1 c2n2p2)
C1_PODS=(c1n1p1 c1n1p2 c1n2p1 c1n2p2)

service() {  # service NAME VIP PORT TARGET POD...: TCP and UDP
  local name=$1 vip=$2 port=$3 target=$4
  shift 4
  lab_service_yaml "$name" "$vip" "tcp:TCP:$port:$target,udp:UDP:$port:$target" "$@"
}

echo "# lab $PREFIX: 2 clusters x 2 nodes x 2 pods + client"
"$LAB" up --prefix "$PREFIX" --clusters 2 --nodes 2 --pods 2 --client --bin-dir "$BIN_DIR" >"$WORK/lab-up.log" 2>&1 ||
  { cat "$WORK/lab-up.log"; exit 1; }
lab_load_env "$PREFIX"
C1N1=$(lab_node_ns "$PREFIX" 1 1)
C2N1=$(lab_node_ns "$PREFIX" 2 1)

# --- interop receiver: a plain Linux vxlan device on c2's underlay -----------
# 172.16.2.50 terminates VNI 1 for 10.2.9.0/24. Our encapsulation addresses
# the inner frame to the next hop's MAC, here the router's c1-side port, so
# the vxlan device takes that MAC (as the design brief notes).
ROUTER_C1_MAC=$(ip -n "$LAB_ROUTER_NS" -o link show "${PREFIX}r1" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
ip netns add "$VXNS"
ip -n "$(lab_ul_ns "$PREFIX" 2)" link add "${PREFIX}vx" type veth peer name eth0 netns "$VXNS"
ip -n "$(lab_ul_ns "$PREFIX" 2)" link set "${PREFIX}vx" master "${PREFIX}br" up
ip -n "$VXNS" link set lo up
ip -n "$VXNS" addr add 172.16.2.50/24 dev eth0
ip -n "$VXNS" link set eth0 up
ip -n "$VXNS" route add 172.16.0.0/16 via 172.16.2.1
ip -n "$VXNS" link add vx0 type vxlan id 1 dstport 4789 local 172.16.2.50 nolearning
ip -n "$VXNS" link set vx0 address "$ROUTER_C1_MAC" up
ip -n "$VXNS" addr add 10.2.9.1/24 dev vx0

# --- manifests ---------------------------------------------------------------
mkdir -p "$WORK/m/c1" "$WORK/m/c2"
"$LAB" manifests --prefix "$PREFIX" --out "$WORK/clusters" >/dev/null
# c2 announces the interop endpoint as one more tunnel endpoint.
cat >>"$WORK/clusters/cluster-c2.yaml" <<'YAML'
  - address: 172.16.2.50
    podCIDRs: ["10.2.9.0/24"]
YAML
cp "$WORK/clusters/"*.yaml "$WORK/m/c1/"
cp "$WORK/clusters/"*.yaml "$WORK/m/c2/"
# c2 runs "web" and exports it; c1 sees it through two VIPs: one with c2's
# pods only, one with the pods of both clusters (the registry will write
# these slices later; here they are written by hand).
{
  service web 10.96.0.10 80 8080 "${C2_PODS[@]}"
  lab_service_export web
  service iperf 10.96.0.11 5201 5201 c2n2p1
  lab_service_export iperf
  lab_service_yaml closed 10.96.0.12 closed:UDP:54:9999 "${C2_PODS[@]}"
  lab_service_export closed
} >"$WORK/m/c2/services.yaml"
{
  service web-remote 10.96.1.10 80 8080 "${C2_PODS[@]}"
  service web-both 10.96.1.20 80 8080 "${C1_PODS[@]}" "${C2_PODS[@]}"
  service iperf-remote 10.96.1.11 5201 5201 c2n2p1
  lab_service_yaml closed-remote 10.96.1.12 closed:UDP:54:9999 "${C2_PODS[@]}"
} >"$WORK/m/c1/services.yaml"

# MERIDIAN_UPLINK_DECAP=xdp runs the same test with XDP decapsulation.
DECAP=${MERIDIAN_UPLINK_DECAP:-tc}
check "agents of both clusters attach and serve (decap in $DECAP)" \
  lab_agents_start_clusterset "$WORK/m" --uplink-decap "$DECAP"
client() { lab_exec_pod "$PREFIX" c1client "$@"; }
stat_of() { lab_stat "$@"; }  # stat_of NODE COUNTER: its packets

# --- 200 connections to a VIP whose backends are all in c2 -------------------
client bash -c 'for i in $(seq 200); do curl -s --max-time 2 http://10.96.1.10/ || echo FAILED; done' >"$WORK/spread.txt"
for pod in "${C2_PODS[@]}"; do
  n=$(grep -cx "$pod" "$WORK/spread.txt")
  check "c1 -> c2 VIP: $pod answered $n of 200 (>= 20)" test "$n" -ge 20
done
check "c1 -> c2 VIP: no connection failed" test "$(grep -c FAILED "$WORK/spread.txt")" -eq 0

# No SNAT: the backend in c2 sees the client pod's own address.
peer=$(client curl -s -D - -o /dev/null --max-time 2 http://10.96.1.10/ | tr -d '\r' | awk -F': ' '/^X-Echo-Peer:/ {print $2}')
check "the c2 backend sees the real client address ($peer)" grep -qE '^10\.1\.1\.100:[0-9]+$' <<<"$peer"

reply=$(client bash -c "echo hello | socat -T2 - UDP:10.96.1.10:80")
check "UDP through the tunnel: '$reply'" grep -qxE "c2n[12]p[12] hello" <<<"$reply"

# c2's pods have no socket on 9999: their ICMP port unreachable crosses the
# tunnel back (admitted at decap because it quotes a flow c1n1 translated)
# and is reversed on the client's veth, so its socket is refused at once
# (6 sockets, 6 source ports, several pods).
check_eq "a c2 backend's port unreachable reaches the c1 client through the VIP (refused, of 6)" \
  6 "$(udp_refused client 10.96.1.12 54)"
check "c1n1 reversed them (icmp_revnat)" test "$(stat_of "$C1N1" icmp_revnat)" -gt 0

# --- backends in both clusters ----------------------------------------------
client bash -c 'for i in $(seq 100); do curl -s --max-time 2 http://10.96.1.20/ || echo FAILED; done' >"$WORK/both.txt"
check "VIP with backends in both clusters reaches c1 pods" grep -qE '^c1n' "$WORK/both.txt"
check "VIP with backends in both clusters reaches c2 pods" grep -qE '^c2n' "$WORK/both.txt"
check "VIP with backends in both clusters: no failure" test "$(grep -c FAILED "$WORK/both.txt")" -eq 0

# --- 100 MB through the tunnel ---------------------------------------------
lab_exec_pod "$PREFIX" c2n2p1 iperf3 -s -p 5201 -D --logfile "$WORK/iperf-server.log"
sleep 0.5
client timeout 60 iperf3 -c 10.96.1.11 -p 5201 -n 100M -J >"$WORK/iperf.json" 2>&1
iperf_rc=$?
# iperf3 -n: the client sends exactly 100 MiB and exits 0 once TCP has
# delivered it all; the server's own count may stop a little early.
read -r sent gbps < <(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["end"]
print(int(e["sum_sent"]["bytes"]), round(e["sum_sent"]["bits_per_second"] / 1e9, 2))' "$WORK/iperf.json" 2>/dev/null || echo "0 0")
check "iperf3: 100 MiB through the tunnel (rc $iperf_rc, $sent bytes, $gbps Gbit/s)" \
  test "$iperf_rc" -eq 0 -a "$sent" -ge 104857600

# --- a capture on the underlay decodes as VXLAN -----------------------------
ip netns exec "$C1N1" timeout 5 tcpdump -i "${PREFIX}up" -nn -v -c 4 'udp port 4789' >"$WORK/capture.txt" 2>/dev/null &
CAP=$!
sleep 1
client curl -s --max-time 2 http://10.96.1.10/ >/dev/null
wait "$CAP"
check "tcpdump decodes VXLAN with VNI 1" grep -q "VXLAN, flags \[I\] (0x08), vni 1" "$WORK/capture.txt"
check "tcpdump shows the inner client -> c2 backend addresses" \
  grep -qE "10\.1\.1\.100\.[0-9]+ > 10\.2\.[12]\.1[12]\.8080" "$WORK/capture.txt"

# --- interop: a Linux vxlan device receives our frames ----------------------
ip netns exec "$VXNS" timeout 5 socat -u UDP-RECV:7777 OPEN:"$WORK/interop.txt",creat,trunc &
RECV=$!
sleep 0.5
client bash -c 'echo interop-hello | socat -u - UDP:10.2.9.1:7777'
sleep 0.5
kill "$RECV" 2>/dev/null
wait "$RECV" 2>/dev/null
check "Linux vxlan device delivered our encapsulated datagram" grep -qx "interop-hello" "$WORK/interop.txt"

# --- spoofed and unauthorised tunnel traffic --------------------------------
# send_vxlan NS SRC_BIND VNI INNER_SRC INNER_DST DPORT: a VXLAN frame to c1n1.
send_vxlan() {
  ip netns exec "$1" python3 - "$2" "$3" "$4" "$5" "$6" <<'PY'
import socket, struct, sys
bind, vni, src, dst, dport = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
tcp = struct.pack("!HHIIBBHHH", 40000, dport, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
vx = struct.pack("!II", 0x08000000, vni << 8)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((bind, 0))
s.sendto(vx + eth + ip + tcp, ("172.16.1.11", 4789))
PY
}
# Not from a peer: not Meridian's. It goes up c1n1's stack untouched (where
# nothing listens on 4789 here), counted as pass_tunnel_not_peer.
before=$(stat_of "$C1N1" pass_tunnel_not_peer)
send_vxlan "$LAB_ROUTER_NS" 172.16.1.1 2 10.2.1.11 10.1.1.11 8080
not_peer() { test "$(stat_of "$C1N1" pass_tunnel_not_peer)" -gt "$before"; }
check "VXLAN from an unregistered address is not ours: passed up and counted" wait_for 2 not_peer
# From a registered peer, speaking for a pod of c1 and for a node: the
# inner source must be a pod of the peer's cluster (issue 13.6).
before=$(stat_of "$C1N1" drop_tunnel_bad_source)
send_vxlan "$C2N1" 172.16.2.11 2 10.1.1.12 10.1.1.11 8080
send_vxlan "$C2N1" 172.16.2.11 2 172.16.2.12 10.1.1.11 8080
bad_source() { test "$(stat_of "$C1N1" drop_tunnel_bad_source)" -ge $((before + 2)); }
check "peer VXLAN with an inner source of c1's pods or a node is dropped as drop_tunnel_bad_source" \
  wait_for 2 bad_source
before=$(stat_of "$C1N1" drop_tunnel_not_allowed)
send_vxlan "$C2N1" 172.16.2.11 2 10.2.1.11 10.1.1.11 8080
not_allowed() { test "$(stat_of "$C1N1" drop_tunnel_not_allowed)" -gt "$before"; }
check "tunnelled packet to a pod c1 does not export is dropped and counted" wait_for 2 not_allowed
# A CNI's own VXLAN on the same port between two nodes of c1 (as Calico's
# and Flannel's run on 4789): a kernel vxlan device pair still works with
# Meridian's decapsulation on both uplinks.
C1N2=$(lab_node_ns "$PREFIX" 1 2)
ip -n "$C1N1" link add "${PREFIX}cni" type vxlan id 4096 dstport 4789 local 172.16.1.11 remote 172.16.1.12 dev "${PREFIX}up"
ip -n "$C1N2" link add "${PREFIX}cni" type vxlan id 4096 dstport 4789 local 172.16.1.12 remote 172.16.1.11 dev "${PREFIX}up"
ip -n "$C1N1" addr add 192.168.77.1/24 dev "${PREFIX}cni" && ip -n "$C1N1" link set "${PREFIX}cni" up
ip -n "$C1N2" addr add 192.168.77.2/24 dev "${PREFIX}cni" && ip -n "$C1N2" link set "${PREFIX}cni" up
before=$(stat_of "$C1N1" pass_tunnel_not_peer)
check "a kernel vxlan device (VNI 4096, port 4789) between c1's nodes works beside Meridian" \
  ip netns exec "$C1N1" ping -c 3 -i 0.2 -W 1 192.168.77.2
check "... its frames passed c1n1's uplink untouched (pass_tunnel_not_peer +3 or more)" \
  test "$(stat_of "$C1N1" pass_tunnel_not_peer)" -ge $((before + 3))
ip -n "$C1N1" link del "${PREFIX}cni"
ip -n "$C1N2" link del "${PREFIX}cni"
check "c1n1 decapsulated replies (decap counter > 0)" test "$(stat_of "$C1N1" decap)" -gt 0
check "c1n1 encapsulated requests (encap counter > 0)" test "$(stat_of "$C1N1" encap)" -gt 0
# Per peer cluster in /metrics: every tunnel packet of c1n1 went to or came
# from c2 (id 2), so the per-cluster counters equal encap and decap.
tunnel_metric() {  # DIRECTION
  nsenter --net="/run/netns/$C1N1" curl -s --max-time 2 http://127.0.0.1:9965/metrics |
    awk -v s="meridian_tunnel_packets_total{cluster=\"c2\",cluster_id=\"2\",direction=\"$1\"}" '$1 == s {print $2}'
}
check_eq "c1n1's /metrics: tunnel packets to and from cluster 2 equal encap and decap" \
  "$(stat_of "$C1N1" encap) $(stat_of "$C1N1" decap)" "$(tunnel_metric tx) $(tunnel_metric rx)"

# --- meridianctl stats COUNTER... -------------------------------------------------
check_eq "stats encap decap: one line each, as the full table has them" \
  "$("$BIN_DIR/meridianctl" --node "$C1N1" --json stats | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["encap"]["packets"], s["decap"]["packets"])')" \
  "$("$BIN_DIR/meridianctl" --node "$C1N1" stats encap decap | paste -sd ' ')"
"$BIN_DIR/meridianctl" --node "$C1N1" stats encap no_such_counter >"$WORK/stats.out" 2>"$WORK/stats.err"
check_eq "stats no_such_counter: exit 1, naming it, nothing on stdout" \
  "1 meridianctl: stats: no counter 'no_such_counter' (meridianctl stats lists them) 0" \
  "$? $(cat "$WORK/stats.err") $(wc -c <"$WORK/stats.out")"

# --- meridianctl clusters ------------------------------------------------------
read -r clusters_seen < <("$BIN_DIR/meridianctl" --node "$C1N1" --state-dir "$LAB_STATE_DIR/agent-$C1N1" \
  clusters -o json | python3 -c '
import json, sys
c = {x["name"]: x for x in json.load(sys.stdin)}
c1, c2 = c.get("c1", {}), c.get("c2", {})
print(" ".join(str(v) for v in (sorted(c), c1.get("id"), c1.get("local"), c2.get("id"), c2.get("local"),
      c2.get("datapath_peers"), c2.get("tx_packets"), c2.get("rx_packets"), len(c2.get("tunnel_endpoints", [])))).replace(" ", ""))')
# c2's endpoints: its two nodes and the interop receiver 172.16.2.50.
check_eq "clusters on c1n1: c1 (id 1, local), c2 (id 2, 3 peers in the datapath, tx = encap, rx = decap, 3 endpoints)" \
  "['c1','c2']1True2False3$(stat_of "$C1N1" encap)$(stat_of "$C1N1" decap)3" "$clusters_seen"
"$BIN_DIR/meridianctl" --node "$C1N1" --state-dir "$LAB_STATE_DIR/agent-$C1N1" clusters >"$WORK/clusters.txt"
check "... and as a table: c2's row names its endpoints" \
  grep -qE "^c2 +2 no .*172\.16\.2\.11 10\.2\.1\.0/24; 172\.16\.2\.12 10\.2\.2\.0/24" "$WORK/clusters.txt"

# --- peer reachability: ICMP echo to c2's tunnel endpoints ---------------------
# "c2-verdict addr:state:replied addr:state:replied ...", from c1n1's clusters -o json.
reach_of_c2() {
  "$BIN_DIR/meridianctl" --node "$C1N1" --state-dir "$LAB_STATE_DIR/agent-$C1N1" \
    clusters -o json | python3 -c '
import json, sys
c = {x["name"]: x for x in json.load(sys.stdin)}
probes = c["c2"].get("probes", [])
print(c["c2"].get("reachability"), " ".join("%s:%s:%s" % (p["address"], p["state"], int(p["replies"] > 0 and p["rtt_us"] > 0)) for p in probes), "c1-probes:%d" % len(c["c1"].get("probes", [])))'
}
all_reachable="reachable 172.16.2.11:reachable:1 172.16.2.12:reachable:1 172.16.2.50:reachable:1 c1-probes:0"
c2_reachable() { [[ $(reach_of_c2) == "$all_reachable" ]]; }
wait_for 5 c2_reachable || true
check_eq "c1n1 reaches c2's three endpoints (replies, an RTT); c1 (local) is not probed" \
  "$all_reachable" "$(reach_of_c2)"
"$BIN_DIR/meridianctl" --node "$C1N1" --state-dir "$LAB_STATE_DIR/agent-$C1N1" clusters >"$WORK/clusters.txt"
check "... and the table says 'reachable 3/3' with an RTT" \
  grep -qE "^c2 +2 no +[0-9hms]+ +- +reachable 3/3 +[0-9.]+ms " "$WORK/clusters.txt"
ip netns exec "$C1N1" curl -s --max-time 2 http://127.0.0.1:9965/metrics >"$WORK/peer-metrics.txt"
check "/metrics: meridian_peer_reachable{cluster=\"c2\",address=\"172.16.2.11\"} 1" \
  grep -qx 'meridian_peer_reachable{cluster="c2",address="172.16.2.11"} 1' "$WORK/peer-metrics.txt"
check_eq "promtool check metrics: a cross-cluster agent's output (tunnel, peers) parses and lints clean" "" \
  "$(promtool check metrics <"$WORK/peer-metrics.txt" 2>&1)"
# The agent's control socket: what meridianctl asks first.
SOCK="$LAB_STATE_DIR/agent-$C1N1/agent.sock"
check_eq "c1n1's control socket answers GET /status with the live document" "serving True" \
  "$(curl -s --max-time 2 --unix-socket "$SOCK" http://agent/status | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["state"], any(c["name"] == "c2" and c.get("reachability") == "reachable" for c in s["clusters"]))')"
check "... GET /metrics" \
  bash -c "curl -s --max-time 2 --unix-socket '$SOCK' http://agent/metrics | grep -q '^meridian_peer_reachable{cluster=\"c2\"'"
check_eq "... GET /frontends: web-remote's TCP and UDP frontends by id, with its name and port names" \
  "10.96.1.10:80/TCP default/web-remote tcp
10.96.1.10:80/UDP default/web-remote udp" \
  "$(curl -s --max-time 2 --unix-socket "$SOCK" http://agent/frontends | python3 -c '
import json, sys
for f in json.load(sys.stdin):
    if f["address"] == "10.96.1.10" and isinstance(f["id"], int) and f["id"] > 0:
        print("%s:%s/%s %s %s" % (f["address"], f["port"], f["protocol"], f["service"], f["port_name"]))' | sort)"
check_eq "... and 404 naming what it serves for anything else" \
  "404 not found: /status, /frontends, /metrics, /healthz and /readyz are served" \
  "$(curl -s --max-time 2 --unix-socket "$SOCK" -w '%{http_code} ' -o "$WORK/sock-404.txt" http://agent/nope; cat "$WORK/sock-404.txt")"
check_eq "... only root may connect (mode 0600)" "600" "$(stat -c %a "$SOCK")"
# What else the agent leaves on the node: pinned maps and programs only
# root may open; state files root writes and others may read (no secret in
# them: a registry password is redacted); nothing world-writable.
check_eq "c1n1's pins (/sys/fs/bpf/meridian/$C1N1): all mode 0600" "" \
  "$(find "/sys/fs/bpf/meridian/$C1N1" -mindepth 1 -type f ! -perm 0600 | head -3)"
check "... and there are pins to check" test "$(find "/sys/fs/bpf/meridian/$C1N1" -mindepth 1 -type f | wc -l)" -ge 15
check_eq "c1n1's state dir: nothing group- or world-writable, status.json 0644" "0644" \
  "$(find "$LAB_STATE_DIR/agent-$C1N1" -perm /022 ! -type l | head -3)$(stat -c %04a "$LAB_STATE_DIR/agent-$C1N1/status.json")"
# The interop endpoint goes away: c2 is partly reachable within 3 probe
# intervals (1 s each) and the status says which endpoint is missing.
ip -n "$VXNS" link set eth0 down
partial="partial 172.16.2.11:reachable:1 172.16.2.12:reachable:1 172.16.2.50:unreachable:1 c1-probes:0"
c2_partial() { [[ $(reach_of_c2) == "$partial" ]]; }
t0=$SECONDS
wait_for 6 c2_partial || true
check_eq "172.16.2.50 down: c2 is partial, 172.16.2.50 unreachable ($((SECONDS - t0)) s)" \
  "$partial" "$(reach_of_c2)"
ip -n "$VXNS" link set eth0 up
ip -n "$VXNS" route replace 172.16.0.0/16 via 172.16.2.1  # link down took it away
t0=$SECONDS
wait_for 5 c2_reachable || true
check_eq "172.16.2.50 back: c2 reachable again ($((SECONDS - t0)) s)" "$all_reachable" "$(reach_of_c2)"

# --- meridianctl monitor: the events of a known flow and a known drop ---------
# While no monitor is attached the datapath produces no event at all.
check_eq "no monitor attached: c1n1 produced no event (monitor_events)" "0" \
  "$(stat_of "$C1N1" monitor_events)"
lab_monitor_start "$C1N1" "$WORK/monitor.jsonl" "$WORK/monitor.err" -o json --pod 10.1.1.100 --duration 30
MON=$LAB_MONITOR_PID
attached() { grep -q "monitor: attached" "$WORK/monitor.err"; }
check "meridianctl monitor attaches to c1n1" wait_for 5 attached
lab_monitor "$C1N1" --duration 1 >/dev/null 2>"$WORK/monitor2.err"
check_eq "... a second monitor on the node is refused (exit 1)" 1 $?
check "... saying why" grep -q "another monitor is attached to this node" "$WORK/monitor2.err"
client curl -s --max-time 2 http://10.96.1.10/ >/dev/null              # a flow to c2
client curl -s --max-time 2 http://10.96.1.10:81/ >/dev/null 2>&1      # a port it does not serve
events_seen() { grep -q reject_unknown_port "$WORK/monitor.jsonl"; }
wait_for 3 events_seen
kill -INT "$MON"
t0=$(date +%s%N)
wait "$MON"
mon_rc=$? mon_ms=$((($(date +%s%N) - t0) / 1000000))
check "... and exits 0 within 1 s of SIGINT (rc $mon_rc, ${mon_ms} ms)" test "$mon_rc" -eq 0 -a "$mon_ms" -lt 1000
check "... saying what it showed" grep -q "monitor: detached; [1-9][0-9]* events shown" "$WORK/monitor.err"
read -r flow encap decap drop < <(python3 - "$WORK/monitor.jsonl" <<'PY'
import json, re, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
flow = any(e["type"] == "flow" and e["reason"] == "lb_new_flow" and e["proto"] == "TCP"
           and e["source"].startswith("10.1.1.100:") and e["destination"] == "10.96.1.10:80"
           and re.fullmatch(r"10\.2\.[12]\.1[12]:8080", e["backend"])
           and e.get("service") == "default/web-remote" for e in ev)
encap = any(e["type"] == "tunnel" and e["direction"] == "tx" and e["cluster_id"] == 2
            and e["destination"] == "10.96.1.10:80" for e in ev)
decap = any(e["type"] == "tunnel" and e["direction"] == "rx" and e["cluster_id"] == 2
            and e["destination"].startswith("10.1.1.100:") for e in ev)
drop = any(e["type"] == "drop" and e["reason"] == "reject_unknown_port"
           and e["destination"] == "10.96.1.10:81" and e["source"].startswith("10.1.1.100:")
           and "service" not in e for e in ev)
print(int(flow), int(encap), int(decap), int(drop))
PY
)
check_eq "monitor: the flow client -> 10.96.1.10:80 (default/web-remote) -> a c2 backend, encap to and decap from cluster 2, the drop of port 81 (no service)" \
  "1 1 1 1" "$flow $encap $decap $drop"
# --service by name: the agent resolves default/web-remote to its frontends;
# the flow to web-both (10.96.1.20) is left out, web-remote's shown by name.
lab_monitor_start "$C1N1" "$WORK/monitor-name.txt" "$WORK/monitor-name.err" \
  --service default/web-remote --type flow --duration 20
MON=$LAB_MONITOR_PID
check "meridianctl monitor --service default/web-remote attaches" \
  wait_for 5 grep -q "monitor: attached" "$WORK/monitor-name.err"
client curl -s --max-time 2 http://10.96.1.20/ >/dev/null
client curl -s --max-time 2 http://10.96.1.10/ >/dev/null
named_flow() { grep -q "10.96.1.10:80 => .* (service [0-9]* default/web-remote, backend" "$WORK/monitor-name.txt"; }
check "... shows the flow to 10.96.1.10:80 with its Service's name" wait_for 3 named_flow
kill -INT "$MON"
wait "$MON"
check_eq "... and only that flow: none to 10.96.1.20, 1 filtered out" "0 1" \
  "$(grep -c '10.96.1.20' "$WORK/monitor-name.txt") $(grep -o '[0-9]* filtered out' "$WORK/monitor-name.err" | cut -d' ' -f1)"
lab_monitor "$C1N1" --service default/nope --duration 1 >/dev/null 2>"$WORK/monitor-nope.err"
check_eq "--service default/nope: exit 2, naming it" \
  "2 meridianctl: monitor: --service default/nope: no frontend of that Service is installed on this node (meridianctl services lists them)" \
  "$? $(tail -1 "$WORK/monitor-nope.err")"
produced=$(stat_of "$C1N1" monitor_events)
client curl -s --max-time 2 http://10.96.1.10/ >/dev/null
client curl -s --max-time 2 http://10.96.1.10:81/ >/dev/null 2>&1
check_eq "monitor detached: new flows and drops produce no event (monitor_events stays $produced)" \
  "$produced" "$(stat_of "$C1N1" monitor_events)"

# --- meridianctl ct, filtered by frontend and by backend ----------------------
ctl() { "$BIN_DIR/meridianctl" --node "$C1N1" "$@"; }
client curl -s --max-time 2 http://10.96.1.10/ >/dev/null
read -r total shown all_vip backend < <(python3 - <(ctl ct -o json) <(ctl ct --service 10.96.1.10:80 -o json) <<'PY'
import json, sys
every, shown = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(len(every), len(shown), int(all(e["vip"] == "10.96.1.10:80" for e in shown)),
      shown[0]["backend"] if shown else "-")
PY
)
check "ct --service 10.96.1.10:80: only its flows ($shown of $total entries, all to it)" \
  test "$shown" -gt 0 -a "$shown" -lt "$total" -a "$all_vip" -eq 1
by_backend=$(ctl ct --backend "$backend" -o json | python3 -c '
import json, sys
e = json.load(sys.stdin)
print(len(e) if e and all(x["backend"] == sys.argv[1] for x in e) else 0)' "$backend")
check "ct --backend $backend: only flows to it ($by_backend entries)" test "$by_backend" -gt 0
ctl ct --backend 10.2.1 >/dev/null 2>"$WORK/ct.err"
check_eq "ct --backend 10.2.1: exit 2, naming the flag" "2 meridianctl: ct: --backend 10.2.1: expected IP or IP:PORT" \
  "$? $(cat "$WORK/ct.err")"

# --- a Cluster's id changed under running agents --------------------------------
# The id is compiled into the programs: the agents keep the old one, say why
# in status.json, and return to serving when it is restored.
sed -i 's/^  id: 1$/  id: 7/' "$WORK/m/c1/cluster-c1.yaml"
id_error() { lab_agent_status "$C1N1" | grep -q 'Cluster c1: spec.id changed from 1 to 7; restart the agent to use it'; }
check "spec.id 1 -> 7 under a running agent: the error is in status.json" wait_for 5 id_error
# A later reconcile that changes nothing (an empty manifest appears) must
# not hide it: the id in the programs is still the old one.
reconciles() { lab_agent_field "$C1N1" reconciles; }
r0=$(reconciles)
: >"$WORK/m/c1/zz-empty.yaml"
reconciled() { test "$(reconciles)" -gt "$r0"; }
wait_for 5 reconciled || true
check "... and stays there after a reconcile that changed nothing" id_error
rm -f "$WORK/m/c1/zz-empty.yaml"
check_eq "... and the tunnel keeps working with the old id" "ok" \
  "$(client curl -s --max-time 2 http://10.96.1.10/ | grep -qE '^c2n' && echo ok)"
sed -i 's/^  id: 7$/  id: 1/' "$WORK/m/c1/cluster-c1.yaml"
c1n1_serving() { [[ $(lab_agent_field "$C1N1" state) == serving ]]; }
check "spec.id restored: c1n1 serves again" wait_for 5 c1n1_serving

# --- switching the decapsulation mode on a node: restart with the other one --------
# (NodePorts off: with the default --nodeport-mode snat the XDP program
# stays on the uplink for them, whatever the decapsulation mode.)
OTHER=xdp
[[ $DECAP == xdp ]] && OTHER=tc
# A monitor attached across the restart: the ring and its lease are pinned
# maps, so it keeps receiving from the new programs.
lab_monitor_start "$C1N1" "$WORK/monitor-restart.jsonl" "$WORK/monitor-restart.err" \
  -o json --type flow --pod 10.1.1.100 --duration 30
MON=$LAB_MONITOR_PID
check "a monitor attaches before the restart" wait_for 5 grep -q "monitor: attached" "$WORK/monitor-restart.err"
lab_agent_stop "$C1N1"
check "a stopped agent removed its control socket" test ! -e "$SOCK"
check_eq "... and meridianctl reads status.json then, without a note" "stopped|" \
  "$("$BIN_DIR/meridianctl" --node "$C1N1" --state-dir "$LAB_STATE_DIR/agent-$C1N1" status state 2>"$WORK/stopped.err")|$(cat "$WORK/stopped.err")"
lab_agent_start "$C1N1" "$WORK/m/c1" --cluster c1 --uplink "${LAB_PREFIX}up" --uplink-decap "$OTHER" --nodeport-mode off \
  --foreign-vxlan drop
check "c1n1 restarted with --uplink-decap $OTHER serves" lab_agent_wait "$C1N1" 3
xdp_on_uplink() { ip -n "$C1N1" -d link show "${LAB_PREFIX}up" | grep -q 'prog/xdp'; }
tc_on_uplink() { tc -n "$C1N1" filter show dev "${LAB_PREFIX}up" ingress | grep -q 'mer_from_uplink'; }
if [[ $OTHER == xdp ]]; then
  check "the uplink now has the XDP program" xdp_on_uplink
  check "... and the tc decapsulation is gone" bash -c "! tc -n '$C1N1' filter show dev '${LAB_PREFIX}up' ingress | grep -q mer_from_uplink"
else
  check "the uplink now has the tc program" tc_on_uplink
  check "... and the XDP program is gone" bash -c "! ip -n '$C1N1' -d link show '${LAB_PREFIX}up' | grep -q prog/xdp"
fi
client bash -c 'for i in $(seq 20); do curl -s --max-time 2 http://10.96.1.10/ || echo FAILED; done' >"$WORK/after-switch.txt"
check "c1 -> c2 VIP after the switch: 20 answers from c2, no failure" \
  test "$(grep -cE '^c2n' "$WORK/after-switch.txt")" -eq 20
flows_after_restart() { [[ $(grep -c '"type":"flow"' "$WORK/monitor-restart.jsonl") -ge 20 ]]; }
wait_for 3 flows_after_restart || true
kill -INT "$MON"
wait "$MON"
mon_rc=$?
check_eq "the monitor attached across the restart showed the 20 new flows of the new agent's programs (exit 0)" \
  "20 0" "$(grep -c '"type":"flow"' "$WORK/monitor-restart.jsonl") $mon_rc"
LAB_MONITOR_PID=""
# A monitor attached while the agent is down has no names to ask for: it
# asks again once the agent answers (at most once a second), and names the
# flows' Service from then on.
lab_agent_stop "$C1N1"
lab_monitor_start "$C1N1" "$WORK/monitor-names.jsonl" "$WORK/monitor-names.err" \
  -o json --type flow --pod 10.1.1.100 --duration 30
MON=$LAB_MONITOR_PID
check "a monitor attaches while the agent is down" wait_for 5 grep -q "monitor: attached" "$WORK/monitor-names.err"
lab_agent_start "$C1N1" "$WORK/m/c1" --cluster c1 --uplink "${LAB_PREFIX}up" --uplink-decap "$OTHER" --nodeport-mode off \
  --foreign-vxlan drop
check "c1n1 started again" lab_agent_wait "$C1N1" 3
sleep 1.2  # past the monitor's once-a-second limit on asking
client bash -c 'for i in $(seq 20); do curl -s --max-time 2 http://10.96.1.10/ || echo FAILED; done' >/dev/null
names_seen() { [[ $(grep -c '"service":"default/web-remote"' "$WORK/monitor-names.jsonl") -ge 20 ]]; }
wait_for 3 names_seen || true
kill -INT "$MON"
wait "$MON"
check_eq "... its 20 flows after the agent answered carry their Service (default/web-remote)" \
  "20 20" "$(grep -c '"type":"flow"' "$WORK/monitor-names.jsonl") $(grep -c '"service":"default/web-remote"' "$WORK/monitor-names.jsonl")"
LAB_MONITOR_PID=""
# Restarted with --foreign-vxlan drop too: VXLAN from an unregistered
# address is now dropped and counted, while c2's (above) is still ours.
not_peer_before="$(stat_of "$C1N1" drop_tunnel_not_peer) $(stat_of "$C1N1" pass_tunnel_not_peer)"
send_vxlan "$LAB_ROUTER_NS" 172.16.1.1 2 10.2.1.11 10.1.1.11 8080
not_peer_dropped() { test "$(stat_of "$C1N1" drop_tunnel_not_peer)" -gt "${not_peer_before% *}"; }
check "with --foreign-vxlan drop, VXLAN from an unregistered address is dropped (drop_tunnel_not_peer +1)" \
  wait_for 2 not_peer_dropped
check_eq "... and not passed up the stack (pass_tunnel_not_peer unchanged)" "${not_peer_before#* }" \
  "$(stat_of "$C1N1" pass_tunnel_not_peer)"

finish
