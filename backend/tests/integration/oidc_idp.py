"""The test OIDC identity provider (tests/oidc/idp: mockoidc with a control
API), built by scripts/install-test-idp.sh (or CLOUDPLANE_TEST_IDP names the
binary) and run on a free loopback port, and a browser-like sign-in through
it driven with requests."""
import json
import os
import secrets
import subprocess

import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def idp_binary():
    b = os.environ.get("CLOUDPLANE_TEST_IDP")
    if b:
        return b
    return subprocess.run([os.path.join(REPO, "scripts", "install-test-idp.sh")], check=True,
                          capture_output=True, text=True).stdout.strip().splitlines()[-1]


class Idp:
    def __init__(self, workdir):
        self.secret = "idp-secret-" + secrets.token_hex(16)
        self.secret_file = os.path.join(workdir, "idp-client-secret")
        with open(self.secret_file, "w") as f:
            f.write(self.secret)
        os.chmod(self.secret_file, 0o600)
        self.proc = subprocess.Popen([idp_binary(), "-client-id", "cloudplane", "-client-secret-file",
                                      self.secret_file], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        info = json.loads(self.proc.stdout.readline())
        self.issuer = info["issuer"]
        self.base = "http://" + info["addr"]
        self.client_id = info["client_id"]

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def queue_user(self, **spec):
        r = requests.post(self.base + "/control/user", json=spec, timeout=10)
        assert r.status_code == 200, r.text

    def rotate(self):
        return requests.post(self.base + "/control/rotate", timeout=30).json()["kid"]

    def stats(self):
        return requests.get(self.base + "/control/stats", timeout=10).json()

    def provider(self, **kw):
        """A providers-file entry for this IdP."""
        p = {"id": "test", "name": "Test IdP", "issuer": self.issuer, "client_id": self.client_id,
             "client_secret_file": self.secret_file, "scopes": ["openid", "email", "profile", "groups"]}
        p.update(kw)
        return p


def write_providers(path, *providers):
    with open(path, "w") as f:
        json.dump({"providers": list(providers)}, f)
    return path


def sso_login(server, idp, session=None, provider="test", headers=None, **user):
    """Queues user at the IdP and walks start -> authorize -> callback the way a
    browser does (cookies kept by the session). Returns (session, callback
    response, callback URL)."""
    s = session or requests.Session()
    if user:
        idp.queue_user(**user)
    r = s.get(server.url + "/api/v1/auth/oidc/%s/start" % provider, allow_redirects=False, timeout=30)
    assert r.status_code == 302, (r.status_code, r.text)
    r = s.get(r.headers["Location"], allow_redirects=False, timeout=30)
    assert r.status_code == 302, (r.status_code, r.text)
    callback = r.headers["Location"]
    assert callback.startswith(server.url + "/api/v1/auth/oidc/%s/callback?" % provider), callback
    r = s.get(callback, allow_redirects=False, headers=headers or {}, timeout=30)
    return s, r, callback


def session_token(server, session):
    """What the UI does after a sign-in: trade the refresh cookie for an access token."""
    r = session.post(server.url + "/api/v1/auth/refresh", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]
