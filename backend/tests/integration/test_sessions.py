"""Sessions that can end and streams that re-check, driven as an attacker would:
refresh rotation and reuse, logout, revoke-all, password change, deleted
users, junk tokens, stream tickets, streams that close when access ends, the
per-user stream cap, and revocation across two API instances on PostgreSQL."""
import base64
import json
import os
import sqlite3
import subprocess
import threading
import time

import requests

from conftest import Api, assert_error


def refresh_cookie(r):
    """The cp_refresh value a reply sets ('' when it clears it)."""
    raw = r.headers.get("Set-Cookie", "")
    assert raw.startswith("cp_refresh="), r.headers
    return raw.split(";", 1)[0].split("=", 1)[1]


def signup_raw(s, email, password="correct horse battery"):
    """Sign-up through the mailed link; the completing response (which signs in)."""
    assert s.post("/api/v1/auth/signup", {"email": email}).status_code == 202
    return s.post("/api/v1/auth/signup/complete",
                  {"token": s.mailed_token(email, "signup"), "password": password, "name": "U"})


def refresh(s, cookie):
    return s.post("/api/v1/auth/refresh", headers={"Cookie": "cp_refresh=" + cookie})


def login(s, email, password="correct horse battery", agent="pytest"):
    r = s.post("/api/v1/auth/login", {"email": email, "password": password}, headers={"User-Agent": agent})
    assert r.status_code == 200, r.text
    return r.json()["access_token"], refresh_cookie(r)


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def me(s, token):
    return s.get("/api/v1/auth/me", token)


def test_refresh_rotates_and_reuse_revokes_the_family(make_server, store_env):
    s = make_server(env=store_env)
    u = s.signup("rot@example.com")
    access, first = login(s, "rot@example.com")
    r = refresh(s, first)
    assert r.status_code == 200, r.text
    second = refresh_cookie(r)
    new_access = r.json()["access_token"]
    assert second and second != first and new_access != access
    assert r.json()["user"]["id"] == u["user"]["id"] and r.json()["expires_in"] == 900
    assert claims(new_access)["sid"] == claims(access)["sid"]  # same session, rotated token
    assert me(s, new_access).status_code == 200
    r = refresh(s, second)
    assert r.status_code == 200
    third = refresh_cookie(r)
    # The spent first token comes back: someone else holds the family. All of it ends.
    r = refresh(s, first)
    assert_error(r, 401, "refresh_reused")
    assert refresh_cookie(r) == ""
    assert_error(refresh(s, third), 401, "invalid_refresh")
    for tok in (access, new_access, r.json().get("access_token")):
        if tok:
            assert_error(me(s, tok), 401, "session_ended")
    logs = s.logs()
    assert "refresh token reused" in logs
    for secret in (first, second, third):
        assert secret not in logs
    # The user's other sign-ins are untouched.
    other_access, _ = login(s, "rot@example.com")
    assert me(s, other_access).status_code == 200


def test_refresh_cookie_is_secure_behind_https(make_server):
    s = make_server(env={"CLOUDPLANE_PUBLIC_URL": "https://cloud.example.com"})
    r = signup_raw(s, "tls@example.com")
    assert r.status_code == 201, r.text
    parts = [p.strip() for p in r.headers["Set-Cookie"].split(";")]
    assert parts[0].startswith("cp_refresh=") and len(parts[0]) > len("cp_refresh=") + 40
    assert {"Path=/api/v1/auth", "HttpOnly", "SameSite=Strict", "Secure"} <= set(parts)
    assert "Max-Age=1209600" in parts
    r = refresh(s, refresh_cookie(r))
    assert r.status_code == 200 and "Secure" in r.headers["Set-Cookie"]


def test_refresh_refuses_junk(server):
    for cookie in ("", "x", "A" * 43, "A" * 2000, "%00%ff", "a;b"):
        r = server.post("/api/v1/auth/refresh", headers={"Cookie": "cp_refresh=" + cookie})
        assert_error(r, 401)
    assert_error(server.post("/api/v1/auth/refresh"), 401, "invalid_refresh")


