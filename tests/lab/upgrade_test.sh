#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Upgrade under load (issue 18): a lab served by the agents of an earlier
# release (--old-bin-dir: a build of an older commit), then each node's
# agent killed (kill -9) and the current one started over its pins, while
# 20 long-lived TCP connections, 5 UDP exchanges and a request loop run
# through a ClusterIP. The current agent recreates, with their entries, the
# maps whose shape changed (datapath/map_resize.h); nothing may break.
#
# Not part of ctest: it needs the older build. For example:
#   git worktree add /tmp/old 94e0bef
#   cmake -S /tmp/old -B /tmp/old/build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMERIDIAN_BENCH=OFF
#   ninja -C /tmp/old/build meridian-agent
#   tests/lab/upgrade_test.sh --old-bin-dir /tmp/old/build/bin [--bin-dir build/bin]
#
# Usage: upgrade_test.sh --old-bin-dir DIR [--bin-dir DIR]. Exit 0 pass, 1
# fail, 77 skip.
set -uo pipefail
OLD_BIN_DIR=""
args=()
while (($#)); do
  case $1 in
    --old-bin-dir) OLD_BIN_DIR=${2:?--old-bin-dir needs a directory}; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- "${args[@]+"${args[@]}"}"
# shellcheck source=testlib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"
[[ -x $OLD_BIN_DIR/meridian-agent ]] || { echo "no meridian-agent in --old-bin-dir '$OLD_BIN_DIR'"; exit 2; }

PREFIX=$(lab_random_prefix)
WORK=$(mktemp -d "/tmp/meridian-upgrade-test.XXXXXX")
M="$WORK/manifests"
FLOWS="$HERE/flows.py"
mkdir -p "$M"
cleanup() {
  touch "$WORK/stop"
  [[ -n ${LAB_NODE_NAMES+x} ]] && lab_agents_stop
  "$LAB" down --prefix "$PREFIX" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "# lab $PREFIX: 1 cluster x 2 nodes x 2 pods + client; agents of $OLD_BIN_DIR, then of $BIN_DIR"
"$LAB" up --prefix "$PREFIX" --clusters 1 --nodes 2 --pods 2 --client --bin-dir "$BIN_DIR" >"$WORK/lab-up.log" 2>&1 ||
  { cat "$WORK/lab-up.log"; exit 1; }
lab_load_env "$PREFIX"
"$LAB" manifests --prefix "$PREFIX" --out "$M" >/dev/null
lab_service_yaml web 10.96.0.10 "http:TCP:80:8080,udp:UDP:80:8080" c1n1p1 c1n1p2 c1n2p1 c1n2p2 >"$M/web.yaml"
client() { lab_exec_pod "$PREFIX" c1client "$@"; }
ct_entries() { "$BIN_DIR/meridianctl" --node "$1" --json ct 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
flags_of() { bpftool map show pinned "/sys/fs/bpf/meridian/$1/$2" | grep -o 'flags 0x[0-9a-f]*'; }

NEW_BIN_DIR=$LAB_BIN_DIR
LAB_BIN_DIR=$OLD_BIN_DIR
check "the earlier release's agents serve" lab_agents_start "$M"
LAB_BIN_DIR=$NEW_BIN_DIR
client python3 "$FLOWS" hold --dst 10.96.0.10:80 --count 20 --timeout 30 --out "$WORK/hold.json" --stop "$WORK/stop" &
HOLD=$!
client python3 "$FLOWS" hold --dst 10.96.0.10:80 --count 5 --udp --timeout 2 --out "$WORK/udp.json" --stop "$WORK/stop" &
UDP=$!
client bash -c "while [ ! -e $WORK/stop ]; do curl -s --max-time 2 -o /dev/null http://10.96.0.10/ && echo ok || echo FAILED; sleep 0.05; done" >"$WORK/loop.txt" 2>&1 &
LOOP=$!
sleep 3

for node in "${LAB_NODE_NAMES[@]}"; do
  before=$(ct_entries "$node")
  old_flags=$(flags_of "$node" mer_services)
  pid=$(cat "$LAB_STATE_DIR/agent-$node.pid")
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null  # reaped here: no "Killed" line from the shell
  sleep 0.5
  lab_agent_start "$node" "$M"
  pods=$LAB_PODS
  [[ $node == "${LAB_NODE_NAMES[0]}" ]] && pods=$((pods + 1))
  check "$node: the current agent serves over the earlier release's pins" lab_agent_wait "$node" "$pods"
  log="$LAB_STATE_DIR/agent-$node.log"
  check "... it recreated mer_services, no longer preallocated ($old_flags -> $(flags_of "$node" mer_services))" \
    grep -qF 'map recreated with its entries (mer_services: 4096 -> 4096 entries, flags 0x0 -> 0x1)' "$log"
  check "... and mer_affinity at its new default size" \
    grep -qF 'map recreated with its entries (mer_affinity: 262144 -> 65536 entries' "$log"
  check "... and finished the copy once its programs were attached" wait_for 5 grep -q 'map resize done' "$log"
  after=$(ct_entries "$node")
  # The client is on node 1: its flows' conntrack entries are there.
  [[ $node == "${LAB_NODE_NAMES[0]}" ]] && check "... the client's flows had conntrack entries ($before)" test "$before" -gt 0
  check "... conntrack kept its entries ($before before the kill, $after after)" test "$after" -ge "$before"
  check_eq "... no <map>_resized pin is left" 0 "$(find "/sys/fs/bpf/meridian/$node" -name '*_resized' | wc -l)"
done
sleep 3
touch "$WORK/stop"
wait "$HOLD" "$UDP" "$LOOP"
check_eq "20 long-lived TCP connections through both upgrades: 0 broken" "[]" \
  "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["broken"])' "$WORK/hold.json")"
check_eq "5 UDP flows: 0 exchanges lost" "0 []" \
  "$(python3 -c 'import json,sys; u=json.load(open(sys.argv[1])); print(u["lost"], u["broken"])' "$WORK/udp.json")"
check_eq "request loop: 0 failed of $(grep -c . "$WORK/loop.txt")" 0 "$(grep -c FAILED "$WORK/loop.txt")"
finish
