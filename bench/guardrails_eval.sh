#!/usr/bin/env bash
# Guardrail evaluation time, every rule on (clouds, regions, sizes, vCPUs per
# resource and per project, three required tags with patterns, cost, budget,
# public buckets): per order, as the API does it for each order and each call
# of the order form's check (the stored rules parsed and their patterns
# compiled again, evaluated, the checks serialised), and per plan, as the
# worker does it (evaluated on a plan summary with attributes, serialised).
# The order figure is also given with the rules from the per-project cache
# (engine/guardrails_cache.c), as the API reads them since.
# N distinct orders and plans (different clouds, regions, sizes, tags, costs,
# public or not, replace or update), made before timing: no cached input.
# Figures only; nothing here passes or fails.
#
#   N=20000 bench/guardrails_eval.sh      env: N (20000), BUILD (build)
N="${N:-20000}"
BENCH_NAME=guardrails_eval
source "$(dirname "$0")/lib.sh"
BUILD="${BUILD:-build}"
ninja -C "$BUILD" cp-guardrails-bench >/dev/null || { echo "cannot build cp-guardrails-bench"; exit 1; }
out=$("$BUILD/cp-guardrails-bench" "$N") || exit 1
echo "$out"
order=$(echo "$out" | sed -n 's/^order (.*p50=\([0-9.]*\) us p99=\([0-9.]*\) us.*/p50 \1 us, p99 \2 us/p')
cached=$(echo "$out" | sed -n 's/^order cached.*p50=\([0-9.]*\) us p99=\([0-9.]*\) us.*/p50 \1 us, p99 \2 us/p')
plan=$(echo "$out" | sed -n 's/^plan.*p50=\([0-9.]*\) us p99=\([0-9.]*\) us.*/p50 \1 us, p99 \2 us/p')
bench_result guardrails_order "$order per order (rules parsed each time: the worst case, a cache miss)" -
bench_result guardrails_order_cached "$cached per order (rules from the cache)" -
bench_result guardrails_plan "$plan per plan" -
