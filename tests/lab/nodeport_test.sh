#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Lab test of NodePort, LoadBalancer and externalIPs from outside the
# cluster, served by XDP on the nodes' uplinks (--nodeport-mode snat):
# 1 cluster x 2 nodes x 2 pods, an outside client (meridian-lab --outside)
# that has no route to any pod, one meridian-agent per node.
#
#  - "should be able to create a functioning NodePort service": the
#    outside client reaches every pod through either node's NodePort; a
#    pod on the receiving node sees the client's own address, a pod on the
#    other node sees the receiving node's (SNAT)
#  - "should be able to change the type and ports of a TCP service"-like:
#    LoadBalancer ingress IP and externalIP reach the pods
#  - UDP through the NodePort
#  - "should be rejected when no endpoints exist": refused at once
#  - "should only target nodes with endpoints" (externalTrafficPolicy
#    Local): node 1 serves its own pods only, with the client's address;
#    node 2 without endpoints drops (no answer, no refusal)
#  - pods reach the NodePort too
#
# Usage: nodeport_test.sh [--bin-dir DIR]. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d "/tmp/meridian-nodeport.XXXXXX")
MANIFESTS="$WORK/manifests"
mkdir -p "$MANIFESTS"
cleanup() {
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

VIP=10.96.0.10
LB_IP=192.0.2.10
EXT_IP=192.0.2.20
PODS=(c1n1p1 c1n1p2 c1n2p1 c1n2p2)

# write_web ETP POD...: Service web (LoadBalancer, nodePort 30080/TCP and
# 30053/UDP, an externalIP, an ingress IP; with Local the
# healthCheckNodePort 32100) with the given pods ready, each endpoint with
# its nodeName (for externalTrafficPolicy Local).
write_web() {
  local etp=$1
  shift
  lab_service_yaml web "$VIP" http:TCP:80:8080,dns:UDP:53:8080,closed:UDP:54:9999 "$@" |
    python3 -c '
import re, sys
etp, ext, lb, prefix = sys.argv[1:]
text = sys.stdin.read()
hc = "  healthCheckNodePort: 32100\n" if etp == "Local" else ""
text = text.replace("spec:\n", "spec:\n  type: LoadBalancer\n  externalTrafficPolicy: %s\n%s  externalIPs: [%s]\n" % (etp, hc, ext), 1)
text = text.replace("targetPort: 8080}", "targetPort: 8080, nodePort: 30080}", 1)
text = text.replace("port: 53, targetPort: 8080}", "port: 53, targetPort: 8080, nodePort: 30053}", 1)
text = text.replace("port: 54, targetPort: 9999}", "port: 54, targetPort: 9999, nodePort: 30054}", 1)
text = text.replace("\n---\n", "\nstatus: {loadBalancer: {ingress: [{ip: %s}]}}\n---\n" % lb, 1)
text = re.sub(r"(- \{addresses: \[10\.1\.(\d+)\.\d+\], conditions: \{ready: true\})\}",
              lambda m: "%s, nodeName: %s-c1n%s}" % (m.group(1), prefix, m.group(2)), text)
sys.stdout.write(text)' "$etp" "$EXT_IP" "$LB_IP" "$PREFIX" >"$MANIFESTS/.web.tmp"
  mv "$MANIFESTS/.web.tmp" "$MANIFESTS/web.yaml"
}
outside() { ip netns exec "$LAB_OUTSIDE_NS" "$@"; }
installed() {  # NODE MIN: external frontends with at least MIN active backends
  "$BIN_DIR/meridianctl" --node "$1" --json services 2>/dev/null | python3 -c '
import json, sys
print(sum(1 for f in json.load(sys.stdin) if f.get("external") and f["active_backends"] >= int(sys.argv[1])))' "$2"
}
installed_is() { [[ $(installed "$1" "$2") == "$3" ]]; }
# fetch URL: one line "POD PEER", the answering pod and the client address
# it saw (meridian-echo's X-Echo-Peer header), or FAILED.
fetch() {
  local out
  out=$(outside curl -s -i --max-time 2 "$1") || { echo FAILED; return; }
  printf '%s\n' "$out" | tr -d '\r' | awk '
    /^X-Echo-Peer:/ { sub(/:[0-9]+$/, "", $2); peer = $2 }
    /^$/ { body = 1; next }
    body && NF { pod = $1 }
    END { print pod, peer }'
}
# fetch_n N URL: N fetches, one line each.
fetch_n() {
  local i
  for ((i = 0; i < $1; i++)); do fetch "$2"; done
}
stat_of() { lab_stat "$@" || echo 0; }  # stat_of NODE COUNTER: its packets (0 when not readable)

command -v ethtool >/dev/null || { echo "SKIP: ethtool is missing"; exit 77; }
"$LAB" up --prefix "$PREFIX" --clusters 1 --nodes 2 --pods 2 --client --outside \
  --bin-dir "$BIN_DIR" >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "lab up"; exit 1; }
