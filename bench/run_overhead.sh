#!/usr/bin/env bash
# Engine overhead: N create+destroy cycles of the sandbox_vm module through the
# engine runner (backend/tools/cp_engine_run.c) against the same tofu commands
# typed by hand in a shell loop (init, plan -out, apply plan, destroy
# -auto-approve in a temp dir). Prints medians, ratios and overhead in ms, and
# init times with and without caches.
#
#   bench/run_overhead.sh [N]        N cycles per variant (default 5)
#
# The sandbox_vm module's provider talks to a sandbox cloud started here
# (scripts/sandbox-cloud.sh: `cloudplane serve` on a free loopback port) and
# comes from the mirror of scripts/install-provider.sh.
#
# Env: CP_TOFU (default: scripts/install-tofu.sh), BUILD (default: build).
set -euo pipefail

N=${1:-5}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
TOFU=${CP_TOFU:-$("$ROOT/scripts/install-tofu.sh" | tail -n 1)}
[ -x "$TOFU" ] || { echo "run_overhead: no tofu at $TOFU" >&2; exit 1; }

if [ ! -x "$BUILD/cp-engine-run" ]; then
  [ -f "$BUILD/build.ninja" ] || cmake -S "$ROOT/backend" -B "$BUILD" -G Ninja >/dev/null
  ninja -C "$BUILD" cp-engine-run >/dev/null
fi
DRIVER=$BUILD/cp-engine-run

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cloudplane-bench.XXXXXX")
# shellcheck source=scripts/sandbox-cloud.sh
. "$ROOT/scripts/sandbox-cloud.sh"
trap 'sandbox_cloud_stop; rm -rf "$WORK"' EXIT
export CP_BINARY=${CP_BINARY:-$BUILD/cloudplane}
[ -x "$CP_BINARY" ] || ninja -C "$BUILD" cloudplane >/dev/null
MIRROR=${CLOUDPLANE_PROVIDER_MIRROR:-$("$ROOT/scripts/install-provider.sh")}
export CLOUDPLANE_PROVIDER_MIRROR=$MIRROR
sandbox_cloud_start "$WORK" >&2 || exit 1

now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%d\n", (a[NR/2]+a[NR/2+1])/2}'; }
rid() { python3 -c 'import random,string; print("".join(random.choice(string.digits+string.ascii_lowercase) for _ in range(26)))'; }

# The hand-typed baseline gets a clean environment too, so both sides pay the same.
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
# Providers only from the mirror, as the platform installs them.
printf 'provider_installation {\n  filesystem_mirror {\n    path = "%s"\n  }\n}\n' "$MIRROR" >"$WORK/mirror.tfrc"
export TF_CLI_CONFIG_FILE=$WORK/mirror.tfrc
unset TF_PLUGIN_CACHE_DIR TF_DATA_DIR TF_WORKSPACE TF_LOG

ED25519="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench@cloudplane"
tfvars() {
  printf '{"resource_id":"%s","name":"bench-vm","region":"sandbox-east-1","size":"sandbox.small","ssh_public_key":"%s","allowed_cidrs":[]}\n' "$1" "$ED25519"
}

echo "== run_overhead: $N create+destroy cycles of sandbox_vm; $("$TOFU" version | head -n 1); $(nproc) CPUs"

# ---- one cycle each way
hand_cycle() { # -> ms
  local d="$WORK/hand-$1"
  mkdir -p "$d"
  cp "$ROOT"/terraform/modules/sandbox_vm/*.tf "$ROOT"/terraform/modules/sandbox_vm/.terraform.lock.hcl "$d/"
  tfvars "$(rid)" >"$d/terraform.tfvars.json"
  local t0
  t0=$(now_ms)
  (
    cd "$d"
    "$TOFU" init -input=false -no-color >/dev/null
    "$TOFU" plan -input=false -no-color -out=plan.bin >/dev/null
    "$TOFU" apply -input=false -no-color plan.bin >/dev/null
    "$TOFU" destroy -auto-approve -input=false -no-color >/dev/null
  )
  echo $(($(now_ms) - t0))
}

# saved-plan: the approval path (init, plan -out, show -json, apply plan) per operation.
# saved-plan+init-cache: the same with the shared init (what the worker does).
# fast: shared init + one apply -auto-approve per operation (no approval needed).
VARIANTS="saved-plan saved-plan-nobwrap saved-plan+init-cache fast fast-nobwrap"
flags() {
  case $1 in
    saved-plan) ;;
    saved-plan-nobwrap) echo --no-bwrap ;;
    saved-plan+init-cache) echo --init-cache ;;
    fast) echo --fast --init-cache ;;
    fast-nobwrap) echo --fast --init-cache --no-bwrap ;;
  esac
}
runner_cycle() { # variant -> ms, as the driver measures it (its own start-up excluded)
  # shellcheck disable=SC2046
  "$DRIVER" --tofu "$TOFU" --modules "$ROOT/terraform/modules" --data "$WORK/$1" $(flags "$1") cycles 1 \
    2>"$WORK/$1.err" | awk '{print $5}' || { echo "$1 failed:" >&2; cat "$WORK/$1.err" >&2; exit 1; }
}

# Warm-up (page cache, the shared init), not counted.
hand_cycle warm >/dev/null
for v in $VARIANTS; do runner_cycle "$v" >/dev/null; done

# Interleaved, so that load from anything else on the machine hits every variant alike.
declare -A times
hand=()
for i in $(seq 1 "$N"); do
  hand+=("$(hand_cycle "$i")")
  for v in $VARIANTS; do times[$v]="${times[$v]:-} $(runner_cycle "$v")"; done
done
hand_med=$(printf '%s\n' "${hand[@]}" | median)
printf '%-58s median %5d ms  [%s]\n' "by hand (init, plan -out, apply plan, destroy -auto-approve):" "$hand_med" "${hand[*]}"
for v in $VARIANTS; do
  med=$(printf '%s\n' ${times[$v]} | median)
  ratio=$(awk -v a="$med" -v b="$hand_med" 'BEGIN {printf "%.2f", a / b}')
  printf '%-58s median %5d ms  ratio %s  overhead %+d ms  [%s]\n' "runner, $v:" "$med" "$ratio" $((med - hand_med)) "${times[$v]# }"
done

# ---- init
init_times() { # label, extra env...
  local label=$1
  shift
  local t=()
  for i in $(seq 1 "$N"); do
    d="$WORK/init-$label-$i"
    mkdir -p "$d"
    cp "$ROOT"/terraform/modules/sandbox_vm/*.tf "$ROOT"/terraform/modules/sandbox_vm/.terraform.lock.hcl "$d/"
    t0=$(now_ms)
    (cd "$d" && env "$@" "$TOFU" init -input=false -no-color >/dev/null)
    t+=($(($(now_ms) - t0)))
  done
  printf '%-58s median %5d ms  [%s]\n' "tofu init, $label:" "$(printf '%s\n' "${t[@]}" | median)" "${t[*]}"
}
mkdir -p "$WORK/plugin-cache"
init_times "fresh data dir, no plugin cache (from the mirror)" TF_PLUGIN_CACHE_DIR=
init_times "fresh data dir, warm TF_PLUGIN_CACHE_DIR" TF_PLUGIN_CACHE_DIR="$WORK/plugin-cache"
echo "runner shared init cache (--init-cache): init runs once per module+backend+binary; later runs start no init process"
