"""Idle event streams cost no database work: an open stream reads the store
only when its run has news or an access notice names its user or project.
Counted with cloudplane_db_statements_total, never timed. With no workers
(CLOUDPLANE_WORKERS=0) a new run stays queued, so nothing changes unless the
test changes it."""
import re
import socket
import time

from conftest import Api
from test_sessions import Stream, cancel, slow_run, ticket_for

IDLE = {"CLOUDPLANE_WORKERS": "0", "CLOUDPLANE_MAX_STREAMS_PER_USER": "50"}
PASSWORD = "correct horse battery"


def statements(s):
    r = s.get("/metrics")
    assert r.status_code == 200
    m = re.search(r"^cloudplane_db_statements_total (\d+)$", r.text, re.M)
    assert m, r.text
    return int(m.group(1))


def settled(s, quiet=1.0, within=15.0):
    """The statement count once it has not moved for `quiet` seconds (the
    streams have done their opening reads); fails if it never settles."""
    deadline = time.monotonic() + within
    last = statements(s)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = statements(s)
        if now == last:
            return now
        last = now
    raise AssertionError("the statement count kept moving: idle streams query the database")


def queued_run(u, name="idle"):
    p = u.project(name=name)
    acct = u.sandbox_account(p["id"])
    run = u.create_vm(p["id"], acct["id"], name=name)["run"]
    assert run["status"] == "queued"
    return p, run["id"]


