#!/usr/bin/env bash
# Builds the web UI into frontend/dist (npm ci only when the lock file changed).
set -euo pipefail
cd "$(dirname "$0")/../frontend" 2>/dev/null || { echo "build-web: no frontend/ yet, serving the placeholder" >&2; exit 0; }
[ -f package.json ] || exit 0
stamp=node_modules/.package-lock.stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  cp package-lock.json "$stamp"
fi
npm run --silent build >/dev/null
