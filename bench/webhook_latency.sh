#!/usr/bin/env bash
# Webhook delivery latency, event commit to receipt at a local receiver
# (bench/webhook_latency.py: N signed test pings, one every GAP s, each its
# own event). Embedded: one serve (SQLite), whose commit wakes its delivery
# loop at once. Distributed: serve (no workers) and one `cloudplane worker`
# on PostgreSQL + Redis; the API's commit cannot wake another process's loop,
# which polls the outbox every second. Figures only (bench_result
# webhook_latency_embedded, webhook_latency_distributed).
#
#   bench/webhook_latency.sh        # env: N (200), GAP (0.02), DISTRIBUTED (1)
BENCH_NAME=webhook_latency
source "$(dirname "$0")/lib.sh"
N="${N:-200}"
GAP="${GAP:-0.02}"
export CLOUDPLANE_WEBHOOK_ALLOW_CIDRS=127.0.0.1/32
export CLOUDPLANE_PROVIDER_MIRROR="${CLOUDPLANE_PROVIDER_MIRROR:-$(scripts/install-provider.sh | tail -n 1)}"

figure() { # json -> "p50 X ms, p95 Y ms (max Z ms, n of N)"
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("p50 %.1f ms, p95 %.1f ms (max %.1f ms; %d of %d received)" % (d["p50_ms"], d["p95_ms"], d["max_ms"], d["n"], d["of"]))' "$1"
}

echo "webhook_latency: embedded (SQLite), $N pings"
start_serve embedded
out=$(python3 bench/webhook_latency.py "$url" "$N" "$GAP" embedded@example.com)
bench_result webhook_latency_embedded "$(figure "$out")" -
stop_all

if [ "${DISTRIBUTED:-1}" = 1 ]; then
  echo "webhook_latency: distributed (PostgreSQL, Redis, 1 worker), $N pings"
  distributed_env
  CLOUDPLANE_WORKERS=0 start_serve api
  start_worker w1
  out=$(python3 bench/webhook_latency.py "$url" "$N" "$GAP" distributed@example.com)
  bench_result webhook_latency_distributed "$(figure "$out")" -
fi
