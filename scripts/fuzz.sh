#!/usr/bin/env bash
# scripts/fuzz.sh: builds the libFuzzer harnesses of every parser that reads
# what someone else wrote (tests/fuzz: manifests, Kubernetes JSON, registry
# records, DNS messages, scheduling inputs) in build-fuzz/ with clang,
# ASan and UBSan, and runs each from its seed corpus (tests/fuzz/corpus/).
#
# Usage: scripts/fuzz.sh [--seconds N | --runs N] [--only NAME] [--keep-corpus]
#   --seconds N    run each harness N seconds (default 10: the test suite's
#                  short form)
#   --runs N       run each harness N executions instead (the long form:
#                  --runs 10000000)
#   --only NAME    one harness (manifests, kube_json, registry_records,
#                  dns_message, scheduling)
#   --keep-corpus  add what the run found to tests/fuzz/corpus/ (otherwise it
#                  goes to a temporary directory and the repository is left
#                  untouched)
# Prints one line per harness: executions, corpus size, and crashes (0). Exit
# 1 on any crash or sanitizer report (its reproducer is kept in
# build-fuzz/artifacts/), 0 otherwise.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$REPO/build-fuzz"
SECONDS_EACH=10 RUNS="" ONLY="" KEEP=0
while (($#)); do
  case $1 in
    --seconds) SECONDS_EACH=${2:?}; shift 2 ;;
    --runs) RUNS=${2:?}; shift 2 ;;
    --only) ONLY=${2:?}; shift 2 ;;
    --keep-corpus) KEEP=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
HARNESSES=(manifests kube_json registry_records dns_message scheduling)
[[ -n $ONLY ]] && HARNESSES=("$ONLY")

echo "fuzz.sh: building the harnesses in $BUILD (clang, ASan+UBSan, libFuzzer)"
if [[ ! -f $BUILD/build.ninja ]]; then
  CC=clang CXX=clang++ cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMERIDIAN_FUZZ=ON >/dev/null
fi
start=$SECONDS
if ! ninja -C "$BUILD" -j2 "${HARNESSES[@]/#/fuzz_}" >"$BUILD/fuzz-build.log" 2>&1; then
  tail -30 "$BUILD/fuzz-build.log"
  echo "fuzz.sh: build failed; log $BUILD/fuzz-build.log" >&2
  exit 1
fi
each="$SECONDS_EACH s"
[[ -n $RUNS ]] && each="$RUNS executions"
echo "fuzz.sh: built in $((SECONDS - start)) s; running ${#HARNESSES[@]} harnesses, $each each"

mkdir -p "$BUILD/artifacts"
failed=0
for name in "${HARNESSES[@]}"; do
  seeds="$REPO/tests/fuzz/corpus/$name"
  work=$(mktemp -d "/tmp/meridian-fuzz-$name.XXXXXX")
  limit=(-max_total_time="$SECONDS_EACH")
  [[ -n $RUNS ]] && limit=(-runs="$RUNS")
  log="$BUILD/artifacts/$name.log"
  if "$BUILD/bin/fuzz_$name" "${limit[@]}" -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$name-" \
    "$work" "$seeds" >"$log" 2>&1; then
    rc=0
  else
    rc=$?
  fi
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  corpus=$(find "$work" -type f | wc -l)
  if ((rc != 0)); then
    failed=1
    echo "fuzz_$name: FAILED (exit $rc) after ${execs:-?} executions; log $log, reproducer in $BUILD/artifacts/"
    grep -E "ERROR|SUMMARY|runtime error" "$log" | head -5
  else
    echo "fuzz_$name: ${execs:-?} executions, 0 crashes, $corpus new corpus entries"
  fi
  ((KEEP)) && cp -n "$work"/* "$seeds/" 2>/dev/null
  rm -rf "$work"
done
exit "$failed"
