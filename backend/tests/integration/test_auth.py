"""Accounts and auth over HTTP: signup, login, me, tokens, rate limits."""
import base64
import hashlib
import hmac
import json
import os
import time

from conftest import assert_error


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(key, header, payload):
    signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    sig = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64url(sig)


def jwt_key(server):
    with open(os.path.join(server.data_dir, "keys", "jwt.key"), "rb") as f:
        return f.read().strip()


def complete(server, email, password="0123456789", name="X"):
    """POST /auth/signup, then complete with the mailed token."""
    r = server.post("/api/v1/auth/signup", {"email": email})
    assert r.status_code == 202, r.text
    return server.post("/api/v1/auth/signup/complete",
                       {"token": server.mailed_token(email, "signup"), "password": password, "name": name})


def test_signup_login_me(server):
    r = complete(server, "Alice@Example.COM", name="Alice")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["email"] == "alice@example.com"
    assert body["user"]["name"] == "Alice"
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert "password" not in r.text and "argon2" not in r.text

    r = server.post("/api/v1/auth/login", {"email": "ALICE@example.com", "password": "0123456789"})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["user"]["id"] == body["user"]["id"]

    r = server.get("/api/v1/auth/me", token)
    assert r.status_code == 200
    assert r.json() == body["user"]


def test_signup_taken_email_is_case_insensitive(server):
    server.signup("bob@example.com")
    r = server.post("/api/v1/auth/signup", {"email": "BOB@example.com"})
    assert r.status_code == 202
    mail = server.mails("bob@example.com", "signup")[-1]
    assert mail["link"] is None and "already has" in mail["text"]


def test_signup_validation(server):
    for email in ["", "nope", "a@b", "a b@c.io", "@x.io", "a@@x.io"]:
        r = server.post("/api/v1/auth/signup", {"email": email})
        assert_error(r, 422, field="email")
    assert_error(complete(server, "c@x.io", password="short"), 422, "weak_password", "password")
    r = complete(server, "c@x.io", password="ünïcødé123")
    assert r.status_code == 201, r.text  # 10 characters, more bytes
    r = server.post("/api/v1/auth/signup/complete", {"token": "cps_" + "a" * 43, "password": "0123456789"})
    assert_error(r, 422, "missing_field", "name")
    r = server.post("/api/v1/auth/signup/complete", {"token": "cps_" + "a" * 43, "password": "0123456789",
                                                      "name": "  "})
    assert_error(r, 422, "missing_field", "name")


def test_login_failures_look_identical(server):
    server.signup("carol@example.com", password="right-password")
    unknown = server.post("/api/v1/auth/login", {"email": "nobody@example.com", "password": "whatever123"})
    wrong = server.post("/api/v1/auth/login", {"email": "carol@example.com", "password": "wrong-password"})
    e1 = assert_error(unknown, 401)
    e2 = assert_error(wrong, 401)
    assert e1 == e2


def test_me_requires_valid_token(server):
    u = server.signup()
    key = jwt_key(server)
    now = int(time.time())
    good = {"sub": u["user"]["id"], "iat": now, "exp": now + 600, "jti": "abc"}
    # A token we forge with the real key is accepted: proves the negative cases below are meaningful.
    assert server.get("/api/v1/auth/me", make_token(key, {"alg": "HS256", "typ": "JWT"}, good)).status_code == 200

    assert_error(server.get("/api/v1/auth/me"), 401)
    assert_error(server.get("/api/v1/auth/me", "garbage"), 401)
    expired = dict(good, exp=now - 10)
    assert_error(server.get("/api/v1/auth/me", make_token(key, {"alg": "HS256"}, expired)), 401)
    tampered = u["access_token"]
    head, payload, sig = tampered.split(".")
    forged_payload = b64url(json.dumps(dict(good, sub="someone-else")).encode())
    assert_error(server.get("/api/v1/auth/me", head + "." + forged_payload + "." + sig), 401)
    none_tok = b64url(b'{"alg":"none","typ":"JWT"}') + "." + b64url(json.dumps(good).encode()) + "."
    assert_error(server.get("/api/v1/auth/me", none_tok), 401)
    hs512 = make_token(key, {"alg": "HS512", "typ": "JWT"}, good)
    assert_error(server.get("/api/v1/auth/me", hs512), 401)
    wrong_key = make_token(b"x" * 40, {"alg": "HS256", "typ": "JWT"}, good)
    assert_error(server.get("/api/v1/auth/me", wrong_key), 401)
    r = server.req("GET", "/api/v1/auth/me", headers={"Authorization": "Basic abc"})
    assert_error(r, 401)