lab_load_env "$PREFIX"
N1=${LAB_NODE_NAMES[0]} N2=${LAB_NODE_NAMES[1]}
N1_IP=${LAB_NODE_IP[$N1]} N2_IP=${LAB_NODE_IP[$N2]}

write_web Cluster "${PODS[@]}"
lab_agents_start "$MANIFESTS" --uplink "${LAB_PREFIX}up" --nodeport-mode snat || {
  tail -20 "$LAB_STATE_DIR"/agent-*.log
  fail "agents start"
  exit 1
}
# 3 TCP + 6 UDP external frontends per node: its NodePorts, the ingress
# IP, the externalIP.
check "both nodes install 9 external frontends with 4 backends" \
  wait_for 10 eval "installed_is $N1 4 9 && installed_is $N2 4 9"
check "the outside client has no route to the pods" \
  bash -c "! ip netns exec $LAB_OUTSIDE_NS ip route get 10.1.1.11 2>/dev/null | grep -q via"

# --- "should be able to create a functioning NodePort service" -----------
for ip in "$N1_IP" "$N2_IP"; do
  fetch_n 40 "http://$ip:30080/" >"$WORK/np-$ip.txt"
  check_eq "NodePort $ip:30080: 40 of 40 requests answered" 0 "$(grep -c FAILED "$WORK/np-$ip.txt")"
  check_eq "NodePort $ip:30080: all 4 pods answer" 4 "$(cut -d' ' -f1 "$WORK/np-$ip.txt" | sort -u | grep -c '^c1n')"
done
# Through node 1, its own pods see the client (DNAT only), node 2's pods
# see node 1 (SNAT); through node 2 the other way round.
check_eq "through node 1: node 1's pods saw the outside client's own address, every time" \
  "$LAB_OUTSIDE_IP" "$(grep '^c1n1' "$WORK/np-$N1_IP.txt" | cut -d' ' -f2 | sort -u | tr '\n' ' ' | xargs)"
check_eq "through node 1: node 2's pods saw node 1's address (SNAT), every time" \
  "$N1_IP" "$(grep '^c1n2' "$WORK/np-$N1_IP.txt" | cut -d' ' -f2 | sort -u | tr '\n' ' ' | xargs)"
check_eq "through node 2: node 2's pods saw the outside client's own address, every time" \
  "$LAB_OUTSIDE_IP" "$(grep '^c1n2' "$WORK/np-$N2_IP.txt" | cut -d' ' -f2 | sort -u | tr '\n' ' ' | xargs)"
check_eq "through node 2: node 1's pods saw node 2's address (SNAT), every time" \
  "$N2_IP" "$(grep '^c1n1' "$WORK/np-$N2_IP.txt" | cut -d' ' -f2 | sort -u | tr '\n' ' ' | xargs)"
check "node 1 counted local, SNAT'd and reversed NodePort packets" \
  test "$(stat_of "$N1" nodeport_local)" -gt 0 -a "$(stat_of "$N1" nodeport_revnat)" -gt 0 \
  -a "$(( $(stat_of "$N1" nodeport_snat) + $(stat_of "$N1" nodeport_via_stack) ))" -gt 0