def test_logout_ends_the_session_at_once(server):
    server.signup("out@example.com")
    access, cookie = login(server, "out@example.com")
    keep, _ = login(server, "out@example.com")
    assert me(server, access).status_code == 200
    r = server.post("/api/v1/auth/logout", token=access)
    assert r.status_code == 204, r.text
    assert refresh_cookie(r) == "" and "Max-Age=0" in r.headers["Set-Cookie"]
    assert_error(me(server, access), 401, "session_ended")
    assert_error(refresh(server, cookie), 401)
    assert_error(server.post("/api/v1/auth/logout", token=access), 401)
    assert me(server, keep).status_code == 200  # only that sign-in ended


def test_sessions_list_and_revoke_all(server):
    server.signup("many@example.com")
    a, _ = login(server, "many@example.com", agent="Browser A")
    b, b_cookie = login(server, "many@example.com", agent="Browser B\x01\x7f")
    r = server.get("/api/v1/auth/sessions", a)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    # signup's own session, A and B
    assert len(items) == 3
    assert [i["current"] for i in items].count(True) == 1
    mine = [i for i in items if i["current"]][0]
    assert mine["id"] == claims(a)["sid"] and mine["user_agent"] == "Browser A"
    assert any(i["user_agent"] == "Browser B??" for i in items)
    for i in items:
        assert set(i) == {"id", "created_at", "last_used_at", "expires_at", "user_agent", "current"}
    assert b_cookie not in r.text and b not in r.text
    # One session ends by id; someone else's session id is not found.
    other = server.signup()
    assert_error(server.req("DELETE", "/api/v1/auth/sessions/" + claims(b)["sid"], other["access_token"]), 404)
    assert me(server, b).status_code == 200
    assert server.req("DELETE", "/api/v1/auth/sessions/" + claims(b)["sid"], a).status_code == 204
    assert_error(me(server, b), 401)
    c, _ = login(server, "many@example.com")
    r = server.post("/api/v1/auth/sessions/revoke-all", token=a)
    assert r.status_code == 200 and r.json()["revoked"] == 3
    for tok in (a, c):
        assert_error(me(server, tok), 401)
    assert me(server, other["access_token"]).status_code == 200


def test_password_change_revokes_the_other_sessions(server):
    server.signup("pw@example.com", password="old-password-1")
    a, _ = login(server, "pw@example.com", "old-password-1")
    b, b_cookie = login(server, "pw@example.com", "old-password-1")
    r = server.post("/api/v1/auth/password", {"current_password": "wrong-password", "new_password": "new-password-2"},
                    token=a)
    assert_error(r, 422, "wrong_password", "current_password")
    r = server.post("/api/v1/auth/password", {"current_password": "old-password-1", "new_password": "short"}, token=a)
    assert_error(r, 422, "weak_password", "new_password")
    assert_error(server.post("/api/v1/auth/password", {"current_password": "old-password-1"}, token=a), 422)
    assert_error(server.post("/api/v1/auth/password", {"current_password": "x", "new_password": "y" * 12,
                                                       "extra": 1}, token=a), 400)
    r = server.post("/api/v1/auth/password", {"current_password": "old-password-1", "new_password": "new-password-2"},
                    token=a)
    assert r.status_code == 200, r.text
    assert r.json() == {"sessions_revoked": 2}  # B and the sign-up's session
    assert me(server, a).status_code == 200
    assert_error(me(server, b), 401)
    assert_error(refresh(server, b_cookie), 401)
    assert_error(server.post("/api/v1/auth/login", {"email": "pw@example.com", "password": "old-password-1"}), 401)
    login(server, "pw@example.com", "new-password-2")
    assert "new-password-2" not in server.logs() and "old-password-1" not in server.logs()


def test_wrong_current_password_is_rate_limited(server):
    server.signup("pwlimit@example.com", password="old-password-1")
    a, _ = login(server, "pwlimit@example.com", "old-password-1")
    body = {"current_password": "wrong-password", "new_password": "new-password-2"}
    for _ in range(5):
        assert_error(server.post("/api/v1/auth/password", body, token=a), 422)
    r = server.post("/api/v1/auth/password", body, token=a)
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1


