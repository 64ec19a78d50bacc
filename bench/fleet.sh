#!/usr/bin/env bash
# The API at fleet scale on PostgreSQL: 100,000 resources across 1,000
# projects (bench/fleet.py loads them with COPY), then wrk against the pages
# a user meets, every list request a cache miss. Figures only; nothing here
# passes or fails.
#
#   bench/fleet.sh        # env: PROJECTS (1000), PER_PROJECT (100), DURATION (10s), CONNECTIONS (16)
#
# Cache misses: each request picks one of 19 users (one who sees every
# resource, 16 who see 100 each, 2 team members who see about 1,000) and a
# page size from 50 to 200, and a writer bumps the data version 20 times a
# second (as runs changing status do), so a rendered page is rarely reused.
# The first request on a fresh connection: wrk with a Lua script that closes
# each connection after its reply (a new TCP connection per request).
# Figures (bench_result): fleet_list_miss (p99, goal <= 10 ms, both runs),
# fleet_projects (p99 <= 10 ms), fleet_costs (p99 <= 50 ms), fleet_explain
# (hot statements whose plan has a Seq Scan on resources, runs, memberships or
# run_events, goal 0; bench/fleet_plans.py against a server restarted with
# auto_explain).
BENCH_NAME=fleet
source "$(dirname "$0")/lib.sh"
command -v wrk >/dev/null || { echo "fleet: wrk is required (apt-get install wrk)" >&2; exit 1; }
PROJECTS="${PROJECTS:-1000}"; PER_PROJECT="${PER_PROJECT:-100}"
DURATION="${DURATION:-10s}"; CONNECTIONS="${CONNECTIONS:-16}"

scripts/services.sh start "$work/svc" >"$work/svc.env"
source "$work/svc.env"
export CLOUDPLANE_DATABASE_URL="$CP_TEST_PG_URL" CLOUDPLANE_WORKERS=1 CLOUDPLANE_MAIL_OUTBOX="$work/outbox"
export CLOUDPLANE_PROVIDER_MIRROR="${CLOUDPLANE_PROVIDER_MIRROR:-$(scripts/install-provider.sh)}"
export CLOUDPLANE_LOGIN_IP_PER_MINUTE=100000 CLOUDPLANE_LOGIN_ACCOUNT_PER_MINUTE=100000
export CLOUDPLANE_PROJECT_MAX_RESOURCES=0 CLOUDPLANE_MAX_STREAMS_PER_USER=10000
start_serve api
echo "fleet: loading $PROJECTS projects x $PER_PROJECT resources into PostgreSQL"
echo "  python3 bench/fleet.py $url \$PG_URL --projects $PROJECTS --per-project $PER_PROJECT"
python3 bench/fleet.py "$url" "$CP_TEST_PG_URL" --projects "$PROJECTS" --per-project "$PER_PROJECT" >"$work/fleet.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  %(resources)d resources, %(projects)d projects: rows generated in %(generate_s)ss, COPY + ANALYZE %(copy_and_analyze_s)ss" % d)' "$work/fleet.json"

# wrk's Lua: a random user and page size per request.
python3 - "$work/fleet.json" >"$work/rotate.lua" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
toks = list(d["tokens"].values())
print("local toks = {%s}" % ",".join('"%s"' % t for t in toks))
print("""
local path = os.getenv("FLEET_PATH")
request = function()
  local t = toks[math.random(#toks)]
  local p = path:gsub("{limit}", tostring(math.random(50, 200)))
  return wrk.format("GET", p, {["Authorization"] = "Bearer " .. t})
end""")
PY
big=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tokens"]["big"])' "$work/fleet.json")

writer() { # bumps the data version as runs changing status would
  while :; do psql -X -q "$CP_TEST_PG_URL" -c "UPDATE data_version SET n = n + 1" >/dev/null 2>&1; sleep 0.05; done
}

