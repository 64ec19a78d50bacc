"""Single sign-on through OIDC against a real local identity provider
(mockoidc, tests/oidc/idp): the full login, each ID token refusal, key
rotation, group roles, account linking and local passwords turned off."""
import os
import sqlite3
import urllib.parse

import pytest

from conftest import Api, assert_error
from oidc_idp import Idp, session_token, sso_login, write_providers


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    i = Idp(str(tmp_path_factory.mktemp("idp")))
    yield i
    i.close()


@pytest.fixture
def sso_server(make_server, idp, tmp_path):
    """A server with the test IdP as provider "test"; extra provider settings and env by arguments."""
    def make(env=None, data_dir=None, **provider):
        path = write_providers(os.path.join(str(tmp_path), "providers-%d.json" % len(os.listdir(str(tmp_path)))),
                               idp.provider(**provider))
        e = {"CLOUDPLANE_OIDC_PROVIDERS_FILE": path, "CLOUDPLANE_OIDC_ALLOW_CIDRS": "127.0.0.1/32"}
        e.update(env or {})
        return make_server(env=e, data_dir=data_dir)
    return make


def user(n, **kw):
    d = {"sub": "sub-%s" % n, "email": "%s@example.com" % n, "name": "User %s" % n, "groups": []}
    d.update(kw)
    return d


def me(server, token):
    r = server.get("/api/v1/auth/me", token)
    assert r.status_code == 200, r.text
    return r.json()


def test_full_login_starts_a_session(sso_server, idp, store_env):
    srv = sso_server(env=store_env)
    r = srv.get("/api/v1/auth/oidc/providers")
    assert r.status_code == 200
    assert r.json() == {"providers": [{"id": "test", "name": "Test IdP",
                                       "start_url": "/api/v1/auth/oidc/test/start"}], "local_passwords": True}
    # The redirect to the IdP carries PKCE S256, state and nonce.
    start = srv.get("/api/v1/auth/oidc/test/start", allow_redirects=False)
    assert start.status_code == 302
    q = urllib.parse.parse_qs(urllib.parse.urlparse(start.headers["Location"]).query)
    assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) == 43
    assert len(q["state"][0]) == 43 and len(q["nonce"][0]) == 43 and q["client_id"] == ["cloudplane"]
    assert "openid" in q["scope"][0].split()
    assert "cp_oidc_state=" in start.headers["Set-Cookie"] and "SameSite=Lax" in start.headers["Set-Cookie"]

    s, r, _ = sso_login(srv, idp, **user("alice", name="Alice A"))
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == srv.url + "/"
    assert "cp_refresh=" in r.headers["Set-Cookie"]
    token = session_token(srv, s)
    assert me(srv, token)["email"] == "alice@example.com"
    assert me(srv, token)["name"] == "Alice A"
    # The same identity signs in again as the same user.
    s2, r, _ = sso_login(srv, idp, **user("alice"))
    assert r.status_code == 302, r.text
    assert me(srv, session_token(srv, s2))["id"] == me(srv, token)["id"]
    # An SSO user has no password to sign in with.
    assert_error(srv.post("/api/v1/auth/login", {"email": "alice@example.com", "password": "!sso"}), 401)
    # Audit: the sign-in is recorded; nothing secret is logged.
    audit = srv.get("/api/v1/auth/audit", token).json()["items"]
    assert any(a["action"] == "auth.sso_login" for a in audit), audit
    logs = srv.logs()
    assert idp.secret not in logs


