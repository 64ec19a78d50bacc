#!/usr/bin/env bash
# The API at fleet scale on PostgreSQL: 100,000 resources across 1,000
# projects (bench/fleet.py loads them with COPY), then wrk against the pages
# a user meets, every list request a cache miss. Figures only; nothing here
# passes or fails.
#
#   bench/fleet.sh        # env: PROJECTS (1000), PER_PROJECT (100), DURATION (10s), CONNECTIONS (16)
#
# Cache misses: each request picks one of 17 users (one who sees every
# resource, 16 who see 100 each) and a page size from 50 to 200, and a
# writer bumps the data version 20 times a second (as runs changing status
# do), so a rendered page is rarely reused.
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

measure() { # label path [lua]
  local out
  if [ -n "${3:-}" ]; then
    out=$(FLEET_PATH="$2" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$3" "$url")
  else
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $big" "$url$2")
  fi
  printf '%-52s %9s req/s  p50 %-9s p99 %-9s\n' "$1" "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")"
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "  warning: $(grep -h 'Non-2xx\|Socket errors' <<<"$out" | tr '\n' ' ')"; fi
}

echo "fleet: wrk -t2 -c$CONNECTIONS -d$DURATION against $url, $(nproc) cores, with a data-version writer"
writer & writer_pid=$!
spawned "$writer_pid"
measure "GET /resources?limit=50..200 (17 users, misses)" "/api/v1/resources?limit={limit}" "$work/rotate.lua"
measure "GET /projects (user in every project)" "/api/v1/projects"
measure "GET /costs/summary (user in every project)" "/api/v1/costs/summary"
measure "GET /auth/me" "/api/v1/auth/me"