def test_token_of_a_deleted_user_is_refused(make_server, store_env):
    server = make_server(env=store_env)
    r = signup_raw(server, "gone@example.com")
    u, cookie = r.json(), refresh_cookie(r)
    token = u["access_token"]
    assert me(server, token).status_code == 200
    # No API deletes users: the row goes straight from the database, as an operator would.
    pg = store_env.get("CLOUDPLANE_DATABASE_URL")
    if pg:
        subprocess.run(["psql", pg, "-q", "-c", "DELETE FROM users WHERE id = '%s'" % u["user"]["id"]], check=True,
                       capture_output=True)
    else:
        db = sqlite3.connect(os.path.join(server.data_dir, "cloudplane.db"))
        with db:
            db.execute("DELETE FROM users WHERE id = ?", (u["user"]["id"],))
        db.close()
    assert_error(me(server, token), 401)
    assert_error(server.get("/api/v1/projects", token), 401)
    assert_error(refresh(server, cookie), 401)


def test_junk_and_oversized_tokens_get_401_json(server):
    u = server.signup()
    good = u["access_token"]
    junk = ["a" * 1024, "a" * 1023, good + "a" * (1024 - len(good)), "x.y.z", "...", good.replace(".", "", 1),
            "eyJhbGciOiJIUzI1NiJ9." + "A" * 1000 + ".sig", "\u00e9\u00e8", "Bearer " + good, "a" * 6000]
    for tok in junk:
        r = requests.get(server.url + "/api/v1/auth/me", timeout=10,
                         headers={"Authorization": "Bearer " + tok.encode("utf-8").decode("latin-1")})
        assert_error(r, 401)
    for header in ("Bearer", "Bearer ", "bearer " + good[:-1], "Token " + good):
        assert_error(requests.get(server.url + "/api/v1/auth/me", headers={"Authorization": header}, timeout=10), 401)
    # A stream ticket is no access token, and an access token is no stream ticket.
    owner = Api(server)
    p = owner.project(name="tickets")
    acct = owner.sandbox_account(p["id"])
    run_id = owner.create_vm(p["id"], acct["id"], name="t1")["run"]["id"]
    ticket = owner.ok("POST", "/runs/%s/stream-ticket" % run_id)["ticket"]
    assert_error(me(server, ticket), 401)
    r = requests.get(server.url + "/api/v1/runs/%s/events?ticket=%s" % (run_id, owner.token), timeout=10)
    assert_error(r, 401, "invalid_ticket")
    for t in ("a" * 1024, "", "x"):
        r = requests.get(server.url + "/api/v1/runs/%s/events?ticket=%s" % (run_id, t), timeout=10)
        assert_error(r, 401)
    owner.wait_run(run_id)


# ---- streams ----


class Stream:
    """An SSE reader on its own thread: events as (id, event, data) with the
    monotonic time each arrived."""

    def __init__(self, server, run_id, ticket=None, token=None, last_event_id=None):
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = "Bearer " + token
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        url = server.url + "/api/v1/runs/%s/events" % run_id + ("?ticket=" + ticket if ticket else "")
        self.resp = requests.get(url, headers=headers, stream=True, timeout=120)
        self.events = []
        self.done = threading.Event()
        if self.resp.status_code == 200:
            self.thread = threading.Thread(target=self._read, daemon=True)
            self.thread.start()
        else:
            self.done.set()

    def _read(self):
        cur = {}
        try:
            for raw in self.resp.iter_lines(decode_unicode=True):
                if raw == "":
                    if "event" in cur:
                        self.events.append((cur.get("id"), cur["event"], json.loads(cur.get("data", "null")),
                                            time.monotonic()))
                    cur = {}
                elif not raw.startswith(":"):
                    k, _, v = raw.partition(": ")
                    cur[k] = v
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError, AttributeError):
            pass
        finally:
            self.done.set()

    def wait_end(self, timeout):
        assert self.done.wait(timeout), "stream still open after %ss: %s" % (timeout, self.events[-3:])
        return self.events[-1] if self.events else None

    def close(self):
        self.resp.close()


def ticket_for(u, run_id):
    return u.ok("POST", "/runs/%s/stream-ticket" % run_id)["ticket"]


def slow_run(u, name="slow", seconds=30, **kw):
    p = u.project(name=name, **kw)
    acct = u.sandbox_account(p["id"])
    c = u.create_vm(p["id"], acct["id"], name=name, simulate_seconds=seconds)
    return p, c["run"]["id"]


def cancel(u, run_id):
    u.call("POST", "/runs/%s/cancel" % run_id)
    u.wait_run(run_id)


FAST_CANCEL = {"CLOUDPLANE_CANCEL_GRACE": "1"}


