#!/usr/bin/env bash
# make bench: every benchmark in one go, then bench/results.md, a table of
# each figure next to its goal (bench/report.py). A benchmark that fails is
# named there and its figures read "not measured"; the others still run.
#
#   bench/all.sh                  env: BENCH_ONLY="api fleet" to run some of them
set -uo pipefail
cd "$(dirname "$0")/.."
export BENCH_RESULTS
BENCH_RESULTS=$(mktemp /tmp/cp-bench-results.XXXXXX)
export CP_TOFU="${CP_TOFU:-$(scripts/install-tofu.sh | tail -n 1)}"
export CLOUDPLANE_PROVIDER_MIRROR="${CLOUDPLANE_PROVIDER_MIRROR:-$(scripts/install-provider.sh | tail -n 1)}"
# name, command, time limit: together well under 15 minutes on 2 cores.
benches=(
  "api|BENCH_PG=1 bench/api.sh|240"
  "fleet|bench/fleet.sh|180"
  "streams|bench/streams.sh|150"
  "run_overhead|bench/run_overhead.sh 5|150"
  "concurrency|bench/concurrency.sh|300"
  "idle_rss|bench/idle_rss.sh|90"
  "drift_sweep|bench/drift_sweep.sh|120"
  "metrics_scrape|bench/metrics_scrape.sh|90"
  "retention_sweep|bench/retention_sweep.sh|180"
  "webhook_latency|bench/webhook_latency.sh|150"
  "cli_startup|bench/cli_startup.sh|90"
  "backup|bench/backup.sh|150"
  "sso_login|bench/sso_login.sh|120"
)
failed=()
start=$(date +%s)
for b in "${benches[@]}"; do
  IFS='|' read -r name cmd limit <<<"$b"
  if [ -n "${BENCH_ONLY:-}" ] && ! grep -qw "$name" <<<"$BENCH_ONLY"; then continue; fi
  echo "== $name: $cmd"
  t0=$(date +%s)
  if ! timeout --kill-after=10 "$limit" bash -c "$cmd"; then failed+=("$name"); echo "== $name FAILED"; fi
  echo "== $name: $(($(date +%s) - t0)) s"
done
echo "== all benchmarks: $(($(date +%s) - start)) s"
python3 bench/report.py "$BENCH_RESULTS" bench/results.md "${failed[@]}"
rm -f "$BENCH_RESULTS"