def login(s, email, password=PASSWORD):
    r = s.post("/api/v1/auth/login", {"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_idle_streams_run_no_statements_and_wake_on_news(make_server):
    s = make_server(env=IDLE)
    u = Api(s)
    _, run_id = queued_run(u)
    streams = [Stream(s, run_id, token=u.token) for _ in range(20)]
    assert all(x.resp.status_code == 200 for x in streams)
    before = settled(s)
    time.sleep(4)  # two of the old poll intervals
    assert statements(s) == before, "idle streams ran statements"
    # News wakes every stream: the cancel's status event reaches all of them.
    u.ok("POST", "/runs/%s/cancel" % run_id)
    for x in streams:
        last = x.wait_end(10)
        assert last[1:3] == ("end", {"reason": "run_finished"}), x.events[-3:]
        assert [e[2]["run_status"] for e in x.events if e[1] == "status"][-1] == "canceled"


def test_access_notices_end_idle_streams(make_server):
    """Nothing but an access notice can wake these streams: their run does not change."""
    s = make_server(env=IDLE)
    owner, member = Api(s), Api(s)
    p, run_id = queued_run(owner, "shared")
    owner.add_member(p["id"], member, "viewer")
    by_member = Stream(s, run_id, ticket=ticket_for(member, run_id))
    by_owner = Stream(s, run_id, ticket=ticket_for(owner, run_id))
    assert by_member.resp.status_code == by_owner.resp.status_code == 200
    before = settled(s)
    # A role change makes the member's streams re-check, and they stay open.
    owner.ok("PATCH", "/projects/%s/members/%s" % (p["id"], member.user["id"]), {"role": "member"})
    time.sleep(0.5)
    assert not by_member.done.is_set() and not by_owner.done.is_set()
    assert statements(s) > before
    # Removal ends the member's stream, and only theirs.
    owner.ok("DELETE", "/projects/%s/members/%s" % (p["id"], member.user["id"]), status=204)
    assert by_member.wait_end(5)[1:3] == ("end", {"reason": "access_revoked"})
    assert not by_owner.done.is_set()
    # Logout ends the stream opened with that session, not the others of the user.
    first = owner.token
    owner.token = login(s, owner.user["email"])
    mine = Stream(s, run_id, token=owner.token)
    assert mine.resp.status_code == 200
    assert s.post("/api/v1/auth/logout", token=first).status_code == 204
    assert by_owner.wait_end(5)[1:3] == ("end", {"reason": "session_ended"})
    assert not mine.done.is_set()
    # A password change ends the user's other sessions, and their streams.
    other = login(s, owner.user["email"])
    theirs = Stream(s, run_id, token=other)
    assert theirs.resp.status_code == 200
    r = s.post("/api/v1/auth/password", {"current_password": PASSWORD, "new_password": "brand-new-pass"},
               token=owner.token)
    assert r.status_code == 200
    assert theirs.wait_end(5)[1:3] == ("end", {"reason": "session_ended"})
    assert not mine.done.is_set()
    mine.close()


def raw_stream(s, run_id, token, version="HTTP/1.0"):
    """An SSE request on a plain socket (HTTP/1.0: no chunked encoding, the
    server closes at the end); returns the socket."""
    host, port = s.url.split("//", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(("GET /api/v1/runs/%s/events %s\r\nHost: %s\r\nAccept: text/event-stream\r\n"
                  "Authorization: Bearer %s\r\n\r\n" % (run_id, version, host, token)).encode())
    return sock


def read_all(sock):
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out.decode()
        out += chunk


def test_one_event_reaches_many_streams_after_one_shared_read(make_server):
    """50 streams of one run share one read of the new event (and of the
    run's final status): the cancel costs about as many statements with the
    streams open as without them."""
    s = make_server(env=IDLE)
    u = Api(s)
    # The same cancel with no stream open: what the request itself costs.
    _, alone = queued_run(u, "alone")
    before = settled(s)
    assert u.call("POST", "/runs/%s/cancel" % alone).status_code == 202
    alone_cost = settled(s) - before

    _, run_id = queued_run(u, "fanout")
    streams = [Stream(s, run_id, token=u.token) for _ in range(49)]
    assert all(x.resp.status_code == 200 for x in streams)
    old = raw_stream(s, run_id, u.token)  # HTTP/1.0: the response's own buffer carries it
    before = settled(s)
    assert u.call("POST", "/runs/%s/cancel" % run_id).status_code == 202
    for x in streams:
        assert x.wait_end(10)[1:3] == ("end", {"reason": "run_finished"}), x.events[-3:]
        assert [e[2]["run_status"] for e in x.events if e[1] == "status"] == ["canceled"]
    text = read_all(old)
    assert text.startswith("HTTP/1.0 200") or text.startswith("HTTP/1.1 200"), text[:200]
    assert '"run_status":"canceled"' in text and 'data: {"reason":"run_finished"}' in text, text[-500:]
    fanout_cost = settled(s) - before - alone_cost
    # Read per stream, it was 4 statements a stream (200).
    assert fanout_cost <= 10, "50 streams cost %d statements more than none" % fanout_cost


def test_streams_of_a_busy_run_get_every_event_once_in_order(make_server):
    """Streams that share the run's window, opened before and during a real
    run, and one resuming from its middle, each get exactly the stored events
    after their start, in order."""
    s = make_server(env={"CLOUDPLANE_MAX_STREAMS_PER_USER": "50"})
    u = Api(s)
    p = u.project(name="busy")
    acct = u.sandbox_account(p["id"])
    run_id = u.create_vm(p["id"], acct["id"], name="busy", simulate_seconds=2)["run"]["id"]
    streams = [Stream(s, run_id, token=u.token) for _ in range(10)]
    time.sleep(1)
    streams += [Stream(s, run_id, token=u.token) for _ in range(10)]
    for x in streams:
        assert x.wait_end(120)[1:3] == ("end", {"reason": "run_finished"}), x.events[-3:]
    stored = u.ok("GET", "/runs/%s/events?format=json&limit=1000" % run_id)
    want = [(str(e["seq"]), e["type"], e["data"]) for e in stored["items"]]
    assert len(want) > 5 and want[-1][1] == "status"
    for x in streams:
        assert [e[:3] for e in x.events if e[0] is not None] == want
    mid = want[len(want) // 2][0]
    late = Stream(s, run_id, token=u.token, last_event_id=mid)
    assert late.wait_end(10)[1:3] == ("end", {"reason": "run_finished"})
    assert [e[:3] for e in late.events if e[0] is not None] == want[len(want) // 2 + 1:]


def test_a_stream_behind_the_shared_window_reads_for_itself(make_server):
    """The run's window starts where its first stream started (here: resuming
    from the middle); a stream from the start is behind it and reads the store
    itself. Both get exactly the stored events after their start, in order."""
    s = make_server(env={"CLOUDPLANE_MAX_STREAMS_PER_USER": "50"})
    u = Api(s)
    _, run_id = slow_run(u, "behind", seconds=30)
    deadline = time.monotonic() + 60
    while len(u.ok("GET", "/runs/%s/events?format=json" % run_id)["items"]) < 3:
        assert time.monotonic() < deadline, "the run wrote fewer than 3 events"
        time.sleep(0.2)
    mid = u.ok("GET", "/runs/%s/events?format=json" % run_id)["items"][1]["seq"]
    resumed = Stream(s, run_id, token=u.token, last_event_id=mid)
    time.sleep(0.5)  # its first fill sets the window's start
    whole = Stream(s, run_id, token=u.token)
    time.sleep(0.5)
    cancel(u, run_id)
    for x in (resumed, whole):
        assert x.wait_end(60)[1:3] == ("end", {"reason": "run_finished"}), x.events[-3:]
    stored = u.ok("GET", "/runs/%s/events?format=json&limit=1000" % run_id)["items"]
    want = [(str(e["seq"]), e["type"], e["data"]) for e in stored]
    assert [e[:3] for e in whole.events if e[0] is not None] == want
    assert [e[:3] for e in resumed.events if e[0] is not None] == [w for w in want if int(w[0]) > mid]
