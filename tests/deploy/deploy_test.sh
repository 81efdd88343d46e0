#!/usr/bin/env bash
# Offline test of the manifests in deploy/ (CTest: deploy_manifests, label deploy).
#
#   tests/deploy/deploy_test.sh [--bin-dir DIR] [--allow-missing-check-flags]
#
# No API server exists here, so everything is checked from the rendered YAML:
#   1. `kubectl kustomize` renders deploy/crds, deploy/crds/karmada-stub, deploy/base and every
#      overlay in deploy/overlays/ without error;
#   2. check_manifests.py checks each render (hand schemas of the built-in kinds, custom
#      resources against their CRD's openAPIV3Schema, structural CRD schemas, references, RBAC
#      without wildcards, the agent's and the controller's security settings and probes) and the
#      overlays together as one ClusterSet;
#   3. the real binaries parse the container args of every render (`--check-flags`), and refuse
#      a wrong flag and a wrong value (negative controls);
#   4. check_manifests.py --self-test: mutations of a real render that the checks must report.
# `kubectl apply --dry-run=client` is not used: even in client mode kubectl asks the API server
# for its resource list (it fails with "couldn't get current server API group list" here), so
# the schema checks of step 2 stand in for it.
#
# Prints PASS:/FAIL:/SKIP: lines and "N passed, M failed"; exits 0 when nothing failed.
# --allow-missing-check-flags turns "this binary has no --check-flags" into a SKIP (for working
# on the manifests against an older build); CTest does not pass it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BIN_DIR=$REPO/build/bin
FLAGS_OPT=()
while (($#)); do
  case $1 in
    --bin-dir) BIN_DIR=$2; shift 2 ;;
    --allow-missing-check-flags) FLAGS_OPT=(--allow-missing-check-flags); shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "deploy_test: unknown argument $1" >&2; exit 2 ;;
  esac
done

passed=0
failed=0
skipped=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CHECK=(python3 "$HERE/check_manifests.py" --raw-agent "$REPO/deploy/base/agent-daemonset.yaml")

# Runs check_manifests.py; echoes its lines and adds them to the counts. A non-zero exit with no
# FAIL line (a crash) is a failure of its own.
run_check() {
  local out rc=0 p f s
  out=$("${CHECK[@]}" "$@" 2>&1) || rc=$?
  echo "$out"
  p=$(grep -c '^PASS:' <<<"$out" || true)
  f=$(grep -c '^FAIL:' <<<"$out" || true)
  s=$(grep -c '^SKIP:' <<<"$out" || true)
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + s))
  if ((rc != 0 && f == 0)); then
    fail "check_manifests.py $1 exited $rc without a FAIL line"
  fi
  if ((rc == 0 && f != 0)); then
    fail "check_manifests.py $1 printed FAIL lines but exited 0"
  fi
}

start=$SECONDS
for tool in kubectl python3; do
  command -v "$tool" >/dev/null || { fail "$tool is not installed"; }
done
if ! python3 -c 'import yaml, jsonschema' 2>/dev/null; then
  fail "python3 needs PyYAML and jsonschema (Debian: python3-yaml python3-jsonschema)"
fi
if ((failed)); then
  echo "$passed passed, $failed failed"
  exit 1
fi

# 1. Render.
overlays=()
for d in "$REPO"/deploy/overlays/*/; do
  [[ -f $d/kustomization.yaml ]] && overlays+=("overlays/$(basename "$d")")
done
if ((${#overlays[@]} < 2)); then
  fail "expected at least two overlays in deploy/overlays, found ${#overlays[@]}"
fi
declare -A rendered=()
for target in crds crds/karmada-stub base "${overlays[@]}"; do
  out=$WORK/${target//\//_}.yaml
  if kubectl kustomize "$REPO/deploy/$target" >"$out" 2>"$WORK/err"; then
    pass "render deploy/$target ($(grep -c '^kind:' "$out") objects)"
    rendered[$target]=$out
  else
    fail "render deploy/$target: $(tr '\n' ' ' <"$WORK/err")"
  fi
done

# 2. Check each render, then the overlays as one ClusterSet.
[[ -n ${rendered[crds]:-} ]] && run_check check "${rendered[crds]}" --label crds --profile crds
if [[ -n ${rendered[crds/karmada-stub]:-} ]]; then
  run_check check "${rendered[crds/karmada-stub]}" --label karmada-stub --profile crds
  # The stand-in must stay a stand-in: spec preserved as is, and not pulled into the base.
  if python3 - "${rendered[crds/karmada-stub]}" <<'EOF'; then
import sys, yaml
(crd,) = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
assert crd["metadata"]["name"] == "propagationpolicies.policy.karmada.io"
assert spec.get("x-kubernetes-preserve-unknown-fields") is True
EOF
    pass "karmada-stub: PropagationPolicy CRD keeps spec with x-kubernetes-preserve-unknown-fields"
  else
    fail "karmada-stub: PropagationPolicy CRD must keep spec with x-kubernetes-preserve-unknown-fields"
  fi
fi
if [[ -n ${rendered[base]:-} ]]; then
  run_check check "${rendered[base]}" --label base
  if grep -q 'policy.karmada.io' "${rendered[base]}"; then
    fail "base: renders the Karmada stand-in CRD (it must stay out of deploy/base)"
  else
    pass "base: does not render the Karmada stand-in CRD"
  fi
fi
cs_args=()
for o in "${overlays[@]}"; do
  [[ -n ${rendered[$o]:-} ]] || continue
  run_check check "${rendered[$o]}" --label "$o" --require-cluster
  cs_args+=("$o=${rendered[$o]}")
done
((${#cs_args[@]})) && run_check clusterset "${cs_args[@]}"

# 3. The binaries' own parser over the container args.
for target in base "${overlays[@]}"; do
  [[ -n ${rendered[$target]:-} ]] || continue
  run_check flags "${rendered[$target]}" --label "$target" --bin-dir "$BIN_DIR" "${FLAGS_OPT[@]}"
done

# 4. Negative controls of the checker itself.
if [[ -n ${rendered[${overlays[0]}]:-} ]]; then
  run_check --self-test --rendered "${rendered[${overlays[0]}]}"
fi

extra=""
((skipped)) && extra=", $skipped skipped"
echo "$passed passed, $failed failed$extra ($((SECONDS - start)) s)"
((failed == 0))