def test_outsider_cannot_open_another_users_stream(make_server):
    s = make_server(env=dict(FAST_CANCEL, CLOUDPLANE_STREAM_TICKET_TTL="5"))
    owner, outsider = Api(s), Api(s)
    p, run_a = slow_run(owner, "run-a")
    acct = owner.sandbox_account(p["id"])
    run_b = owner.create_vm(p["id"], acct["id"], name="run-b")["run"]["id"]
    # The outsider gets no ticket, and cannot read the stream with their own token.
    assert_error(outsider.call("POST", "/runs/%s/stream-ticket" % run_a), 404)
    assert_error(outsider.call("GET", "/runs/%s/events" % run_a), 404)
    # A ticket for run A opens run A only.
    ticket_a = ticket_for(owner, run_a)
    assert claims(ticket_a)["aud"] == "stream" and claims(ticket_a)["run"] == run_a
    r = requests.get(s.url + "/api/v1/runs/%s/events?ticket=%s" % (run_b, ticket_a), timeout=10)
    assert_error(r, 401, "invalid_ticket")
    st = Stream(s, run_a, ticket=ticket_a)
    assert st.resp.status_code == 200
    st.close()
    # The outsider's own ticket for their own run does not open the owner's run.
    op, orun = slow_run(outsider, "theirs", seconds=0)
    r = requests.get(s.url + "/api/v1/runs/%s/events?ticket=%s" % (run_a, ticket_for(outsider, orun)), timeout=10)
    assert_error(r, 401, "invalid_ticket")
    # Expired: the ticket lives 5 s here.
    time.sleep(6)
    r = requests.get(s.url + "/api/v1/runs/%s/events?ticket=%s" % (run_a, ticket_a), timeout=10)
    assert_error(r, 401, "invalid_ticket")
    cancel(owner, run_a)
    owner.wait_run(run_b)
    outsider.wait_run(orun)


def test_removed_member_stream_closes(make_server, store_env):
    s = make_server(env=dict(store_env, **FAST_CANCEL))
    owner, member = Api(s), Api(s)
    p, run_id = slow_run(owner, "shared")
    owner.add_member(p["id"], member, "viewer")
    st = Stream(s, run_id, ticket=ticket_for(member, run_id))
    assert st.resp.status_code == 200
    time.sleep(1)
    removed = time.monotonic()
    owner.ok("DELETE", "/projects/%s/members/%s" % (p["id"], member.user["id"]), status=204)
    last = st.wait_end(10)
    assert last[1:3] == ("end", {"reason": "access_revoked"}), st.events[-3:]
    assert last[3] - removed <= 5.0, "closed %.1fs after the removal" % (last[3] - removed)
    cancel(owner, run_id)


def test_stream_closes_when_its_session_ends(make_server):
    s = make_server(env=FAST_CANCEL)
    u = Api(s)
    _, run_id = slow_run(u)
    st = Stream(s, run_id, ticket=ticket_for(u, run_id))
    time.sleep(1)
    other = u.token
    u.token = s.post("/api/v1/auth/login", {"email": u.user["email"], "password": "correct horse battery"}).json()[
        "access_token"]
    ended = time.monotonic()
    assert s.post("/api/v1/auth/logout", token=other).status_code == 204
    last = st.wait_end(10)
    assert last[1:3] == ("end", {"reason": "session_ended"}) and last[3] - ended <= 5.0
    cancel(u, run_id)


def test_stream_closes_when_the_run_parks_and_when_it_ends(make_server):
    s = make_server()
    u = Api(s)
    p = u.project(name="gated", require_approval=True)
    acct = u.sandbox_account(p["id"])
    run_id = u.create_vm(p["id"], acct["id"], name="gated")["run"]["id"]
    st = Stream(s, run_id, ticket=ticket_for(u, run_id))
    last = st.wait_end(120)
    assert last[1:3] == ("end", {"reason": "awaiting_approval"}), st.events[-3:]
    assert [e[2]["run_status"] for e in st.events if e[1] == "status"][-1] == "awaiting_approval"
    # Opened again while it waits: ends again (after the grace, since it resumes past the status event).
    seen = max(int(e[0]) for e in st.events if e[0])
    again = Stream(s, run_id, ticket=ticket_for(u, run_id), last_event_id=seen)
    assert again.wait_end(10)[1:3] == ("end", {"reason": "awaiting_approval"})
    u.ok("POST", "/runs/%s/approve" % run_id)
    after = Stream(s, run_id, ticket=ticket_for(u, run_id), last_event_id=seen)
    last = after.wait_end(120)
    assert last[1:3] == ("end", {"reason": "run_finished"}), after.events[-3:]
    ids = [int(e[0]) for e in after.events if e[0]]
    assert ids and min(ids) == seen + 1 and ids == sorted(ids)  # Last-Event-ID resume still holds
    assert [e[2]["run_status"] for e in after.events if e[1] == "status"][-1] == "succeeded"


