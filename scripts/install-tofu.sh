#!/usr/bin/env bash
# Installs the pinned OpenTofu into a cache dir outside the repo and prints its path.
# Order: a cached build, a `tofu` on PATH of the pinned version, else a build from
# the Go module (release downloads are not assumed reachable).
set -euo pipefail

# The pinned version is the one in versions.env; TOFU_VERSION in the environment overrides it.
pinned=$(. "$(dirname "$0")/../versions.env" && echo "$TOFU_VERSION")
TOFU_VERSION="${TOFU_VERSION:-$pinned}"
CACHE="${CLOUDPLANE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudplane}"
DEST="$CACHE/tofu/$TOFU_VERSION"
BIN="$DEST/tofu"

version_of() { "$1" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p'; }

if [ -x "$BIN" ] && [ "$(version_of "$BIN")" = "$TOFU_VERSION" ]; then
  echo "$BIN"; exit 0
fi
if command -v tofu >/dev/null 2>&1 && [ "$(version_of "$(command -v tofu)")" = "$TOFU_VERSION" ]; then
  command -v tofu; exit 0
fi

export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || { echo "install-tofu: go is required to build OpenTofu $TOFU_VERSION" >&2; exit 1; }

echo "install-tofu: building OpenTofu v$TOFU_VERSION from its Go module (first time only)" >&2
start=$(date +%s)
mkdir -p "$DEST"
log="$DEST/build.log"
moddir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@v$TOFU_VERSION" 2>>"$log" \
  | sed -n 's/.*"Dir": *"\([^"]*\)".*/\1/p')
[ -d "$moddir" ] || { echo "install-tofu: module download failed" >&2; exit 1; }

build=$(mktemp -d "${TMPDIR:-/tmp}/tofu-build.XXXXXX")
trap 'chmod -R u+w "$build" 2>/dev/null; rm -rf "$build"' EXIT
cp -r "$moddir/." "$build/"
chmod -R u+w "$build"
if ! (cd "$build" && CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
  -o "$BIN.tmp" ./cmd/tofu) >>"$log" 2>&1; then
  tail -20 "$log" >&2
  echo "install-tofu: build failed (full log: $log)" >&2
  exit 1
fi
mv "$BIN.tmp" "$BIN"
echo "install-tofu: built in $(( $(date +%s) - start ))s -> $BIN" >&2
echo "$BIN"
