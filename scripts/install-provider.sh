#!/usr/bin/env bash
# Builds the cloudplane/sandbox OpenTofu provider (providers/sandbox) once per
# version into a cache dir outside the repo, lays it out as a filesystem
# mirror (unpacked layout) and prints the mirror dir:
#
#   <cache>/mirror/registry.opentofu.org/cloudplane/sandbox/<v>/<os>_<arch>/terraform-provider-sandbox_v<v>
#
# Use it from a CLI config:  provider_installation { filesystem_mirror { path = "<mirror>" } }
#
# The build is reproducible: the same source, go.sum and Go toolchain (the
# `toolchain` line of providers/sandbox/go.mod) give the same bytes on any machine.
# Quiet when cached. A cached build whose source no longer matches is rebuilt,
# with a note to bump the version (a different binary under the same version
# fails the h1 hash in every committed .terraform.lock.hcl).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/providers/sandbox"

# The pin lives in versions.env; SANDBOX_PROVIDER_VERSION in the environment overrides it.
if [ -z "${SANDBOX_PROVIDER_VERSION:-}" ]; then
  SANDBOX_PROVIDER_VERSION="$(sed -n 's/^SANDBOX_PROVIDER_VERSION=\([0-9A-Za-z.+-]*\).*/\1/p' "$ROOT/versions.env" | tail -1)"
fi
VERSION="${SANDBOX_PROVIDER_VERSION:?install-provider: no SANDBOX_PROVIDER_VERSION (versions.env)}"

CACHE="${CLOUDPLANE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudplane}"
DEST="$CACHE/providers/sandbox/$VERSION"
NAME="terraform-provider-sandbox_v$VERSION"
BIN="$DEST/$NAME"
MIRROR="$CACHE/mirror"

export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || { echo "install-provider: go is required to build the sandbox provider" >&2; exit 1; }

# Pin everything that reaches the binary's bytes.
TOOLCHAIN="$(sed -n 's/^toolchain[[:space:]]\{1,\}\(go[0-9.]*\)[[:space:]]*$/\1/p' "$SRC/go.mod")"
[ -n "$TOOLCHAIN" ] || { echo "install-provider: providers/sandbox/go.mod has no toolchain line" >&2; exit 1; }
export GOTOOLCHAIN="$TOOLCHAIN" CGO_ENABLED=0 GOFLAGS="-mod=readonly" GOAMD64=v1 GOARM64=v8.0
unset GOEXPERIMENT
GOOS="$(go env GOOS)"; GOARCH="$(go env GOARCH)"
export GOOS GOARCH
PLATDIR="$MIRROR/registry.opentofu.org/cloudplane/sandbox/$VERSION/${GOOS}_${GOARCH}"

# Fingerprint of everything the build reads from the repo.
fingerprint() {
  (cd "$SRC" && { echo "$TOOLCHAIN $VERSION $GOOS/$GOARCH"
    find . -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) -print0 \
      | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)
}
FP="$(fingerprint)"

lay_out_mirror() {
  if ! cmp -s "$BIN" "$PLATDIR/$NAME" 2>/dev/null; then
    mkdir -p "$PLATDIR"
    cp "$BIN" "$PLATDIR/.$NAME.tmp.$$"
    chmod 0755 "$PLATDIR/.$NAME.tmp.$$"
    mv -f "$PLATDIR/.$NAME.tmp.$$" "$PLATDIR/$NAME"
  fi
}

cached() { [ -x "$BIN" ] && [ "$(cat "$DEST/source.sha256" 2>/dev/null)" = "$FP" ]; }

if cached; then
  lay_out_mirror
  echo "$MIRROR"; exit 0
fi

mkdir -p "$DEST"
exec 9>"$DEST/.lock"
command -v flock >/dev/null 2>&1 && flock 9
if cached; then # another process built it while we waited
  lay_out_mirror
  echo "$MIRROR"; exit 0
fi
if [ -x "$BIN" ]; then
  echo "install-provider: providers/sandbox changed since the cached v$VERSION build; rebuilding (bump SANDBOX_PROVIDER_VERSION when you release a change)" >&2
fi

echo "install-provider: building cloudplane/sandbox v$VERSION with $TOOLCHAIN" >&2
start=$(date +%s)
log="$DEST/build.log"
if ! (cd "$SRC" && go build -trimpath -buildvcs=false \
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
echo "$MIRROR"
