#!/usr/bin/env bash
# Web UI checks: install from the lock file, lint, typecheck, unit tests,
# build, then end-to-end tests in Debian's Chromium against the real
# cloudplane binary (sandbox cloud, real OpenTofu). The server sweeps for due
# drift checks, expiries and schedules every second (a scheduled drift
# interval's minute lasts a second), so no test waits for a 30 s sweep.
# Webhooks may reach 127.0.0.1, where the e2e tests run their receiver.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
BIN="${CP_BINARY:-$root/build/cloudplane}"

scripts/build-web.sh
cd frontend
npm run --silent lint
npm run --silent typecheck
npm test --silent

# The sandbox cloud's provider from its mirror (HOME below is a temp dir).
mirror=${CLOUDPLANE_PROVIDER_MIRROR:-$("$root/scripts/install-provider.sh")}
work=$(mktemp -d /tmp/cp-e2e.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The test OIDC provider (e2e/sso.test.mjs signs in through it), configured as
# provider "test"; it prints one JSON line with its issuer once it listens.
idp_bin=${CLOUDPLANE_TEST_IDP:-$("$root/scripts/install-test-idp.sh")}
printf 'e2e-idp-secret-%s' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$work/idp-secret"
"$idp_bin" -client-id cloudplane -client-secret-file "$work/idp-secret" >"$work/idp.json" 2>"$work/idp.log" &
idp_pid=$!
# The provider ends on SIGTERM with status 143: not the script's status.
trap 'kill $idp_pid 2>/dev/null || true; wait $idp_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/idp.json" ] && break; sleep 0.1; done
idp_issuer=$(jq -r .issuer "$work/idp.json")
idp_addr=$(jq -r .addr "$work/idp.json")
jq -n --arg iss "$idp_issuer" --arg secret "$work/idp-secret" \
  '{providers: [{id: "test", name: "Test IdP", issuer: $iss, client_id: "cloudplane", client_secret_file: $secret,
    scopes: ["openid", "email", "profile"]}]}' >"$work/oidc-providers.json"
env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$work" \
  CLOUDPLANE_TF_BINARY="${CP_TOFU:-}" CLOUDPLANE_MODULES_DIR="$root/terraform/modules" \
  CLOUDPLANE_PROVIDER_MIRROR="$mirror" CLOUDPLANE_MAIL_OUTBOX="$work/outbox" \
  CLOUDPLANE_SCHEDULER_INTERVAL=1 CLOUDPLANE_DRIFT_MIN_INTERVAL_MINUTES=0 \
  CLOUDPLANE_TEST_DRIFT_MINUTE_SECONDS=1 CLOUDPLANE_WEBHOOK_ALLOW_CIDRS=127.0.0.1/32 \
  CLOUDPLANE_OIDC_PROVIDERS_FILE="$work/oidc-providers.json" CLOUDPLANE_OIDC_ALLOW_CIDRS=127.0.0.1/32 \
  CLOUDPLANE_PUBLIC_URL="http://127.0.0.1:$port" \
  "$BIN" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --web-dir "$root/frontend/dist" \
  >"$work/out" 2>"$work/server.log" &
pid=$!
trap 'kill $pid $idp_pid 2>/dev/null || true; wait $pid 2>/dev/null || true; wait $idp_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
status=0
# CLOUDPLANE_E2E_TESTS picks some of them, e.g. "e2e/guardrails.test.mjs".
all_tests="e2e/auth.test.mjs e2e/flow.test.mjs e2e/invite.test.mjs e2e/drift.test.mjs e2e/expiry.test.mjs e2e/schedule.test.mjs e2e/plan.test.mjs e2e/guardrails.test.mjs e2e/notify.test.mjs e2e/tokens.test.mjs e2e/sso.test.mjs e2e/identity.test.mjs"
CLOUDPLANE_URL="http://127.0.0.1:$port" CLOUDPLANE_E2E_OUTBOX="$work/outbox" CLOUDPLANE_E2E_IDP="http://$idp_addr" \
  node --test ${CLOUDPLANE_E2E_TESTS:-$all_tests} || status=$?
if [ $status -ne 0 ]; then
  # The test files run at once, so the tail may be another file's: the
  # server's warnings and errors come first, then the tail.
  echo "--- server log: warnings and errors"; grep -E '"level":"(warn|error)"' "$work/server.log" | tail -40
  echo "--- server log (tail)"; tail -40 "$work/server.log"
fi
exit $status
