"""Trace ids: one id follows an order from the click to tofu. The caller's
X-Request-Id (when sane) is echoed, carried by every log line the request
causes, kept on the run it queues (run.request_id), and the worker works the
run under it: its log lines, the run's status events and log header carry it,
in the embedded mode and in `cloudplane worker` processes. Runs the scheduler
queues get an id of their own (sched-<task>-<hex>)."""
import datetime
import re
import threading
import time
import uuid

from conftest import Api, SSH_KEY
from distributed import log_lines, wait_for

MADE = re.compile(r"^[0-9a-f]{16}$")


def access_line(proc, rid):
    """The access-log line of the request with id rid (written after its reply: waited for)."""
    return wait_for(lambda: next((e for e in log_lines(proc.logs()) if e.get("msg") == "request"
                                  and e.get("request_id") == rid), None), 15, "the access line of " + rid)


def new_id(prefix="t"):
    return "%s-%s:%s.x_y" % (prefix, uuid.uuid4().hex[:12], int(time.time()))


def order(u, p, acct, rid, name="trace-1", **extra):
    body = dict({"project_id": p["id"], "account_id": acct["id"], "kind": "vm", "name": name,
                 "region": "sandbox-east-1", "size": "sandbox.small",
                 "config": {"ssh_public_key": SSH_KEY, "allowed_cidrs": ["198.51.100.0/24"]}}, **extra)
    r = u.call("POST", "/resources", body, headers={"X-Request-Id": rid})
    assert r.status_code == 202, r.text
    assert r.headers["X-Request-Id"] == rid
    return r.json()


def run_events(u, run_id):
    return u.ok("GET", "/runs/%s/events?format=json&limit=1000" % run_id)["items"]


def check_run_events(u, run_id, rid):
    """The run's status events name rid, and each attempt's first log line (the header) says it."""
    events = run_events(u, run_id)
    statuses = [e["data"] for e in events if e["type"] == "status"]
    assert statuses and all(s.get("request_id") == rid for s in statuses), statuses
    header = [e["data"]["line"] for e in events if e["type"] == "log" and e["data"].get("stream") == "system"
              and e["data"]["line"].startswith("run %s, attempt " % run_id)]
    assert header and all(h.endswith("request " + rid) for h in header), header


def lines_about_run(proc, run_id):
    """A process's log lines about a run: those naming it in a field or in the message."""
    return [e for e in log_lines(proc.logs()) if e.get("run_id") == run_id or run_id in e.get("msg", "")]


def test_caller_id_is_echoed_and_a_bad_one_replaced(server):
    rid = new_id()
    r = server.get("/healthz", headers={"X-Request-Id": rid})
    assert r.status_code == 200 and r.headers["X-Request-Id"] == rid
    assert access_line(server, rid)["path"] == "/healthz"
    r = server.get("/healthz")
    assert MADE.match(r.headers["X-Request-Id"]), r.headers
    # Too long, spaces, control characters, quotes, slashes, non-ASCII: never kept, echoed or logged.
    bad = ["BADMARK" + "x" * 58, "BADMARK with space", "BADMARK\x01ctl", "BADMARK\x1b[31mred", 'BADMARK"q',
           "BADMARK/slash", "BADMARK;semi", "BADMARK\tx"]
    for value in bad:
        r = server.get("/healthz", headers={"X-Request-Id": value})
        assert r.status_code == 200
        made = r.headers["X-Request-Id"]
        assert MADE.match(made), (value, made)
        assert access_line(server, made)["path"] == "/healthz"
    r = server.get("/healthz", headers={"X-Request-Id": "k" * 64})  # the longest accepted
    assert r.headers["X-Request-Id"] == "k" * 64
    access_line(server, "k" * 64)
    assert "BADMARK" not in server.logs()


