#!/usr/bin/env bash
# Renders the Grafana dashboard (deploy/grafana/meridian-dashboard.json)
# from a lab run into docs/images/dashboard.png: a real Prometheus scrapes
# an agent (and the controller) every second while the lab carries traffic
# that each panel should show: new flows to a local and a cross-cluster
# Service, drops (a Local-policy Service without a local endpoint),
# manifest changes (reconciles); then every panel's query runs over
# the run's time range (bench/tools/render_dashboard.py, gnuplot).
#
# Usage: bench/run-dashboard-render.sh [--seconds 90] [--out PNG]. Run as root.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_RUN=90
OUT="$REPO/docs/images/dashboard.png"
while (($#)); do
  case $1 in
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "gnuplot is needed (apt-get install gnuplot-nox)" >&2; exit 1; }
echo "== step 1 of 4: dependencies and build"
"$REPO/scripts/install-deps.sh" >/dev/null
"$REPO/scripts/build.sh" --target meridian-agent meridianctl meridian-echo >/dev/null

source "$REPO/lab/lib.sh"
source "$REPO/lab/agents.sh"
source "$REPO/lab/manifests.sh"
PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d /tmp/meridian-dash.XXXXXX)
PROM=
cleanup() {
  [[ -n $PROM ]] && kill "$PROM" 2>/dev/null
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$REPO/lab/meridian-lab" down --prefix "$PREFIX" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== step 2 of 4: lab $PREFIX (2 clusters x 2 nodes x 1 pod + client) ($(date -u +%T))"
"$REPO/lab/meridian-lab" up --prefix "$PREFIX" --clusters 2 --nodes 2 --pods 1 --client \
  --bin-dir "$REPO/build/bin" >/dev/null
lab_load_env "$PREFIX"
N1=$(lab_node_ns "$PREFIX" 1 1)
mkdir -p "$WORK/m/c1" "$WORK/m/c2"
"$REPO/lab/meridian-lab" manifests --prefix "$PREFIX" --out "$WORK/clusters" >/dev/null
for c in c1 c2; do cp "$WORK/clusters/"*.yaml "$WORK/m/$c/"; done
lab_service_yaml web 10.96.0.10 http:TCP:80:8080 c1n1p1 c1n2p1 >"$WORK/m/c1/web.yaml"
# Local policy, endpoint only on c1n2: the client's node c1n1 drops (drop_no_local_endpoint).
lab_service_yaml local-only 10.96.0.20 http:TCP:80:8080 c1n2p1 |
  sed 's/^spec:$/spec:\n  internalTrafficPolicy: Local/' >"$WORK/m/c1/local-only.yaml"
remote() { lab_service_yaml remote 10.96.1.10 http:TCP:80:8080 c2n1p1 c2n2p1; }
remote >"$WORK/m/c1/remote.yaml"
{ remote; lab_service_export remote; } >"$WORK/m/c2/remote.yaml"
lab_agents_start_clusterset "$WORK/m" >/dev/null

cat >"$WORK/prometheus.yml" <<'YAML'
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
- job_name: meridian-agent
  static_configs: [{targets: ["127.0.0.1:9965"]}]
YAML
ip netns exec "$N1" prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
  --web.listen-address=127.0.0.1:9090 >"$WORK/prometheus.log" 2>&1 &
PROM=$!
sleep 3

echo "== step 3 of 4: ${SECONDS_RUN} s of traffic ($(date -u +%T))"
start=$(date +%s)
end=$((start + SECONDS_RUN))
client() { lab_exec_pod "$PREFIX" c1client "$@"; }
# New flows, local and cross-cluster, a little faster in the middle third.
client bash -c "while [ \$(date +%s) -lt $end ]; do curl -s -o /dev/null --max-time 1 http://10.96.0.10/; curl -s -o /dev/null --max-time 1 http://10.96.1.10/; sleep 0.05; done" &
T1=$!
client bash -c "sleep $((SECONDS_RUN / 3)); e=\$(( \$(date +%s) + $((SECONDS_RUN / 3)) )); while [ \$(date +%s) -lt \$e ]; do curl -s -o /dev/null --max-time 1 http://10.96.1.10/; done" &
T2=$!
# Drops: a burst in the last third.
client bash -c "sleep $((2 * SECONDS_RUN / 3)); while [ \$(date +%s) -lt $end ]; do curl -s -o /dev/null --max-time 0.2 http://10.96.0.20/; done" &
T3=$!
# Reconciles: a manifest change every 10 s.
for ((i = 0; i < SECONDS_RUN / 10; i++)); do
  sleep 10
  lab_service_yaml "churn$i" "10.96.2.$((i + 1))" http:TCP:80:8080 c1n1p1 >"$WORK/m/c1/churn$i.yaml"
  echo "   $((i * 10 + 10)) s of ${SECONDS_RUN}"
done
wait "$T1" "$T2" "$T3" 2>/dev/null || true
sleep 2

echo "== step 4 of 4: render ($(date -u +%T))"
mkdir -p "$(dirname "$OUT")"
ip netns exec "$N1" python3 "$REPO/bench/tools/render_dashboard.py" --prometheus http://127.0.0.1:9090 \
  --dashboard "$REPO/deploy/grafana/meridian-dashboard.json" --start "$start" --end "$(date +%s)" \
  --out "$OUT"
echo "wrote $OUT"
