# shellcheck shell=bash
# shellcheck disable=SC2034  # LAB, BIN_DIR, ... are set for the sourcing script
# tests/lab/testlib.sh: what every lab test script shares. Source it first;
# it parses the common arguments, sets HERE, REPO, LAB and BIN_DIR, sources
# lab/lib.sh and lab/agents.sh, and exits 77 (skipped) when not root.
#
# Results: `check DESC cmd...` runs cmd; `check_eq DESC EXPECTED ACTUAL`;
# `pass`/`fail` by hand. `finish` prints the closing "N passed, M failed"
# line and exits non-zero on any failure.

HERE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck disable=SC2034  # LAB and BIN_DIR are for the sourcing script
LAB="$REPO/lab/meridian-lab"
# shellcheck source=../../lab/lib.sh
source "$REPO/lab/lib.sh"
# shellcheck source=../../lab/agents.sh
source "$REPO/lab/agents.sh"
# shellcheck source=../../lab/manifests.sh
source "$REPO/lab/manifests.sh"

# shellcheck disable=SC2034
BIN_DIR="$REPO/build/bin"
while (($#)); do
  case $1 in
    --bin-dir) BIN_DIR=${2:?--bin-dir needs a value}; shift 2 ;;
    --bin-dir=*) BIN_DIR=${1#*=}; shift ;;
    -h|--help) sed -n '2,/^$/p' "${BASH_SOURCE[1]}"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

PASSED=0
FAILED=0
pass() {
  PASSED=$((PASSED + 1))
  echo "PASS: $*"
}
fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL: $*"
}
# check DESCRIPTION command...: passes when the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
# require DESCRIPTION command...: like check, but a failure ends the test
# (for steps everything after depends on).
require() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; finish; fi
}
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
  if [[ $3 == "$2" ]]; then
    pass "$1"
  else
    fail "$1: expected '$2', got '$3'"
  fi
}
# check_file DESCRIPTION FILE: FILE's content equals stdin exactly.
check_file() {
  local d
  if [[ ! -f $2 ]]; then
    fail "$1: $2 missing"
  elif d=$(diff -u - "$2" 2>&1); then
    pass "$1"
  else
    fail "$1: $2 differs (- expected, + actual):"
    echo "$d"
  fi
}
# wait_for SECONDS command...: polls every 0.1 s until the command succeeds.
wait_for() {
  local t=$1 i
  shift
  for ((i = 0; i < t * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
# A misspelt helper must not make checks vanish silently: bash runs this
# in a subshell, so it records the miss in a file that finish() counts.
TESTLIB_MISSING=/tmp/meridian-testlib.$$  # $$ is the script's pid, also in subshells
command_not_found_handle() {
  echo "FAIL: command not found: $1" | tee -a "$TESTLIB_MISSING" >&2
  return 127
}
finish() {
  [[ -f $TESTLIB_MISSING ]] && FAILED=$((FAILED + $(wc -l <"$TESTLIB_MISSING")))
  rm -f "$TESTLIB_MISSING"
  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0))
  exit $?
}

if ! lab_require_root 2>/dev/null; then
  echo "SKIP: lab tests need root"
  echo "0 passed, 0 failed"
  exit 77
fi

# udp_refused RUNNER... HOST PORT: of 6 UDP sockets (6 source ports, so
# several pods) sending to HOST:PORT through RUNNER (e.g. lab_exec_pod P
# POD, or ip netns exec NS), how many got "connection refused" within 2 s:
# a backend without a socket on the port answers ICMP port unreachable,
# which must reach the client reverse-translated for its socket to match.
udp_refused() {
  local port=${*: -1} host=${*: -2:1}
  "${@:1:$#-2}" python3 -c '
import socket, sys
n = 0
for i in range(6):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.connect((sys.argv[1], int(sys.argv[2])))
    try:
        s.send(b"x")
        s.recv(100)
    except ConnectionRefusedError:
        n += 1
    except OSError:
        pass
print(n)' "$host" "$port"
}
