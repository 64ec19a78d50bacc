#!/usr/bin/env bash
# Instructions (callgrind) and database statements per request for /auth/me,
# a list page-cache hit and a list miss, on SQLite and (BENCH_PG=1)
# PostgreSQL, over the same data as bench/api.sh (bench/api_populate.py).
# Load-independent, so it can guide work on a busy machine; not part of
# make bench (valgrind is slow). Prints figures only.
#   N=200 USERS=32 BENCH_PG=1 bench/api_cost.sh
# KEEP_DUMPS=DIR keeps each case's callgrind dump (DIR/callgrind.CASE) for callgrind_annotate.
set -euo pipefail
BENCH_NAME=api_cost
source "$(dirname "$0")/lib.sh"
N="${N:-200}"; USERS="${USERS:-32}"
[ -n "${KEEP_DUMPS:-}" ] && export KEEP_DUMPS=$(realpath "$KEEP_DUMPS")
export CLOUDPLANE_PROJECT_MAX_RUNS=0 CLOUDPLANE_PROJECT_MAX_RESOURCES=0 CLOUDPLANE_WORKERS=0 \
  CLOUDPLANE_SIGNUP_IP_PER_HOUR=100000 CLOUDPLANE_INVITE_IP_PER_HOUR=100000 CLOUDPLANE_INVITE_ACCOUNT_PER_HOUR=100000

cost() { # label db-target
  start_serve "$1"
  python3 bench/api_populate.py "$url" "$USERS" >"$work/tokens-$1"
  stop_all
  local port=${url##*:}
  (cd "$work" && exec valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out.%p" \
    "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$work/$1" --web-dir "$work/none" \
    >"$work/$1-vg.out" 2>"$work/$1-vg.log") &
  local vg=$!
  spawned "$vg"
  for _ in $(seq 600); do curl -sf "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "$1 (1,000 resources, $USERS users, $N requests per case):"
  echo "  \$ (cd $work && python3 $root/bench/api_cost.py $url $work/tokens-$1 $vg $2 $N)"
  (cd "$work" && python3 "$root/bench/api_cost.py" "$url" "$work/tokens-$1" "$vg" "$2" "$N") | sed 's/^/  /'
  stop_all
}

cost sqlite "$work/sqlite/cloudplane.db"
if [ "${BENCH_PG:-1}" = 1 ]; then
  scripts/services.sh start "$work/svc" >"$work/svc.env"
  source "$work/svc.env"
  CLOUDPLANE_DATABASE_URL="$CP_TEST_PG_URL" cost pg "$CP_TEST_PG_URL"
fi