def test_token_expiry_setting(make_server):
    s = make_server(env={"CLOUDPLANE_TOKEN_TTL": "60"})
    assert s.signup()["expires_in"] == 60


def test_login_rate_limit_per_email(server):
    server.signup("dave@example.com", password="right-password")
    for _ in range(5):
        r = server.post("/api/v1/auth/login", {"email": "dave@example.com", "password": "nope-nope-nope"})
        assert r.status_code == 401
    r = server.post("/api/v1/auth/login", {"email": "dave@example.com", "password": "right-password"})
    err = assert_error(r, 429, "rate_limited")
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 60
    # Other accounts from the same address are not yet limited (5 < 20).
    server.signup("erin@example.com", password="right-password")
    r = server.post("/api/v1/auth/login", {"email": "erin@example.com", "password": "right-password"})
    assert r.status_code == 200


def test_login_rate_limit_per_address(server):
    for i in range(20):
        r = server.post("/api/v1/auth/login", {"email": "ghost%d@example.com" % i, "password": "nope-nope-nope"})
        assert r.status_code == 401, (i, r.text)
    r = server.post("/api/v1/auth/login", {"email": "fresh@example.com", "password": "nope-nope-nope"})
    assert_error(r, 429)
    assert int(r.headers["Retry-After"]) >= 1


def test_keys_generated_with_private_mode(server):
    for name in ("jwt.key", "vault.keys"):
        st = os.stat(os.path.join(server.data_dir, "keys", name))
        assert st.st_mode & 0o777 == 0o600
    logs = server.logs()
    assert "generated JWT signing key" in logs
    with open(os.path.join(server.data_dir, "keys", "jwt.key")) as f:
        assert f.read().strip() not in logs


def test_keys_from_environment(make_server, tmp_path):
    secret = "k" * 48
    s = make_server(env={"CLOUDPLANE_JWT_SECRET": secret})
    tok = s.signup()["access_token"]
    head, payload, sig = tok.split(".")
    expect = hmac.new(secret.encode(), (head + "." + payload).encode(), hashlib.sha256).digest()
    assert b64url(expect) == sig
    assert not os.path.exists(os.path.join(s.data_dir, "keys", "jwt.key"))
    assert secret not in s.logs()


def test_sign_in_history(server):
    server.signup("hist@example.com", password="right-password")
    assert server.post("/api/v1/auth/login", {"email": "hist@example.com", "password": "wrong-one!!"}).status_code == 401
    tok = server.post("/api/v1/auth/login", {"email": "hist@example.com", "password": "right-password"}).json()[
        "access_token"]
    other = server.signup("someone@example.com")
    server.post("/api/v1/auth/login", {"email": "someone@example.com", "password": "correct horse battery"})
    items = server.get("/api/v1/auth/audit", tok).json()["items"]
    assert [i["action"] for i in items] == ["auth.login", "auth.login_failed"]
    assert all(i["actor"]["email"] == "hist@example.com" and i["detail"]["ip"] == "127.0.0.1" for i in items)
    assert "wrong-one" not in json.dumps(items)
    assert [i["action"] for i in server.get("/api/v1/auth/audit", other["access_token"]).json()["items"]] == [
        "auth.login"]
    assert_error(server.get("/api/v1/auth/audit"), 401)
