#!/usr/bin/env bash
# What the plan detail costs: a run that waits for approval runs one more
# tofu process after `plan -out`, `show -json plan.bin`, to read each
# attribute's before and after (engine/plan_json.c). On a sandbox VM already
# created, N interleaved resize plans (plan -out) and their show -json, by
# hand in a temp dir outside bubblewrap; median wall and CPU (perf stat
# task-clock of the command and every process under it, else user+sys from
# /usr/bin/time) of each, and show's share of the plan. Figures only
# (bench_result plan_show); nothing here passes or fails.
#
#   bench/plan_show.sh [N]        N plans and shows (default 7)
#
# Env: CP_TOFU (default: scripts/install-tofu.sh), CP_BINARY (the sandbox
# cloud), CLOUDPLANE_PROVIDER_MIRROR.
set -euo pipefail

N=${1:-7}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOFU=${CP_TOFU:-$("$ROOT/scripts/install-tofu.sh" | tail -n 1)}
[ -x "$TOFU" ] || { echo "plan_show: no tofu at $TOFU" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cloudplane-bench.XXXXXX")
# shellcheck source=scripts/sandbox-cloud.sh
. "$ROOT/scripts/sandbox-cloud.sh"
trap 'sandbox_cloud_stop; rm -rf "$WORK"' EXIT
export CP_BINARY=${CP_BINARY:-$ROOT/build/cloudplane}
MIRROR=${CLOUDPLANE_PROVIDER_MIRROR:-$("$ROOT/scripts/install-provider.sh" | tail -n 1)}
sandbox_cloud_start "$WORK" >&2 || exit 1

bench_result() {
  printf 'result: %-28s %s (goal met: %s)\n' "$1" "$2" "$3"
  if [ -n "${BENCH_RESULTS:-}" ]; then printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$BENCH_RESULTS"; fi
}
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%d\n", (a[NR/2]+a[NR/2+1])/2}'; }
now_ms() { date +%s%3N; }

export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1 GOMAXPROCS=1 # GOMAXPROCS as the runner sets it
printf 'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n  }\n}\n' "$MIRROR" >"$WORK/mirror.tfrc"
export TF_CLI_CONFIG_FILE=$WORK/mirror.tfrc
unset TF_PLUGIN_CACHE_DIR TF_DATA_DIR TF_WORKSPACE TF_LOG

d=$WORK/vm
mkdir -p "$d"
cp "$ROOT"/terraform/modules/sandbox_vm/*.tf "$ROOT"/terraform/modules/sandbox_vm/.terraform.lock.hcl "$d/"
vars() { # size
  printf '{"resource_id":"0123456789abcdefghjkmnpqrs","name":"bench-vm","region":"sandbox-east-1","size":"%s","ssh_public_key":"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench@cloudplane","allowed_cidrs":["10.0.0.0/8"],"tags":{"owner":"bench"}}\n' "$1" >"$d/terraform.tfvars.json"
}
cd "$d"
vars sandbox.small
"$TOFU" init -input=false -no-color >/dev/null
"$TOFU" apply -auto-approve -input=false -no-color >/dev/null
vars sandbox.large

have_perf=0
perf stat -x, -e task-clock -o /dev/null true 2>/dev/null && have_perf=1
measure() { # command... -> "wall_ms cpu_ms"
  local t0 t1 cpu
  t0=$(now_ms)
  if [ $have_perf = 1 ]; then
    perf stat -x, -e task-clock -o "$WORK/cpu" "$@" >/dev/null
    cpu=$(awk -F, '/task-clock/ {printf "%d\n", $1}' "$WORK/cpu")
  else
    /usr/bin/time -f '%U %S' -o "$WORK/cpu" "$@" >/dev/null
    cpu=$(awk '{printf "%d\n", ($1 + $2) * 1000}' "$WORK/cpu")
  fi
  t1=$(now_ms)
  echo "$((t1 - t0)) $cpu"
}

echo "== plan_show: $N resize plans of sandbox_vm and their show -json; $("$TOFU" version | head -n 1); $(nproc) CPUs"
measure "$TOFU" show -json plan.bin >/dev/null 2>&1 || true # warm-up (no plan yet is fine)
pw="" pc="" sw="" sc=""
for _ in $(seq 1 "$N"); do
  read -r w c <<<"$(measure "$TOFU" plan -input=false -no-color -out=plan.bin)"
  pw="$pw $w" pc="$pc $c"
  read -r w c <<<"$(measure "$TOFU" show -json plan.bin)"
  sw="$sw $w" sc="$sc $c"
done
med() { printf '%s\n' $1 | median; }
PW=$(med "$pw") PC=$(med "$pc") SW=$(med "$sw") SC=$(med "$sc")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "plan -out:      wall $PW ms, CPU $PC ms (median of $N)"
echo "show -json:     wall $SW ms, CPU $SC ms (median of $N)"
"$TOFU" destroy -auto-approve -input=false -no-color >/dev/null
bench_result plan_show "show -json $SW ms wall, $SC ms CPU; $((100 * SW / PW)) % of the plan's wall, $((100 * SC / PC)) % of its CPU" -
