#!/usr/bin/env bash
# Builds cloudplane's own OpenTofu providers once per version into a cache dir
# outside the repo, lays them out as a filesystem mirror (unpacked layout) and
# prints the mirror dir:
#
#   <cache>/mirror/registry.opentofu.org/cloudplane/<name>/<v>/<os>_<arch>/terraform-provider-<name>_v<v>
#
# The providers: cloudplane/sandbox (providers/sandbox, the sandbox cloud's, which
# runs use; pinned by SANDBOX_PROVIDER_VERSION) and cloudplane/cloudplane
# (providers/cloudplane, cloudplane itself as code; CLOUDPLANE_PROVIDER_VERSION).
# With arguments, only the named ones (e.g. `install-provider.sh sandbox`).
#
# Use it from a CLI config:  provider_installation { filesystem_mirror { path = "<mirror>" } }
#
# The build is reproducible: the same source, go.sum and Go toolchain (the
# `toolchain` line of providers/<name>/go.mod) give the same bytes on any machine.
# Quiet when cached. A cached build whose source no longer matches is rebuilt,
# with a note to bump the version (a different binary under the same version
# fails the h1 hash in every committed .terraform.lock.hcl).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

CACHE="${CLOUDPLANE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudplane}"
MIRROR="$CACHE/mirror"

export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || { echo "install-provider: go is required to build the providers" >&2; exit 1; }
export CGO_ENABLED=0 GOFLAGS="-mod=readonly" GOAMD64=v1 GOARM64=v8.0
unset GOEXPERIMENT
GOOS="$(go env GOOS)"; GOARCH="$(go env GOARCH)"
export GOOS GOARCH

# install <name> <VERSION_VAR>: builds providers/<name> at the version pinned
# as <VERSION_VAR> in versions.env (the same variable in the environment
# overrides it) and lays it out in the mirror.
install() {
  local PROV="$1" VAR="$2"
  local SRC="$ROOT/providers/$PROV" VERSION="${!VAR:-}"
  if [ -z "$VERSION" ]; then
    VERSION="$(sed -n "s/^$VAR=\([0-9A-Za-z.+-]*\).*/\1/p" "$ROOT/versions.env" | tail -1)"
  fi
  [ -n "$VERSION" ] || { echo "install-provider: no $VAR (versions.env)" >&2; return 1; }
  local DEST="$CACHE/providers/$PROV/$VERSION"
  local NAME="terraform-provider-${PROV}_v$VERSION"
  local BIN="$DEST/$NAME"

  # Pin everything that reaches the binary's bytes.
  local TOOLCHAIN
  TOOLCHAIN="$(sed -n 's/^toolchain[[:space:]]\{1,\}\(go[0-9.]*\)[[:space:]]*$/\1/p' "$SRC/go.mod")"
  [ -n "$TOOLCHAIN" ] || { echo "install-provider: providers/$PROV/go.mod has no toolchain line" >&2; return 1; }
  local PLATDIR="$MIRROR/registry.opentofu.org/cloudplane/$PROV/$VERSION/${GOOS}_${GOARCH}"

  # Fingerprint of everything the build reads from the repo.
  local FP
  FP="$(cd "$SRC" && { echo "$TOOLCHAIN $VERSION $GOOS/$GOARCH"
    find . -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) -print0 \
      | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)"

  lay_out_mirror() {
    if ! cmp -s "$BIN" "$PLATDIR/$NAME" 2>/dev/null; then
      mkdir -p "$PLATDIR"
      cp "$BIN" "$PLATDIR/.$NAME.tmp.$$"
      chmod 0755 "$PLATDIR/.$NAME.tmp.$$"
      mv -f "$PLATDIR/.$NAME.tmp.$$" "$PLATDIR/$NAME"
    fi
  }
  cached() { [ -x "$BIN" ] && [ "$(cat "$DEST/source.sha256" 2>/dev/null)" = "$FP" ]; }

  if cached; then lay_out_mirror; return 0; fi
  mkdir -p "$DEST"
  (
    exec 9>"$DEST/.lock"
    command -v flock >/dev/null 2>&1 && flock 9
    if cached; then lay_out_mirror; exit 0; fi # another process built it while we waited
    if [ -x "$BIN" ]; then
      echo "install-provider: providers/$PROV changed since the cached v$VERSION build; rebuilding (bump $VAR when you release a change)" >&2
    fi
    echo "install-provider: building cloudplane/$PROV v$VERSION with $TOOLCHAIN" >&2
    start=$(date +%s)
    log="$DEST/build.log"
    if ! (cd "$SRC" && GOTOOLCHAIN="$TOOLCHAIN" go build -trimpath -buildvcs=false \
      -ldflags "-s -w -buildid= -X main.version=$VERSION" \
      -o "$BIN.tmp" .) >"$log" 2>&1; then
      tail -20 "$log" >&2
      echo "install-provider: build failed (full log: $log)" >&2
      exit 1
    fi
    mv -f "$BIN.tmp" "$BIN"
    echo "$FP" >"$DEST/source.sha256"
    sha256sum "$BIN" | cut -d' ' -f1 >"$DEST/$NAME.sha256"
    lay_out_mirror
    echo "install-provider: built in $(( $(date +%s) - start ))s -> $PLATDIR/$NAME (sha256 $(cat "$DEST/$NAME.sha256"))" >&2
  )
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(sandbox cloudplane)
for p in "${want[@]}"; do
  case "$p" in
    sandbox) install sandbox SANDBOX_PROVIDER_VERSION ;;
    cloudplane) install cloudplane CLOUDPLANE_PROVIDER_VERSION ;;
    *) echo "install-provider: unknown provider $p (sandbox, cloudplane)" >&2; exit 2 ;;
  esac
done
echo "$MIRROR"