def test_stream_cap_per_user(make_server):
    s = make_server(env=dict(FAST_CANCEL, CLOUDPLANE_MAX_STREAMS_PER_USER="3"))
    u, other = Api(s), Api(s)
    p, run_id = slow_run(u, seconds=60)
    streams = [Stream(s, run_id, token=u.token) for _ in range(3)]
    assert [x.resp.status_code for x in streams] == [200, 200, 200]
    r = requests.get(s.url + "/api/v1/runs/%s/events?ticket=%s" % (run_id, ticket_for(u, run_id)), timeout=10)
    err = assert_error(r, 429, "too_many_streams")
    assert "3" in err["message"] and int(r.headers["Retry-After"]) >= 1
    # The JSON page is no stream: not capped.
    assert u.call("GET", "/runs/%s/events?format=json" % run_id).status_code == 200
    # Another user has their own allowance.
    owner_p = other.project(name="own")
    acct = other.sandbox_account(owner_p["id"])
    orun = other.create_vm(owner_p["id"], acct["id"], name="own")["run"]["id"]
    mine = Stream(s, orun, token=other.token)
    assert mine.resp.status_code == 200
    mine.close()
    # A client that goes away gives its slot back.
    streams[0].close()
    deadline = time.time() + 25
    while True:
        again = Stream(s, run_id, token=u.token)
        if again.resp.status_code == 200:
            break
        assert again.resp.status_code == 429 and time.time() < deadline, "slot never came back"
        time.sleep(0.5)
    streams.append(again)
    for x in streams:
        x.close()
    cancel(u, run_id)
    other.wait_run(orun)


# ---- two API instances on one PostgreSQL ----


def test_revocation_holds_across_instances(make_server):
    from conftest import fresh_pg_database
    url = fresh_pg_database()
    env = {"CLOUDPLANE_DATABASE_URL": url, "CLOUDPLANE_JWT_SECRET": "k" * 48}
    a = make_server(env=env)
    b = make_server(env=dict(env, CLOUDPLANE_WORKERS="0"))
    a.signup("twice@example.com")
    access, cookie = login(a, "twice@example.com")
    assert me(b, access).status_code == 200
    # Rotated on B, reused on A: the family ends on both.
    r = refresh(b, cookie)
    assert r.status_code == 200
    rotated_access = r.json()["access_token"]
    assert_error(refresh(a, cookie), 401, "refresh_reused")
    assert_error(me(b, rotated_access), 401)
    assert_error(me(a, access), 401)
    # Logout on A ends the token on B at once.
    access2, _ = login(b, "twice@example.com")
    assert me(a, access2).status_code == 200
    assert a.post("/api/v1/auth/logout", token=access2).status_code == 204
    assert_error(me(b, access2), 401, "session_ended")
    # A password changed on B ends A's other sessions.
    x, _ = login(a, "twice@example.com")
    y, _ = login(a, "twice@example.com")
    r = b.post("/api/v1/auth/password", {"current_password": "correct horse battery",
                                         "new_password": "brand-new-pass"}, token=x)
    assert r.status_code == 200
    assert_error(me(a, y), 401)
    assert me(a, x).status_code == 200


def test_concurrent_refresh_with_one_token_rotates_once(make_server, store_env):
    s = make_server(env=store_env)
    s.signup("race@example.com")
    _, cookie = login(s, "race@example.com")
    results = []

    def go():
        results.append(refresh(s, cookie))

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = [r.status_code for r in results]
    # At most one spends it; the others are reuse, which ends the family, the winner's token included.
    assert codes.count(200) <= 1 and codes.count(401) >= 5, codes
    for r in results:
        if r.status_code == 200:
            assert_error(me(s, r.json()["access_token"]), 401)
            assert_error(refresh(s, refresh_cookie(r)), 401)