# The same with each connection closed after its reply.
sed 's/^request = function()/local function pick()/' "$work/rotate.lua" >"$work/fresh.lua"
cat >>"$work/fresh.lua" <<'LUA'
request = function()
  local r = pick()
  return (r:gsub("\r\n\r\n$", "\r\nConnection: close\r\n\r\n"))
end
LUA

ms() { # wrk latency ("1.23ms", "850.00us", "1.02s") -> ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; printf "%.1f", n }'
}

measure() { # label path [lua] -> sets rps p99 (ms)
  local out
  if [ -n "${3:-}" ]; then
    echo "  FLEET_PATH='$2' wrk -t2 -c$CONNECTIONS -d$DURATION --latency -s $3 $url"
    out=$(FLEET_PATH="$2" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$3" "$url")
  else
    echo "  wrk -t2 -c$CONNECTIONS -d$DURATION --latency -H 'Authorization: Bearer \$TOKEN' $url$2"
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $big" "$url$2")
  fi
  rps=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
  p99=$(ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  printf '%-52s %9s req/s  p50 %-9s p99 %-9s\n' "$1" "$rps" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "  warning: $(grep -h 'Non-2xx\|Socket errors' <<<"$out" | tr '\n' ' ')"; fi
}
met() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 <= b + 0) ? "yes" : "no" }'; }

echo "fleet: wrk -t2 -c$CONNECTIONS -d$DURATION against $url, $(nproc) cores, with a data-version writer"
writer & writer_pid=$!
spawned "$writer_pid"
measure "GET /resources?limit=50..200 (19 users, misses)" "/api/v1/resources?limit={limit}" "$work/rotate.lua"
list_rps=$rps list_p99=$p99
measure "same, a new connection per request" "/api/v1/resources?limit={limit}" "$work/fresh.lua"
fresh_rps=$rps fresh_p99=$p99
worst=$(awk -v a="$list_p99" -v b="$fresh_p99" 'BEGIN { print (a > b) ? a : b }')
bench_result fleet_list_miss "$list_rps req/s, p99 $list_p99 ms; new connection each: $fresh_rps req/s, p99 $fresh_p99 ms" "$(met "$worst" 10)"
measure "GET /projects (user in every project)" "/api/v1/projects"
bench_result fleet_projects "$rps req/s, p99 $p99 ms" "$(met "$p99" 10)"
measure "GET /costs/summary (user in every project)" "/api/v1/costs/summary"
bench_result fleet_costs "$rps req/s, p99 $p99 ms" "$(met "$p99" 50)"
measure "GET /auth/me" "/api/v1/auth/me"
kill "$writer_pid" 2>/dev/null || true

# Plans: restart the server with auto_explain on its sessions, send every hot
# read once, count the statements that scanned a hot table sequentially.
echo "fleet: plans of the hot statements (auto_explain)"
echo "  python3 bench/fleet_plans.py \$URL \$PG_URL $work/fleet.json \$SERVER_LOG"
python3 -c 'import sys; sys.path.insert(0, "bench"); import fleet_plans; fleet_plans.enable(sys.argv[1])' "$CP_TEST_PG_URL"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
"$BIN" serve --listen 127.0.0.1:0 --data-dir "$work/api" --web-dir "$work/none" >"$work/plans.out" 2>"$work/plans.log" &
serve_pid=$!
spawned "$serve_pid"
for _ in $(seq 200); do url=$(grep -o 'http://[0-9.:]*' "$work/plans.out" 2>/dev/null || true); [ -n "$url" ] && break; sleep 0.05; done
seqs=$(python3 bench/fleet_plans.py "$url" "$CP_TEST_PG_URL" "$work/fleet.json" "$work/plans.log" | tee "$work/plans.txt" | tail -1)
grep -v '^[0-9]*$' "$work/plans.txt" || true
bench_result fleet_explain "$seqs hot statements with a Seq Scan" "$([ "$seqs" = 0 ] && echo yes || echo no)"
