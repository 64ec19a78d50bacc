"""Drift detection on the sandbox cloud: a VM is changed or deleted out of
band through the sandbox API, a drift check (a refresh-only plan run) finds
it, and the two remedies (reconcile, accept) bring the order and the cloud
together again. Then the scheduler's checks: once per due resource, also
with three workers sweeping one PostgreSQL database at once."""
import glob
import json
import os
import secrets
import time

import pytest
import requests

from conftest import Api, assert_error
from distributed import wait_for


def new_key():
    return "sbx_" + secrets.token_hex(16)


class Sandbox:
    def __init__(self, server, key):
        self.s, self.key = server, key

    def call(self, method, path, body=None):
        return requests.request(method, self.s.url + "/sandbox/v1" + path, json=body, timeout=30,
                                headers={"Authorization": "Bearer " + self.key})

    def ok(self, method, path, body=None, status=200):
        r = self.call(method, path, body)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        return r.json() if r.content else None


class Seen(Api):
    """An Api that keeps every reply's text (to look for the sandbox key)."""

    def call(self, method, path, body=None, **kw):
        r = super().call(method, path, body, **kw)
        self.seen = getattr(self, "seen", [])
        self.seen.append(r.text)
        return r


def setup(s, name="web-1"):
    u = Seen(s)
    p = u.project(name="drift")
    key = new_key()
    acct = u.ok("POST", "/projects/%s/accounts" % p["id"],
                {"name": "sandbox", "cloud": "sandbox", "credentials": {"api_key": key}}, 201)
    return u, p, acct, Sandbox(s, key)


def check(u, rid):
    """Checks now and waits for the check; the report."""
    q = u.ok("POST", "/resources/%s/drift-check" % rid, status=202)
    run = q["run"]
    assert run["operation"] == "drift_check" and run["source"] == "user", run
    assert q["resource"]["status"] == "active", q["resource"]  # a check does not make the resource busy
    done = u.wait_run(run["id"], timeout=180)
    assert done["status"] == "succeeded", done
    rep = u.ok("GET", "/resources/%s/drift" % rid)
    assert rep["run_id"] == run["id"] and rep["resource_id"] == rid, rep
    res = u.ok("GET", "/resources/" + rid)
    assert res["drift_status"] == rep["status"] and res["drift_checked_at"], res
    return rep


def attrs(rep):
    return {a["path"]: [a["before"], a["after"]] for c in rep["changes"] for a in c["attributes"]}


def listed(u, **q):
    qs = "&".join("%s=%s" % kv for kv in q.items())
    return [r["id"] for r in u.ok("GET", "/resources?" + qs)["items"]]


