#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine, as root:
#   1. installs every package it needs (scripts/install-deps.sh),
#   2. builds everything with warnings as errors,
#   3. rebuilds the unit and BPF tests with ASan+UBSan and runs them,
#   4. builds the parser fuzzers (clang, libFuzzer) and runs each 5 s
#      (scripts/fuzz.sh),
#   5. runs unit, BPF (BPF_PROG_TEST_RUN) and lab (network namespaces,
#      real traffic) tests with ctest.
# Set MERIDIAN_SKIP_SANITIZE=1 to skip step 3, MERIDIAN_SKIP_FUZZ=1 step 4.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
if [[ $(id -u) -ne 0 ]]; then
  echo "test.sh: run as root (BPF and network namespaces need it)" >&2
  exit 1
fi

# "== step N of 5: WHAT (elapsed M:SS)": where a long run is, and how long it took to get there.
STARTED=$(date +%s)
step() {
  local n=$1
  shift
  local t=$(($(date +%s) - STARTED))
  printf '== step %s of 5: %s (elapsed %d:%02d)\n' "$n" "$*" $((t / 60)) $((t % 60))
}

step 1 "install dependencies"
"$REPO/scripts/install-deps.sh"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

step 2 "build"
"$REPO/scripts/build.sh" --progress

if [[ ${MERIDIAN_SKIP_SANITIZE:-0} != 1 ]]; then
  step 3 "unit and BPF tests under ASan+UBSan"
  ASAN_BUILD="$REPO/build-asan"
  # No benches here (MERIDIAN_BENCH=OFF): only unit and BPF tests run.
  cmake -S "$REPO" -B "$ASAN_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMERIDIAN_SANITIZE=ON \
    -DMERIDIAN_BENCH=OFF >/dev/null
  cmake --build "$ASAN_BUILD" -j"$(nproc)"
  # Unit and BPF tests share nothing (no namespaces, no fixed ports, each
  # BPF test loads its own objects), so they run two at a time.
  ctest --test-dir "$ASAN_BUILD" -L 'unit|bpf' -j"$(nproc)" --output-on-failure
fi

if [[ ${MERIDIAN_SKIP_FUZZ:-0} != 1 ]]; then
  step 4 "parser fuzzers, short form"
  "$REPO/scripts/fuzz.sh" --seconds 5
fi

step 5 "all tests (unit, bpf, lab)"
ctest --test-dir "$REPO/build" -L 'unit|bpf' -j"$(nproc)" --output-on-failure
# Lab, k8s, deploy and chaos tests build network namespaces, pin maps and
# bind ports of their own: one at a time.
ctest --test-dir "$REPO/build" -LE 'unit|bpf' --output-on-failure
t=$(($(date +%s) - STARTED))
printf '== all steps passed (elapsed %d:%02d)\n' $((t / 60)) $((t % 60))
