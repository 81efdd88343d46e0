# shellcheck shell=bash
# lab/agents.sh: run one meridian-agent per lab node. Source after lib.sh and
# lab_load_env. Each agent runs in its node's network namespace (nsenter
# --net keeps the root mount namespace, so its pins land in the shared
# /sys/fs/bpf/meridian/<node>/) and logs to the lab state dir.

# lab_agent_start NODE SOURCE [agent args...]: SOURCE is a manifest
# directory, or "kubernetes" (pass --kubeconfig in the agent args). The map
# sizes are LAB_AGENT_SIZES when set (a test restarting an agent with other
# sizes sets it for that call), else the lab's small ones.
lab_agent_start() {
  local node=$1 source=(--manifests "$2") sizes
  [[ $2 == kubernetes ]] && source=(--source kubernetes)
  shift 2
  read -ra sizes <<<"${LAB_AGENT_SIZES:---max-services 4096 --max-backends 8192 --max-conntrack 65536}"
  local log="$LAB_STATE_DIR/agent-$node.log"
  nsenter --net="/run/netns/$node" "$LAB_BIN_DIR/meridian-agent" \
    --node "$node" "${source[@]}" \
    --pod-interfaces "$LAB_HOST_VETH_GLOB" \
    --state-dir "$LAB_STATE_DIR/agent-$node" \
    "${sizes[@]}" "$@" >>"$log" 2>&1 &
  echo $! >"$LAB_STATE_DIR/agent-$node.pid"
}

# lab_agent_stop NODE: SIGTERM, wait up to 5 s, then SIGKILL.
lab_agent_stop() {
  local pidfile="$LAB_STATE_DIR/agent-$1.pid" pid i
  [[ -r $pidfile ]] || return 0
  pid=$(<"$pidfile")
  kill -TERM "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# lab_agent_status NODE: the agent's status.json (empty if not written yet).
lab_agent_status() {
  cat "$LAB_STATE_DIR/agent-$1/status.json" 2>/dev/null || true
}

# lab_agent_field NODE FIELD...: fields of the agent's status, one per line
# (meridianctl status FIELD...: state, conntrack.evicted,
# imports[name=default/web].clusterset_ip). Fails, printing nothing, when
# the agent has not written its status yet or a field is not there.
lab_agent_field() {
  local node=$1
  shift
  "$LAB_BIN_DIR/meridianctl" --node "$node" --state-dir "$LAB_STATE_DIR/agent-$node" \
    status "$@" 2>/dev/null
}

# lab_stat NODE COUNTER: the packets of one mer_stats counter of the node's
# datapath (meridianctl stats COUNTER); fails, printing nothing, when the
# maps are not there or the counter is unknown.
lab_stat() {
  "$LAB_BIN_DIR/meridianctl" --node "$1" stats "$2" 2>/dev/null
}

# lab_monitor NODE ARGS...: meridianctl monitor on the node's datapath
# (its events on stdout, "monitor: attached" on stderr once they flow).
lab_monitor() {
  local node=$1
  shift
  "$LAB_BIN_DIR/meridianctl" --node "$node" --state-dir "$LAB_STATE_DIR/agent-$node" \
    monitor "$@"
}

# lab_monitor_start NODE OUT ERR ARGS...: meridianctl monitor in the
# background, its events to OUT and its stderr to ERR; its pid in
# LAB_MONITOR_PID (meridianctl itself, not a subshell: a non-interactive
# shell's background subshell ignores SIGINT, so a signal to it would never
# reach the monitor). SIGINT or SIGTERM detaches it.
lab_monitor_start() {
  local node=$1 out=$2 err=$3
  shift 3
  "$LAB_BIN_DIR/meridianctl" --node "$node" --state-dir "$LAB_STATE_DIR/agent-$node" \
    monitor "$@" >"$out" 2>"$err" &
  LAB_MONITOR_PID=$!
}

# lab_agent_wait NODE INTERFACES [TIMEOUT_S]: wait until the agent reports
# state "serving" with at least INTERFACES pod interfaces attached.
lab_agent_wait() {
  local node=$1 want=$2 timeout=${3:-10} i
  for ((i = 0; i < timeout * 10; i++)); do
    if lab_agent_status "$node" | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s["state"] == "serving" and len(s["attached_interfaces"]) >= int(sys.argv[1]) else 1)
' "$want" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "agent on $node not ready after ${timeout}s; log:" >&2
  tail -20 "$LAB_STATE_DIR/agent-$node.log" >&2
  return 1
}

# lab_agents_start SOURCE [agent args...]: one agent per node, then
# wait for each to attach to its pods.
lab_agents_start() {
  local node c n pods
  for node in "${LAB_NODE_NAMES[@]}"; do
    lab_agent_start "$node" "$@"
  done
  for node in "${LAB_NODE_NAMES[@]}"; do
    [[ $node =~ -c([0-9])n([0-9])$ ]] || return 1
    c=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]}
    pods=$LAB_PODS
    [[ $n == 1 && $LAB_CLIENT == 1 ]] && pods=$((pods + 1))
    lab_agent_wait "$node" "$pods" || return 1
  done
}

# lab_agents_start_clusterset MANIFESTS_ROOT [agent args...]: one agent per
# node of every cluster, cluster C reading MANIFESTS_ROOT/c<C>, with the
# VXLAN tunnel enabled (--cluster c<C> --uplink <prefix>up).
lab_agents_start_clusterset() {
  local root=$1 node c n pods
  shift
  for node in "${LAB_NODE_NAMES[@]}"; do
    [[ $node =~ -c([0-9])n([0-9])$ ]] || return 1
    c=${BASH_REMATCH[1]}
    lab_agent_start "$node" "$root/c$c" --cluster "c$c" --uplink "${LAB_PREFIX}up" "$@"
  done
  for node in "${LAB_NODE_NAMES[@]}"; do
    [[ $node =~ -c([0-9])n([0-9])$ ]] || return 1
    n=${BASH_REMATCH[2]}
    pods=$LAB_PODS
    [[ $n == 1 && $LAB_CLIENT == 1 ]] && pods=$((pods + 1))
    lab_agent_wait "$node" "$pods" || return 1
  done
}

# lab_agents_stop: stop every agent of the lab.
lab_agents_stop() {
  local node
  # A monitor still running (a test that failed before it stopped it) would
  # outlive the lab by its --duration.
  if [[ -n ${LAB_MONITOR_PID:-} ]]; then
    kill -INT "$LAB_MONITOR_PID" 2>/dev/null
    LAB_MONITOR_PID=""
  fi
  for node in "${LAB_NODE_NAMES[@]}"; do
    lab_agent_stop "$node"
  done
}