def test_drift_found_reconciled_accepted_and_missing(make_server, store_env):
    s = make_server(env=store_env)
    u, p, acct, sb = setup(s)
    order = u.create_vm(p["id"], acct["id"], tags={"env": "test"})
    rid = order["resource"]["id"]
    assert order["resource"]["drift_status"] == "never_checked" and order["resource"]["drift_checked_at"] is None
    # While another run of the resource is unfinished, no check.
    assert_error(u.call("POST", "/resources/%s/drift-check" % rid), 409, "run_in_progress")
    assert u.wait_run(order["run"]["id"], timeout=180)["status"] == "succeeded"
    rep = u.ok("GET", "/resources/%s/drift" % rid)
    assert rep["status"] == "never_checked" and rep["changes"] == [] and rep["run_id"] is None
    assert_error(u.call("POST", "/resources/%s/drift/reconcile" % rid), 409, "not_drifted")

    rep = check(u, rid)
    assert rep["status"] == "in_sync" and rep["changes"] == [] and rep["acceptable"] is False

    # Out of band: a resize. Drifted, with the attribute's diff; not adoptable.
    iid = u.ok("GET", "/resources/" + rid)["outputs"]["id"][len("sbx-"):]  # the module prefixes the cloud's id
    sb.ok("PATCH", "/instances/" + iid, {"size": "sandbox.large"})
    [state] = glob.glob(os.path.join(s.data_dir, "**", rid, "terraform.tfstate"), recursive=True)
    before = open(state, "rb").read()
    rep = check(u, rid)
    # A check neither writes the state nor leaves its lock.
    assert open(state, "rb").read() == before
    assert not glob.glob(os.path.join(os.path.dirname(state), "*.lock*"))
    assert rep["status"] == "drifted", rep
    assert rep["changes"][0]["action"] == "update" and rep["changes"][0]["address"].endswith("sandbox_instance.this")
    assert attrs(rep)["size"] == ["sandbox.small", "sandbox.large"], rep
    assert rep["acceptable"] is False
    assert_error(u.call("POST", "/resources/%s/drift/accept" % rid), 422, "not_acceptable")
    assert listed(u, drift_status="drifted") == [rid]
    assert listed(u, drift_status="in_sync") == []
    fleet = u.ok("GET", "/drift")
    assert fleet["totals"]["drifted"] == 1 and fleet["totals"]["in_sync"] == 0, fleet
    assert fleet["projects"] == [{"project_id": p["id"], "project_name": "drift",
                                  "counts": dict(fleet["totals"])}], fleet
    assert fleet["clouds"][0]["cloud"] == "sandbox" and fleet["clouds"][0]["counts"]["drifted"] == 1
    assert [r["id"] for r in fleet["drifted"]] == [rid]
    assert u.ok("GET", "/drift?project_id=" + p["id"])["totals"] == fleet["totals"]

    # Reconcile: an ordinary update run back to the order.
    q = u.ok("POST", "/resources/%s/drift/reconcile" % rid, status=202)
    assert q["run"]["operation"] == "update" and q["run"]["source"] == "drift_reconcile", q["run"]
    assert u.wait_run(q["run"]["id"], timeout=180)["status"] == "succeeded"
    assert sb.ok("GET", "/instances/" + iid)["size"] == "sandbox.small"
    # The remedy's apply refreshed and converged every attribute: in sync at once, as its report says.
    rep = u.ok("GET", "/resources/%s/drift" % rid)
    assert rep["status"] == "in_sync" and rep["run_id"] == q["run"]["id"] and rep["changes"] == [], rep
    assert u.ok("GET", "/resources/" + rid)["drift_status"] == "in_sync"
    assert check(u, rid)["status"] == "in_sync"

    # Out of band: a new tag. Accept adopts it into the order.
    tags = sb.ok("GET", "/instances/" + iid)["tags"]
    assert tags["env"] == "test" and tags["managed-by"] == "cloudplane"
    sb.ok("PATCH", "/instances/" + iid, {"tags": dict(tags, owner="bob")})
    rep = check(u, rid)
    assert rep["status"] == "drifted" and attrs(rep) == {"tags.owner": [None, "bob"]}, rep
    assert rep["acceptable"] is True
    q = u.ok("POST", "/resources/%s/drift/accept" % rid, status=202)
    assert q["run"]["operation"] == "update" and q["run"]["source"] == "drift_accept", q["run"]
    assert u.wait_run(q["run"]["id"], timeout=180)["status"] == "succeeded"
    res = u.ok("GET", "/resources/" + rid)
    assert res["config"]["tags"] == {"env": "test", "owner": "bob"}, res["config"]
    assert res["drift_status"] == "in_sync", res
    assert check(u, rid)["status"] == "in_sync"
    audit = [e["action"] for e in u.ok("GET", "/projects/%s/audit" % p["id"])["items"]]
    for action in ("resource.drift_check", "resource.drift_reconcile", "resource.drift_accept"):
        assert action in audit, audit

    # Out of band: deleted. Missing; reconcile creates it again.
    assert sb.call("DELETE", "/instances/" + iid).status_code == 204
    rep = check(u, rid)
    assert rep["status"] == "missing" and [c["action"] for c in rep["changes"]] == ["delete"], rep
    assert_error(u.call("POST", "/resources/%s/drift/accept" % rid), 422, "not_acceptable")
    assert listed(u, drift_status="missing") == [rid]
    q = u.ok("POST", "/resources/%s/drift/reconcile" % rid, status=202)
    assert u.wait_run(q["run"]["id"], timeout=180)["status"] == "succeeded"
    assert check(u, rid)["status"] == "in_sync"
    runs = u.ok("GET", "/resources/%s/runs?limit=100" % rid)["items"]
    assert {r["operation"] for r in runs} == {"create", "update", "drift_check"}

    # Nothing the platform shows carries the account's sandbox key.
    assert sb.key not in "".join(u.seen)
    for r in runs:
        events = u.ok("GET", "/runs/%s/events?format=json&limit=1000" % r["id"])["items"]
        assert sb.key not in json.dumps(events)
    assert sb.key not in s.logs()


