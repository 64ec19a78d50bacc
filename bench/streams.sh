#!/usr/bin/env bash
# Idle event streams: STREAMS (10,000) SSE streams on one run that does not
# move; database statements per second over an idle WINDOW (20 s, so one
# round of heartbeats falls inside), the server's RSS with them open, and the
# time until one new event has reached every stream. Embedded (SQLite,
# in-process hub) always; distributed (PostgreSQL + Redis pub/sub) too with
# BENCH_DISTRIBUTED=1.
#   STREAMS=10000 WINDOW=20 BENCH_DISTRIBUTED=1 bench/streams.sh
BENCH_NAME=streams
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
STREAMS="${STREAMS:-10000}"; WINDOW="${WINDOW:-20}"

# Each stream is a connection and a file descriptor, client and server.
ulimit -n "$(ulimit -Hn)"
need=$((STREAMS + 200))
[ "$(ulimit -n)" -ge $((need * 2 > 20000 ? 20000 : need)) ] || echo "streams: ulimit -n $(ulimit -n) may be short of $need" >&2
export CLOUDPLANE_MAX_CONNECTIONS=$need CLOUDPLANE_CONN_PER_IP=0 CLOUDPLANE_MAX_STREAMS_PER_USER="$STREAMS"
export CLOUDPLANE_WORKERS=0 # nothing moves the run but the bench
# The server's defaults (connection memory 16 KB); set CLOUDPLANE_CONNECTION_MEMORY to compare others.

one() { # label
  start_serve "$1"
  echo "streams ($1): rerun with"
  echo "  ulimit -n $(ulimit -n); CLOUDPLANE_MAX_CONNECTIONS=$need CLOUDPLANE_CONN_PER_IP=0 CLOUDPLANE_MAX_STREAMS_PER_USER=$STREAMS CLOUDPLANE_WORKERS=0${CLOUDPLANE_CONNECTION_MEMORY:+ CLOUDPLANE_CONNECTION_MEMORY=$CLOUDPLANE_CONNECTION_MEMORY}${CLOUDPLANE_REDIS_URL:+ CLOUDPLANE_DATABASE_URL=\$PG CLOUDPLANE_REDIS_URL=\$REDIS} $BIN serve --listen 127.0.0.1:0"
  echo "  python3 bench/streams.py \$URL \$SERVER_PID --streams $STREAMS --window $WINDOW"
  python3 bench/streams.py "$url" "$serve_pid" --streams "$STREAMS" --window "$WINDOW" >"$work/$1.json"
  python3 - "$work/$1.json" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("  %(streams)d streams opened in %(open_s)ss (%(still_open_after_idle)d still open after the idle window)" % d)
print("  idle: %(idle_statements)d statements in %(idle_window_s)ss = %(idle_statements_per_s)s/s" % d)
print("  server RSS: %(rss_mb)s MB" % d)
print("  fan-out: %(received)d/%(streams)d received; p50 %(fanout_p50_s)s s, max %(fanout_max_s)s s; %(fanout_statements)d statements" % d)
print("  fan-out CPU: server %(fanout_server_cpu_ms)s ms, client %(fanout_client_cpu_ms)s ms (2 cores shared by both)" % d)
PY
  stop_all
}

report() { # label key-suffix
  python3 - "$work/$1.json" "$2" <<'PY' >"$work/results.tsv"
import json, sys
d, sfx = json.load(open(sys.argv[1])), sys.argv[2]
ok = d["still_open_after_idle"] == d["streams"]
print("streams_idle_queries%s\t%s statements/s (%d streams, %ss window)\t%s" % (
    sfx, d["idle_statements_per_s"], d["streams"], d["idle_window_s"],
    "yes" if ok and d["idle_statements"] == 0 else "no"))
print("streams_rss%s\t%s MB\t%s" % (sfx, d["rss_mb"], "yes" if d["rss_mb"] <= 200 else "no"))
print("streams_fanout%s\t%s s to all (%d/%d; p50 %s s; %d statements, server CPU %s ms)\t%s" % (
    sfx, d["fanout_max_s"], d["received"], d["streams"], d["fanout_p50_s"], d["fanout_statements"],
    d["fanout_server_cpu_ms"],
    "yes" if d["received"] == d["streams"] and d["fanout_max_s"] <= 1.0 else "no"))
PY
  while IFS=$'\t' read -r k f m; do bench_result "$k" "$f" "$m"; done <"$work/results.tsv"
}

one embedded
report embedded ""
if [ "${BENCH_DISTRIBUTED:-0}" = 1 ]; then
  distributed_env
  one distributed
  report distributed _distributed
fi
