#!/usr/bin/env bash
# The drift scheduler's cost per 1,000 resources with checks due, on SQLite
# and PostgreSQL: N active resources (default 1,000) in a project whose drift
# interval is turned on, one serve with one worker sweeping every second
# (100 checks queued per sweep). bench/drift_sweep.py sums what the sweeps
# that queued them cost the sweeping thread (statements sent, CPU time) and
# their wall time. The queued checks run meanwhile on the one worker slot
# (one at a time: CLOUDPLANE_PROJECT_ACTIVE_RUNS=1), as they would.
# Figures only (bench_result drift_sweep_sqlite, drift_sweep_pg); nothing
# here passes or fails.
#
#   bench/drift_sweep.sh        # env: N (1000)
BENCH_NAME=drift_sweep
source "$(dirname "$0")/lib.sh"
N="${N:-1000}"
export CLOUDPLANE_WORKERS=1 CLOUDPLANE_SCHEDULER_INTERVAL=1 CLOUDPLANE_DRIFT_MIN_INTERVAL_MINUTES=0
export CLOUDPLANE_PROJECT_ACTIVE_RUNS=1 CLOUDPLANE_PROJECT_MAX_RUNS=0 CLOUDPLANE_PROJECT_MAX_RESOURCES=0
export CLOUDPLANE_PROVIDER_MIRROR="${CLOUDPLANE_PROVIDER_MIRROR:-$(scripts/install-provider.sh | tail -n 1)}"

figure() { # json -> "N statements, X ms CPU (wall Y ms) per 1,000 checks queued, in K sweeps"
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%d statements, %.1f ms CPU, %d ms wall per 1,000 due (%d queued in %d sweeps)" % (d["statements_per_1000"], d["cpu_ms_per_1000"], d["wall_ms_per_1000"], d["queued"], d["sweeps"]))' "$1"
}

echo "drift_sweep: SQLite, $N resources due"
start_serve sqlite
out=$(python3 bench/drift_sweep.py "$url" "$work/sqlite.log" sqlite "$work/sqlite/cloudplane.db" "$N")
echo "  $out"
bench_result drift_sweep_sqlite "$(figure "$out")" -
stop_all

echo "drift_sweep: PostgreSQL, $N resources due"
scripts/services.sh start "$work/svc" >"$work/svc.env"
source "$work/svc.env"
export CLOUDPLANE_DATABASE_URL="$CP_TEST_PG_URL"
start_serve pg
out=$(python3 bench/drift_sweep.py "$url" "$work/pg.log" postgres "$CP_TEST_PG_URL" "$N")
echo "  $out"
bench_result drift_sweep_pg "$(figure "$out")" -
