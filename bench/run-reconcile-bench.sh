#!/usr/bin/env bash
# One change at scale (issue 17): how long from one changed EndpointSlice to
# the maps written, with N services already installed. The agent runs alone
# (its own network namespace, no pods, no baselines) on N services of 10
# endpoints each (bench/kubeproxy/kpgen.py, JSON v1 Lists); after its first
# sync, one service's file is replaced --rounds times, alternating between
# its last endpoint replaced and restored. Per round:
#   e2e_ms      rename of the file -> status.json shows a reconcile that wrote
#               (polled every 0.5 ms; includes the agent's status write)
#   agent_ms    the agent's own reconcile time (status last_apply_ms.total),
#               and its phases read / registry / desired / write
#   writes      the map writes of that reconcile
# and once, after the first sync: the cold sync time, the agent's RSS and
# each BPF map's memory (bytes_memlock) as sized for N services.
# The directory source's debounce is --debounce-ms (default 0 here: the
# figure is the agent's work, not its settling time; the agent's default
# is 50 ms).
#
# Writes rows (services,round,metric,value) to --out/reconcile-raw.csv and a
# summary (p50, p99, max per metric) to stdout. Run as root. Usage:
#   bench/run-reconcile-bench.sh [--services 10000] [--rounds 30] [--debounce-ms 0] [--out DIR]
#     [--perf] (perf record -g of the agent during the rounds: DIR/perf.data)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVICES=10000 ROUNDS=30 DEBOUNCE=0 OUT=/tmp/meridian-reconcile-bench PERF=
while (($#)); do
  case $1 in
    --services) SERVICES=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --debounce-ms) DEBOUNCE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --perf) PERF=1; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
BIN=${MERIDIAN_BUILD_DIR:-$REPO/build}/bin
[[ -x $BIN/meridian-agent ]] || { echo "missing $BIN/meridian-agent: build first" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

NS=mrb$$ NODE=mrb$$ WORK=$(mktemp -d /tmp/mrb.XXXXXX) AGENT_PID= PERF_PID=
PIN=/sys/fs/bpf/meridian/$NODE
cleanup() {
  [[ -n $PERF_PID ]] && kill -INT "$PERF_PID" 2>/dev/null || true
  [[ -n $AGENT_PID ]] && kill -KILL "$AGENT_PID" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$PIN" "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p "$OUT"
KPGEN="$REPO/bench/kubeproxy/kpgen.py" EWTOOL="$REPO/bench/eastwest/ewtool.py"
say() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

say "generating $SERVICES services"
python3 "$KPGEN" manifests --format json --services "$SERVICES" --server 10.200.255.1 --out "$WORK/manifests" >/dev/null
python3 "$KPGEN" manifests --format json --services "$SERVICES" --server 10.200.255.1 --update --out "$WORK/upd.json"
target=update-target.json
((SERVICES == 1)) && target=bench.json
cp "$WORK/manifests/$target" "$WORK/orig.json"
want=$((SERVICES - 1 + 4))
caps_s=4096; while ((caps_s < 2 * want + 64)); do caps_s=$((caps_s * 2)); done
nb=$((SERVICES * 10)); caps_b=8192; while ((caps_b < nb + 64)); do caps_b=$((caps_b * 2)); done
caps_m=$((SERVICES * 1601 + SERVICES * 1601 / 4 + 65536))

maps_before=$(python3 "$EWTOOL" maps-before)
say "agent: first sync of $want frontends"
t=$(python3 "$EWTOOL" agent-sync --status "$WORK/state/status.json" --services "$want" \
  --pidfile "$WORK/agent.pid" --log "$WORK/agent.log" --timeout 600 -- \
  nsenter --net="/run/netns/$NS" "$BIN/meridian-agent" --node "$NODE" --manifests "$WORK/manifests" \
  --pod-interfaces 'mrbnone*' --state-dir "$WORK/state" --debounce-ms "$DEBOUNCE" \
  --max-services "$caps_s" --max-backends "$caps_b" --maglev-slots "$caps_m" --max-conntrack 65536) || {
  tail -5 "$WORK/agent.log" >&2; exit 1; }
AGENT_PID=$(<"$WORK/agent.pid")
say "  synced in $t s"
RAW="$OUT/reconcile-raw.csv"
echo "services,round,metric,value" >"$RAW"
echo "$SERVICES,0,cold_sync_s,$t" >>"$RAW"
rss=$(python3 "$EWTOOL" rss --pid "$AGENT_PID")
echo "$SERVICES,0,agent_rss_mib,$rss" >>"$RAW"
# VmRSS counts the agent's mapping of the BPF Maglev array (RssFile: the
# pages of anon_inode:bpf-map it wrote, which the kernel map owns and
# map_mer_maglev_mib counts already) and its binary and libraries: its own
# memory is RssAnon.
for field in RssAnon RssFile; do
  echo "$SERVICES,0,agent_rss_$(tr '[:upper:]' '[:lower:]' <<<"${field#Rss}")_mib,$(python3 "$EWTOOL" rss --pid "$AGENT_PID" --field "$field")" >>"$RAW"
done
# BPF map memory, per map (as sized for N: --max-* and --maglev-slots above).
python3 "$EWTOOL" map-mem-by-name --before "$maps_before" | while read -r name mib; do
  echo "$SERVICES,0,map_${name}_mib,$mib" >>"$RAW"
done

if [[ -n $PERF ]]; then
  perf record ${PERF_CALL_GRAPH:+--call-graph $PERF_CALL_GRAPH} -g -F 1000 -p "$AGENT_PID" -o "$OUT/perf.data" >/dev/null 2>&1 &
  PERF_PID=$!
  sleep 0.5
fi
for ((r = 1; r <= ROUNDS; r++)); do
  content="$WORK/upd.json"
  ((r % 2 == 0)) && content="$WORK/orig.json"
  e2e=$(python3 "$EWTOOL" update --status "$WORK/state/status.json" --file "$WORK/manifests/$target" \
    --content "$content" --timeout 60)
  python3 - "$WORK/state/status.json" "$SERVICES" "$r" "$e2e" >>"$RAW" <<'PY'
import json, sys
st, n, r, e2e = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
s = json.load(open(st))
p = s.get("last_apply_ms", {})
print(f"{n},{r},e2e_ms,{e2e * 1000:.3f}")
for k in ("total", "read", "registry", "desired", "write"):
    print(f"{n},{r},agent_{k}_ms,{p.get(k, 0):.3f}")
print(f"{n},{r},writes,{sum(v for v in s.get('last_writes', {}).values() if isinstance(v, int))}")
PY
  sleep 0.05
done
if [[ -n $PERF_PID ]]; then
  kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=
  say "perf data: $OUT/perf.data (perf report -i $OUT/perf.data --no-children)"
fi
say "rounds done; agent log tail:"; tail -2 "$WORK/agent.log" >&2
python3 - "$RAW" <<'PY'
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["round"] != "0"]
by = {}
for r in rows:
    by.setdefault(r["metric"], []).append(float(r["value"]))
def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]
print(f"{'metric':<20} {'p50':>10} {'p99':>10} {'max':>10}")
for m, v in by.items():
    print(f"{m:<20} {pct(v, .5):>10.3f} {pct(v, .99):>10.3f} {max(v):>10.3f}")
for r in csv.DictReader(open(sys.argv[1])):
    if r["round"] == "0":
        print(f"{r['metric']:<20} {float(r['value']):>10.3f}")
PY
