#!/usr/bin/env bash
# C lint: clang-format (the repo's .clang-format) over backend/src,
# backend/tests, backend/tools and backend/fuzz, cppcheck over backend/src and
# backend/fuzz, and functions over 80 lines with
# no reason written above them. Prints the findings and a count
# per tool.
#
#   scripts/lint-c.sh            strict: exits 1 on any finding
#   scripts/lint-c.sh --report   the same output, exits 0
#   --full                       also prints every clang-format diagnostic
#
# Exits 2 if a tool is missing (scripts/bootstrap.sh test installs both).
# Formatting depends on the clang-format version: use the one bootstrap
# installs (Debian's), as CI does.
set -uo pipefail
cd "$(dirname "$0")/.."

strict=1 full=0
for a in "$@"; do
  case $a in
    --report) strict=0 ;;
    --full) full=1 ;;
    *) echo "usage: $0 [--report] [--full]" >&2; exit 2 ;;
  esac
done
for t in clang-format cppcheck; do
  command -v "$t" >/dev/null || { echo "lint-c: $t not installed (scripts/bootstrap.sh test)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/cp-lint.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------- clang-format
echo "== clang-format ($(clang-format --version | head -n 1)) over backend/src backend/tests backend/tools backend/fuzz"
find backend/src backend/tests backend/tools backend/fuzz -name '*.[ch]' | sort >"$work/files"
nfiles=$(wc -l <"$work/files")
# One diagnostic file per source, two at a time; empty when the file is formatted.
xargs -P 2 -I{} sh -c 'clang-format --dry-run --Werror "$1" >/dev/null 2>"$2/$(echo "$1" | tr / _).fmt"' _ {} "$work" <"$work/files"
fmt_files=0 fmt_spots=0
while IFS= read -r f; do
  out="$work/$(echo "$f" | tr / _).fmt"
  n=$(grep -c -- '-Wclang-format-violations' "$out")
  [ "$n" -gt 0 ] || continue
  fmt_files=$((fmt_files + 1))
  fmt_spots=$((fmt_spots + n))
  echo "$f: $n spot(s) to reformat"
  [ "$full" -eq 1 ] && cat "$out"
done <"$work/files"
echo "clang-format: $fmt_files of $nfiles files need formatting ($fmt_spots spots); fix with clang-format -i FILE"

# ---------------------------------------------------------------- cppcheck
# One configuration (_GNU_SOURCE, as the build) keeps it fast; system headers
# are not read, so jansson's foreach macros come from scripts/lint/jansson.cfg.
echo
echo "== cppcheck ($(cppcheck --version)) over backend/src backend/fuzz"
cppcheck -q -j 2 --std=c11 --enable=warning,style,performance,portability --inline-suppr \
  -D_GNU_SOURCE -I backend/src --suppress=missingIncludeSystem \
  --library=gnu --library=scripts/lint/jansson.cfg \
  --template='{file}:{line}: {severity}: {message} [{id}]' \
  backend/src backend/fuzz 2>"$work/cppcheck" >/dev/null
cpp_rc=$?
sort "$work/cppcheck" | tee "$work/cppcheck.sorted"
cpp_n=$(grep -c ' \[[A-Za-z0-9_]*\]$' "$work/cppcheck.sorted")
by_id=$(grep -o '\[[A-Za-z0-9_]*\]$' "$work/cppcheck.sorted" | tr -d '[]' | sort | uniq -c | sort -rn |
  awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1}')
echo "cppcheck: $cpp_n finding(s)${by_id:+ ($by_id)}"
if [ "$cpp_rc" -ne 0 ]; then
  echo "lint-c: cppcheck itself failed (exit $cpp_rc)" >&2
  exit 2
fi

# ---------------------------------------------------------------- long functions
echo
echo "== functions over 80 lines without a reason above them"
long_out=$(python3 scripts/lint/long_functions.py $(find backend/src backend/tools backend/fuzz -name '*.c' | sort))
echo "$long_out"
long_n=$(printf '%s\n' "$long_out" | grep -c ': no reason written above it$' || true)

echo
echo "lint-c: clang-format $fmt_files file(s), cppcheck $cpp_n finding(s), long functions $long_n$([ "$strict" -eq 0 ] && echo " (report only)")"
[ "$strict" -eq 0 ] || [ $((fmt_files + cpp_n + long_n)) -eq 0 ]
