"""API tokens end to end: personal and project service tokens, scopes, expiry,
revocation (also across two API instances), hashed storage, malformed tokens,
audit attribution, and that no secret reaches the server log. SQLite and
PostgreSQL (store_env)."""
import os
import re
import sqlite3
import subprocess
import time

import pytest

from conftest import Api, assert_error, SSH_KEY
from distributed import Cluster, wait_for

TOKEN_RE = re.compile(r"^cpt_([0-9a-hjkmnp-tv-z]{26})_([0-9a-f]{64})$")


def sql(server, query, *args):
    """Rows of a query on the server's database (SQLite file or PostgreSQL)."""
    url = server.env.get("CLOUDPLANE_DATABASE_URL")
    if not url:
        db = sqlite3.connect(os.path.join(server.data_dir, "cloudplane.db"))
        try:
            rows = db.execute(query, args).fetchall()
            db.commit()
            return [[None if v is None else str(v) for v in row] for row in rows]
        finally:
            db.close()
    n = [0]

    def var(_):
        n[0] += 1
        return ":'a%d'" % n[0]
    cmd = ["psql", url, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
    for i, a in enumerate(args, 1):
        cmd += ["-v", "a%d=%s" % (i, a)]
    out = subprocess.run(cmd, input=re.sub(r"\?", var, query), capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


class TokenUser(Api):
    """Calls the API with an API token instead of a sign-in."""

    def __init__(self, server, token):
        self.s, self.token, self.user = server, token, None


def personal(u, scopes, **kw):
    return u.ok("POST", "/tokens", dict({"name": "ci", "scopes": scopes}, **kw), 201)


def service(u, project_id, scopes, role="member", **kw):
    return u.ok("POST", "/projects/%s/tokens" % project_id, dict({"name": "ci", "scopes": scopes, "role": role}, **kw),
                201)


def order_vm(u, project_id, account_id, name):
    return u.call("POST", "/resources", {"project_id": project_id, "account_id": account_id, "kind": "vm",
                                         "name": name, "region": "sandbox-east-1", "size": "sandbox.small",
                                         "config": {"ssh_public_key": SSH_KEY, "allowed_cidrs": ["198.51.100.0/24"]}})


@pytest.fixture
def srv(make_server, store_env):
    return make_server(store_env)


def test_service_token_orders_in_its_project_and_nothing_else(srv):
    owner = Api(srv)
    p = owner.project(name="mine")
    acct = owner.sandbox_account(p["id"])
    other = owner.project(name="other")
    other_acct = owner.sandbox_account(other["id"])
    theirs = owner.create_vm(other["id"], other_acct["id"], name="theirs")
    owner.wait_run(theirs["run"]["id"])

    made = service(owner, p["id"], ["read", "order"])
    assert TOKEN_RE.match(made["token"]) and made["kind"] == "project" and made["role"] == "member"
    assert made["project_id"] == p["id"] and made["scopes"] == ["read", "order"]
    bot = TokenUser(srv, made["token"])

    listed = bot.ok("GET", "/projects")["items"]
    assert [x["id"] for x in listed] == [p["id"]]
    r = order_vm(bot, p["id"], acct["id"], "by-token")
    assert r.status_code == 202, r.text
    assert bot.wait_run(r.json()["run"]["id"])["status"] == "succeeded"
    assert bot.ok("GET", "/resources/" + r.json()["resource"]["id"])["status"] == "active"

    # Everything of the other project is not there for it.
    assert_error(bot.call("GET", "/projects/" + other["id"]), 404)
    assert_error(bot.call("GET", "/resources/" + theirs["resource"]["id"]), 404)
    assert_error(bot.call("DELETE", "/resources/" + theirs["resource"]["id"]), 404)
    # A project named in a body is the API's usual 422 not_found.
    assert_error(order_vm(bot, other["id"], other_acct["id"], "nope"), 422, "not_found", "project_id")
    assert [x["id"] for x in bot.ok("GET", "/resources")["items"]] == [r.json()["resource"]["id"]]
    # It cannot make projects, accept invitations, or make personal tokens.
    assert_error(bot.call("POST", "/projects", {"name": "escape"}), 403, "insufficient_scope")
    assert_error(bot.call("POST", "/tokens", {"name": "x", "scopes": ["read"]}), 403, "insufficient_scope")
    # Its service user is not a member anyone manages.
    members = owner.ok("GET", "/projects/%s/members" % p["id"])["items"]
    assert [m["user_id"] for m in members] == [owner.user["id"]]
    listed = owner.ok("GET", "/projects/%s/tokens" % p["id"])["items"]
    assert [t["id"] for t in listed] == [made["id"]] and "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None


def test_scopes_read_order_approve(srv):
    owner = Api(srv)
    p = owner.project(name="gated", require_approval=True)
    acct = owner.sandbox_account(p["id"])
    reader = TokenUser(srv, personal(owner, ["read"])["token"])
    assert reader.ok("GET", "/projects")["items"][0]["id"] == p["id"]
    assert reader.ok("GET", "/auth/me")["id"] == owner.user["id"]
    err = assert_error(order_vm(reader, p["id"], acct["id"], "no"), 403, "insufficient_scope")
    assert "order" in err["message"]
    assert_error(reader.call("PATCH", "/projects/" + p["id"], {"name": "x"}), 403, "insufficient_scope")
    assert_error(reader.call("POST", "/projects/%s/accounts" % p["id"], {"name": "a", "cloud": "sandbox"}), 403,
                 "insufficient_scope")
    assert_error(reader.call("GET", "/tokens"), 403, "insufficient_scope")
    # Sign-in business is never a token's.
    assert_error(reader.call("POST", "/auth/password", {"current_password": "correct horse battery",
                                                         "new_password": "another long one"}), 403, "session_required")

    orderer = TokenUser(srv, personal(owner, ["read", "order"])["token"])
    r = order_vm(orderer, p["id"], acct["id"], "needs-ok")
    assert r.status_code == 202, r.text
    run = r.json()["run"]
    owner.wait_run(run["id"], until=("awaiting_approval",))
    assert_error(orderer.call("POST", "/runs/%s/approve" % run["id"]), 403, "insufficient_scope")
    approver = TokenUser(srv, personal(owner, ["approve"])["token"])
    assert_error(approver.call("GET", "/runs/" + run["id"]), 403, "insufficient_scope")
    approver.ok("POST", "/runs/%s/approve" % run["id"])
    assert owner.wait_run(run["id"])["status"] == "succeeded"

    # A token never has more than its user: a viewer's admin token is still a viewer.
    viewer = Api(srv)
    owner.add_member(p["id"], viewer, "viewer")
    strong = TokenUser(srv, personal(viewer, ["read", "order", "approve", "admin"])["token"])
    assert_error(order_vm(strong, p["id"], acct["id"], "viewer-order"), 403, "forbidden")
    # ... and cannot give a project token more than the viewer has.
    assert_error(strong.call("POST", "/projects/%s/tokens" % p["id"], {"name": "x", "scopes": ["read"]}), 403)
    # A token makes tokens only with admin, and at most with its own scopes.
    admin_tok = TokenUser(srv, personal(owner, ["read", "admin"])["token"])
    assert_error(admin_tok.call("POST", "/tokens", {"name": "x", "scopes": ["order"]}), 403, "insufficient_scope")
    assert admin_tok.ok("POST", "/tokens", {"name": "x", "scopes": ["read"]}, 201)["scopes"] == ["read"]
    assert_error(orderer.call("POST", "/tokens", {"name": "x", "scopes": ["read"]}), 403, "insufficient_scope")
    # Project token roles: at most admin, at most the creator's.
    assert_error(owner.call("POST", "/projects/%s/tokens" % p["id"],
                            {"name": "x", "scopes": ["read"], "role": "owner"}), 422, field="role")


def test_expiry_bounds_and_expired_token(srv):
    u = Api(srv)
    t = personal(u, ["read"])
    assert_error(u.call("POST", "/tokens", {"name": "x", "scopes": ["read"], "expires_in_days": 366}), 422,
                 field="expires_in_days")
    # A scope named twice is a malformed set (the spec's uniqueItems), not a quiet merge.
    assert_error(u.call("POST", "/tokens", {"name": "x", "scopes": ["read", "read"]}), 422, field="scopes")
    assert personal(u, ["read"], expires_in_days=365)["expires_at"] > t["expires_at"]
    tu = TokenUser(srv, t["token"])
    tu.ok("GET", "/projects")
    sql(srv, "UPDATE api_tokens SET expires_at = 1 WHERE id = ?", t["id"])
    assert_error(tu.call("GET", "/projects"), 401, "invalid_token")


def test_revoke_is_immediate_and_secret_only_hashed(srv):
    u = Api(srv)
    p = u.project(name="p")
    t = personal(u, ["read", "order", "admin"])
    tu = TokenUser(srv, t["token"])
    tu.ok("GET", "/projects")
    # last_used_at is written once, then left alone for a minute (no write per request).
    used = sql(srv, "SELECT last_used_at FROM api_tokens WHERE id = ?", t["id"])[0][0]
    assert used is not None and used != ""
    tu.ok("GET", "/projects")
    assert sql(srv, "SELECT last_used_at FROM api_tokens WHERE id = ?", t["id"])[0][0] == used
    sql(srv, "UPDATE api_tokens SET last_used_at = 1 WHERE id = ?", t["id"])
    tu.ok("GET", "/projects")
    assert int(sql(srv, "SELECT last_used_at FROM api_tokens WHERE id = ?", t["id"])[0][0]) >= int(used)
    rows = sql(srv, "SELECT secret_hash FROM api_tokens WHERE id = ?", t["id"])
    secret = TOKEN_RE.match(t["token"]).group(2)
    assert len(rows) == 1 and re.fullmatch(r"[0-9a-f]{64}", rows[0][0]) and rows[0][0] != secret
    if not srv.env.get("CLOUDPLANE_DATABASE_URL"):
        with open(os.path.join(srv.data_dir, "cloudplane.db"), "rb") as f:
            assert secret.encode() not in f.read()
    # Only its owner revokes it; then 401 from the next request.
    other = Api(srv)
    assert_error(other.call("DELETE", "/tokens/" + t["id"]), 404)
    u.ok("DELETE", "/tokens/" + t["id"], status=204)
    assert_error(tu.call("GET", "/projects"), 401, "invalid_token")
    assert u.ok("GET", "/tokens")["items"] == [] or t["id"] not in [x["id"] for x in u.ok("GET", "/tokens")["items"]]
    # A project token: revoked by the project's admin, gone at once.
    s = service(u, p["id"], ["read"])
    su = TokenUser(srv, s["token"])
    su.ok("GET", "/projects/" + p["id"])
    u.ok("DELETE", "/projects/%s/tokens/%s" % (p["id"], s["id"]), status=204)
    assert_error(su.call("GET", "/projects/" + p["id"]), 401, "invalid_token")


def test_malformed_tokens_are_401_json(srv):
    u = Api(srv)
    t = personal(u, ["read"])
    m = TOKEN_RE.match(t["token"])
    tid, secret = m.group(1), m.group(2)
    other_secret = ("0" if secret[0] != "0" else "1") + secret[1:]
    bad = ["cpt_", "cpt_x", "cpt_%s" % tid, "cpt_%s_" % tid, "cpt_%s_%s" % (tid, other_secret),
           "cpt_%s_%s" % ("0" * 26, secret), "cpt_%s_%s0" % (tid, secret), "cpt_%s_%s" % (tid, secret[:-1]),
           "cpt_%s_%s" % (tid, secret.upper()), "cpt_%s-%s" % (tid, secret), "cpt_" + "_" * 91,
           "cpt_%s_%s" % (tid.upper(), secret), "cpt_" + "é" * 45]
    for b in bad:
        r = srv.req("GET", "/api/v1/projects", headers={"Authorization": ("Bearer " + b).encode("utf-8")})
        assert_error(r, 401, "invalid_token")
    TokenUser(srv, t["token"]).ok("GET", "/projects")


def test_audit_rows_carry_the_token_id(srv):
    u = Api(srv)
    p = u.project(name="audited")
    t = personal(u, ["read", "admin"])
    TokenUser(srv, t["token"]).ok("PATCH", "/projects/" + p["id"], {"name": "renamed"})
    events = u.ok("GET", "/projects/%s/audit" % p["id"])["items"]
    by_token = [e for e in events if e["detail"].get("token_id") == t["id"]]
    assert by_token and by_token[0]["actor"]["id"] == u.user["id"], events
    s = service(u, p["id"], ["read", "admin"], role="admin")
    TokenUser(srv, s["token"]).ok("PATCH", "/projects/" + p["id"], {"name": "again"})
    events = u.ok("GET", "/projects/%s/audit" % p["id"])["items"]
    assert any(e["detail"].get("token_id") == s["id"] for e in events), events
    created = [e for e in events if e["action"] == "token.create"]
    assert {e["target"] for e in created} == {s["id"]}
    assert all(secret not in str(events) for secret in (t["token"], s["token"]))


def test_secret_never_in_server_log(make_server, store_env):
    srv = make_server(dict(store_env, CLOUDPLANE_ACCESS_LOG="true"))
    u = Api(srv)
    t = personal(u, ["read"])
    tu = TokenUser(srv, t["token"])
    tu.ok("GET", "/projects")
    tu.call("POST", "/projects", {"name": "x"})  # refused
    tu.call("GET", "/projects?access_token=" + t["token"])  # in a URL: refused
    wrong = t["token"][:-1] + ("0" if t["token"][-1] != "0" else "1")
    TokenUser(srv, wrong).call("GET", "/projects")
    u.ok("DELETE", "/tokens/" + t["id"], status=204)
    tu.call("GET", "/projects")
    secret = TOKEN_RE.match(t["token"]).group(2)
    # A request's access line is written once its reply has gone out, so the
    # revoke's line may follow the last request's: wait for it.
    deadline = time.monotonic() + 10
    while "/api/v1/tokens/" not in srv.logs() and time.monotonic() < deadline:
        time.sleep(0.05)
    logs = srv.logs()
    assert "/api/v1/tokens/" in logs  # the log is on and saw these requests
    assert secret not in logs and secret[:16] not in logs and wrong[-64:] not in logs


def test_revoke_holds_on_every_api_instance(tmp_path):
    c = Cluster(tmp_path)
    try:
        a, b = c.api(), c.api()
        u = Api(a)
        t = personal(u, ["read"])
        on_b = TokenUser(b, t["token"])
        on_b.ok("GET", "/projects")
        u.ok("DELETE", "/tokens/" + t["id"], status=204)
        assert_error(on_b.call("GET", "/projects"), 401, "invalid_token")
    finally:
        c.close()


def test_token_follows_run_events_and_revoke_ends_its_streams(make_server):
    from test_sessions import Stream, cancel, slow_run, ticket_for
    s = make_server({"CLOUDPLANE_CANCEL_GRACE": "1"})
    u = Api(s)
    _, run_id = slow_run(u, "followed", seconds=60)
    t = personal(u, ["read", "approve"])
    tu = TokenUser(s, t["token"])
    direct = Stream(s, run_id, token=t["token"])
    by_ticket = Stream(s, run_id, ticket=ticket_for(tu, run_id))
    assert direct.resp.status_code == by_ticket.resp.status_code == 200
    mine = Stream(s, run_id, token=u.token)
    u.ok("DELETE", "/tokens/" + t["id"], status=204)
    assert direct.wait_end(10)[1:3] == ("end", {"reason": "session_ended"})
    assert by_ticket.wait_end(10)[1:3] == ("end", {"reason": "session_ended"})
    assert not mine.done.is_set()
    mine.close()
    cancel(u, run_id)


def test_service_user_cannot_sign_in_and_gets_no_notifications(srv):
    u = Api(srv)
    p = u.project(name="quiet")
    acct = u.sandbox_account(p["id"])
    made = service(u, p["id"], ["read", "order"], role="admin")
    bot = TokenUser(srv, made["token"])
    me = bot.ok("GET", "/auth/me")
    assert me["email"].endswith(".invalid") and me["id"] != u.user["id"]
    r = srv.post("/api/v1/auth/login", {"email": me["email"], "password": "!service-token"})
    assert_error(r, 401, "invalid_credentials")
    r = order_vm(bot, p["id"], acct["id"], "by-bot")
    assert r.status_code == 202, r.text
    run_id = r.json()["run"]["id"]
    assert bot.wait_run(run_id)["status"] == "succeeded"
    # Told to the project's people (the admins), as if nobody in particular ordered it.
    wait_for(lambda: sql(srv, "SELECT COUNT(*) FROM notifications WHERE user_id = ? AND run_id = ?",
                         u.user["id"], run_id)[0][0] != "0", 30, "the owner's notification")
    rows = sql(srv, "SELECT COUNT(*) FROM notifications WHERE user_id = ?", me["id"])
    assert rows[0][0] == "0"
