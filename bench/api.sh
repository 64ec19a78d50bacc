#!/usr/bin/env bash
# API throughput: wrk against authenticated GET /api/v1/auth/me (64 connections,
# 10 s by default), printing req/s, p50, p99 and the server's RSS. Figures only;
# nothing here passes or fails.
#   DURATION=10s CONNECTIONS=64 THREADS=2 bench/api.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"; CONNECTIONS="${CONNECTIONS:-64}"; THREADS="${THREADS:-2}"
BIN="${CP_BINARY:-build/cloudplane}"
command -v wrk >/dev/null || { echo "bench: wrk is required (apt-get install wrk)" >&2; exit 1; }
[ -x "$BIN" ] || make --no-print-directory build

work=$(mktemp -d /tmp/cp-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --web-dir "$work/none" >"$work/out" 2>"$work/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port"
token=$(curl -sf -X POST "$url/api/v1/auth/signup" -H 'Content-Type: application/json' \
  -d '{"email":"bench@example.com","password":"bench-password","name":"Bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

run() { # label path
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $token" "$url$2")
  local rps p50 p99 rss
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  rss=$(awk '/VmRSS/ {print $2 " " $3}' "/proc/$pid/status")
  printf '%-34s %10s req/s   p50 %-8s p99 %-8s RSS %s\n' "$1" "$rps" "$p50" "$p99" "$rss"
  if grep -q "Non-2xx" <<<"$out"; then echo "  warning: $(grep Non-2xx <<<"$out")"; fi
}

echo "cloudplane API benchmark: $CONNECTIONS connections, $THREADS wrk threads, $DURATION, $(nproc) cores"
run "GET /api/v1/auth/me (sqlite)" /api/v1/auth/me