# --- an address the node gets after the start serves NodePorts at once -----
EXTRA_IP=172.16.1.50  # on the underlay's /24, unused by the lab's address plan
ip -n "$N1" addr add "$EXTRA_IP/24" dev "${LAB_PREFIX}up"
served_extra() { outside curl -s --max-time 1 "http://$EXTRA_IP:30080/" | grep -q '^c1n'; }
check "an address added to node 1 after the start ($EXTRA_IP) serves NodePort 30080" wait_for 5 served_extra
ip -n "$N1" addr del "$EXTRA_IP/24" dev "${LAB_PREFIX}up"
extra_gone() { ! "$BIN_DIR/meridianctl" --node "$N1" services | grep -q "^$EXTRA_IP:"; }
check "... and its frontends go when the address goes" wait_for 5 extra_gone

# --- LoadBalancer ingress IP and externalIP --------------------------------
for ip in "$LB_IP" "$EXT_IP"; do
  fetch_n 20 "http://$ip/" >"$WORK/lb-$ip.txt"
  check_eq "$ip:80 from outside: 20 of 20 answered" 0 "$(grep -c FAILED "$WORK/lb-$ip.txt")"
  check "$ip:80 from outside: more than one pod answers" \
    test "$(cut -d' ' -f1 "$WORK/lb-$ip.txt" | sort -u | grep -c '^c1n')" -ge 2
done

# --- UDP ----------------------------------------------------------------
udp=$(outside bash -c "for i in 1 2 3; do echo ping | timeout 2 socat -T1 - UDP:$N2_IP:30053 2>/dev/null && break; done" 2>/dev/null)
if command -v socat >/dev/null; then
  check "UDP to node 2's NodePort 30053 is answered by a pod ($udp)" bash -c "[[ '$udp' == *c1n* ]]"
fi

# --- ICMP errors of translated flows reach the client reversed -------------
icmp0=$(stat_of "$N1" icmp_revnat)
check_eq "a backend's port unreachable reaches the outside client through the ingress IP (refused, of 6)" \
  6 "$(udp_refused outside "$LB_IP" 54)"
check_eq "... and through node 2's NodePort 30054" 6 "$(udp_refused outside "$N2_IP" 30054)"
check_eq "... and a pod's client through the ClusterIP" \
  6 "$(udp_refused lab_exec_pod "$PREFIX" c1client "$VIP" 54)"
check "node 1 counted reversed ICMP errors (icmp_revnat)" test "$(stat_of "$N1" icmp_revnat)" -gt "$icmp0"

# --- pods reach the NodePort too ------------------------------------------
out=$(lab_exec_pod "$PREFIX" c1client curl -s --max-time 2 "http://$N2_IP:30080/")
check "a pod reaches node 2's NodePort ($out)" bash -c "[[ '$out' == c1n* ]]"

# --- externalTrafficPolicy Local: "should only target nodes with endpoints"
write_web Local c1n1p1 c1n1p2 c1n2p1 c1n2p2
check "node 1 installs its own 2 pods only for external frontends" \
  wait_for 10 eval "installed_is $N1 2 9 && installed_is $N1 3 0"
fetch_n 20 "http://$N1_IP:30080/" >"$WORK/local.txt"
check_eq "eTP Local via node 1: 20 of 20 answered" 0 "$(grep -c FAILED "$WORK/local.txt")"
check_eq "eTP Local via node 1: only node 1's pods answer" 0 "$(grep -vc '^c1n1' "$WORK/local.txt")"
check_eq "eTP Local via node 1: every answer saw the client's own address" \
  "$LAB_OUTSIDE_IP" "$(cut -d' ' -f2 "$WORK/local.txt" | sort -u | tr '\n' ' ' | xargs)"
# A pod (on node 1) reaching the ingress IP and node 1's NodePort is inside
# the cluster: kube-proxy sends it through the cluster-wide chain, so pods
# of both nodes answer (the internal twin), not only node 1's.
for url in "http://$LB_IP/" "http://$N1_IP:30080/"; do
  pods=$(for _ in $(seq 30); do lab_exec_pod "$PREFIX" c1client curl -s --max-time 2 "$url" | cut -d' ' -f1; done | sort -u | tr '\n' ' ' | xargs)
  check_eq "eTP Local, from a pod: $url reaches the pods of both nodes" "c1n1p1 c1n1p2 c1n2p1 c1n2p2" "$pods"
