#!/usr/bin/env bash
# Engine overhead: N create+destroy cycles of the sandbox_vm module through the
# engine runner (backend/tools/cp_engine_run.c) against the same tofu commands
# typed by hand in a shell loop (init, plan -out, apply plan, destroy
# -auto-approve in a temp dir). Prints median wall and CPU (perf stat
# task-clock of every process under the cycle) per variant and their ratios to
# the hand-typed cycle, the bench_result figures approval_ratio and
# fast_ratio, and init times with and without caches.
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
# bench_result KEY FIGURE MET, as bench/lib.sh has it (this script does not start a server, so it does not source lib.sh).
bench_result() {
  printf 'result: %-28s %s (goal met: %s)\n' "$1" "$2" "$3"
  if [ -n "${BENCH_RESULTS:-}" ]; then printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$BENCH_RESULTS"; fi
}
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
echo "rerun: CP_TOFU=$TOFU CLOUDPLANE_PROVIDER_MIRROR=$MIRROR bench/run_overhead.sh $N"

# CPU of a command and every process under it (tofu, providers, bwrap), in ms:
# perf stat's task-clock follows forks, and unlike wall time it hardly moves
# with load from elsewhere on the machine.
have_perf=0
perf stat -x, -e task-clock -o /dev/null true 2>/dev/null && have_perf=1
cpu_of() { # file -> ms
  awk -F, '/task-clock/ {printf "%d\n", $1}' "$1"
}

# ---- one cycle each way
hand_cycle() { # label -> "wall_ms cpu_ms"
  local d="$WORK/hand-$1"
  mkdir -p "$d"
  cp "$ROOT"/terraform/modules/sandbox_vm/*.tf "$ROOT"/terraform/modules/sandbox_vm/.terraform.lock.hcl "$d/"
  tfvars "$(rid)" >"$d/terraform.tfvars.json"
  cat >"$d/cycle.sh" <<EOS
set -e
cd "$d"
"$TOFU" init -input=false -no-color >/dev/null
"$TOFU" plan -input=false -no-color -out=plan.bin >/dev/null
"$TOFU" apply -input=false -no-color plan.bin >/dev/null
"$TOFU" destroy -auto-approve -input=false -no-color >/dev/null
EOS
  local t0 t1
  t0=$(now_ms)
  if [ $have_perf = 1 ]; then perf stat -x, -e task-clock -o "$d/cpu" bash "$d/cycle.sh"; else bash "$d/cycle.sh"; fi
  t1=$(now_ms)
  echo "$((t1 - t0)) $([ $have_perf = 1 ] && cpu_of "$d/cpu" || echo 0)"
}

# approval: the approval path per operation as a worker runs it (plan -out on
# one handle, the saved plan's bytes applied by a fresh one), shared init.
# approval-init-per-run: the same with init in every run dir.
# fast: shared init + one apply -auto-approve per operation (no approval needed).
VARIANTS="approval approval-nobwrap approval-init-per-run fast fast-nobwrap"
flags() {
  case $1 in
    approval) echo --approval --init-cache ;;
    approval-nobwrap) echo --approval --init-cache --no-bwrap ;;
    approval-init-per-run) echo --approval ;;
    fast) echo --fast --init-cache ;;
    fast-nobwrap) echo --fast --init-cache --no-bwrap ;;
  esac
}
runner_cycle() { # variant -> "wall_ms cpu_ms": wall as the driver measures it (its own start-up excluded)
  local out cpu=0
  # shellcheck disable=SC2046
  if [ $have_perf = 1 ]; then
    out=$(perf stat -x, -e task-clock -o "$WORK/$1.cpu" "$DRIVER" --tofu "$TOFU" --modules "$ROOT/terraform/modules" \
      --data "$WORK/$1" $(flags "$1") cycles 1 2>"$WORK/$1.err") || { echo "$1 failed:" >&2; cat "$WORK/$1.err" >&2; exit 1; }
    cpu=$(cpu_of "$WORK/$1.cpu")
  else
    out=$("$DRIVER" --tofu "$TOFU" --modules "$ROOT/terraform/modules" --data "$WORK/$1" $(flags "$1") cycles 1 \
      2>"$WORK/$1.err") || { echo "$1 failed:" >&2; cat "$WORK/$1.err" >&2; exit 1; }
  fi
  echo "$(awk '{print $5}' <<<"$out") $cpu"
}

# Warm-up (page cache, the shared init), not counted.
hand_cycle warm >/dev/null
for v in $VARIANTS; do runner_cycle "$v" >/dev/null; done

# Interleaved, so that load from anything else on the machine hits every variant alike.
declare -A wall cpu
for i in $(seq 1 "$N"); do
  read -r w c <<<"$(hand_cycle "$i")"
  wall[hand]="${wall[hand]:-} $w"; cpu[hand]="${cpu[hand]:-} $c"
  for v in $VARIANTS; do
    read -r w c <<<"$(runner_cycle "$v")"
    wall[$v]="${wall[$v]:-} $w"; cpu[$v]="${cpu[$v]:-} $c"
  done
done
med() { printf '%s\n' $1 | median; }
hand_wall=$(med "${wall[hand]}")
hand_cpu=$(med "${cpu[hand]}")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (wall figures move with it; CPU figures much less)"
printf '%-48s wall %5d ms  cpu %5d ms  [wall %s]\n' "by hand (init, plan -out, apply plan, destroy):" \
  "$hand_wall" "$hand_cpu" "${wall[hand]# }"
declare -A ratio cratio
for v in $VARIANTS; do
  mw=$(med "${wall[$v]}")
  mc=$(med "${cpu[$v]}")
  ratio[$v]=$(awk -v a="$mw" -v b="$hand_wall" 'BEGIN {printf "%.2f", a / b}')
  cratio[$v]=$(awk -v a="$mc" -v b="$hand_cpu" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')
  printf '%-48s wall %5d ms  ratio %s  cpu %5d ms  ratio %s  [wall %s]\n' "runner, $v:" "$mw" "${ratio[$v]}" \
    "$mc" "${cratio[$v]}" "${wall[$v]# }"
done
met() { awk -v r="$1" -v g="$2" 'BEGIN {print (r <= g) ? "yes" : "no"}'; }
bench_result approval_ratio "${ratio[approval]}x hand by wall (cpu ${cratio[approval]}x; ${hand_wall} ms by hand per create+destroy, N=$N)" \
  "$(met "${ratio[approval]}" 1.15)"
bench_result fast_ratio "${ratio[fast]}x hand by wall (cpu ${cratio[fast]}x, N=$N)" "$(met "${ratio[fast]}" 0.70)"

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
