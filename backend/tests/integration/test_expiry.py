"""Expiry end to end on the sandbox cloud: a resource past its expires_at gets
one destroy run with source expiry (auto-approved only when the project says
so), an unfinished run postpones it, extend moves it (capped for members,
allowed and audited for owners), reminders come once per expires_at, and in
distributed mode (two API instances, two workers) the destroy runs once.
The scheduler sweeps every second (CLOUDPLANE_SCHEDULER_INTERVAL=1); the
reconciler that runs it passes every 2 s. Waits are bounded polls; nothing
here asserts a timing."""
import datetime
import time

import pytest

from conftest import Api, assert_error
from distributed import wait_for

FAST = {"CLOUDPLANE_SCHEDULER_INTERVAL": "1"}


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def in_(seconds):
    return iso(now() + datetime.timedelta(seconds=seconds))


def parse(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def order_vm(u, p, acct, name, status=202, **expiry):
    r = u.call("POST", "/resources", dict({"project_id": p["id"], "account_id": acct["id"], "kind": "vm",
                                           "name": name, "region": "sandbox-east-1", "size": "sandbox.small",
                                           "config": {"ssh_public_key": SSH, "allowed_cidrs": ["198.51.100.0/24"]}},
                                          **expiry))
    assert r.status_code == status, r.text
    return r.json()


SSH = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnE1J2m9XbKpVqRr6pSgKX6eVg3lXq6vJ0v0b6O1c0X test@cloudplane"


def runs_of(u, res_id):
    return u.ok("GET", "/resources/%s/runs?limit=200" % res_id)["items"]


def expiry_destroys(u, res_id):
    return [r for r in runs_of(u, res_id) if r["operation"] == "destroy" and r["source"] == "expiry"]


EXPIRY_KINDS = ("expiring_24h", "expiring_1h", "expired")


def notes(u, res_id=None, kind=None):
    """Expiry notifications (the list also holds those of runs, drift, ...)."""
    return [n for n in u.ok("GET", "/notifications?limit=200")["items"]
            if (res_id is None or n["resource_id"] == res_id) and (n["kind"] == kind if kind else
                                                                   n["kind"] in EXPIRY_KINDS)]


def setup(server, **settings):
    u = Api(server)
    p = u.project(name="exp")
    if settings:
        p = u.ok("PATCH", "/projects/" + p["id"], settings, 200)
    return u, p, u.sandbox_account(p["id"])


def test_expiry_destroy_waits_for_approval_then_destroys(make_server, store_env):
    server = make_server(env=dict(FAST, **store_env))
    u, p, acct = setup(server)
    assert p["require_approval"] is False and p["expiry_auto_approve"] is False
    out = order_vm(u, p, acct, "exp-1", expires_at=in_(5))
    res = out["resource"]
    assert res["expires_at"] is not None
    assert u.wait_run(out["run"]["id"])["status"] == "succeeded"
    # Past its expiry: one destroy, source expiry, waiting for a person although the project requires no approval.
    run = wait_for(lambda: (expiry_destroys(u, res["id"]) or [None])[0], 60, "the expiry destroy")
    run = u.wait_run(run["id"], until=("awaiting_approval", "succeeded", "failed", "canceled"))
    assert run["status"] == "awaiting_approval", run
    assert run["source"] == "expiry"
    # Expired, awaiting destroy: what the resource shows.
    now_res = u.ok("GET", "/resources/" + res["id"])
    assert now_res["current_run"] == {"id": run["id"], "operation": "destroy", "status": "awaiting_approval"}
    assert parse(now_res["expires_at"]) <= now()
    # (A sweep in its last hour may have sent the 1 h reminder too.)
    assert len(notes(u, res["id"], "expired")) == 1 and notes(u, res["id"], "expiring_24h") == []
    time.sleep(3)  # more sweeps: still one
    assert len(expiry_destroys(u, res["id"])) == 1
    # A person's destroy meanwhile is refused: one destroy at a time.
    assert_error(u.call("DELETE", "/resources/" + res["id"]), 409, "destroy_pending")
    u.ok("POST", "/runs/%s/approve" % run["id"], status=200)
    assert u.wait_run(run["id"])["status"] == "succeeded"
    assert u.ok("GET", "/resources/" + res["id"])["status"] == "destroyed"
    assert len([r for r in runs_of(u, res["id"]) if r["operation"] == "destroy"]) == 1
    assert len(notes(u, res["id"], "expired")) == 1


def test_expiry_destroy_auto_approved_when_the_project_says_so(make_server, store_env):
    server = make_server(env=dict(FAST, **store_env))
    u, p, acct = setup(server, expiry_auto_approve=True, require_approval=True)
    assert p["expiry_auto_approve"] is True
    out = order_vm(u, p, acct, "exp-auto", expires_at=in_(4))
    res = out["resource"]
    # The create itself needs approval in this project; the expiry destroy will not.
    run = u.wait_run(out["run"]["id"], until=("awaiting_approval",))
    u.ok("POST", "/runs/%s/approve" % run["id"], status=200)
    assert u.wait_run(run["id"])["status"] == "succeeded"
    wait_for(lambda: u.ok("GET", "/resources/" + res["id"])["status"] == "destroyed", 90, "the expiry destroy")
    destroys = [r for r in runs_of(u, res["id"]) if r["operation"] == "destroy"]
    assert len(destroys) == 1 and destroys[0]["source"] == "expiry" and destroys[0]["status"] == "succeeded"
    assert destroys[0]["approved_by"] is None


def test_unfinished_run_postpones_expiry(make_server, store_env):
    server = make_server(env=dict(FAST, **store_env))
    u, p, acct = setup(server, require_approval=True)
    out = order_vm(u, p, acct, "exp-wait", expires_at=in_(2))
    res = out["resource"]
    create = u.wait_run(out["run"]["id"], until=("awaiting_approval",))
    time.sleep(5)  # expired, and several sweeps later: the unfinished create postpones the destroy
    assert expiry_destroys(u, res["id"]) == []
    u.ok("POST", "/runs/%s/approve" % create["id"], status=200)
    assert u.wait_run(create["id"])["status"] == "succeeded"
    run = wait_for(lambda: (expiry_destroys(u, res["id"]) or [None])[0], 60, "the postponed expiry destroy")
    assert u.wait_run(run["id"], until=("awaiting_approval",))["status"] == "awaiting_approval"
    assert len(expiry_destroys(u, res["id"])) == 1


def test_extend_is_capped_for_members_and_audited_for_owners(make_server):
    server = make_server(env=FAST)
    owner, p, acct = setup(server, default_ttl_seconds=3600, max_ttl_seconds=7200)
    assert (p["default_ttl_seconds"], p["max_ttl_seconds"]) == (3600, 7200)
    member, viewer = Api(server), Api(server)
    owner.add_member(p["id"], member, "member")
    owner.add_member(p["id"], viewer, "viewer")

    # The default TTL when the order names none.
    before = now()
    res = order_vm(member, p, acct, "m-default")["resource"]
    exp = parse(res["expires_at"])
    assert datetime.timedelta(minutes=59) < exp - before < datetime.timedelta(minutes=61)
    # Members are capped at order and at extend; the error names the field.
    r = member.call("POST", "/resources", {"project_id": p["id"], "account_id": acct["id"], "kind": "vm",
                                           "name": "m-long", "region": "sandbox-east-1", "size": "sandbox.small",
                                           "config": {"ssh_public_key": SSH}, "ttl": "3h"})
    assert_error(r, 422, "ttl_too_long", "ttl")
    assert_error(member.call("POST", "/resources/%s/extend" % res["id"], {"by": "2h"}), 422, "ttl_too_long", "by")
    assert_error(viewer.call("POST", "/resources/%s/extend" % res["id"], {"by": "30m"}), 403, "forbidden")
    ext = member.ok("POST", "/resources/%s/extend" % res["id"], {"by": "30m"}, 200)
    assert parse(ext["expires_at"]) - exp == datetime.timedelta(minutes=30)
    # Owners may exceed the maximum, and the audit log says so.
    ext2 = owner.ok("POST", "/resources/%s/extend" % res["id"], {"by": "1d"}, 200)
    assert parse(ext2["expires_at"]) - parse(ext["expires_at"]) == datetime.timedelta(days=1)
    long_one = order_vm(owner, p, acct, "o-long", ttl="1w")["resource"]
    audit = owner.ok("GET", "/projects/%s/audit?limit=200" % p["id"])["items"]
    over = [e for e in audit if e["action"] == "resource.expiry_over_max"]
    assert {e["target"] for e in over} == {res["id"], long_one["id"]}, over
    extends = [e for e in audit if e["action"] == "resource.extend"]
    assert len(extends) == 2 and all(e["target"] == res["id"] for e in extends)

    # No expiry, nothing to extend.
    owner.ok("PATCH", "/projects/" + p["id"], {"default_ttl_seconds": None}, 200)
    forever = order_vm(owner, p, acct, "forever")["resource"]
    assert forever["expires_at"] is None
    assert_error(owner.call("POST", "/resources/%s/extend" % forever["id"], {"by": "1h"}), 409, "no_expiry")

    # Settings: owners and admins only; the default may not exceed the maximum.
    assert_error(member.call("PATCH", "/projects/" + p["id"], {"max_ttl_seconds": 99999}), 403)
    assert_error(owner.call("PATCH", "/projects/" + p["id"], {"default_ttl_seconds": 9000}), 422,
                 "invalid_value", "default_ttl_seconds")
    # A refused PATCH changes nothing, not even the settings before the one refused.
    assert_error(owner.call("PATCH", "/projects/" + p["id"], {"name": "renamed", "require_approval": True,
                                                              "default_ttl_seconds": 9000}), 422, "invalid_value")
    kept = owner.ok("GET", "/projects/" + p["id"])
    assert (kept["name"], kept["require_approval"]) == (p["name"], p["require_approval"]), kept
    assert_error(owner.call("PATCH", "/projects/" + p["id"], {"max_ttl_seconds": 10}), 422, "out_of_range")
    got = owner.ok("PATCH", "/projects/" + p["id"], {"max_ttl_seconds": None, "expiry_auto_approve": True}, 200)
    assert got["max_ttl_seconds"] is None and got["expiry_auto_approve"] is True


@pytest.mark.parametrize("body,code,field", [
    ({"ttl": "8h", "expires_at": "2099-01-01T00:00:00Z"}, "invalid_value", "ttl"),
    ({"ttl": "8x"}, "invalid_ttl", "ttl"),
    ({"ttl": "0m"}, "invalid_ttl", "ttl"),
    ({"ttl": "-1h"}, "invalid_ttl", "ttl"),
    ({"ttl": "400d"}, "invalid_ttl", "ttl"),
    ({"ttl": 8}, None, "ttl"),
    ({"expires_at": "2001-01-01T00:00:00Z"}, "invalid_value", "expires_at"),
    ({"expires_at": "tomorrow"}, "invalid_value", "expires_at"),
    ({"expires_at": "2999-01-01T00:00:00Z"}, "out_of_range", "expires_at"),
])
def test_order_expiry_validation(api, body, code, field):
    p = api.project()
    acct = api.sandbox_account(p["id"])
    r = api.call("POST", "/resources", dict({"project_id": p["id"], "account_id": acct["id"], "kind": "vm",
                                             "name": "vx-1", "region": "sandbox-east-1", "size": "sandbox.small",
                                             "config": {"ssh_public_key": SSH}}, **body))
    assert_error(r, 422, code, field)


def test_extend_and_list_validation(api):
    p = api.project(default_ttl_seconds=3600)
    acct = api.sandbox_account(p["id"])
    res = order_vm(api, p, acct, "vx-1")["resource"]
    for by in ("", "1", "1s", "2 h", "1000000m"):
        assert_error(api.call("POST", "/resources/%s/extend" % res["id"], {"by": by}), 422, "invalid_ttl", "by")
    assert_error(api.call("POST", "/resources/%s/extend" % res["id"], {}), 422, None, "by")
    assert_error(api.call("POST", "/resources/%s/extend" % res["id"], {"by": "1h", "x": 1}), 400)
    assert_error(api.call("POST", "/resources/01HZZZZZZZZZZZZZZZZZZZZZZZ/extend", {"by": "1h"}), 404)
    for bad in ("", "soon", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00", "2026-1-01T00:00:00Z",
                "2027-02-29T00:00:00Z", "2026-01-01T00:00:00+2:00", "2026-01-01 00:00:00Z"):
        assert_error(api.call("GET", "/resources", params={"expires_before": bad}), 422, "invalid_value",
                     "expires_before")
    assert_error(api.call("POST", "/notifications/01HZZZZZZZZZZZZZZZZZZZZZZZ/read"), 404)


def test_reminders_once_each_and_the_expiring_list(make_server, store_env):
    server = make_server(env=dict(FAST, **store_env))
    owner, p, acct = setup(server)
    other = Api(server)
    owner.add_member(p["id"], other, "viewer")
    soon = order_vm(owner, p, acct, "soon", ttl="30m")["resource"]
    later = order_vm(owner, p, acct, "later", ttl="3h")["resource"]
    far = order_vm(owner, p, acct, "far", ttl="3d")["resource"]
    never = order_vm(owner, p, acct, "never")["resource"]
    for u in (owner, other):
        wait_for(lambda: notes(u, soon["id"], "expiring_1h") and notes(u, later["id"], "expiring_24h"), 30,
                 "the reminders")
    time.sleep(3)  # more sweeps: still one each
    for u in (owner, other):
        assert len(notes(u, soon["id"], "expiring_1h")) == 1
        assert notes(u, soon["id"], "expiring_24h") == []  # the nearer reminder only
        assert len(notes(u, later["id"], "expiring_24h")) == 1
        assert notes(u, later["id"], "expiring_1h") == []
        assert notes(u, far["id"]) == [] and notes(u, never["id"]) == []
    n = notes(owner, soon["id"], "expiring_1h")[0]
    assert n["resource_name"] == "soon" and n["project_id"] == p["id"] and n["read"] is False
    assert n["expires_at"] == soon["expires_at"]

    # Extending moves expires_at: the reminders of the new time are due again.
    ext = owner.ok("POST", "/resources/%s/extend" % soon["id"], {"by": "1h"}, 200)
    wait_for(lambda: notes(owner, soon["id"], "expiring_24h"), 30, "the reminder of the new expires_at")
    assert notes(owner, soon["id"], "expiring_24h")[0]["expires_at"] == ext["expires_at"]
    assert len(notes(owner, soon["id"], "expiring_1h")) == 1

    # Read: once, by its own user only.
    listing = owner.ok("GET", "/notifications")
    unread = listing["unread"]
    assert unread == len([x for x in listing["items"] if not x["read"]])
    assert_error(other.call("POST", "/notifications/%s/read" % n["id"]), 404)
    assert owner.call("POST", "/notifications/%s/read" % n["id"]).status_code == 204
    assert owner.call("POST", "/notifications/%s/read" % n["id"]).status_code == 204
    assert owner.ok("GET", "/notifications")["unread"] == unread - 1

    # The dashboard's "expiring within 24 h", alone and with other filters.
    day = in_(24 * 3600)
    got = owner.ok("GET", "/resources?expires_before=" + day)["items"]
    assert {r["id"] for r in got} == {soon["id"], later["id"]}
    for params in ({"project_id": p["id"]}, {"kind": "vm"}, {"cloud": "sandbox", "kind": "vm"}, {"status": ""}):
        items = owner.call("GET", "/resources", params=dict(params, expires_before=day)).json()["items"]
        assert {r["id"] for r in items} == {soon["id"], later["id"]}, params
    assert owner.ok("GET", "/resources?kind=storage&expires_before=" + day)["items"] == []
    every = {"cloud": "sandbox", "kind": "vm", "status": "destroyed", "expires_before": day}  # the most parameters
    assert owner.call("GET", "/resources", params=every).json()["items"] == []
    offset = (now() + datetime.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    items = owner.call("GET", "/resources", params={"expires_before": offset}).json()["items"]
    assert {r["id"] for r in items} == {soon["id"], later["id"], far["id"]}
    page = owner.ok("GET", "/resources?limit=1&expires_before=" + day)
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = owner.ok("GET", "/resources?limit=1&cursor=%s&expires_before=%s" % (page["next_cursor"], day))
    assert {page["items"][0]["id"], rest["items"][0]["id"]} == {soon["id"], later["id"]}


# ---- distributed mode



def test_distributed_expiry_destroy_runs_once(cluster):
    apis = [cluster.api(), cluster.api()]
    workers = [cluster.worker(CLOUDPLANE_SCHEDULER_INTERVAL="1"), cluster.worker(CLOUDPLANE_SCHEDULER_INTERVAL="1")]
    u = Api(apis[0])
    p = u.ok("POST", "/projects", {"name": "dist-exp", "expiry_auto_approve": True}, 201)
    acct = u.sandbox_account(p["id"])
    made = [order_vm(u, p, acct, "dx-%d" % i, expires_at=in_(6)) for i in range(3)]
    for m in made:
        assert u.wait_run(m["run"]["id"])["status"] == "succeeded"
    # Read through the other API instance: the same database.
    u2 = Api.__new__(Api)
    u2.s, u2.token, u2.user = apis[1], u.token, u.user
    for m in made:
        rid = m["resource"]["id"]
        wait_for(lambda: u2.ok("GET", "/resources/" + rid)["status"] == "destroyed", 120, "the expiry destroy of " + rid)
    time.sleep(3)  # more sweeps by both workers: nothing more
    rows = cluster.sql("SELECT resource_id, source, status FROM runs WHERE operation = 'destroy' ORDER BY resource_id")
    assert sorted(r[0] for r in rows) == sorted(m["resource"]["id"] for m in made), rows
    assert all(r[1] == "expiry" and r[2] == "succeeded" for r in rows), rows
    claimed = [c["run_id"] for w in workers for c in w.claims()]
    destroy_ids = {r["id"] for m in made for r in expiry_destroys(u, m["resource"]["id"])}
    assert len(destroy_ids) == 3
    # Each destroy was claimed once (an approval-free destroy is one claim).
    assert sorted(c for c in claimed if c in destroy_ids) == sorted(destroy_ids)
    assert len(notes(u, kind="expired")) == 3
