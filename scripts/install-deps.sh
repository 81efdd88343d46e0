#!/usr/bin/env bash
# Installs every Debian package that the build, the tests, the demo and the
# benchmarks need. Idempotent: a second run only checks.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config clang llvm
  libbpf-dev bpftool libelf-dev zlib1g-dev
  protobuf-compiler libprotobuf-dev libgrpc++-dev protobuf-compiler-grpc
  libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libboost-dev libboost-system-dev libxxhash-dev
  clang-format
  # lab, tests and benchmarks
  python3 iproute2 iputils-ping curl socat iperf3 sockperf dnsutils tcpdump tshark
  iptables nftables ethtool procps psmisc gnuplot-nox
  etcd-server etcd-client openssl libssl-dev python3-yaml python3-jsonschema
  prometheus
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#PACKAGES[@]} packages present"
fi
