# Shared set-up of the run benchmarks (sourced, not run): the binary and
# OpenTofu, a work dir, processes started there and stopped on exit, and
# starting `serve` / `worker`. Set BENCH_NAME first; define bench_on_spawn PID
# to see every process started, and bench_extra_cleanup for more clean-up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
BIN="${CP_BINARY:-$root/build/cloudplane}"
[ -x "$BIN" ] || ninja -C build >/dev/null
TOFU="${CP_TOFU:-$(scripts/install-tofu.sh | tail -n 1)}"
[ -x "$TOFU" ] || { echo "$BENCH_NAME: no tofu at $TOFU" >&2; exit 1; }

work=$(mktemp -d "/tmp/cp-$BENCH_NAME.XXXXXX")
chmod 755 "$work" # the postgres user must reach its data dir inside
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_all
  if declare -F bench_extra_cleanup >/dev/null; then bench_extra_cleanup; fi
  [ -d "$work/svc" ] && scripts/services.sh stop "$work/svc"
  rm -rf "$work"
}
trap cleanup EXIT

export CLOUDPLANE_TF_BINARY="$TOFU" CLOUDPLANE_MODULES_DIR="$root/terraform/modules" CLOUDPLANE_ACCESS_LOG=false
# Sign-up links are mailed: bench/signup.py reads them from this outbox.
export CLOUDPLANE_MAIL_OUTBOX="$work/outbox" PYTHONPATH="$root/bench${PYTHONPATH:+:$PYTHONPATH}"
export CLOUDPLANE_JWT_SECRET="$(head -c 33 /dev/urandom | base64)"
export CLOUDPLANE_VAULT_KEYS="k1:$(head -c 32 /dev/urandom | base64)"

spawned() { # pid
  pids+=("$1")
  if declare -F bench_on_spawn >/dev/null; then bench_on_spawn "$1"; fi
}

start_serve() { # label -> sets url, serve_pid
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$work/$1" --web-dir "$work/none" >"$work/$1.out" 2>"$work/$1.log" &
  serve_pid=$!
  spawned "$serve_pid"
  for _ in $(seq 200); do
    url=$(grep -o 'http://[0-9.:]*' "$work/$1.out" 2>/dev/null || true)
    [ -n "$url" ] && return 0
    sleep 0.05
  done
  echo "$BENCH_NAME: serve did not start:" >&2; cat "$work/$1.log" >&2; exit 1
}

start_worker() { # name -> sets worker_pid
  # The sandbox cloud is served by the API: its URL is the worker's endpoint.
  CLOUDPLANE_SANDBOX_ENDPOINT="${CLOUDPLANE_SANDBOX_ENDPOINT:-$url}" \
  CLOUDPLANE_WORKER_ID="$1" CLOUDPLANE_WORKERS=1 "$BIN" worker --data-dir "$work/$1" >/dev/null 2>"$work/$1.log" &
  worker_pid=$!
  spawned "$worker_pid"
  for _ in $(seq 200); do grep -q '"worker started"' "$work/$1.log" && return 0; sleep 0.05; done
  echo "$BENCH_NAME: worker $1 did not start:" >&2; cat "$work/$1.log" >&2; exit 1
}

distributed_env() { # starts PostgreSQL, Redis and moto on loopback; points cloudplane at them
  scripts/services.sh start "$work/svc" >"$work/svc.env"
  source "$work/svc.env"
  export CLOUDPLANE_DATABASE_URL="$CP_TEST_PG_URL" CLOUDPLANE_REDIS_URL="$CP_TEST_REDIS_URL"
  export CLOUDPLANE_STATE_BACKEND=s3 CLOUDPLANE_STATE_S3_BUCKET="$CP_TEST_S3_BUCKET" \
    CLOUDPLANE_STATE_S3_ENDPOINT="$CP_TEST_MOTO_URL" CLOUDPLANE_STATE_S3_DYNAMODB_TABLE="$CP_TEST_DDB_TABLE" \
    CLOUDPLANE_STATE_S3_PATH_STYLE=true CLOUDPLANE_STATE_S3_SKIP_CHECKS=true \
    CLOUDPLANE_STATE_S3_ACCESS_KEY_ID=test CLOUDPLANE_STATE_S3_SECRET_ACCESS_KEY=test
}

# bench_result KEY FIGURE MET: one figure for bench/results.md (make bench
# collects them through BENCH_RESULTS; bench/report.py holds each key's goal).
# FIGURE is what the table shows ("10,412 req/s, p99 9.8 ms"); MET is yes, no
# or - (no goal). A benchmark run by hand, without BENCH_RESULTS, only prints.
bench_result() {
  printf 'result: %-28s %s (goal met: %s)\n' "$1" "$2" "$3"
  if [ -n "${BENCH_RESULTS:-}" ]; then printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$BENCH_RESULTS"; fi
}
