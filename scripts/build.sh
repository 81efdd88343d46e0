#!/usr/bin/env bash
# Configures and builds Meridian into build/ (or $MERIDIAN_BUILD_DIR).
# Usage: scripts/build.sh [cmake --build args...]   e.g. --target meridian-agent
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${MERIDIAN_BUILD_DIR:-$REPO/build}
if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMERIDIAN_WERROR=ON
fi
cmake --build "$BUILD" -j"$(nproc)" "$@"
