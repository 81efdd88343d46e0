# shellcheck shell=bash
# lab/lib.sh: naming/address plan of the Meridian namespace lab, shared by
# lab/meridian-lab and the lab tests. Source it; it sets no shell options and
# defines only functions and LAB_LIB_* variables.
#
# Names (P = lab prefix, C = cluster, N = node, K = pod index):
#   node namespace  P-cCnN   (also the node name the agent uses)
#   pod namespace   P-cCnNpK (pod name cCnNpK), client: P-cCclient (cCclient)
#   underlay ns     P-cCul   (bridge Pbr)
#   router ns       P-rt     (only with >= 2 clusters; veth PrC per cluster)
#   outside ns      P-out    (only with --outside; veth Pou, 172.16.1.200,
#                             on cluster 1's underlay; 192.0.2.0/24 via node 1)
#   pod IP          10.C.N.(10+K), client 10.C.1.100
#   node uplink IP  172.16.C.(10+N), router 172.16.C.1
# See docs/lab.md for the full plan.

LAB_LIB_RUN_DIR=${MERIDIAN_LAB_RUN_DIR:-/run/meridian-lab}
# shellcheck disable=SC2034  # used by meridian-lab (down)
LAB_LIB_BPFFS_DIR=/sys/fs/bpf/meridian

# lab_require_root: fail (return 1) with a message unless running as root.
lab_require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "meridian-lab: must run as root (network namespaces, veths, sysctls)" >&2
    return 1
  fi
}

# lab_valid_prefix P: 2-7 chars [a-z0-9], starting with a letter. The limit
# keeps every interface name (P + "up", P + "l50", ...) within IFNAMSIZ.
lab_valid_prefix() {
  [[ ${1:-} =~ ^[a-z][a-z0-9]{1,6}$ ]]
}

# lab_random_prefix: "m" + 5 random hex chars.
lab_random_prefix() {
  local hex
  hex=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
  echo "m${hex:0:5}"
}

# lab_state_dir P: /run/meridian-lab/P (lab.env, logs, pid files).
lab_state_dir() {
  echo "${LAB_LIB_RUN_DIR}/$1"
}

# lab_node_ns P C N: node namespace (= node name), e.g. m3fa2c-c1n2.
lab_node_ns() {
  echo "$1-c$2n$3"
}

# lab_ul_ns P C: underlay namespace of cluster C (holds bridge Pbr).
lab_ul_ns() {
  echo "$1-c$2ul"
}

# lab_router_ns P: router namespace joining the clusters' underlays (it only
# exists with >= 2 clusters).
lab_router_ns() {
  echo "$1-rt"
}

# lab_etcd_start P DATA_DIR LOG: a one-member etcd in the lab's router
# namespace, serving clients on 172.16.1.1:2379 (every node reaches it over
# its underlay), logging to LOG. In the background: $! is its pid after the
# call. `meridian-lab down` kills it with the namespace.
lab_etcd_start() {
  ip netns exec "$(lab_router_ns "$1")" etcd --name lab --data-dir "$2" \
    --listen-client-urls http://172.16.1.1:2379 --advertise-client-urls http://172.16.1.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster lab=http://127.0.0.1:2380 >>"$3" 2>&1 &
}

# lab_etcd_up P: the lab's etcd answers.
lab_etcd_up() {
  ip netns exec "$(lab_router_ns "$1")" etcdctl --endpoints 172.16.1.1:2379 endpoint health >/dev/null 2>&1
}

# lab_router_veth P C: router-side veth towards cluster C, e.g. m3fa2cr1. Its
# peer in P-cCul is named P + "rt" and enslaved to the bridge.
lab_router_veth() {
  echo "$1r$2"
}

# lab_router_ip C: the router's address on cluster C's underlay (the nodes'
# next hop for 172.16.0.0/16).
lab_router_ip() {
  echo "172.16.$1.1"
}

# lab_outside_ns P / lab_outside_ip / lab_external_cidr: the outside
# client (meridian-lab up --outside) and the range it reaches LoadBalancer
# IPs and externalIPs in, routed to node 1 of cluster 1.
lab_outside_ns() {
  echo "$1-out"
}
lab_outside_ip() {
  echo "172.16.1.200"
}
lab_external_cidr() {
  echo "192.0.2.0/24"
}

# lab_cluster_name C: cluster name, e.g. c1 (the cluster id is C).
lab_cluster_name() {
  echo "c$1"
}

