#!/usr/bin/env bash
# API throughput with wrk (64 connections, 10 s by default), printing req/s,
# p50, p99 and the server's RSS, for:
#   - authenticated GET /api/v1/auth/me
#   - authenticated GET /api/v1/resources?limit=50 over 1,000 resources
# on SQLite, and on PostgreSQL too when BENCH_PG=1 (started on loopback by
# scripts/services.sh). Figures only; nothing here passes or fails.
#   DURATION=10s CONNECTIONS=64 THREADS=2 BENCH_PG=1 bench/api.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"; CONNECTIONS="${CONNECTIONS:-64}"; THREADS="${THREADS:-2}"
BIN="${CP_BINARY:-build/cloudplane}"
command -v wrk >/dev/null || { echo "bench: wrk is required (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || make --no-print-directory build

work=$(mktemp -d /tmp/cp-bench.XXXXXX)
chmod 755 "$work" # the postgres user must reach its data dir inside
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -d "$work/svc" ] && scripts/services.sh stop "$work/svc"
  rm -rf "$work"
}
trap cleanup EXIT

start_server() { # label [database-url]
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  # No workers: the resources stay queued, which is all a list needs.
  env CLOUDPLANE_DATABASE_URL="${2:-}" CLOUDPLANE_WORKERS=0 CLOUDPLANE_MAIL_OUTBOX="$work/outbox" "$BIN" serve --listen "127.0.0.1:$port" \
    --data-dir "$work/data-$1" --web-dir "$work/none" >"$work/out" 2>"$work/log-$1" &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  url="http://127.0.0.1:$port"
  token=$(CLOUDPLANE_MAIL_OUTBOX="$work/outbox" PYTHONPATH="bench" python3 - "$url" <<'PY'
import sys, requests
from signup import signup
url = sys.argv[1]
s = requests.Session()
tok = signup(s, url)  # bench/signup.py: through the mailed link
s.headers["Authorization"] = "Bearer " + tok
p = s.post(url + "/api/v1/projects", json={"name": "bench"}).json()
a = s.post(url + "/api/v1/projects/%s/accounts" % p["id"], json={"name": "sb", "cloud": "sandbox"}).json()
for i in range(1000):
    r = s.post(url + "/api/v1/resources", json={"project_id": p["id"], "account_id": a["id"], "kind": "storage",
                                                "name": "bucket-%04d" % i, "region": "sandbox-east-1",
                                                "config": {"expected_gb": 10}})
    assert r.status_code == 202, r.text
print(tok)
PY
)
}

run() { # label path
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $token" "$url$2")
  local rps p50 p99 rss
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  rss=$(awk '/VmRSS/ {print $2 " " $3}' "/proc/$pid/status")
  printf '%-44s %10s req/s   p50 %-8s p99 %-8s RSS %s\n' "$1" "$rps" "$p50" "$p99" "$rss"
  if grep -q "Non-2xx" <<<"$out"; then echo "  warning: $(grep Non-2xx <<<"$out")"; fi
}

echo "cloudplane API benchmark: $CONNECTIONS connections, $THREADS wrk threads, $DURATION, $(nproc) cores"
start_server sqlite
run "GET /api/v1/auth/me (sqlite)" /api/v1/auth/me
run "GET /api/v1/resources?limit=50 (sqlite, 1000)" "/api/v1/resources?limit=50"
if [ "${BENCH_PG:-0}" = 1 ]; then
  scripts/services.sh start "$work/svc" >"$work/svc.env"
  source "$work/svc.env"
  start_server postgres "$CP_TEST_PG_URL"
  run "GET /api/v1/auth/me (postgres)" /api/v1/auth/me
  run "GET /api/v1/resources?limit=50 (postgres, 1000)" "/api/v1/resources?limit=50"
fi
