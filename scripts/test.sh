#!/usr/bin/env bash
# `make test`: installs what is missing, builds a normal and an ASan+UBSan
# build, starts PostgreSQL, Redis and moto on loopback, and runs every suite.
# Exits non-zero if any suite fails.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/bootstrap.sh test || exit 1
CP_TOFU=$(scripts/install-tofu.sh) || exit 1
export CP_TOFU
echo "== tofu: $("$CP_TOFU" version | head -1)"

make --no-print-directory build asan || exit 1

svc=$(mktemp -d /tmp/cloudplane-test.XXXXXX)
cleanup() { scripts/services.sh stop "$svc"; rm -rf "$svc" 2>/dev/null; }
trap cleanup EXIT
services_env=$(scripts/services.sh start "$svc") || { echo "could not start test services" >&2; exit 1; }
eval "$services_env"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

failed=()
passed=()
step() {
  local name="$1"; shift
  echo
  echo "== $name"
  local t0=$SECONDS
  if "$@"; then passed+=("$name"); echo "-- $name: ok ($((SECONDS - t0))s)"
  else failed+=("$name"); echo "-- $name: FAILED ($((SECONDS - t0))s)"; fi
}

step "banned C functions (checksrc)" scripts/checksrc.sh
step "unit tests (ctest)" bash -c "cd build && ctest --output-on-failure --timeout 300"
step "unit tests, ASan+UBSan (ctest)" bash -c "cd build-asan && ctest --output-on-failure --timeout 600"
step "integration tests" env CP_BINARY="$root/build/cloudplane" python3 -m pytest -q -p no:cacheprovider backend/tests/integration
step "integration tests, ASan+UBSan" env CP_BINARY="$root/build-asan/cloudplane" python3 -m pytest -q -p no:cacheprovider backend/tests/integration
step "OpenTofu modules" tests/modules/check_modules.sh "$CP_TOFU"
if [ -f frontend/package.json ]; then
  step "web UI: build, lint, typecheck, unit tests" scripts/test-web.sh
fi

echo
echo "== summary: ${#passed[@]} suites ok, ${#failed[@]} suites failed"
for f in "${failed[@]}"; do echo "   failed: $f"; done
[ ${#failed[@]} -eq 0 ]
