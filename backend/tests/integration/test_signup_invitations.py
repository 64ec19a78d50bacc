"""Sign-up policy, emailed sign-up links, project invitations, and that no
answer tells whether an email has an account. On SQLite and PostgreSQL where
the store decides (single use, expiry, email match)."""
import os
import re
import sqlite3
import subprocess
import time

import pytest

from conftest import Api, assert_error

SIGNUP = "/api/v1/auth/signup"
COMPLETE = "/api/v1/auth/signup/complete"
PW = "correct horse battery"


def same(a, b):
    """Byte-identical status and body (the request ids aside, there are none)."""
    assert a.status_code == b.status_code, (a.status_code, b.status_code)
    assert a.content == b.content, (a.text, b.text)


def shape(body, drop=("id", "created_at", "expires_at", "email")):
    """A reply with the fields that differ per call or per address masked."""
    return {k: ("*" if k in drop else v) for k, v in body.items()}


def complete(server, token, name="New User", password=PW):
    return server.post(COMPLETE, {"token": token, "password": password, "name": name})


def sql(server, env, query):
    """Runs a statement on the server's database (SQLite file or PostgreSQL)."""
    url = env.get("CLOUDPLANE_DATABASE_URL")
    if url:
        subprocess.run(["psql", url, "-q", "-c", query], check=True, capture_output=True)
        return
    db = sqlite3.connect(os.path.join(server.data_dir, "cloudplane.db"))
    db.execute(query)
    db.commit()
    db.close()


def operator_user(server, email):
    """An account made by the operator (`cloudplane admin create-user`), the
    way in when sign-up is not open; its access token."""
    subprocess.run([server.proc.args[0], "admin", "create-user", email, "Operator Made", "--data-dir",
                    server.data_dir], input=PW, text=True, check=True, capture_output=True, env=server.env)
    r = server.post("/api/v1/auth/login", {"email": email, "password": PW})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


# ---- sign-up ----


def test_signup_taken_and_new_email_answer_identically(server):
    server.signup("taken@example.com")
    taken = server.post(SIGNUP, {"email": "Taken@example.com"})
    new = server.post(SIGNUP, {"email": "fresh@example.com"})
    assert new.status_code == 202
    same(taken, new)
    # The difference is only in the mail, which goes to the address's owner.
    t = server.mails("taken@example.com", "signup")[-1]
    n = server.mails("fresh@example.com", "signup")[-1]
    assert t["link"] is None and "already has" in t["text"]
    assert re.search(r"/signup/complete#token=cps_[A-Za-z0-9_-]{43}$", n["link"]), n["link"]
    assert n["link"] in n["text"]


def test_signup_does_the_same_work_either_way(server):
    """A taken and a new email cost the same: each stores one sign-up token and writes one mail; neither hashes a
    password (the users table is untouched). No timing is measured here: the work is counted."""
    server.signup("counted@example.com")

    def counts():
        db = sqlite3.connect(os.path.join(server.data_dir, "cloudplane.db"))
        try:
            return [db.execute(q).fetchone()[0] for q in ("SELECT count(*) FROM signup_tokens",
                                                          "SELECT count(*) FROM users",
                                                          "SELECT group_concat(password_hash) FROM users")]
        finally:
            db.close()

    before = counts()
    assert server.post(SIGNUP, {"email": "counted@example.com"}).status_code == 202
    after_taken = counts()
    assert server.post(SIGNUP, {"email": "uncounted@example.com"}).status_code == 202
    after_new = counts()
    assert after_taken[0] - before[0] == 1 and after_new[0] - after_taken[0] == 1
    assert before[1:] == after_taken[1:] == after_new[1:]
    assert len(server.mails("counted@example.com", "signup")) == 2 and server.mails("uncounted@example.com", "signup")


def test_signup_link_works_once(store_env, make_server):
    s = make_server(env=store_env)
    assert s.post(SIGNUP, {"email": "once@example.com"}).status_code == 202
    token = s.mailed_token("once@example.com", "signup")
    r = complete(s, token, name="Once")
    assert r.status_code == 201, r.text
    assert r.json()["user"]["email"] == "once@example.com"
    reused = complete(s, token, name="Twice")
    unknown = complete(s, "cps_" + "B" * 43)
    garbage = complete(s, "not-a-token")
    wrong_kind = complete(s, "cpi_" + "B" * 43)
    for r in (reused, unknown, garbage, wrong_kind):
        assert_error(r, 404, "invalid_token", "token")
    same(reused, unknown)
    same(reused, garbage)
    same(reused, wrong_kind)


