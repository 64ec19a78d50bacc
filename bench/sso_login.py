"""bench/sso_login.sh's driver: single sign-on through the test OIDC provider
(tests/oidc/idp, a local mockoidc: its own time is in every figure). One
server (SQLite, no workers) with the provider; what is timed is the callback,
the request that does the server's work (the code exchange at the IdP, the
ID token check against the JWKS, the user found or made, a session started).

  cold       the first sign-in after start: the JWKS fetched too (the start
             request fetched the discovery document)
  new        first sign-ins, each making a user and its identity (the worst case)
  returning  the same identities signing in again
  rotated    the first sign-in after the IdP rotated its key: an unknown kid,
             so the JWKS is fetched again before the token verifies
  parallel   THREADS browsers signing in new users at once: sign-ins per second
             (start + authorize + callback)

Prints one "KEY<TAB>FIGURE" line per result.

    python3 bench/sso_login.py BINARY WORK_DIR N THREADS
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

import requests

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "backend", "tests", "integration"))
from oidc_idp import Idp, write_providers  # noqa: E402

binary, work, n, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
idp = Idp(work)
# One JWKS fetch per second at most (10 s by default): the rotation below
# comes a second after the last fetch, as it would come days after in use.
providers = write_providers(os.path.join(work, "providers.json"), idp.provider(jwks_refetch_seconds=1))
env = dict(os.environ, CLOUDPLANE_OIDC_PROVIDERS_FILE=providers, CLOUDPLANE_OIDC_ALLOW_CIDRS="127.0.0.1/32",
           CLOUDPLANE_WORKERS="0", CLOUDPLANE_ACCESS_LOG="false",
           # the bench signs in far faster than a person: no login rate limit
           CLOUDPLANE_LOGIN_IP_PER_MINUTE="1000000")
out = open(os.path.join(work, "sso.out"), "w+")
srv = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "sso"),
                        "--web-dir", os.path.join(work, "none")], stdout=out,
                       stderr=open(os.path.join(work, "sso.log"), "w"), env=env)
try:
    url = None
    for _ in range(200):
        out.seek(0)
        for word in out.read().split():
            if word.startswith("http://"):
                url = word.rstrip("/")
        if url:
            break
        time.sleep(0.05)
    assert url, open(os.path.join(work, "sso.log")).read()

    def sign_in(sub, queue=True):
        """One browser sign-in; the callback's wall time in ms."""
        s = requests.Session()
        if queue:
            idp.queue_user(sub=sub, email="%s@example.com" % sub, name=sub)
        r = s.get(url + "/api/v1/auth/oidc/test/start", allow_redirects=False, timeout=30)
        assert r.status_code == 302, r.text
        r = s.get(r.headers["Location"], allow_redirects=False, timeout=30)
        assert r.status_code == 302, r.text
        t0 = time.perf_counter()
        r = s.get(r.headers["Location"], allow_redirects=False, timeout=30)
        ms = (time.perf_counter() - t0) * 1000
        assert r.status_code == 302 and "cp_refresh=" in r.headers.get("Set-Cookie", ""), (r.status_code, r.text)
        return ms

    def pct(xs, p):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

    tag = uuid.uuid4().hex[:6]
    print("cold\t%.1f ms (JWKS fetched)" % sign_in("cold-" + tag))
    subs = ["u%d-%s" % (i, tag) for i in range(n)]
    new = [sign_in(x) for x in subs]
    back = [sign_in(x) for x in subs]
    print("new\tp50 %.1f ms, p95 %.1f ms over %d first sign-ins (a user made each)" % (
        statistics.median(new), pct(new, 95), n))
    print("returning\tp50 %.1f ms, p95 %.1f ms over %d" % (statistics.median(back), pct(back, 95), n))
    idp.rotate()
    time.sleep(1.1)
    print("rotated\t%.1f ms (unknown kid: JWKS fetched again)" % sign_in("rot-" + tag))

    per = max(1, n // threads)
    errors = []

    def browser(t):
        try:
            for i in range(per):
                sign_in("p%d-%d-%s" % (t, i, tag))
        except Exception as e:  # reported below; the figure is not printed then
            errors.append(repr(e))
    ts = [threading.Thread(target=browser, args=(t,)) for t in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    assert not errors, errors[:3]
    print("parallel\t%.0f sign-ins/s with %d browsers (%d sign-ins, whole flow)" % (per * threads / wall, threads,
                                                                                   per * threads))
finally:
    srv.terminate()
    srv.wait(timeout=10)
    idp.close()