def test_return_to_stays_on_this_site(sso_server, idp):
    srv = sso_server()
    idp.queue_user(**user("rt"))
    import requests
    s = requests.Session()
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = s.get(srv.url + "/api/v1/auth/oidc/test/start", params={"return_to": bad}, allow_redirects=False)
        assert r.status_code == 302
    r = s.get(srv.url + "/api/v1/auth/oidc/test/start", params={"return_to": "/projects"}, allow_redirects=False)
    r = s.get(r.headers["Location"], allow_redirects=False)
    r = s.get(r.headers["Location"], allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == srv.url + "/projects"


@pytest.mark.parametrize("bend,code", [
    ({"aud": ["someone-else"]}, "wrong_audience"),
    ({"exp_offset": -600, "iat_offset": -1200}, "token_expired"),
    ({"iat_offset": 3600}, "token_not_yet_valid"),
    ({"iss": "http://127.0.0.1:1/other"}, "wrong_issuer"),
    ({"nonce": "not-the-nonce"}, "wrong_nonce"),
    ({"bad_signature": True}, "invalid_signature"),
])
def test_bad_id_tokens_are_refused(sso_server, idp, bend, code):
    srv = sso_server()
    s, r, _ = sso_login(srv, idp, **user("bad-" + code, **bend))
    assert_error(r, 401, code)
    assert "cp_refresh=" not in r.headers.get("Set-Cookie", "")
    assert s.post(srv.url + "/api/v1/auth/refresh").status_code == 401
    # Nobody was created: a clean sign-in of the same subject is a new account.
    s, r, _ = sso_login(srv, idp, **user("bad-" + code))
    assert r.status_code == 302
    logs = srv.logs()
    assert "single sign-on refused" in logs and code in logs
    assert idp.secret not in logs


def test_browser_refusal_lands_on_the_login_page(sso_server, idp):
    srv = sso_server()
    _, r, _ = sso_login(srv, idp, headers={"Accept": "text/html"}, **user("html", aud=["x"]))
    assert r.status_code == 302
    assert r.headers["Location"] == srv.url + "/login?sso_error=wrong_audience"


def test_state_is_single_use_and_bound_to_the_browser(sso_server, idp):
    srv = sso_server()
    s, r, callback = sso_login(srv, idp, **user("replay"))
    assert r.status_code == 302
    # Replayed callback: the state is spent.
    assert_error(s.get(callback, allow_redirects=False), 401, "invalid_state")
    # A callback link used in another browser (no state cookie) signs nobody in.
    import requests
    idp.queue_user(**user("other-browser"))
    s1 = requests.Session()
    r = s1.get(srv.url + "/api/v1/auth/oidc/test/start", allow_redirects=False)
    r = s1.get(r.headers["Location"], allow_redirects=False)
    assert_error(requests.get(r.headers["Location"], allow_redirects=False), 401, "state_mismatch")
    # A made-up state with a matching cookie is unknown.
    s2 = requests.Session()
    fake = "A" * 43
    s2.cookies.set("cp_oidc_state", fake)
    assert_error(s2.get(srv.url + "/api/v1/auth/oidc/test/callback", params={"code": "x", "state": fake},
                        allow_redirects=False), 401, "invalid_state")
    # The IdP's own refusal.
    assert_error(s2.get(srv.url + "/api/v1/auth/oidc/test/callback", params={"error": "access_denied"},
                        allow_redirects=False), 401, "idp_refused")
    assert srv.get("/api/v1/auth/oidc/nope/start", allow_redirects=False).status_code == 404


def test_key_rotation_refetches_the_jwks(sso_server, idp):
    srv = sso_server(jwks_refetch_seconds=0)
    s, r, _ = sso_login(srv, idp, **user("rot1"))
    assert r.status_code == 302
    before = idp.stats()["jwks_fetches"]
    # Cached: another sign-in with the same key fetches nothing.
    _, r, _ = sso_login(srv, idp, **user("rot1"))
    assert r.status_code == 302 and idp.stats()["jwks_fetches"] == before
    old_kid = idp.stats()["kid"]
    new_kid = idp.rotate()
    assert new_kid != old_kid
    s, r, _ = sso_login(srv, idp, **user("rot2"))
    assert r.status_code == 302, r.text
    assert idp.stats()["jwks_fetches"] == before + 1
    assert me(srv, session_token(srv, s))["email"] == "rot2@example.com"


def test_unknown_kid_refetch_is_rate_limited(sso_server, idp):
    srv = sso_server(jwks_refetch_seconds=3600)
    _, r, _ = sso_login(srv, idp, **user("rl1"))
    assert r.status_code == 302
    idp.rotate()
    before = idp.stats()["jwks_fetches"]
    # The first unknown kid refetches the JWKS only when the last fetch is old
    # enough: here it was just fetched, so the new key stays unknown.
    _, r, _ = sso_login(srv, idp, **user("rl2"))
    assert_error(r, 401, "unknown_kid")
    _, r, _ = sso_login(srv, idp, **user("rl3"))
    assert_error(r, 401, "unknown_kid")
    assert idp.stats()["jwks_fetches"] == before


def test_group_mapped_to_a_project_role(sso_server, idp, store_env):
    srv = sso_server(env=store_env)
    owner = Api(srv)
    p = owner.project(name="infra")
    other = owner.project(name="other")
    # Providers are read at start: restart on the same data with the mapping.
    srv.stop()
    srv2 = sso_server(env=store_env, data_dir=srv.data_dir,
                      group_roles=[{"group": "platform", "project": "infra", "role": "admin"},
                                   {"group": "auditors", "project": other["id"], "role": "viewer"}])
    s, r, _ = sso_login(srv2, idp, **user("grp", groups=["platform", "unrelated"]))
    assert r.status_code == 302, r.text
    token = session_token(srv2, s)
    projects = {x["name"]: x for x in srv2.get("/api/v1/projects", token).json()["items"]}
    assert set(projects) == {"infra"}
    members = srv2.get("/api/v1/projects/%s/members" % p["id"], token).json()["items"]
    assert {m["email"]: m["role"] for m in members}["grp@example.com"] == "admin"
    # Without the group: nothing is granted.
    s, r, _ = sso_login(srv2, idp, **user("nogrp", groups=["unrelated"]))
    assert srv2.get("/api/v1/projects", session_token(srv2, s)).json()["items"] == []
    # A mapped role never lowers one the user has; the second group's project by id.
    s, r, _ = sso_login(srv2, idp, **user("grp", groups=["platform", "auditors"]))
    token = session_token(srv2, s)
    roles = {x["name"]: x["role"] for x in srv2.get("/api/v1/projects", token).json()["items"]}
    assert roles == {"infra": "admin", "other": "viewer"}, roles


def test_linking_by_verified_email(sso_server, idp):
    srv = sso_server(linking="link_verified_email")
    local = Api(srv, "link@example.com")
    # An unverified email is not linked to the existing account.
    _, r, _ = sso_login(srv, idp, **user("l1", email="link@example.com", email_verified=False))
    assert_error(r, 403, "email_not_verified")
    s, r, _ = sso_login(srv, idp, **user("l1", email="LINK@example.com"))
    assert r.status_code == 302, r.text
    assert me(srv, session_token(srv, s))["id"] == local.user["id"]


def test_create_only_never_links(sso_server, idp):
    srv = sso_server(linking="create_only")
    Api(srv, "taken@example.com")
    _, r, _ = sso_login(srv, idp, **user("c1", email="taken@example.com"))
    assert_error(r, 409, "email_taken")
    s, r, _ = sso_login(srv, idp, **user("c2", email="fresh@example.com"))
    assert r.status_code == 302
    assert me(srv, session_token(srv, s))["email"] == "fresh@example.com"


def test_provider_that_creates_no_users(sso_server, idp):
    """create_users false: only people with an account here (linked by
    verified email, or signed in before) get in; nothing is created."""
    srv = sso_server(linking="link_verified_email", create_users=False)
    local = Api(srv, "member@example.com")
    _, r, _ = sso_login(srv, idp, **user("n1", email="stranger@example.com"))
    assert_error(r, 403, "sso_signup_disabled")
    s, r, _ = sso_login(srv, idp, **user("n2", email="member@example.com"))
    assert r.status_code == 302, r.text
    assert me(srv, session_token(srv, s))["id"] == local.user["id"]
    # The linked identity signs in again without the email lookup.
    s, r, _ = sso_login(srv, idp, **user("n2", email="member@example.com"))
    assert r.status_code == 302, r.text
    db = sqlite3.connect(os.path.join(srv.data_dir, "cloudplane.db"))
    try:
        emails = {row[0] for row in db.execute("SELECT email FROM users")}
    finally:
        db.close()
    assert "member@example.com" in emails and "stranger@example.com" not in emails


def test_allowed_domains(sso_server, idp):
    srv = sso_server(allowed_domains=["corp.example"])
    _, r, _ = sso_login(srv, idp, **user("d1", email="d1@example.com"))
    assert_error(r, 403, "domain_not_allowed")
    _, r, _ = sso_login(srv, idp, **user("d2", email="d2@corp.example"))
    assert r.status_code == 302


def test_local_passwords_off(sso_server, idp):
    srv = sso_server(env={"CLOUDPLANE_LOCAL_PASSWORDS": "false", "CLOUDPLANE_SIGNUP": "open"})
    assert srv.get("/api/v1/auth/oidc/providers").json()["local_passwords"] is False
    assert_error(srv.post("/api/v1/auth/login", {"email": "a@example.com", "password": "correct horse battery"}),
                 403, "local_passwords_disabled")
    assert_error(srv.post("/api/v1/auth/signup", {"email": "a@example.com"}), 403, "local_passwords_disabled")
    s, r, _ = sso_login(srv, idp, **user("nopw"))
    assert r.status_code == 302
    token = session_token(srv, s)
    assert_error(srv.post("/api/v1/auth/password", {"current_password": "x" * 10, "new_password": "y" * 10}, token),
                 403, "local_passwords_disabled")


def test_bad_configuration_refuses_to_start(tmp_path, idp):
    import subprocess
    from conftest import BINARY
    bad = {"providers": [{"id": "x", "issuer": idp.issuer, "client_id": "c", "client_secret": "inline"}]}
    path = str(tmp_path / "bad.json")
    import json
    with open(path, "w") as f:
        json.dump(bad, f)
    for env in ({"CLOUDPLANE_OIDC_PROVIDERS_FILE": path}, {"CLOUDPLANE_LOCAL_PASSWORDS": "false"}):
        p = subprocess.run([BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d")],
                           env=dict({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, **env), capture_output=True,
                           text=True, timeout=30)
        assert p.returncode != 0
        assert "inline" not in p.stderr + p.stdout
        assert "client_secret" in p.stderr or "LOCAL_PASSWORDS" in p.stderr, p.stderr


def test_unreachable_or_disallowed_provider(sso_server, idp, make_server, tmp_path):
    # Nothing listens there: 503, and a browser lands on the login page.
    srv = sso_server(issuer="http://127.0.0.1:9/oidc")
    assert_error(srv.get("/api/v1/auth/oidc/test/start", allow_redirects=False), 503, "idp_unavailable")
    r = srv.get("/api/v1/auth/oidc/test/start", allow_redirects=False, headers={"Accept": "text/html"})
    assert r.status_code == 302 and r.headers["Location"] == srv.url + "/login?sso_error=idp_unavailable"
    # A loopback provider without CLOUDPLANE_OIDC_ALLOW_CIDRS is not connected to.
    path = write_providers(str(tmp_path / "noallow.json"), idp.provider())
    srv2 = make_server(env={"CLOUDPLANE_OIDC_PROVIDERS_FILE": path})
    assert_error(srv2.get("/api/v1/auth/oidc/test/start", allow_redirects=False), 503, "idp_unavailable")
    assert "address not allowed" in srv2.logs()


def test_sign_in_started_on_one_instance_finishes_on_another(sso_server, idp):
    """Two API instances on one PostgreSQL database (the state is kept in it,
    not in a process): the provider's redirect reaches the other instance."""
    import base64
    from conftest import fresh_pg_database
    env = {"CLOUDPLANE_DATABASE_URL": fresh_pg_database(),
           "CLOUDPLANE_JWT_SECRET": base64.b64encode(os.urandom(33)).decode(),
           "CLOUDPLANE_VAULT_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
           "CLOUDPLANE_PUBLIC_URL": "http://sso.test"}
    a, b = sso_server(env=env), sso_server(env=env)
    import requests
    idp.queue_user(**user("two"))
    s = requests.Session()
    r = s.get(a.url + "/api/v1/auth/oidc/test/start", allow_redirects=False)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(r.headers["Location"]).query)
    assert q["redirect_uri"] == ["http://sso.test/api/v1/auth/oidc/test/callback"]
    r = s.get(r.headers["Location"], allow_redirects=False)
    callback = r.headers["Location"].replace("http://sso.test", b.url)
    r = s.get(callback, allow_redirects=False)
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == "http://sso.test/"
    token = session_token(b, s)
    assert me(a, token)["email"] == "two@example.com"
    # Spent on b, so unknown on a too.
    assert_error(s.get(callback.replace(b.url, a.url), allow_redirects=False), 401, "invalid_state")