# lab_pod_name C N K / lab_client_name C: names printed by meridian-echo.
lab_pod_name() {
  echo "c$1n$2p$3"
}
lab_client_name() {
  echo "c$1client"
}

# _lab_parse_pod POD: sets _lab_c _lab_n _lab_k (_lab_k=client for clients).
_lab_parse_pod() {
  if [[ ${1:-} =~ ^c([1-9])n([1-9])p([1-9][0-9]?)$ ]]; then
    _lab_c=${BASH_REMATCH[1]} _lab_n=${BASH_REMATCH[2]} _lab_k=${BASH_REMATCH[3]}
  elif [[ ${1:-} =~ ^c([1-9])client$ ]]; then
    _lab_c=${BASH_REMATCH[1]} _lab_n=1 _lab_k=client
  else
    echo "meridian-lab: not a pod name: '${1:-}' (expected cCnNpK or cCclient)" >&2
    return 1
  fi
}

# lab_pod_ns P POD: pod namespace, e.g. lab_pod_ns m3fa2c c1n2p1 -> m3fa2c-c1n2p1.
lab_pod_ns() {
  local _lab_c _lab_n _lab_k
  _lab_parse_pod "$2" || return 1
  echo "$1-$2"
}

# lab_pod_ip POD: pod IPv4 address without prefix length.
lab_pod_ip() {
  local _lab_c _lab_n _lab_k
  _lab_parse_pod "$1" || return 1
  if [[ $_lab_k == client ]]; then
    echo "10.${_lab_c}.1.100"
  else
    echo "10.${_lab_c}.${_lab_n}.$((10 + _lab_k))"
  fi
}

# lab_pod_node_ns P POD: namespace of the node hosting POD (clients: node 1).
lab_pod_node_ns() {
  local _lab_c _lab_n _lab_k
  _lab_parse_pod "$2" || return 1
  lab_node_ns "$1" "$_lab_c" "$_lab_n"
}

# lab_host_veth P POD: node-side veth of POD: P + l + K, or P + lc for clients.
lab_host_veth() {
  local _lab_c _lab_n _lab_k
  _lab_parse_pod "$2" || return 1
  if [[ $_lab_k == client ]]; then
    echo "$1lc"
  else
    echo "$1l${_lab_k}"
  fi
}

# lab_node_ip C N: node uplink address (no prefix length).
lab_node_ip() {
  echo "172.16.$1.$((10 + $2))"
}

# lab_gateway_ip C: address of cluster C's gateway node (node 1) when the lab
# was built with --gateway.
lab_gateway_ip() {
  lab_node_ip "$1" 1
}

# lab_ns_exists NS
lab_ns_exists() {
  [[ -e /run/netns/$1 ]]
}

# lab_list_ns P: namespaces named P-*, one per line, sorted.
lab_list_ns() {
  ip netns list 2>/dev/null | awk -v p="$1-" 'index($1, p) == 1 { print $1 }' | sort
}

# lab_exec_pod P POD cmd...: run cmd in the pod's namespace.
lab_exec_pod() {
  local ns
  ns=$(lab_pod_ns "$1" "$2") || return 1
  shift 2
  ip netns exec "$ns" "$@"
}

# lab_pod_resolver P POD ADDR: point the pod's resolver at ADDR (the agent's
# clusterset.local DNS server). `ip netns exec` bind-mounts
# /etc/netns/<ns>/resolv.conf over /etc/resolv.conf, so getent, curl and dig
# in lab_exec_pod use it; `meridian-lab down` removes /etc/netns/P-*.
lab_pod_resolver() {
  local ns
  ns=$(lab_pod_ns "$1" "$2") || return 1
  mkdir -p "/etc/netns/$ns"
  printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$3" >"/etc/netns/$ns/resolv.conf"
}

# lab_exec_node P C N cmd...: run cmd in a node namespace.
lab_exec_node() {
  local ns
  ns=$(lab_node_ns "$1" "$2" "$3")
  shift 3
  ip netns exec "$ns" "$@"
}

# lab_load_env P: source the lab.env written by `meridian-lab up`.
lab_load_env() {
  local env
  env="$(lab_state_dir "$1")/lab.env"
  if [[ ! -r $env ]]; then
    echo "meridian-lab: no lab state for prefix '$1' ($env missing)" >&2
    return 1
  fi
  # shellcheck source=/dev/null
  source "$env"
}
