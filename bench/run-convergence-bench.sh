#!/usr/bin/env bash
# Control-plane convergence: time from an export change written to the
# ClusterSet registry to the BPF map update on every node, p50 and p99.
#
# For each ClusterSet size (--clusters, default "10 50") and backend
# (--backends, default "dir", add etcd when the etcd backend is built) it
# starts --agents meridian-agents (default 4), each in a network namespace
# of its own (P-bN; they attach to no interface), on a fresh registry, then
# runs convergence-bench: 1,000 exported services (each from two clusters),
# --changes timed changes (default 50). Writes bench/results/convergence.{md,csv}.
# Run as root.
#
# Usage: bench/run-convergence-bench.sh [--clusters "10 50"] [--services 1000]
#          [--changes 50] [--agents 4] [--backends "dir etcd"]
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLUSTERS="10 50" SERVICES=1000 CHANGES=50 AGENTS=4 BACKENDS="dir"
while (($#)); do
  case $1 in
    --clusters) CLUSTERS=$2; shift 2 ;;
    --services) SERVICES=$2; shift 2 ;;
    --changes) CHANGES=$2; shift 2 ;;
    --agents) AGENTS=$2; shift 2 ;;
    --backends) BACKENDS=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
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
cleanup() {
  stop_agents
  [[ -n $ETCD_PID ]] && kill "$ETCD_PID" 2>/dev/null
  local i
  for ((i = 1; i <= AGENTS; i++)); do ip netns del "$PREFIX-b$i" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

for ((i = 1; i <= AGENTS; i++)); do ip netns add "$PREFIX-b$i"; done

registry_url() {  # registry_url BACKEND RUN
  case $1 in
    dir) echo "dir:$WORK/reg-$2" ;;
    etcd)
      [[ -n $ETCD_PID ]] && { kill "$ETCD_PID"; wait "$ETCD_PID" 2>/dev/null || true; }
      local port=$((23790 + RANDOM % 1000))
      etcd --data-dir "$WORK/etcd-$2" --listen-client-urls "http://127.0.0.1:$port" \
        --advertise-client-urls "http://127.0.0.1:$port" \
        --listen-peer-urls "http://127.0.0.1:$((port + 1000))" >"$WORK/etcd-$2.log" 2>&1 &
      ETCD_PID=$!
      sleep 1
      echo "etcd://127.0.0.1:$port" ;;
    *) echo "unknown backend $1" >&2; exit 2 ;;
  esac
}

CSV="$OUT/convergence.csv"
echo "backend,clusters,services,agents,p50_ms,p99_ms,max_ms,full_sync_s" >"$CSV.tmp"
for backend in $BACKENDS; do
  for c in $CLUSTERS; do
    url=$(registry_url "$backend" "$c")
    mkdir -p "$WORK/empty"
    statuses=()
    for ((i = 1; i <= AGENTS; i++)); do
      node="$PREFIX-b$i"
      nsenter --net="/run/netns/$node" "$BIN/meridian-agent" --node "$node" \
        --manifests "$WORK/empty" --pod-interfaces "${PREFIX}none*" --registry "$url" \
        --state-dir "$WORK/agent-$node" --max-services 8192 --max-backends 16384 \
        --log-level warn >>"$WORK/agent-$node.log" 2>&1 &
      PIDS+=($!)
      statuses+=(--status "$WORK/agent-$node/status.json")
    done
    sleep 1
    echo "== $backend: $c clusters, $SERVICES services, $AGENTS agents"
    "$BIN/convergence-bench" --registry "$url" --clusters "$c" --services "$SERVICES" \
      --changes "$CHANGES" "${statuses[@]}" | tee "$WORK/run.txt"
    line=$(grep '^RESULT' "$WORK/run.txt")
    eval "$(sed 's/^RESULT //' <<<"$line")"
    # shellcheck disable=SC2154  # set by the eval of the RESULT line
    echo "$backend,$clusters,$services,$agents,$p50_ms,$p99_ms,$max_ms,$sync_s" >>"$CSV.tmp"
    stop_agents
  done
done
mv "$CSV.tmp" "$CSV"

{
  echo "# Control-plane convergence"
  echo
  echo "Command: \`bench/run-convergence-bench.sh --clusters \"$CLUSTERS\" --services $SERVICES --changes $CHANGES --agents $AGENTS --backends \"$BACKENDS\"\`"
  echo
  echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), $(date -u +%F)"
  echo
  echo "Time from one export change written to the registry until every agent has written"
  echo "the maps for that revision (agents stamp the time of the map write in status.json);"
  echo "each service is exported by two clusters; full sync = all records written -> all"
  echo "agents applied them."
  echo
  echo "| backend | clusters | services | agents | p50 ms | p99 ms | max ms | full sync s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  tail -n +2 "$CSV" | while IFS=, read -r b c s a p50 p99 mx fs; do
    echo "| $b | $c | $s | $a | $p50 | $p99 | $mx | $fs |"
  done
} >"$OUT/convergence.md"
cat "$OUT/convergence.md"