def test_every_log_line_of_a_request_carries_its_id(server):
    """Failed sign-ins log a line on the thread that resumes the request after
    the password hashing pool: concurrent ones, each under its own id."""
    known = Api(server)
    ids = {}

    def attempt(i):
        rid = new_id("login%d" % i)
        email = known.user["email"] if i % 2 == 0 else "nobody%d@example.com" % i
        r = server.post("/api/v1/auth/login", {"email": email, "password": "wrong password %d" % i},
                        headers={"X-Request-Id": rid})
        assert r.status_code == 401, r.text
        assert r.headers["X-Request-Id"] == rid
        ids[rid] = known.user["id"] if i % 2 == 0 else None

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 6
    for rid in ids:
        access_line(server, rid)
    lines = log_lines(server.logs())
    for rid, user_id in ids.items():
        mine = [e for e in lines if e.get("request_id") == rid]
        assert [e["msg"] for e in mine] == ["sign-in failed", "request"], mine
        assert mine[0]["user_id"] == user_id and mine[1]["path"] == "/api/v1/auth/login"
    # No line of a failed sign-in without an id, nor under another request's.
    failed = [e for e in lines if e.get("msg") == "sign-in failed"]
    assert len(failed) == 6 and {e.get("request_id") for e in failed} == set(ids)
    assert "wrong password" not in server.logs()


def test_order_is_traced_to_the_worker_and_tofu(make_server, store_env):
    server = make_server(env=dict({"CLOUDPLANE_SCHEDULER_INTERVAL": "1"}, **store_env))
    u = Api(server)
    p = u.ok("PATCH", "/projects/" + u.project(name="trace")["id"], {"expiry_auto_approve": True}, 200)
    acct = u.sandbox_account(p["id"])
    rid = new_id("order")
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=8)
    out = order(u, p, acct, rid, expires_at=expires.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    run = out["run"]
    assert run["request_id"] == rid
    done = u.wait_run(run["id"])
    assert done["status"] == "succeeded" and done["request_id"] == rid
    check_run_events(u, run["id"], rid)
    about = lines_about_run(server, run["id"])
    assert {"run claimed", "run done"} <= {e["msg"] for e in about}, about
    assert all(e.get("request_id") == rid for e in about), [e for e in about if e.get("request_id") != rid]
    # The order's own request line.
    assert access_line(server, rid)["path"] == "/api/v1/resources"

    # The expiry destroy the scheduler queues is traced under the sweep's own id.
    def destroy():
        runs = u.ok("GET", "/resources/%s/runs?limit=50" % out["resource"]["id"])["items"]
        return next((r for r in runs if r["operation"] == "destroy" and r["status"] == "succeeded"), None)

    d = wait_for(destroy, 120, "the expiry destroy")
    assert d["source"] == "expiry" and re.match(r"^sched-expiry-[0-9a-f]{16}$", d["request_id"]), d
    check_run_events(u, d["id"], d["request_id"])
    about = lines_about_run(server, d["id"])
    assert about and all(e.get("request_id") == d["request_id"] for e in about), about


def test_distributed_api_and_worker_logs_carry_the_id(cluster):
    api = cluster.api()
    w = cluster.worker()
    u = Api(api)
    p = u.project(name="trace-dist")
    acct = u.sandbox_account(p["id"])
    rid = new_id("dist")
    out = order(u, p, acct, rid, name="trace-d")
    assert out["run"]["request_id"] == rid
    done = u.wait_run(out["run"]["id"])
    assert done["status"] == "succeeded" and done["request_id"] == rid
    check_run_events(u, done["id"], rid)
    assert access_line(api, rid)["path"] == "/api/v1/resources"
    about = wait_for(lambda: (lambda a: a if "run done" in {e["msg"] for e in a} else None)(
        lines_about_run(w, done["id"])), 30, "the worker's run done line")
    assert "run claimed" in {e["msg"] for e in about}
    assert all(e.get("request_id") == rid for e in about), about
    assert not lines_about_run(api, done["id"])  # the API process ran nothing of it