done
# healthCheckNodePort, as a load balancer asks it: kube-proxy's answer.
hc() {  # NODE_IP: "STATUS localEndpoints serviceProxyHealthy service", or the curl failure
  outside curl -s --max-time 2 -w '\n%{http_code}' "http://$1:32100/healthz" | python3 -c '
import json, sys
lines = sys.stdin.read().rsplit("\n", 1)
b = json.loads(lines[0])
print(lines[1], b["localEndpoints"], str(b["serviceProxyHealthy"]).lower(), b["service"]["namespace"] + "/" + b["service"]["name"])' 2>/dev/null || echo "no answer"
}
check "healthCheckNodePort on node 1: 200 with 2 local endpoints" \
  wait_for 5 eval "[[ \$(hc $N1_IP) == '200 2 true default/web' ]]"
check_eq "healthCheckNodePort on node 2 (its 2 pods still endpoints): 200 with 2" "200 2 true default/web" "$(hc "$N2_IP")"
write_web Local c1n1p1 c1n1p2
check "node 2 has no endpoint left for its external frontends" \
  wait_for 10 installed_is "$N2" 1 0
check "healthCheckNodePort on node 2 without local endpoints: 503 with 0, so a load balancer skips it" \
  wait_for 5 eval "[[ \$(hc $N2_IP) == '503 0 true default/web' ]]"
check_eq "healthCheckNodePort on node 1 still 200 with 2" "200 2 true default/web" "$(hc "$N1_IP")"
before=$(stat_of "$N2" drop_no_local_endpoint)
t0=$(date +%s%N)
outside curl -s --max-time 2 "http://$N2_IP:30080/" >/dev/null
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "eTP Local via node 2 without endpoints: dropped, no refusal (curl exit $rc = 28 after $ms ms)" test "$rc" -eq 28
check "node 2 counted the drop as drop_no_local_endpoint" \
  test "$(stat_of "$N2" drop_no_local_endpoint)" -gt "$before"

# --- "should be rejected when no endpoints exist" --------------------------
write_web Cluster
check "both nodes see web without endpoints" \
  wait_for 10 eval "installed_is $N1 1 0 && installed_is $N2 1 0"
check "externalTrafficPolicy Cluster: the healthCheckNodePort is closed" \
  wait_for 5 eval "[[ \$(hc $N1_IP) == 'no answer' ]]"
