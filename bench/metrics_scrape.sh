#!/usr/bin/env bash
# The /metrics scrape time with N resources (default 10,000) and a succeeded
# run each in the store: SQLite, and PostgreSQL when the services env is
# present (CP_TEST_PG_ADMIN, from scripts/services.sh: a fresh database on
# it). One serve with no workers; the first scrape (cold) and p50/p95 of
# SCRAPES more (warm, one keep-alive connection) from bench/metrics_scrape.py.
# Figures only (bench_result metrics_scrape_sqlite, metrics_scrape_pg).
#
#   bench/metrics_scrape.sh        # env: N (10000), SCRAPES (200)
BENCH_NAME=metrics_scrape
source "$(dirname "$0")/lib.sh"
N="${N:-10000}"
SCRAPES="${SCRAPES:-200}"
export CLOUDPLANE_WORKERS=0 CLOUDPLANE_PROJECT_MAX_RESOURCES=0 CLOUDPLANE_PROJECT_MAX_RUNS=0

figure() { # json -> "p50 X ms, p95 Y ms warm (cold Z ms), B bytes"
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("p50 %.2f ms, p95 %.2f ms warm over %d scrapes (cold %.2f ms), %d bytes, %d resources + %d runs" % (d["p50_ms"], d["p95_ms"], d["scrapes"], d["cold_ms"], d["bytes"], d["resources"], d["runs"]))' "$1"
}

echo "metrics_scrape: SQLite, $N resources"
start_serve sqlite
out=$(python3 bench/metrics_scrape.py "$url" sqlite "$work/sqlite/cloudplane.db" "$N" "$SCRAPES")
echo "  $out"
bench_result metrics_scrape_sqlite "$(figure "$out")" -
stop_all

if [ -n "${CP_TEST_PG_ADMIN:-}" ]; then
  db="cp_metrics_bench_$$"
  psql "$CP_TEST_PG_ADMIN" -q -c "CREATE DATABASE $db"
  bench_extra_cleanup() { psql "$CP_TEST_PG_ADMIN" -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; }
  pg="${CP_TEST_PG_ADMIN%/*}/$db"
  echo "metrics_scrape: PostgreSQL, $N resources"
  CLOUDPLANE_DATABASE_URL="$pg" start_serve pg
  out=$(python3 bench/metrics_scrape.py "$url" postgres "$pg" "$N" "$SCRAPES")
  echo "  $out"
  bench_result metrics_scrape_pg "$(figure "$out")" -
  stop_all
else
  echo "metrics_scrape: PostgreSQL skipped (no CP_TEST_PG_ADMIN: source the env scripts/services.sh prints)"
fi
