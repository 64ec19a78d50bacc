#!/usr/bin/env bash
# Single sign-on through the test OIDC provider (bench/sso_login.py says what
# each figure is): the callback's time for a cold server, a first sign-in
# (a user made each: the worst case), a returning one, the first after the
# IdP rotated its key, and sign-ins per second with THREADS browsers at once.
# The IdP is local (loopback), so a real provider's network time comes on top.
# Figures only (bench_result sso_*).
#
#   bench/sso_login.sh     # env: N (200), THREADS (8)
BENCH_NAME=sso_login
source "$(dirname "$0")/lib.sh"
N="${N:-200}"
THREADS="${THREADS:-8}"
export CLOUDPLANE_TEST_IDP="${CLOUDPLANE_TEST_IDP:-$(scripts/install-test-idp.sh | tail -n 1)}"
python3 bench/sso_login.py "$BIN" "$work" "$N" "$THREADS" >"$work/figures"
while IFS=$'\t' read -r key figure; do
  bench_result "sso_$key" "$figure" -
done <"$work/figures"