def test_signup_link_expires(store_env, make_server):
    s = make_server(env=store_env)
    assert s.post(SIGNUP, {"email": "late@example.com"}).status_code == 202
    token = s.mailed_token("late@example.com", "signup")
    sql(s, store_env, "UPDATE signup_tokens SET expires_at = 1")
    same(complete(s, token), complete(s, "cps_" + "C" * 43))
    assert_error(s.post("/api/v1/auth/login", {"email": "late@example.com", "password": PW}), 401)


def test_signup_token_of_an_email_taken_meanwhile_is_dead(server):
    assert server.post(SIGNUP, {"email": "race@example.com"}).status_code == 202
    first = server.mailed_token("race@example.com", "signup")
    server.signup("race@example.com")  # a second link, used first
    same(complete(server, first), complete(server, "cps_" + "D" * 43))


def test_tokens_are_stored_hashed_and_not_logged(server):
    assert server.post(SIGNUP, {"email": "hashed@example.com"}).status_code == 202
    token = server.mailed_token("hashed@example.com", "signup")
    with open(os.path.join(server.data_dir, "cloudplane.db"), "rb") as f:
        assert token.encode() not in f.read()
    db = sqlite3.connect(os.path.join(server.data_dir, "cloudplane.db"))
    (h,) = db.execute("SELECT token_hash FROM signup_tokens").fetchone()
    db.close()
    import hashlib
    assert h == hashlib.sha256(token.encode()).hexdigest()
    # With an outbox, the log names the mail's file, not its link.
    logs = server.logs()
    assert token not in logs and "outbox_file" in logs


def test_without_outbox_the_log_carries_the_link(make_server):
    s = make_server(env={"CLOUDPLANE_MAIL_OUTBOX": ""})
    assert s.post(SIGNUP, {"email": "logged@example.com"}).status_code == 202
    time.sleep(0.1)
    m = re.search(r'"link":\s*"[^"]*#token=(cps_[A-Za-z0-9_-]+)"', s.logs())
    assert m, s.logs()[-2000:]
    assert complete(s, m.group(1)).status_code == 201


def test_policy_invite_refuses_plain_signup(make_server):
    s = make_server(env={"CLOUDPLANE_SIGNUP": "invite"})
    assert_error(s.post(SIGNUP, {"email": "x@example.com"}), 403, "signup_invite_only")
    assert s.mails() == []
    # A sign-up token (say, mailed while the policy was open) no longer creates accounts.
    assert_error(complete(s, "cps_" + "E" * 43), 403, "signup_invite_only")


def test_policy_invite_allows_invitation_signup(store_env, make_server):
    s = make_server(env=dict(store_env, CLOUDPLANE_SIGNUP="invite"))
    # The first user of an invite-only server comes from the operator.
    tok = operator_user(s, "boss@example.com")
    p = s.post("/api/v1/projects", {"name": "inv"}, tok).json()
    r = s.post("/api/v1/projects/%s/invitations" % p["id"], {"email": "newbie@example.com", "role": "member"}, tok)
    assert r.status_code == 202, r.text
    r = complete(s, s.mailed_token("newbie@example.com", "invitation"), name="Newbie")
    assert r.status_code == 201, r.text
    assert r.json()["user"]["email"] == "newbie@example.com"
    projects = s.get("/api/v1/projects", r.json()["access_token"]).json()["items"]
    assert [(x["id"], x["role"]) for x in projects] == [(p["id"], "member")]


def test_policy_off(make_server):
    s = make_server(env={"CLOUDPLANE_SIGNUP": "off"})
    assert_error(s.post(SIGNUP, {"email": "x@example.com"}), 403, "signup_disabled")
    assert_error(complete(s, "cps_" + "F" * 43), 403, "signup_disabled")
    assert_error(complete(s, "cpi_" + "F" * 43), 403, "signup_disabled")
    assert s.mails() == []


