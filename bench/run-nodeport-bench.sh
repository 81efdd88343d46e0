#!/usr/bin/env bash
# NodePort forwarding rate on one core: Meridian's XDP path on the uplink
# (SNAT to a backend on another node, XDP_TX) against the same frames
# through kube-proxy-shaped iptables NodePort rules (DNAT, masquerade,
# forward), 64- and 1500-byte frames, made by BPF_PROG_RUN live frames
# (nodeport-bench --help says how). Also Meridian's XDP drop path
# (externalTrafficPolicy: Local without a local endpoint) and what its
# lookup adds to frames that match no NodePort.
#
# The namespace: <prefix>-np with the veth pair npb-in (the "uplink",
# 172.16.1.11/24, MAC of its own) and npb-sink (its peer, where forwarded
# frames are counted and dropped by XDP). The backends 10.1.2.11 and
# 10.1.2.12 are on "node 2", 172.16.1.12, whose MAC is npb-sink's (a
# permanent neighbour entry): forwarded frames leave npb-in toward it.
# Removed on exit.
#
# Writes bench/results/nodeport.md, nodeport.csv and nodeport.png (gnuplot,
# if present) (--out DIR elsewhere).
# Run as root. --quick: 2 runs of 200k frames (seconds; CI's short form).
# Exit 77 (skipped, nothing written) when the kernel refuses live-frame
# mode: the kernel build this machine got on 2026-12-06 (6.18.44-fc-v1300)
# answers EPERM to it, while the results committed here were measured on
# v1272, which allowed it.
#
# Usage: bench/run-nodeport-bench.sh [--quick] [--out DIR] [nodeport-bench flags...]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CMD="bench/run-nodeport-bench.sh${*:+ $*}"
OUT="$REPO/bench/results" QUICK=0 ARGS=()
while (($#)); do
  case $1 in
    --quick) QUICK=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
mkdir -p "$OUT"
BIN=${MERIDIAN_BUILD_DIR:-$REPO/build}/bin
if [[ -z ${MERIDIAN_BUILD_DIR:-} ]]; then
  "$REPO/scripts/install-deps.sh" >/dev/null
  "$REPO/scripts/build.sh" --target nodeport-bench >/dev/null
fi
command -v iptables-restore >/dev/null || { echo "iptables-restore is missing" >&2; exit 1; }

NS="mnpb$$-np"
cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link add npb-in type veth peer name npb-sink
in_ns ip link set lo up
in_ns ip link set npb-in up
in_ns ip link set npb-sink up
in_ns ip addr add 172.16.1.11/24 dev npb-in
sink_mac=$(in_ns cat /sys/class/net/npb-sink/address)
in_ns ip neigh replace 172.16.1.12 lladdr "$sink_mac" nud permanent dev npb-in
in_ns ip route add 10.1.2.0/24 via 172.16.1.12 dev npb-in
in_ns sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.npb-in.rp_filter=0 \
  net.ipv4.conf.all.accept_local=1

# kube-proxy's iptables-mode rules for one NodePort Service (UDP 30080 ->
# two endpoints, externalTrafficPolicy: Cluster), chain for chain as
# kube-proxy writes them (pkg/proxy/iptables/proxier.go): KUBE-SERVICES ->
# KUBE-NODEPORTS -> KUBE-EXT -> KUBE-MARK-MASQ + KUBE-SVC -> KUBE-SEP DNAT,
# KUBE-POSTROUTING masquerade, and KUBE-FORWARD in filter.
in_ns iptables-restore <<'EOF'
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-SVC-WEB0000000000000 - [0:0]
:KUBE-EXT-WEB0000000000000 - [0:0]
:KUBE-SEP-WEB000000000000A - [0:0]
:KUBE-SEP-WEB000000000000B - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -d 10.96.0.10/32 -p udp -m comment --comment "bench/web:udp cluster IP" -m udp --dport 80 -j KUBE-SVC-WEB0000000000000
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A KUBE-NODEPORTS -p udp -m comment --comment "bench/web:udp" -m udp --dport 30080 -j KUBE-EXT-WEB0000000000000
-A KUBE-EXT-WEB0000000000000 -m comment --comment "masquerade traffic for bench/web:udp external destinations" -j KUBE-MARK-MASQ
-A KUBE-EXT-WEB0000000000000 -j KUBE-SVC-WEB0000000000000
-A KUBE-SVC-WEB0000000000000 -m comment --comment "bench/web:udp -> 10.1.2.11:8080" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-WEB000000000000A
-A KUBE-SVC-WEB0000000000000 -m comment --comment "bench/web:udp -> 10.1.2.12:8080" -j KUBE-SEP-WEB000000000000B
-A KUBE-SEP-WEB000000000000A -s 10.1.2.11/32 -m comment --comment "bench/web:udp" -j KUBE-MARK-MASQ
-A KUBE-SEP-WEB000000000000A -p udp -m comment --comment "bench/web:udp" -m udp -j DNAT --to-destination 10.1.2.11:8080
-A KUBE-SEP-WEB000000000000B -s 10.1.2.12/32 -m comment --comment "bench/web:udp" -j KUBE-MARK-MASQ
-A KUBE-SEP-WEB000000000000B -p udp -m comment --comment "bench/web:udp" -m udp -j DNAT --to-destination 10.1.2.12:8080
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
EOF

if ((QUICK)); then base=(--repeat 200000 --runs 2); else base=(--repeat 2000000 --runs 7); fi
args=("${base[@]}" "${ARGS[@]}")
table=$(in_ns "$BIN/nodeport-bench" "${args[@]}" --csv "$OUT/nodeport.csv")
conntracks=$(in_ns cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo "?")
{
  echo "# NodePort forwarding rate on one core: XDP vs kube-proxy's iptables rules"
  echo
  echo "Command: \`$CMD\` → \`nodeport-bench ${args[*]}\`"
  echo
  echo "Machine: $(nproc) CPUs, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), kernel $(uname -r), $(iptables --version), $(date -u +%Y-%m-%d)"
  echo
  echo "Frames: UDP from 172.16.1.200 to the node 172.16.1.11:30080 (frame sizes with FCS; UDP"
  echo "checksum 0), spread over the flows' source ports, all established (warm-up first;"
  echo "$conntracks netfilter conntrack entries at the end). Both paths forward every frame to a backend on"
  echo "another node and out of the same veth, where an XDP sink counts it. Mpps = frames counted"
  echo "at the sink (drop paths: frames run) / wall time of the BPF_PROG_RUN call, which includes"
  echo "the stack's and the sink's softirq work (everything runs on one CPU). Paths:"
  echo
  echo "- generator: the frame generator alone (restore the template, XDP_DROP): the ceiling"
  echo "- iptables: XDP_PASS into the stack; kube-proxy's nat/filter rules (in the script) DNAT, mark,"
  echo "  masquerade; the stack forwards"
  echo "- meridian: the uplink's NodePort code (mer_handle_xdp_nodeport): Maglev/conntrack, SNAT, FIB,"
  echo "  XDP_TX; every frame counted as nodeport_snat"
  echo "- xdp-drop: externalTrafficPolicy Local without a local endpoint: Meridian drops in XDP"
  echo "  (drop_no_local_endpoint)"
  echo "- no-match-stack / no-match-meridian: frames to a port that is no NodePort, into the stack"
  echo "  (local delivery, no listener), without and with Meridian's XDP lookup in front"
  echo
  echo "$table"
} >"$OUT/nodeport.md"
if command -v gnuplot >/dev/null; then
  # Mpps per path, one cluster of bars per frame size (the generator's
  # ceiling would flatten the others: it is in the table only).
  awk -F, 'NR > 1 && $2 != "generator" {
      if (!($2 in rows)) { rows[$2]; p[++np] = $2 }
      if (!($1 in cols)) { cols[$1]; f[++nf] = $1 }
      v[$2 "," $1] = $3 }
    END { printf "path"; for (i = 1; i <= nf; i++) printf " %sB", f[i]; print ""
          for (j = 1; j <= np; j++) { printf "%s", p[j]; for (i = 1; i <= nf; i++) printf " %s", v[p[j] "," f[i]]; print "" } }' \
    "$OUT/nodeport.csv" >"$OUT/.nodeport.dat"
  ncols=$(head -1 "$OUT/.nodeport.dat" | wc -w)
  gnuplot <<EOF
set terminal pngcairo size 1100,500 noenhanced
set output "$OUT/nodeport.png"
set title "NodePort on one core: Mpps (median of runs), same frames, same run"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "Mpps"
set yrange [0:*]
set key top right autotitle columnheader
plot for [c=2:$ncols] "$OUT/.nodeport.dat" using c:xtic(1)
EOF
  rm -f "$OUT/.nodeport.dat"
  printf '\n![NodePort Mpps per path](nodeport.png)\n' >>"$OUT/nodeport.md"
fi
cat "$OUT/nodeport.md"
