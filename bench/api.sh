#!/usr/bin/env bash
# API throughput with wrk (64 connections, 10 s each by default) for the six
# figures of the API goals, on SQLite and (BENCH_PG=1, the default under
# make bench) PostgreSQL started on loopback by scripts/services.sh:
#   me_*         GET /api/v1/auth/me (token check + session/user read)
#   list_hit_*   GET /api/v1/resources?limit=50, one user, unchanging data:
#                every request after the first is a page-cache hit
#   list_miss_*  GET /api/v1/resources?limit=48..52 cycled over USERS users
#                (each key comes back only after ~USERS*5 others, far more
#                than the cache's 2 x 64 slots) while a writer changes one
#                resource's status in the database WRITES_PER_S times a
#                second (each write moves the data version and invalidates
#                every cached page): practically every request renders its
#                page from the database
# over 1,000 resources in one project all USERS users belong to. Figures go
# through bench_result (bench/lib.sh); nothing here passes or fails.
# Load-independent counterparts (instructions, statements per request): bench/api_cost.sh.
#   DURATION=10s CONNECTIONS=64 THREADS=2 USERS=32 WRITES_PER_S=5 BENCH_PG=1 bench/api.sh
set -euo pipefail
BENCH_NAME=api
source "$(dirname "$0")/lib.sh"
DURATION="${DURATION:-10s}"; CONNECTIONS="${CONNECTIONS:-64}"; THREADS="${THREADS:-2}"
USERS="${USERS:-32}"; WRITES_PER_S="${WRITES_PER_S:-5}"
command -v wrk >/dev/null || { echo "bench: wrk is required (apt-get install wrk)" >&2; exit 1; }
# A big project and no workers: the resources stay queued, which is all a list needs.
export CLOUDPLANE_PROJECT_MAX_RUNS=0 CLOUDPLANE_PROJECT_MAX_RESOURCES=0 CLOUDPLANE_WORKERS=0 \
  CLOUDPLANE_SIGNUP_IP_PER_HOUR=100000 CLOUDPLANE_INVITE_IP_PER_HOUR=100000 CLOUDPLANE_INVITE_ACCOUNT_PER_HOUR=100000

writer_pid=""
bench_extra_cleanup() { [ -n "$writer_pid" ] && kill "$writer_pid" 2>/dev/null || true; }

# The wrk script for misses: users and limits cycled, each wrk thread at its own offset.
cat >"$work/miss.lua" <<'LUA'
local tokens, n, i = {}, 0, 0
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local limits = {48, 49, 50, 51, 52}
local id = 0
function setup(thread) thread:set("id", id); id = id + 1 end
function init() i = (tonumber(wrk.thread:get("id")) or 0) * 7919 end
function request()
  i = i + 1
  local t = tokens[(i % #tokens) + 1]
  local l = limits[(math.floor(i / #tokens) % #limits) + 1]
  return wrk.format("GET", "/api/v1/resources?limit=" .. l, {["Authorization"] = "Bearer " .. t})
end
LUA

populate() { # label [pg-url] -> $work/tokens-$label (first line: the owner)
  python3 bench/api_populate.py "$url" "$USERS" >"$work/tokens-$1"
  # Statistics as autovacuum would have them a minute after the load: plans
  # that PostgreSQL cached while the table was nearly empty (seq scans) are
  # dropped when it analyses, not when the table grows.
  if [ -n "${2:-}" ]; then psql -X -q "$2" -c ANALYZE; fi
}

# Flips one resource's status WRITES_PER_S times a second, straight in the
# database (as a worker's status change would): $1 = sqlite file or pg url.
start_writer() {
  python3 - "$1" "$WRITES_PER_S" <<'PY' &
import sys, time, subprocess
target, rate = sys.argv[1], float(sys.argv[2])
pg = target.startswith("postgres")
if not pg:
    import sqlite3
    db = sqlite3.connect(target, timeout=5, isolation_level=None)
n = 0
while True:
    st = ("active", "pending")[n % 2]
    sql = "UPDATE resources SET status = '%s' WHERE id = (SELECT MIN(id) FROM resources)" % st
    if pg:
        subprocess.run(["psql", target, "-X", "-q", "-c", sql], check=True)
    else:
        db.execute(sql)
    n += 1
    time.sleep(1 / rate)
PY
  writer_pid=$!
}

# wrk; prints its command line, a summary, and one bench_result.
run() { # key label path goal_rps goal_p99_ms(or -) [lua]
  local key=$1 label=$2 path=$3 goal=$4 goal_p99=$5 lua=${6:-}
  local cmd=(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency)
  if [ -n "$lua" ]; then cmd+=(-s "$lua"); else cmd+=(-H "Authorization: Bearer $token"); fi
  cmd+=("$url$path")
  echo "  \$ ${lua:+BENCH_TOKENS=$tokens }$(printf '%q ' "${cmd[@]}")"
  local out
  out=$(BENCH_TOKENS="$tokens" "${cmd[@]}")
  local rps p50 p99 p99ms rss
  rps=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  p99ms=$(awk -v v="$p99" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.1f", n }')
  rss=$(awk '/VmRSS/ {print $2 " " $3}' "/proc/$serve_pid/status")
  printf '  %-40s %8s req/s   p50 %-8s p99 %-8s RSS %s\n' "$label" "$rps" "$p50" "$p99" "$rss"
  if grep -q "Non-2xx" <<<"$out"; then echo "  warning: $(grep Non-2xx <<<"$out")"; fi
  local met=no
  if [ "$rps" -ge "$goal" ] && { [ "$goal_p99" = - ] || awk -v a="$p99ms" -v b="$goal_p99" 'BEGIN { exit !(a <= b) }'; }; then met=yes; fi
  bench_result "$key" "$(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$rps") req/s, p99 $p99ms ms" "$met"
}

bench_store() { # label db-target
  case "$2" in postgres*) populate "$1" "$2" ;; *) populate "$1" ;; esac
  tokens="$work/tokens-$1"
  token=$(head -1 "$tokens")
  echo "$1: 1,000 resources, $(wc -l <"$tokens") users"
  run "me_$1" "GET /auth/me ($1)" /api/v1/auth/me "$ME_GOAL" -
  run "list_hit_$1" "GET /resources?limit=50 ($1, hits)" "/api/v1/resources?limit=50" "$HIT_GOAL" -
  start_writer "$2"
  run "list_miss_$1" "GET /resources, misses ($1)" "/api/v1/resources" "$MISS_GOAL" "$MISS_P99" "$work/miss.lua"
  kill "$writer_pid"; wait "$writer_pid" 2>/dev/null || true; writer_pid=""
}

echo "cloudplane API benchmark: $CONNECTIONS connections, $THREADS wrk threads, $DURATION each, $(nproc) cores"
start_serve sqlite
ME_GOAL=35000 HIT_GOAL=35000 MISS_GOAL=10000 MISS_P99=15 bench_store sqlite "$work/sqlite/cloudplane.db"
stop_all
if [ "${BENCH_PG:-1}" = 1 ]; then
  scripts/services.sh start "$work/svc" >"$work/svc.env"
  source "$work/svc.env"
  CLOUDPLANE_DATABASE_URL="$CP_TEST_PG_URL" start_serve pg
  ME_GOAL=20000 HIT_GOAL=20000 MISS_GOAL=6000 MISS_P99=20 bench_store pg "$CP_TEST_PG_URL"
fi