def test_roles_and_bad_input(make_server):
    s = make_server()
    u, p, acct, sb = setup(s)
    order = u.create_vm(p["id"], acct["id"])
    rid = order["resource"]["id"]
    viewer = Api(s)
    u.add_member(p["id"], viewer, "viewer")
    assert viewer.ok("GET", "/resources/%s/drift" % rid)["status"] == "never_checked"
    for path in ("drift-check", "drift/reconcile", "drift/accept"):
        assert_error(viewer.call("POST", "/resources/%s/%s" % (rid, path)), 403)
    stranger = Api(s)
    for path in ("drift-check", "drift/reconcile", "drift/accept"):
        assert_error(stranger.call("POST", "/resources/%s/%s" % (rid, path)), 404)
    assert_error(stranger.call("GET", "/resources/%s/drift" % rid), 404)
    assert_error(stranger.call("GET", "/drift?project_id=" + p["id"]), 404)
    assert stranger.ok("GET", "/drift")["totals"]["never_checked"] == 0
    # The interval: 0 or the operator's minimum (15 by default), owner/admin only.
    assert_error(u.call("PATCH", "/projects/" + p["id"], {"drift_interval_minutes": 5}), 422, "out_of_range",
                 "drift_interval_minutes")
    assert_error(u.call("PATCH", "/projects/" + p["id"], {"drift_interval_minutes": -1}), 422)
    assert_error(u.call("PATCH", "/projects/" + p["id"], {"drift_interval_minutes": "60"}), 422, "invalid_type")
    assert_error(viewer.call("PATCH", "/projects/" + p["id"], {"drift_interval_minutes": 60}), 403)
    assert u.ok("PATCH", "/projects/" + p["id"], {"drift_interval_minutes": 60})["drift_interval_minutes"] == 60
    assert u.ok("GET", "/projects/" + p["id"])["drift_interval_minutes"] == 60
    assert u.ok("PATCH", "/projects/" + p["id"], {"drift_interval_minutes": 0})["drift_interval_minutes"] == 0
    assert u.ok("POST", "/projects", {"name": "x", "drift_interval_minutes": 60})["drift_interval_minutes"] == 60
    assert_error(u.call("POST", "/projects", {"name": "x", "drift_interval_minutes": 5}), 422, "out_of_range",
                 "drift_interval_minutes")
    assert_error(u.call("POST", "/resources", {"project_id": p["id"], "account_id": acct["id"], "kind": "vm",
                                                "name": "bad-tags", "region": "sandbox-east-1",
                                                "size": "sandbox.small",
                                                "config": {"ssh_public_key": order["resource"]["config"]
                                                           ["ssh_public_key"], "tags": {"Name": "x"}}}),
                 422, "invalid_tags")
    assert u.wait_run(order["run"]["id"], timeout=180)["status"] == "succeeded"


def test_scheduled_check_runs_once(make_server, store_env):
    s = make_server(env=dict(store_env, CLOUDPLANE_SCHEDULER_INTERVAL="1",
                             CLOUDPLANE_DRIFT_MIN_INTERVAL_MINUTES="2"))
    u, p, acct, sb = setup(s)
    order = u.create_vm(p["id"], acct["id"])
    rid = order["resource"]["id"]
    assert u.wait_run(order["run"]["id"], timeout=180)["status"] == "succeeded"
    assert_error(u.call("PATCH", "/projects/" + p["id"], {"drift_interval_minutes": 1}), 422, "out_of_range")
    u.ok("PATCH", "/projects/" + p["id"], {"drift_interval_minutes": 2})

    def scheduled():
        return [r for r in u.ok("GET", "/resources/%s/runs?limit=100" % rid)["items"]
                if r["operation"] == "drift_check"]
    runs = wait_for(scheduled, 60, "a scheduled drift check")
    assert runs[0]["source"] == "drift_schedule", runs[0]
    assert u.wait_run(runs[0]["id"], timeout=180)["status"] == "succeeded"
    assert u.ok("GET", "/resources/" + rid)["drift_status"] == "in_sync"
    time.sleep(3)  # three more sweeps: the next check is two minutes away
    assert len(scheduled()) == 1



