#!/usr/bin/env bash
# Builds the libFuzzer targets (backend/fuzz, clang with ASan+UBSan, in
# build-fuzz) and runs each for FUZZ_SECONDS (default 60) from its committed
# seeds (backend/fuzz/corpus/<name>). New corpus entries go to a temp dir,
# never into the repo. Exits 1 if any target crashed, printing the reproducer.
#
#   scripts/fuzz.sh [--clean] [target...]    targets: json router tfevent ...
#   --clean   remove the temp dir when every target passed (make test)
#
# Reproduce a crash: build-fuzz/fuzz_<name> <reproducer>
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds="${FUZZ_SECONDS:-60}"
build="${FUZZ_BUILD:-build-fuzz}"
clean=0
targets=()
for a in "$@"; do
  case $a in
    --clean) clean=1 ;;
    -*) echo "usage: $0 [--clean] [target...]" >&2; exit 2 ;;
    *) targets+=("$a") ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for f in backend/fuzz/fuzz_*.c; do n=${f##*/fuzz_}; targets+=("${n%.c}"); done
fi

command -v clang >/dev/null || { echo "fuzz: clang not installed (scripts/bootstrap.sh test)" >&2; exit 2; }
if [ ! -f "$build/build.ninja" ]; then
  CC=clang cmake -S backend -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCP_FUZZ=ON >/dev/null || exit 1
fi
ninja -C "$build" --quiet fuzz || exit 1

work=$(mktemp -d "${TMPDIR:-/tmp}/cp-fuzz.XXXXXX")
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=()
for t in "${targets[@]}"; do
  bin="$root/$build/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz: no target $t" >&2; failed+=("$t (no such target)"); continue; }
  mkdir -p "$work/$t/corpus" "$work/$t/crash"
  cp backend/fuzz/corpus/"$t"/* "$work/$t/corpus/" 2>/dev/null
  seeds=$(ls "$work/$t/corpus" | wc -l)
  # Workers write fuzz-N.log into the cwd: run from the temp dir.
  (cd "$work/$t" && "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$work/$t/crash/" corpus >"$work/$t/log" 2>&1)
  rc=$?
  stats=$(grep -E '^#[0-9]+.*DONE' "$work/$t/log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t/log")
  cov=$(echo "$stats" | grep -o 'cov: [0-9]*' | tr -d ' ')
  now=$(ls "$work/$t/corpus" | wc -l)
  repro=$(ls "$work/$t/crash"/* 2>/dev/null | head -1)
  if [ "$rc" -ne 0 ] || [ -n "$repro" ]; then
    grep -E 'ERROR|invariant failed|SUMMARY|^    #[0-9]' "$work/$t/log" | head -20
    echo "fuzz_$t: FAILED (exit $rc); reproducer: ${repro:-none written, see $work/$t/log}"
    echo "   reproduce: $build/fuzz_$t ${repro:-}"
    failed+=("$t")
  else
    echo "fuzz_$t: ok, ${seconds}s, ${execs:-?} execs (${rate:-?}/s), $cov, corpus $seeds -> $now"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}; logs and corpora in $work"
  exit 1
fi
if [ "$clean" -eq 1 ]; then rm -rf "$work"; else echo "fuzz: new corpus entries (not in the repo) in $work/<target>/corpus"; fi
exit 0
