#!/usr/bin/env bash
# Meridian demo, from a fresh Debian 12 machine, as root. Builds a lab of
# network namespaces (2 clusters x 2 nodes x 2 pods + a client pod in c1;
# the clusters' underlays are joined by a router that does not route pod
# CIDRs), runs one meridian-agent per node, declares Services in
# Kubernetes-shaped manifests, and shows real traffic to their VIPs being
# load-balanced in the kernel, within a cluster and through the VXLAN tunnel
# to the other cluster. Everything it creates is removed at the end.
#
# (Until the ClusterSet registry lands, each cluster's view of the other's
# endpoints is written into its manifests here, as the registry will.)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ $(id -u) -ne 0 ]]; then
  echo "demo.sh: run as root (BPF and network namespaces need it)" >&2
  exit 1
fi

"$REPO/scripts/install-deps.sh" >/dev/null
echo "== building"
"$REPO/scripts/build.sh" --target meridian-agent meridianctl meridian-echo >/dev/null

source "$REPO/lab/lib.sh"
source "$REPO/lab/agents.sh"
source "$REPO/lab/manifests.sh"
PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d /tmp/meridian-demo.XXXXXX)
cleanup() {
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$REPO/lab/meridian-lab" down --prefix "$PREFIX" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== lab $PREFIX: 2 clusters x 2 nodes x 2 pods, client pod c1client"
"$REPO/lab/meridian-lab" up --prefix "$PREFIX" --clusters 2 --nodes 2 --pods 2 --client \
  --bin-dir "$REPO/build/bin" >/dev/null
lab_load_env "$PREFIX"

service() {  # service NAME VIP POD...: HTTP on 80/TCP and echo on 80/UDP, to 8080
  local name=$1 vip=$2
  shift 2
  lab_service_yaml "$name" "$vip" "http:TCP:80:8080,echo:UDP:80:8080" "$@"
}
C1=(c1n1p1 c1n1p2 c1n2p1 c1n2p2)
C2=(c2n1p1 c2n1p2 c2n2p1 c2n2p2)
mkdir -p "$WORK/m/c1" "$WORK/m/c2"
"$REPO/lab/meridian-lab" manifests --prefix "$PREFIX" --out "$WORK/clusters" >/dev/null
cp "$WORK/clusters/"*.yaml "$WORK/m/c1/"
cp "$WORK/clusters/"*.yaml "$WORK/m/c2/"
{
  service web 10.96.0.10 "${C2[@]}"
  lab_service_export web
} >"$WORK/m/c2/web.yaml"
{
  service web 10.96.0.10 "${C1[@]}"
  service web-c2 10.96.0.11 "${C2[@]}"
  service web-global 10.96.0.12 "${C1[@]}" "${C2[@]}"
} >"$WORK/m/c1/web.yaml"
echo "== manifests: c1 runs web (10.96.0.10) on its pods; c2 runs and exports web;"
echo "   c1 also has web-c2 (10.96.0.11, c2's pods) and web-global (10.96.0.12, both)"
lab_agents_start_clusterset "$WORK/m"
echo "== agents running on ${LAB_NODE_NAMES[*]} (VXLAN: --cluster cN --uplink ${PREFIX}up)"

ask() {  # ask VIP COUNT: COUNT HTTP requests from c1client, tallied by pod
  local i
  for i in $(seq "$2"); do
    lab_exec_pod "$PREFIX" c1client curl -s --max-time 2 "http://$1/" || echo "(failed)"
  done | sort | uniq -c | awk '{printf "   %3d x %s\n", $1, $2}'
}
echo "== 20 requests from c1client to web (10.96.0.10, local pods):"
ask 10.96.0.10 20
echo "== 20 requests to web-c2 (10.96.0.11): answered in cluster c2, through the tunnel:"
ask 10.96.0.11 20
echo "== 40 requests to web-global (10.96.0.12): both clusters:"
ask 10.96.0.12 40
echo "== UDP datagram to web-c2:"
printf '   %s\n' "$(lab_exec_pod "$PREFIX" c1client bash -c 'echo hello | socat -T2 - UDP:10.96.0.11:80')"

echo "== meridianctl --node ${LAB_NODE_NAMES[0]} services"
"$REPO/build/bin/meridianctl" --node "${LAB_NODE_NAMES[0]}" services | sed 's/^/   /'
echo "== meridianctl --node ${LAB_NODE_NAMES[0]} stats (non-zero counters)"
"$REPO/build/bin/meridianctl" --node "${LAB_NODE_NAMES[0]}" stats | awk 'NR==1 || $2 > 0' | sed 's/^/   /'

echo "== web-c2 loses every backend: the VIP now refuses at once"
python3 - "$WORK/m/c1/web.yaml" <<'PY'
import re, sys
p = sys.argv[1]
docs = open(p).read().split("\n---\n")
for i, d in enumerate(docs):
    if "name: web-c2-1" in d:
        docs[i] = d[: d.index("endpoints:")] + "endpoints: []"
open(p + ".tmp", "w").write("\n---\n".join(docs))
PY
mv "$WORK/m/c1/web.yaml.tmp" "$WORK/m/c1/web.yaml"
sleep 1
lab_exec_pod "$PREFIX" c1client curl -sS --max-time 5 "http://10.96.0.11/" 2>&1 | sed 's/^/   /' || true
echo "== done; tearing the lab down"
