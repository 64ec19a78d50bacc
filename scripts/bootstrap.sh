#!/usr/bin/env bash
# Installs what cloudplane needs from Debian packages, PyPI and npm. Idempotent
# and quiet when everything is present. Usage: bootstrap.sh [run|test]
set -euo pipefail
mode="${1:-run}"

run_pkgs=(build-essential cmake ninja-build pkg-config git curl ca-certificates
  libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev libssl-dev libpq-dev libhiredis-dev libicu-dev libcurl4-openssl-dev libcjose-dev
  bubblewrap)
test_pkgs=(postgresql redis-server wrk chromium jq procps clang-format cppcheck clang prometheus)

pkgs=("${run_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || {
  echo "bootstrap: Go is required to build OpenTofu; install golang-go" >&2
  exit 1
}
command -v node >/dev/null 2>&1 || { echo "bootstrap: Node.js 20+ with npm is required for the web UI" >&2; exit 1; }

if [ "$mode" = test ]; then
  # cryptography: test_workload_identity.py checks run tokens' RS256 signatures against the JWKS.
  if ! python3 -c 'import pytest, requests, boto3, moto, cryptography' 2>/dev/null; then
    echo "bootstrap: installing Python test packages" >&2
    python3 -m pip install -q pytest requests boto3 'moto[server]' cryptography
  fi
  command -v moto_server >/dev/null 2>&1 || python3 -m pip install -q 'moto[server]'
  # The provider-schema check (tests/modules/schema) pins its packages in requirements.txt.
  schema_reqs="$(dirname "$0")/../tests/modules/schema/requirements.txt"
  if ! python3 - "$schema_reqs" 2>/dev/null <<'PY'
import importlib.metadata as md, sys
pins = [l.split("#", 1)[0].strip().split("==") for l in open(sys.argv[1])]
sys.exit(any(md.version(p[0]) != p[1] for p in pins if p != [""]))
PY
  then
    echo "bootstrap: installing the provider-schema check's Python packages" >&2
    python3 -m pip install -q -r "$schema_reqs"
  fi
  # The API contract check (tests/contract) pins schemathesis in its requirements.txt.
  contract_reqs="$(dirname "$0")/../tests/contract/requirements.txt"
  if ! python3 - "$contract_reqs" 2>/dev/null <<'PY'
import importlib.metadata as md, sys
pins = [l.split("#", 1)[0].strip().split("==") for l in open(sys.argv[1])]
sys.exit(any(md.version(p[0]) != p[1] for p in pins if p != [""]))
PY
  then
    echo "bootstrap: installing the API contract check's Python packages" >&2
    python3 -m pip install -q -r "$contract_reqs"
  fi
fi
exit 0
