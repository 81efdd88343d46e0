#!/usr/bin/env bash
# Meridian demo, from a fresh Debian 12 machine, as root: builds a lab of
# network namespaces (1 cluster x 2 nodes x 2 pods + a client pod), runs one
# meridian-agent per node, declares a Service in Kubernetes-shaped
# manifests, and shows real traffic to its VIP being load-balanced in the
# kernel. Everything it creates is removed at the end.
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
PREFIX=$(lab_random_prefix)
MANIFESTS=$(mktemp -d /tmp/meridian-demo.XXXXXX)
cleanup() {
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$REPO/lab/meridian-lab" down --prefix "$PREFIX" >/dev/null 2>&1 || true
  rm -rf "$MANIFESTS"
}
trap cleanup EXIT

echo "== lab $PREFIX: 1 cluster x 2 nodes x 2 pods + client"
"$REPO/lab/meridian-lab" up --prefix "$PREFIX" --clusters 1 --nodes 2 --pods 2 --client \
  --bin-dir "$REPO/build/bin" >/dev/null
lab_load_env "$PREFIX"

VIP=10.96.0.10
cat >"$MANIFESTS/web.yaml" <<YAML
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  clusterIP: $VIP
  ports:
  - {name: http, protocol: TCP, port: 80, targetPort: 8080}
  - {name: echo, protocol: UDP, port: 80, targetPort: 8080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: default
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports:
- {name: http, protocol: TCP, port: 8080}
- {name: echo, protocol: UDP, port: 8080}
endpoints:
- {addresses: [10.1.1.11], conditions: {ready: true}, nodeName: ${LAB_NODE_NAMES[0]}}
- {addresses: [10.1.1.12], conditions: {ready: true}, nodeName: ${LAB_NODE_NAMES[0]}}
- {addresses: [10.1.2.11], conditions: {ready: true}, nodeName: ${LAB_NODE_NAMES[1]}}
- {addresses: [10.1.2.12], conditions: {ready: true}, nodeName: ${LAB_NODE_NAMES[1]}}
YAML
echo "== manifests ($MANIFESTS/web.yaml): Service web, VIP $VIP:80, 4 endpoints"
lab_agents_start "$MANIFESTS"
echo "== agents running on ${LAB_NODE_NAMES[*]}"

echo "== 12 HTTP requests from pod c1client to http://$VIP/ (answered by pod name):"
for i in $(seq 12); do
  printf '   request %2d -> %s\n' "$i" "$(lab_exec_pod "$PREFIX" c1client curl -s --max-time 2 "http://$VIP/")"
done
echo "== UDP datagram to $VIP:80:"
printf '   %s\n' "$(lab_exec_pod "$PREFIX" c1client bash -c "echo hello | socat -T1 - UDP:$VIP:80")"

echo "== meridianctl --node ${LAB_NODE_NAMES[0]} services"
"$REPO/build/bin/meridianctl" --node "${LAB_NODE_NAMES[0]}" services | sed 's/^/   /'

echo "== all backends removed: the VIP now refuses at once"
sed -i '/^endpoints:/,$d' "$MANIFESTS/web.yaml"
echo "endpoints: []" >>"$MANIFESTS/web.yaml"
sleep 1
lab_exec_pod "$PREFIX" c1client curl -sS --max-time 5 "http://$VIP/" 2>&1 | sed 's/^/   /' || true

echo "== meridianctl --node ${LAB_NODE_NAMES[0]} stats (non-zero counters)"
"$REPO/build/bin/meridianctl" --node "${LAB_NODE_NAMES[0]}" stats | awk 'NR==1 || $2 > 0' | sed 's/^/   /'
echo "== done; tearing the lab down"
