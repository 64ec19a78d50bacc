#!/usr/bin/env bash
# `make test`: installs what is missing, builds a normal and an ASan+UBSan
# build, starts PostgreSQL, Redis and moto on loopback, and runs every suite.
# Exits non-zero if any suite fails.
#
# Skips are counted and listed at the end (C cases from each suite's
# "N passed, N failed, N skipped" line, pytest's skipped tests, the module
# checks' SKIP lines). With CI=true, where everything is installed, any skip
# fails the run, except the one known skip listed in KNOWN_SKIPS below.
#
# C lint (scripts/lint-c.sh: clang-format and cppcheck) fails the run on any finding.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/bootstrap.sh test || exit 1
CP_TOFU=$(scripts/install-tofu.sh) || exit 1
export CP_TOFU
echo "== tofu: $("$CP_TOFU" version | head -1)"
# The sandbox cloud's provider, built once per version into the cache; every
# suite (and every serve/worker the integration tests start, whose HOME is a
# temp dir) installs it from this filesystem mirror.
CLOUDPLANE_PROVIDER_MIRROR=$(scripts/install-provider.sh) || exit 1
export CLOUDPLANE_PROVIDER_MIRROR
echo "== provider mirror: $CLOUDPLANE_PROVIDER_MIRROR"
# The OIDC identity provider the single sign-on tests (pytest and e2e) start.
CLOUDPLANE_TEST_IDP=$(scripts/install-test-idp.sh) || exit 1
export CLOUDPLANE_TEST_IDP
echo "== test OIDC provider: $CLOUDPLANE_TEST_IDP"

make --no-print-directory build asan || exit 1

svc=$(mktemp -d /tmp/cloudplane-test.XXXXXX)
cleanup() { scripts/services.sh stop "$svc"; rm -rf "$svc" 2>/dev/null; }
trap cleanup EXIT
services_env=$(scripts/services.sh start "$svc") || { echo "could not start test services" >&2; exit 1; }
eval "$services_env"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

in_ci=0
case "${CI:-}" in [Tt][Rr][Uu][Ee] | 1 | [Yy][Ee][Ss]) in_ci=1 ;; esac

# The six cloud modules' `tofu validate` in tests/modules/check_modules.sh: their
# providers (hashicorp/aws, azurerm, google) cannot be installed without
# registry access, so check_modules.sh reports SKIP for them. Known and
# allowed, also under CI, until the real-providers work provides a mirror;
# they are still listed by name in the summary. Matched against the SKIP line.
KNOWN_SKIPS='^(aws_vm|aws_s3|azure_vm|azure_blob|gcp_vm|gcp_storage) validate — provider hashicorp/[a-z]+ not installable here'

skips=()       # "<step>: <what>" for every unexpected skip
known_skips=() # the same for KNOWN_SKIPS
skipped_cases=0

