#!/usr/bin/env bash
# Builds the OIDC identity provider the tests sign in against (tests/oidc/idp:
# github.com/oauth2-proxy/mockoidc plus a control API) once per source into a
# cache dir outside the repo, and prints the binary's path. The version is
# pinned as TEST_IDP_VERSION in versions.env, mockoidc's in the module's
# go.mod/go.sum. Quiet when cached; a cached build whose source changed is
# rebuilt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CLOUDPLANE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudplane}"
SRC="$ROOT/tests/oidc/idp"

export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || { echo "install-test-idp: go is required to build the test IdP" >&2; exit 1; }
export CGO_ENABLED=0 GOFLAGS="-mod=readonly"
unset GOEXPERIMENT

VERSION="${TEST_IDP_VERSION:-$(sed -n 's/^TEST_IDP_VERSION=\([0-9A-Za-z.+-]*\).*/\1/p' "$ROOT/versions.env" | tail -1)}"
[ -n "$VERSION" ] || { echo "install-test-idp: no TEST_IDP_VERSION (versions.env)" >&2; exit 1; }
TOOLCHAIN="$(sed -n 's/^toolchain[[:space:]]\{1,\}\(go[0-9.]*\)[[:space:]]*$/\1/p' "$SRC/go.mod")"
DEST="$CACHE/test-idp/$VERSION"
BIN="$DEST/cloudplane-test-idp"
FP="$(cd "$SRC" && { echo "$TOOLCHAIN $VERSION"
  find . -type f \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)"
cached() { [ -x "$BIN" ] && [ "$(cat "$DEST/source.sha256" 2>/dev/null)" = "$FP" ]; }

if ! cached; then
  mkdir -p "$DEST"
  (
    exec 9>"$DEST/.lock"
    command -v flock >/dev/null 2>&1 && flock 9
    cached && exit 0
    echo "install-test-idp: building the test OIDC provider v$VERSION" >&2
    log="$DEST/build.log"
    if ! (cd "$SRC" && GOTOOLCHAIN="${TOOLCHAIN:-auto}" go build -trimpath -buildvcs=false -o "$BIN.tmp" .) >"$log" 2>&1; then
      tail -20 "$log" >&2
      echo "install-test-idp: build failed (full log: $log)" >&2
      exit 1
    fi
    mv -f "$BIN.tmp" "$BIN"
    echo "$FP" >"$DEST/source.sha256"
  )
fi
echo "$BIN"