def test_bad_policy_refuses_to_start(tmp_path):
    from conftest import BINARY
    r = subprocess.run([BINARY, "serve", "--signup", "maybe", "--data-dir", str(tmp_path)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0 and "--signup" in r.stderr


# ---- invitations ----


def test_invite_registered_and_unregistered_answer_identically(server):
    owner = Api(server)
    known = Api(server)
    p = owner.project(name="team")
    a = owner.call("POST", "/projects/%s/invitations" % p["id"], {"email": known.user["email"], "role": "member"})
    b = owner.call("POST", "/projects/%s/invitations" % p["id"], {"email": "ghost@example.com", "role": "member"})
    assert a.status_code == b.status_code == 202
    assert shape(a.json()) == shape(b.json())
    assert set(a.headers) == set(b.headers)
    assert "token" not in a.text and "cpi_" not in a.text
    # Both were mailed a link; only the words differ.
    assert server.mailed_token(known.user["email"], "invitation").startswith("cpi_")
    assert server.mailed_token("ghost@example.com", "invitation").startswith("cpi_")


def test_no_endpoint_tells_whether_an_email_has_an_account(server):
    owner = Api(server)
    known = Api(server)
    p = owner.project(name="probe")
    pid = p["id"]
    ghost = "nobody-%d@example.com" % int(time.time() * 1e6)
    # Sign-up: identical.
    same(server.post(SIGNUP, {"email": known.user["email"]}), server.post(SIGNUP, {"email": ghost}))
    # Login: identical errors.
    same(server.post("/api/v1/auth/login", {"email": known.user["email"], "password": "wrong-password"}),
         server.post("/api/v1/auth/login", {"email": ghost, "password": "wrong-password"}))
    # Member add by email is gone (405 for both), and invitations look the same.
    same(owner.call("POST", "/projects/%s/members" % pid, {"email": known.user["email"], "role": "viewer"}),
         owner.call("POST", "/projects/%s/members" % pid, {"email": ghost, "role": "viewer"}))
    a = owner.call("POST", "/projects/%s/invitations" % pid, {"email": known.user["email"], "role": "viewer"})
    b = owner.call("POST", "/projects/%s/invitations" % pid, {"email": ghost, "role": "viewer"})
    assert (a.status_code, shape(a.json())) == (b.status_code, shape(b.json()))
    # The pending list shows both the same way (no "has account" field).
    items = owner.ok("GET", "/projects/%s/invitations" % pid)["items"]
    assert sorted(shape(i, ("id", "created_at", "expires_at", "email")) == shape(items[0]) for i in items)
    assert {i["email"] for i in items} == {known.user["email"], ghost}


def test_invite_accept_by_link(store_env, make_server):
    s = make_server(env=store_env)
    owner, invitee = Api(s), Api(s)
    p = owner.project(name="joinme")
    inv = owner.invite(p["id"], invitee.user["email"].upper(), "admin")
    assert inv["email"] == invitee.user["email"] and inv["status"] == "pending"
    assert inv["invited_by"] == {"id": owner.user["id"], "email": owner.user["email"]}
    # The invitee sees it in their own list; nobody else does.
    mine = invitee.ok("GET", "/invitations")["items"]
    assert [i["id"] for i in mine] == [inv["id"]] and mine[0]["project_name"] == "joinme"
    assert owner.ok("GET", "/invitations")["items"] == []
    token = s.mailed_token(invitee.user["email"], "invitation")
    joined = invitee.ok("POST", "/invitations/accept", {"token": token}, 200)
    assert joined["id"] == p["id"] and joined["role"] == "admin"
    members = {m["email"]: m["role"] for m in owner.ok("GET", "/projects/%s/members" % p["id"])["items"]}
    assert members[invitee.user["email"]] == "admin"
    assert owner.ok("GET", "/projects/%s/invitations" % p["id"])["items"] == []
    assert invitee.ok("GET", "/invitations")["items"] == []
    # Single use.
    assert_error(invitee.call("POST", "/invitations/accept", {"token": token}), 404, "invalid_token")


def test_invitation_refusals_look_alike(store_env, make_server):
    s = make_server(env=store_env)
    owner, invitee, stranger = Api(s), Api(s), Api(s)
    p = owner.project(name="guarded")
    pid = p["id"]

    def fresh(email):
        owner.invite(pid, email, "viewer")
        return s.mailed_token(email, "invitation")

    unknown = invitee.call("POST", "/invitations/accept", {"token": "cpi_" + "G" * 43})
    assert_error(unknown, 404, "invalid_token")
    # Someone else's token: the signed-in email must be the invited one.
    tok = fresh(invitee.user["email"])
    same(stranger.call("POST", "/invitations/accept", {"token": tok}), unknown)
    # Revoked.
    inv_id = owner.ok("GET", "/projects/%s/invitations" % pid)["items"][0]["id"]
    owner.ok("DELETE", "/projects/%s/invitations/%s" % (pid, inv_id), status=204)
    same(invitee.call("POST", "/invitations/accept", {"token": tok}), unknown)
    assert_error(owner.call("DELETE", "/projects/%s/invitations/%s" % (pid, inv_id)), 404)
    # Superseded by a newer invitation to the same email.
    old = fresh(invitee.user["email"])
    new = fresh(invitee.user["email"])
    same(invitee.call("POST", "/invitations/accept", {"token": old}), unknown)
    # Expired.
    sql(s, store_env, "UPDATE invitations SET expires_at = 1")
    same(invitee.call("POST", "/invitations/accept", {"token": new}), unknown)
    assert invitee.ok("GET", "/invitations")["items"] == []
    # Used: the stranger's own invitation, accepted twice.
    tok = fresh(stranger.user["email"])
    stranger.ok("POST", "/invitations/accept", {"token": tok}, 200)
    same(stranger.call("POST", "/invitations/accept", {"token": tok}), unknown)
    # Nothing above made the invitee a member.
    assert_error(invitee.call("GET", "/projects/" + pid), 404)


def test_accept_and_decline_from_my_list(server):
    owner, invitee, other = Api(server), Api(server), Api(server)
    p1, p2 = owner.project(name="one"), owner.project(name="two")
    owner.invite(p1["id"], invitee.user["email"], "member")
    owner.invite(p2["id"], invitee.user["email"], "viewer")
    mine = {i["project_id"]: i for i in invitee.ok("GET", "/invitations")["items"]}
    assert set(mine) == {p1["id"], p2["id"]}
    # Another user cannot act on them.
    assert_error(other.call("POST", "/invitations/%s/accept" % mine[p1["id"]]["id"]), 404)
    assert_error(other.call("POST", "/invitations/%s/decline" % mine[p1["id"]]["id"]), 404)
    assert invitee.ok("POST", "/invitations/%s/accept" % mine[p1["id"]]["id"], status=200)["role"] == "member"
    invitee.ok("POST", "/invitations/%s/decline" % mine[p2["id"]]["id"], status=204)
    assert "invitation.decline" in [e["action"] for e in owner.ok("GET", "/projects/%s/audit" % p2["id"])["items"]]
    assert_error(invitee.call("POST", "/invitations/%s/accept" % mine[p2["id"]]["id"]), 404)
    assert invitee.ok("GET", "/invitations")["items"] == []
    assert [x["id"] for x in invitee.ok("GET", "/projects")["items"]] == [p1["id"]]
    # The declined link is dead too.
    tok = server.mailed_token(invitee.user["email"], "invitation")
    assert_error(invitee.call("POST", "/invitations/accept", {"token": tok}), 404, "invalid_token")


def test_signup_through_invitation(store_env, make_server):
    s = make_server(env=store_env)
    owner = Api(s)
    p = owner.project(name="welcome")
    owner.invite(p["id"], "Newcomer@Example.com", "member")
    token = s.mailed_token("newcomer@example.com", "invitation")
    mail = s.mails("newcomer@example.com", "invitation")[-1]
    assert re.search(r"/invite#token=cpi_", mail["link"]) and "welcome" in mail["subject"]
    r = complete(s, token, name="Newcomer")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["user"]["email"] == "newcomer@example.com"
    assert [x["role"] for x in s.get("/api/v1/projects", body["access_token"]).json()["items"]] == ["member"]
    # Used once.
    assert_error(complete(s, token, name="Again"), 404, "invalid_token")


def test_invitation_signup_for_existing_account(server):
    owner, known = Api(server), Api(server)
    p = owner.project(name="x")
    owner.invite(p["id"], known.user["email"], "viewer")
    token = server.mailed_token(known.user["email"], "invitation")
    # Only the holder of the mailed link learns the account exists; the link still works by signing in.
    assert_error(complete(server, token), 409, "account_exists")
    known.ok("POST", "/invitations/accept", {"token": token}, 200)


def test_policy_off_invitations_reach_existing_users_only(make_server):
    s = make_server(env={"CLOUDPLANE_SIGNUP": "off"})
    tok = operator_user(s, "root@example.com")
    p = s.post("/api/v1/projects", {"name": "closed"}, tok).json()
    r = s.post("/api/v1/projects/%s/invitations" % p["id"], {"email": "outside@example.com", "role": "viewer"}, tok)
    assert r.status_code == 202
    mail = s.mails("outside@example.com", "invitation")[-1]
    assert "administrator" in mail["text"]
    assert_error(complete(s, s.mailed_token("outside@example.com", "invitation")), 403, "signup_disabled")


def test_only_admins_invite_and_only_owners_invite_owners(server):
    owner, admin, member, outsider = Api(server), Api(server), Api(server), Api(server)
    p = owner.project(name="roles")
    pid = p["id"]
    owner.add_member(pid, admin, "admin")
    owner.add_member(pid, member, "member")
    body = {"email": "x@example.com", "role": "viewer"}
    assert_error(member.call("POST", "/projects/%s/invitations" % pid, body), 403, "forbidden")
    assert_error(member.call("GET", "/projects/%s/invitations" % pid), 403, "forbidden")
    assert_error(outsider.call("POST", "/projects/%s/invitations" % pid, body), 404)
    assert_error(outsider.call("GET", "/projects/%s/invitations" % pid), 404)
    assert_error(admin.call("POST", "/projects/%s/invitations" % pid, dict(body, role="owner")), 403)
    inv = admin.invite(pid, "y@example.com", "admin")
    assert_error(member.call("DELETE", "/projects/%s/invitations/%s" % (pid, inv["id"])), 403)
    assert_error(outsider.call("DELETE", "/projects/%s/invitations/%s" % (pid, inv["id"])), 404)
    owner_inv = owner.invite(pid, "z@example.com", "owner")
    # Only owners take back an owner invitation, as only they may grant it.
    assert_error(admin.call("DELETE", "/projects/%s/invitations/%s" % (pid, owner_inv["id"])), 403)
    admin.ok("DELETE", "/projects/%s/invitations/%s" % (pid, inv["id"]), status=204)
    owner.ok("DELETE", "/projects/%s/invitations/%s" % (pid, owner_inv["id"]), status=204)
    # Invalid input.
    assert_error(owner.call("POST", "/projects/%s/invitations" % pid, {"email": "nope", "role": "viewer"}), 422,
                 "invalid_email", "email")
    assert_error(owner.call("POST", "/projects/%s/invitations" % pid, {"email": "a@b.io", "role": "god"}), 422,
                 field="role")
    for bad in ("nope", "01abcdefghjkmnpqrstvwxyz00"):
        assert_error(owner.call("DELETE", "/projects/%s/invitations/%s" % (pid, bad)), 404)
    audit = [e["action"] for e in owner.ok("GET", "/projects/%s/audit" % pid)["items"]]
    assert {"invitation.create", "invitation.accept", "invitation.revoke"} <= set(audit)


def test_deleting_a_project_drops_its_invitations(server):
    owner, invitee = Api(server), Api(server)
    p = owner.project(name="short-lived")
    owner.invite(p["id"], invitee.user["email"], "viewer")
    owner.ok("DELETE", "/projects/" + p["id"], status=204)
    assert invitee.ok("GET", "/invitations")["items"] == []
    tok = server.mailed_token(invitee.user["email"], "invitation")
    assert_error(invitee.call("POST", "/invitations/accept", {"token": tok}), 404, "invalid_token")


@pytest.mark.parametrize("token", ["", "x" * 256, "cpi_" + "\u00e9" * 43, "cpi_" + "A" * 43 + "%00"])
def test_odd_tokens(server, token):
    u = Api(server)
    assert_error(u.call("POST", "/invitations/accept", {"token": token}), 404, "invalid_token")
    assert_error(complete(server, token), 404, "invalid_token")
