#!/usr/bin/env bash
# Control-plane convergence: time from an export change written to the
# ClusterSet registry to the BPF map update on every node, p50 and p99.
#
# For each ClusterSet size (--clusters, default "10 50") and backend
# (--backends, default "dir etcd") it starts --agents meridian-agents
# (default 4, nodes P-bN; they attach to no interface, serve no DNS and run
# in this network namespace so that they reach etcd on 127.0.0.1) on a
# fresh registry (a new directory, or a new etcd on a free loopback port), then
# runs convergence-bench: 1,000 exported services (each from two clusters),
# --changes timed changes (default 50). Writes bench/results/convergence.{md,csv}.
# With --change decision each timed change is a propagation decision that
# reweights one service between its two clusters (issue 16: decision ->
# weights in every agent's maps); results in bench/results/decision-weights.{md,csv}.
# Run as root.
#
# Usage: bench/run-convergence-bench.sh [--clusters "10 50"] [--services 1000]
#          [--changes 50] [--agents 4] [--backends "dir etcd"] [--change export|decision]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTERS="10 50" SERVICES=1000 CHANGES=50 AGENTS=4 BACKENDS="dir etcd" CHANGE=export
while (($#)); do
  case $1 in
    --clusters) CLUSTERS=$2; shift 2 ;;
    --services) SERVICES=$2; shift 2 ;;
    --changes) CHANGES=$2; shift 2 ;;
    --agents) AGENTS=$2; shift 2 ;;
    --backends) BACKENDS=$2; shift 2 ;;
    --change) CHANGE=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
"$REPO/scripts/install-deps.sh" >/dev/null
"$REPO/scripts/build.sh" --target meridian-agent convergence-bench >/dev/null
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
source "$REPO/lab/lib.sh"
BIN="${MERIDIAN_BUILD_DIR:-$REPO/build}/bin"
PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d /tmp/meridian-conv.XXXXXX)
OUT="$REPO/bench/results"
mkdir -p "$OUT"
PIDS=()
ETCD_PID=
stop_agents() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  local i
  for ((i = 1; i <= AGENTS; i++)); do rm -rf "/sys/fs/bpf/meridian/$PREFIX-b$i"; done
}
stop_etcd() {
  [[ -n $ETCD_PID ]] || return 0
  kill "$ETCD_PID" 2>/dev/null || true
  wait "$ETCD_PID" 2>/dev/null || true
  ETCD_PID=
}
cleanup() {
  stop_agents
  stop_etcd
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {  # a loopback TCP port nothing listens on
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

URL=
open_registry() {  # open_registry BACKEND RUN: sets URL (not in a subshell: ETCD_PID must stick)
  case $1 in
    dir) URL="dir:$WORK/reg-$2" ;;
    etcd)
      stop_etcd
      local client peer i
      client=$(free_port) peer=$(free_port)
      etcd --data-dir "$WORK/etcd-$2" --listen-client-urls "http://127.0.0.1:$client" \
        --advertise-client-urls "http://127.0.0.1:$client" \
        --listen-peer-urls "http://127.0.0.1:$peer" \
        --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "default=http://127.0.0.1:$peer" >"$WORK/etcd-$2.log" 2>&1 &
      ETCD_PID=$!
      for ((i = 0; i < 100; i++)); do
        ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$client" endpoint health >/dev/null 2>&1 && break
        sleep 0.1
      done
      URL="etcd://127.0.0.1:$client" ;;
    *) echo "unknown backend $1" >&2; exit 2 ;;
  esac
}

case $CHANGE in
  export) NAME=convergence ;;
  decision) NAME=decision-weights ;;
  *) echo "--change: export or decision, not '$CHANGE'" >&2; exit 2 ;;
esac
CSV="$OUT/$NAME.csv"
echo "backend,clusters,services,agents,p50_ms,p99_ms,max_ms,full_sync_s" >"$CSV.tmp"
for backend in $BACKENDS; do
  for c in $CLUSTERS; do
    open_registry "$backend" "$c"
    mkdir -p "$WORK/empty"
    statuses=()
    for ((i = 1; i <= AGENTS; i++)); do
      node="$PREFIX-b$i"
      rm -rf "$WORK/agent-$node"  # no status.json of an earlier run may answer for this one
      "$BIN/meridian-agent" --node "$node" \
        --manifests "$WORK/empty" --pod-interfaces "${PREFIX}none*" --registry "$URL" \
        --dns-listen off --metrics-listen off --state-dir "$WORK/agent-$node" --max-services 8192 --max-backends 16384 \
        --log-level warn >>"$WORK/agent-$node.log" 2>&1 &
      PIDS+=($!)
      statuses+=(--status "$WORK/agent-$node/status.json")
    done
    echo "== $backend: $c clusters, $SERVICES services, $AGENTS agents"
    "$BIN/convergence-bench" --registry "$URL" --clusters "$c" --services "$SERVICES" \
      --changes "$CHANGES" --change "$CHANGE" "${statuses[@]}" | tee "$WORK/run.txt"
    line=$(grep '^RESULT' "$WORK/run.txt")
    eval "$(sed 's/^RESULT change=[a-z]* //' <<<"$line")"
    # shellcheck disable=SC2154  # set by the eval of the RESULT line
    echo "$backend,$clusters,$services,$agents,$p50_ms,$p99_ms,$max_ms,$sync_s" >>"$CSV.tmp"
    stop_agents
  done
done
mv "$CSV.tmp" "$CSV"

{
  if [[ $CHANGE == decision ]]; then
    echo "# Propagation decision -> weights in every agent's maps"
  else
    echo "# Control-plane convergence"
  fi
  echo
  echo "Command: \`bench/run-convergence-bench.sh --clusters \"$CLUSTERS\" --services $SERVICES --changes $CHANGES --agents $AGENTS --backends \"$BACKENDS\" --change $CHANGE\`"
  echo
  echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(date -u +%F)"
  echo
  if [[ $CHANGE == decision ]]; then
    echo "Time from one PropagationDecision written to the registry (6:3 replicas between a"
    echo "service's two exporting clusters, then 3:6, ...) until every agent has written the"
    echo "reweighted Maglev table to its maps (agents stamp the time of the map write in"
    echo "status.json). Goal (issue 16): p99 < 100 ms with etcd and 10 clusters."
  else
    echo "Time from one export change written to the registry until every agent has written"
    echo "the maps for that revision (agents stamp the time of the map write in status.json);"
    echo "each service is exported by two clusters; full sync = all records written -> all"
    echo "agents applied them."
  fi
  echo
  echo "| backend | clusters | services | agents | p50 ms | p99 ms | max ms | full sync s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  tail -n +2 "$CSV" | while IFS=, read -r b c s a p50 p99 mx fs; do
    echo "| $b | $c | $s | $a | $p50 | $p99 | $mx | $fs |"
  done
} >"$OUT/$NAME.md"
cat "$OUT/$NAME.md"