def test_three_workers_queue_each_due_check_once(cluster):
    api = cluster.api(CLOUDPLANE_WORKERS="0", CLOUDPLANE_DRIFT_MIN_INTERVAL_MINUTES="0")
    u, p, acct, sb = setup(api)
    workers = [cluster.worker(CLOUDPLANE_SCHEDULER_INTERVAL="1") for _ in range(3)]
    orders = [u.create_vm(p["id"], acct["id"], name="web-%d" % i) for i in range(3)]
    for o in orders:
        assert u.wait_run(o["run"]["id"], timeout=240)["status"] == "succeeded"
    ids = sorted(o["resource"]["id"] for o in orders)
    u.ok("PATCH", "/projects/" + p["id"], {"drift_interval_minutes": 60})

    def checks():
        rows = cluster.sql("SELECT resource_id, status, source FROM runs WHERE operation = 'drift_check'"
                           " ORDER BY resource_id")
        return rows if len(rows) >= 3 and all(r[1] == "succeeded" for r in rows) else None
    rows = wait_for(checks, 180, "one scheduled check per resource")
    time.sleep(4)  # more sweeps by every worker: nothing more is due for an hour
    rows = cluster.sql("SELECT resource_id, status, source FROM runs WHERE operation = 'drift_check'"
                       " ORDER BY resource_id")
    assert [r[0] for r in rows] == ids, rows
    assert {r[2] for r in rows} == {"drift_schedule"}
    due = cluster.sql("SELECT COUNT(*) FROM resources WHERE drift_next_at IS NULL")
    assert due == [["0"]]
    assert len(workers) == 3
    for rid in ids:
        assert u.ok("GET", "/resources/" + rid)["drift_status"] == "in_sync"


def test_a_change_cancels_a_queued_check(cluster):
    api = cluster.api(CLOUDPLANE_WORKERS="0")
    u, p, acct, sb = setup(api)
    w = cluster.worker()
    order = u.create_vm(p["id"], acct["id"])
    rid = order["resource"]["id"]
    assert u.wait_run(order["run"]["id"], timeout=240)["status"] == "succeeded"
    w.stop()
    q = u.ok("POST", "/resources/%s/drift-check" % rid, status=202)
    upd = u.ok("PATCH", "/resources/" + rid, {"size": "sandbox.medium"}, 202)
    run = u.ok("GET", "/runs/" + q["run"]["id"])
    assert run["status"] == "canceled" and "change of the resource" in run["error"], run
    cluster.worker()
    assert u.wait_run(upd["run"]["id"], timeout=240)["status"] == "succeeded"
    res = u.ok("GET", "/resources/" + rid)
    assert res["drift_status"] == "never_checked" and res["size"] == "sandbox.medium"


def test_distributed_drift_found_and_reconciled(cluster):
    """Two API instances and two workers: a change made out of band is found
    by a check asked of one instance and reconciled through the other."""
    apis = [cluster.api(CLOUDPLANE_WORKERS="0"), cluster.api(CLOUDPLANE_WORKERS="0")]
    u, p, acct, sb = setup(apis[0])
    workers = [cluster.worker(), cluster.worker()]
    order = u.create_vm(p["id"], acct["id"])
    rid = order["resource"]["id"]
    assert u.wait_run(order["run"]["id"], timeout=240)["status"] == "succeeded"
    u2 = Seen.__new__(Seen)
    u2.s, u2.token, u2.user = apis[1], u.token, u.user
    iid = u.ok("GET", "/resources/" + rid)["outputs"]["id"][len("sbx-"):]
    Sandbox(apis[1], sb.key).ok("PATCH", "/instances/" + iid, {"allowed_cidrs": ["10.9.0.0/16"]})
    rep = check(u2, rid)
    assert rep["status"] == "drifted" and any(k.startswith("allowed_cidrs") for k in attrs(rep)), rep
    assert u.ok("GET", "/resources/" + rid)["drift_status"] == "drifted"
    q = u.ok("POST", "/resources/%s/drift/reconcile" % rid, status=202)
    assert q["run"]["source"] == "drift_reconcile"
    assert u2.wait_run(q["run"]["id"], timeout=240)["status"] == "succeeded"
    assert sb.ok("GET", "/instances/" + iid)["allowed_cidrs"] != ["10.9.0.0/16"]
    assert check(u, rid)["status"] == "in_sync"
    claimed = [c["run_id"] for w in workers for c in w.claims()]
    assert len(claimed) == len(set(claimed)), claimed  # no run claimed twice
    assert not any(sb.key in t for t in getattr(u, "seen", []) + getattr(u2, "seen", []))