# Skipped cases of the last ctest run in $1, from each suite's summary line
# (tests/unit/test.h); a suite that exited 77 had all its cases skipped.
count_ctest_skips() { # build-dir label
  local log="$1/Testing/Temporary/LastTest.log" line
  [ -f "$log" ] || return 0
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    skips+=("$2: $line")
    skipped_cases=$((skipped_cases + $(echo "$line" | sed -E 's/.*: ([0-9]+) of .*/\1/')))
  done < <(awk '
    match($0, /^[0-9]+\/[0-9]+ Test: /) { name = substr($0, RLENGTH + 1) }
    match($0, /[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/) {
      split(substr($0, RSTART), n, /[ ,]+/)
      if (n[5] > 0) printf "%s: %d of %d cases skipped%s\n", name, n[5], n[1] + n[3] + n[5], (n[1] + n[3] == 0 ? " (whole suite)" : "")
    }' "$log")
}

ctest_in() { # build-dir timeout label
  (cd "$1" && ctest --output-on-failure --timeout "$2")
  local rc=$?
  count_ctest_skips "$1" "$3"
  return $rc
}

# pytest with skip reasons (-rs); under CI=true conftest.py turns skips into failures.
pytest_with() { # binary label
  local out rc line
  out=$(mktemp)
  env CP_BINARY="$1" python3 -m pytest -q -rs --durations=15 -p no:cacheprovider backend/tests/integration 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  while IFS= read -r line; do # "<count> <where>: <reason>"
    skips+=("$2: ${line#* } (${line%% *} test(s))")
    skipped_cases=$((skipped_cases + ${line%% *}))
  done < <(sed -nE 's/^SKIPPED \[([0-9]+)\] (.*)$/\1 \2/p' "$out")
  rm -f "$out"
  return "$rc"
}

# The cloud modules against the providers' schemas (tests/modules/schema), the
# check's own tests, then check_modules.sh; fails if any of the three fails.
modules_check() {
  local out rc=0 line
  out=$(mktemp)
  python3 tests/modules/schema/check_schema.py || rc=1
  python3 -m pytest -q -rs -p no:cacheprovider tests/modules 2>&1 | tee "$out"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
  while IFS= read -r line; do # "<count> <where>: <reason>"
    skips+=("OpenTofu modules: ${line#* } (${line%% *} test(s))")
    skipped_cases=$((skipped_cases + ${line%% *}))
  done < <(sed -nE 's/^SKIPPED \[([0-9]+)\] (.*)$/\1 \2/p' "$out")
  tests/modules/check_modules.sh "$CP_TOFU" 2>&1 | tee "$out"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
  while IFS= read -r line; do
    if echo "$line" | grep -qE "$KNOWN_SKIPS"; then known_skips+=("OpenTofu modules: $line")
    else skips+=("OpenTofu modules: $line"); skipped_cases=$((skipped_cases + 1)); fi
  done < <(sed -n 's/^SKIP: //p' "$out")
  rm -f "$out"
  return "$rc"
}

failed=()
passed=()
# Each step's output is kept too, so the end of the run can repeat the last
# lines of a failed one (where its own summary is) next to the verdict.
steplogs="$svc/steps"
mkdir -p "$steplogs"
failed_logs=()
step() {
  local name="$1"; shift
  echo
  echo "== $name"
  local t0=$SECONDS log="$steplogs/$(( ${#passed[@]} + ${#failed[@]} )).log"
  # Not a pipe: the steps that are shell functions count skips in this shell.
  local rc=0 out tee_pid
  exec {out}> >(tee "$log")
  tee_pid=$!
  "$@" >&"$out" 2>&1 || rc=$?
  exec {out}>&-
  wait "$tee_pid" 2>/dev/null
  if [ "$rc" -eq 0 ]; then passed+=("$name"); echo "-- $name: ok ($((SECONDS - t0))s)"
  else failed+=("$name"); failed_logs+=("$log"); echo "-- $name: FAILED ($((SECONDS - t0))s)"; fi
}

step "banned C functions (checksrc)" scripts/checksrc.sh
step "C lint (clang-format, cppcheck)" scripts/lint-c.sh
# libFuzzer targets, 30 s each from the committed seeds; a crash prints its reproducer.
step "fuzz targets (backend/fuzz, 30 s each)" env FUZZ_SECONDS=30 scripts/fuzz.sh --clean
step "unit tests (ctest)" ctest_in build 300 "unit tests"
step "unit tests, ASan+UBSan (ctest)" ctest_in build-asan 600 "unit tests, ASan+UBSan"
step "integration tests" pytest_with "$root/build/cloudplane" "integration tests"
step "integration tests, ASan+UBSan" pytest_with "$root/build-asan/cloudplane" "integration tests, ASan+UBSan"
# schemathesis over the served spec against the real binary (tests/contract/run.py):
# every check (as --checks all), seed 11, 165 s budget; fails on any failure, an unclean
# server exit or a tofu left running.
step "API contract (schemathesis)" python3 tests/contract/run.py --binary "$root/build/cloudplane"
step "OpenTofu modules" modules_check
step "sandbox provider (go test)" bash -c "cd providers/sandbox && go test -count=1 ./..."
# The cloudplane/cloudplane provider's unit tests (schemas, generated docs up to date, secret handling);
# its acceptance test against a real server is integration/test_cloudplane_provider.py above.
step "cloudplane provider (go test)" bash -c "cd providers/cloudplane && go test -count=1 ./..."
if [ -f frontend/package.json ]; then
  step "web UI: build, lint, typecheck, unit tests" scripts/test-web.sh
fi

echo
echo "== skipped: ${#skips[@]} suite(s) or test(s) with skips, $skipped_cases case(s)"
for x in "${skips[@]}"; do echo "   skipped: $x"; done
for x in "${known_skips[@]}"; do echo "   known, allowed: $x"; done
if [ "$in_ci" -eq 1 ] && [ ${#skips[@]} -gt 0 ]; then
  failed+=("no skips under CI=true (${#skips[@]} above)")
fi

for i in "${!failed_logs[@]}"; do
  echo
  echo "== how \"${failed[$i]}\" ended:"
  grep -v '^[[:space:]]*$' "${failed_logs[$i]}" | tail -n 15 | cut -c1-300
done

echo
echo "== summary: ${#passed[@]} suites ok, ${#failed[@]} suites failed"
for f in "${failed[@]}"; do echo "   failed: $f"; done
echo "suites: ${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
