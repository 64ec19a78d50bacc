#!/usr/bin/env bash
# Provider installation cost of `tofu init`: a module that needs
# cloudplane/sandbox (with its .terraform.lock.hcl), initialized N times each
# with the CLI configuration cloudplane writes (filesystem mirror + shared
# plugin cache), in a fresh data dir every time:
#
#   cold, unpacked mirror  empty plugin cache; the mirror as scripts/install-provider.sh
#                          lays it out (tofu links the unpacked dir into the cache)
#   cold, packed mirror    empty plugin cache; the mirror as `tofu providers mirror` /
#                          `cloudplane admin providers mirror` write it (zip: tofu unpacks)
#   warm cache             the plugin cache already holds the provider (every run after the first)
#
# Prints min/median/max wall ms per variant. No backend, no network.
#
#   bench/provider_init.sh [N]      N inits per variant (default 10)
#
# Env: CP_TOFU (default: scripts/install-tofu.sh).
set -euo pipefail

N=${1:-10}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOFU=${CP_TOFU:-$("$ROOT/scripts/install-tofu.sh" | tail -n 1)}
MIRROR=$("$ROOT/scripts/install-provider.sh" | tail -n 1)
VERSION=$(sed -n 's/^SANDBOX_PROVIDER_VERSION=//p' "$ROOT/versions.env" | tail -1)
PLAT="$(go env GOOS 2>/dev/null || echo linux)_$(go env GOARCH 2>/dev/null || echo amd64)"
[ -x "$TOFU" ] || { echo "provider_init: no tofu at $TOFU" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cloudplane-bench-init.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1 HOME=$WORK
unset TF_PLUGIN_CACHE_DIR TF_DATA_DIR TF_WORKSPACE TF_LOG
: >"$WORK/empty.tfrc"
export TF_CLI_CONFIG_FILE=$WORK/empty.tfrc # for the lock and version commands; each init gets its own

now_ms() { date +%s%3N; }
stats() { sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2); printf "min %5d  median %5d  max %5d ms", a[1], m, a[NR]}'; }

# The module and its lock file (hashes from the mirror, as the committed ones are made).
mkdir -p "$WORK/module"
cat >"$WORK/module/main.tf" <<EOF
terraform {
  required_providers {
    sandbox = { source = "cloudplane/sandbox", version = "$VERSION" }
  }
}
EOF
(cd "$WORK/module" && "$TOFU" providers lock -fs-mirror="$MIRROR" -platform="$PLAT" >/dev/null)

# A packed copy of the mirror: <host>/<ns>/<type>/terraform-provider-<type>_<v>_<platform>.zip
PACKED=$WORK/packed
mkdir -p "$PACKED/registry.opentofu.org/cloudplane/sandbox"
(cd "$MIRROR/registry.opentofu.org/cloudplane/sandbox/$VERSION/$PLAT" &&
  python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[2])' "$PACKED/registry.opentofu.org/cloudplane/sandbox/terraform-provider-sandbox_${VERSION}_${PLAT}.zip" \
    "terraform-provider-sandbox_v$VERSION")

cli() { # mirror cache -> config path
  local f="$WORK/cli-$RANDOM.tfrc.json"
  printf '{"disable_checkpoint":true,"plugin_cache_dir":"%s","provider_installation":[{"filesystem_mirror":[{"path":"%s"}]}]}\n' "$2" "$1" >"$f"
  echo "$f"
}

one_init() { # mirror cache -> ms
  local d="$WORK/run-$RANDOM$RANDOM" t0 cfg
  cfg=$(cli "$1" "$2")
  mkdir -p "$d"
  cp "$WORK/module/main.tf" "$WORK/module/.terraform.lock.hcl" "$d/"
  t0=$(now_ms)
  (cd "$d" && TF_CLI_CONFIG_FILE=$cfg TF_DATA_DIR=$d/data "$TOFU" init -input=false -no-color >"$d/init.log" 2>&1) ||
    { cat "$d/init.log" >&2; exit 1; }
  echo $(($(now_ms) - t0))
  grep -q "cloudplane/sandbox" "$d/init.log" || { echo "provider_init: init did not install the provider" >&2; exit 1; }
  rm -rf "$d"
}

echo "== provider_init: tofu init of a module needing cloudplane/sandbox v$VERSION ($PLAT), $N runs per variant"
echo "   $("$TOFU" version | head -n 1); $(nproc) CPUs; provider binary $(du -h "$MIRROR/registry.opentofu.org/cloudplane/sandbox/$VERSION/$PLAT/terraform-provider-sandbox_v$VERSION" | cut -f1)"

cold_unpacked=() cold_packed=() warm=()
for i in $(seq "$N"); do cold_unpacked+=("$(one_init "$MIRROR" "$WORK/cache-u$i")"); done
for i in $(seq "$N"); do cold_packed+=("$(one_init "$PACKED" "$WORK/cache-p$i")"); done
one_init "$PACKED" "$WORK/cache-warm" >/dev/null # fills it
for i in $(seq "$N"); do warm+=("$(one_init "$PACKED" "$WORK/cache-warm")"); done

printf '   cold cache, unpacked mirror  %s\n' "$(printf '%s\n' "${cold_unpacked[@]}" | stats)"
printf '   cold cache, packed mirror    %s\n' "$(printf '%s\n' "${cold_packed[@]}" | stats)"
printf '   warm plugin cache            %s\n' "$(printf '%s\n' "${warm[@]}" | stats)"
