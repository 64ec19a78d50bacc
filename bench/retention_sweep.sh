#!/usr/bin/env bash
# The retention sweep's cost, on SQLite and PostgreSQL: N finished runs
# (default 1,000) of E events each (default 100), all ended long ago, and
# N * 10 old audit rows; one serve with one worker sweeping every second with
# every retention age at 1s. bench/retention_sweep.py sums what the sweeps
# that pruned them logged (rows, statements, wall time). Figures only
# (bench_result retention_sweep_sqlite, retention_sweep_pg); nothing here
# passes or fails.
#
#   bench/retention_sweep.sh        # env: N (1000), E (100)
BENCH_NAME=retention_sweep
source "$(dirname "$0")/lib.sh"
N="${N:-1000}"
E="${E:-100}"
export CLOUDPLANE_WORKERS=1 CLOUDPLANE_SCHEDULER_INTERVAL=1
export CLOUDPLANE_RETENTION_EVENTS=1s CLOUDPLANE_RETENTION_AUDIT=1s CLOUDPLANE_RETENTION_WORKSPACES=1s

figure() { # json -> "N statements, Y ms wall per 10,000 rows (R rows in K sweeps, longest L ms)"
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%d statements, %d ms wall per 10,000 rows pruned (%d events of %d runs and %d audit rows in %d sweeps, longest %d ms)" % (d["statements_per_10000"], d["wall_ms_per_10000"], d["events"], d["runs"], d["audit"], d["sweeps"], d["longest_sweep_ms"]))' "$1"
}

echo "retention_sweep: SQLite, $N runs x $E events"
start_serve sqlite
out=$(python3 bench/retention_sweep.py "$url" "$work/sqlite.log" sqlite "$work/sqlite/cloudplane.db" "$N" "$E")
echo "  $out"
bench_result retention_sweep_sqlite "$(figure "$out")" -
stop_all

echo "retention_sweep: PostgreSQL, $N runs x $E events"
scripts/services.sh start "$work/svc" >"$work/svc.env"
source "$work/svc.env"
export CLOUDPLANE_DATABASE_URL="$CP_TEST_PG_URL"
start_serve pg
out=$(python3 bench/retention_sweep.py "$url" "$work/pg.log" postgres "$CP_TEST_PG_URL" "$N" "$E")
echo "  $out"
bench_result retention_sweep_pg "$(figure "$out")" -
