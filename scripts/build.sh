#!/usr/bin/env bash
# Configures and builds Meridian into build/ (or $MERIDIAN_BUILD_DIR).
# Usage: scripts/build.sh [--progress] [cmake --build args...]   e.g. --target meridian-agent
#   --progress  instead of the compiler's lines, one line per 10% of the build steps and the
#               time it took; on a failure, the end of the build's output (the error).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MERIDIAN_BUILD_DIR:-$REPO/build}
PROGRESS=0
if [[ ${1:-} == --progress ]]; then
  PROGRESS=1
  shift
fi
if [[ ! -f $BUILD/build.ninja ]]; then
  if ((PROGRESS)); then
    echo "   configuring (cmake)"
    cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMERIDIAN_WERROR=ON >/dev/null
  else
    cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMERIDIAN_WERROR=ON
  fi
fi
if ((!PROGRESS)); then
  exec cmake --build "$BUILD" -j"$(nproc)" "$@"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
set +e
cmake --build "$BUILD" -j"$(nproc)" "$@" 2>&1 | tee "$log" | awk '
  match($0, /^\[[0-9]+\/[0-9]+\]/) {
    split(substr($0, 2, RLENGTH - 2), nm, "/")
    pct = int(nm[1] * 10 / nm[2]) * 10
    if (pct > last) { printf "   building: %3d%% (%d/%d steps)\n", pct, nm[1], nm[2]; fflush(); last = pct }
  }'
rc=${PIPESTATUS[0]}
set -e
if ((rc != 0)); then
  echo "   build failed (exit $rc); its last lines:" >&2
  tail -n 40 "$log" >&2
  exit "$rc"
fi
echo "   built in $((SECONDS - start)) s"