sleep 0.5
t0=$(date +%s%N)
outside curl -s --max-time 5 "http://$N1_IP:30080/" >/dev/null
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "NodePort without endpoints is refused at once (curl exit $rc = 7, in $ms ms < 1000)" test "$rc" -eq 7 -a "$ms" -lt 1000
# An ingress IP or externalIP is no address of the node: refused by
# Meridian (port unreachable: ECONNREFUSED), not by the node's routing
# (which would say host or network unreachable).
for ip in "$LB_IP" "$EXT_IP"; do
  err=$(outside python3 -c '
import socket, sys, time
t0 = time.monotonic()
try:
    socket.create_connection((sys.argv[1], 80), timeout=3)
    print("connected")
except OSError as e:
    print(type(e).__name__, int((time.monotonic() - t0) * 1000) < 1000)' "$ip" 2>&1)
  check_eq "$ip:80 without endpoints: connection refused at once (port unreachable)" "ConnectionRefusedError True" "$err"
done
check "node 1 counted the refusals (reject_no_backend)" test "$(stat_of "$N1" reject_no_backend)" -ge 3

# --- --nodeport-mode dsr: the backend's node answers the client directly ---
lab_agents_stop
write_web Cluster "${PODS[@]}"
lab_agents_start "$MANIFESTS" --uplink "${LAB_PREFIX}up" --nodeport-mode dsr || {
  tail -20 "$LAB_STATE_DIR"/agent-*.log
  fail "agents start in dsr mode"
  exit 1
}
check "dsr: both nodes install 9 external frontends with 4 backends" \
  wait_for 10 eval "installed_is $N1 4 9 && installed_is $N2 4 9"
revnat2=$(stat_of "$N2" nodeport_revnat)
fetch_n 40 "http://$N1_IP:30080/" >"$WORK/dsr.txt"
check_eq "dsr: NodePort $N1_IP:30080: 40 of 40 requests answered" 0 "$(grep -c FAILED "$WORK/dsr.txt")"
check_eq "dsr: all 4 pods answer" 4 "$(cut -d' ' -f1 "$WORK/dsr.txt" | sort -u | grep -c '^c1n')"
check_eq "dsr: every pod, node 2's included, saw the outside client's own address" \
  "$LAB_OUTSIDE_IP" "$(cut -d' ' -f2 "$WORK/dsr.txt" | sort -u | tr '\n' ' ' | xargs)"
check "dsr: node 1 encapsulated to node 2 (nodeport_dsr), node 2 received (nodeport_dsr_in)" \
  test "$(stat_of "$N1" nodeport_dsr)" -gt 0 -a "$(stat_of "$N2" nodeport_dsr_in)" -gt 0
check "dsr: node 2's pods' replies left node 2 straight for the client (node 2's nodeport_revnat rose)" \
  test "$(stat_of "$N2" nodeport_revnat)" -gt "$revnat2"
check_eq "dsr: no DSR frame was refused" "0" "$(stat_of "$N2" drop_dsr_bad_frame)"
fetch_n 20 "http://$LB_IP/" >"$WORK/dsr-lb.txt"
check_eq "dsr: LoadBalancer IP: 20 of 20 answered, the client's address seen by every pod" \
  "0 $LAB_OUTSIDE_IP" "$(grep -c FAILED "$WORK/dsr-lb.txt") $(cut -d' ' -f2 "$WORK/dsr-lb.txt" | sort -u | tr '\n' ' ' | xargs)"
# 200 kB each way in full-sized segments (line mode of meridian-echo: every
# 1000-byte line comes back), until pods of both nodes served one: through
# the tunnel, the pod's MSS keeps the client's segments within its MTU;
# from a local pod, its GSO replies must not be taken for too big (they
# were: 10 s of retransmissions for 200 kB). One line per connection:
# "POD LINES SECONDS".
outside python3 -c '
import socket, sys, time
seen = set()
for attempt in range(20):
    t0 = time.monotonic()
    s = socket.create_connection((sys.argv[1], 30080), timeout=5)
    s.sendall((b"x" * 999 + b"\n") * 200)
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    lines = data.splitlines()
    pod = lines[0].split()[0].decode() if lines else "none"
    print(pod, len(lines), "%.3f" % (time.monotonic() - t0))
    seen.add(pod[:4])
    if {"c1n1", "c1n2"} <= seen:
        break' "$N1_IP" >"$WORK/dsr-lines.txt" 2>&1
check_eq "dsr: 200 lines of 1000 bytes through node 1 come back whole, each within 2 s" \
  "" "$(awk '$2 != 200 || $3 >= 2' "$WORK/dsr-lines.txt")"
check "dsr: pods of both nodes served them (node 2's through the tunnel)" \
  bash -c "grep -q '^c1n1' '$WORK/dsr-lines.txt' && grep -q '^c1n2' '$WORK/dsr-lines.txt'"
check_eq "dsr: nothing was too big for the tunnel" "0" "$(stat_of "$N1" drop_dsr_too_big)"
if command -v socat >/dev/null; then
  udp=$(outside bash -c "for i in 1 2 3 4 5 6; do echo ping | timeout 2 socat -T1 - UDP:$N1_IP:30053 2>/dev/null; done" 2>/dev/null)
  check "dsr: UDP to node 1's NodePort 30053 is answered ($(grep -o c1n <<<"$udp" | wc -l) of 6)" bash -c "[[ '$udp' == *c1n* ]]"
fi
check_eq "dsr: a backend's port unreachable reaches the outside client through node 1 (refused, of 6)" \
  6 "$(udp_refused outside "$N1_IP" 30054)"

finish
