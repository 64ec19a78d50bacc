"""Working-hours schedules on the sandbox cloud: the real binary with the
scheduler sweeping every second (CLOUDPLANE_SCHEDULER_INTERVAL=1) stops and
starts a VM through OpenTofu and the sandbox provider, and a stopped VM bills
at its size's stopped price.

A stop or start whose minute is the current one is due at once, so the tests
set crons for the current minute (in a zone with a half-hour offset) instead
of waiting for one."""
import os
import secrets
import sqlite3
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import requests

from conftest import SSH_KEY, Api, assert_error

ZONE = "Asia/Kolkata"  # UTC+05:30: a cron read in UTC would be off by 5.5 hours
RUNNING_RATE = 0.01 * 730  # sandbox.small, catalog hourly_usd x 730
STOPPED_RATE = 1.60  # sandbox.small, catalog stopped_monthly_cost_usd


def this_minute(offset_minutes=0):
    """A daily cron for the current minute in ZONE (plus offset). Near a
    minute's end it first waits for the next one, so the server reads the
    same minute."""
    if datetime.now(timezone.utc).second >= 55:
        time.sleep(61 - datetime.now(timezone.utc).second)
    t = datetime.fromtimestamp(time.time() + 60 * offset_minutes, ZoneInfo(ZONE))
    return "%d %d * * *" % (t.minute, t.hour)


@pytest.fixture
def env(make_server, store_env):
    server = make_server(dict(store_env, CLOUDPLANE_SCHEDULER_INTERVAL="1"))
    api = Api(server)
    project = api.project()
    key = "sbx_" + secrets.token_hex(16)
    account = api.ok("POST", "/projects/%s/accounts" % project["id"],
                     {"name": "sandbox", "cloud": "sandbox", "credentials": {"api_key": key}}, 201)
    return server, api, project, account, key


def sandbox_instance(server, key, resource):
    instance_id = resource["outputs"]["id"][len("sbx-"):]
    r = requests.get(server.url + "/sandbox/v1/instances/" + instance_id,
                     headers={"Authorization": "Bearer " + key}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def wait_schedule_run(api, resource_id, seen, timeout=120):
    """The first run with source schedule not in seen, once it has ended."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for run in api.ok("GET", "/resources/%s/runs" % resource_id)["items"]:
            if run["source"] == "schedule" and run["id"] not in seen:
                seen.add(run["id"])
                return api.wait_run(run["id"])
        time.sleep(0.3)
    raise AssertionError("no scheduled run of %s" % resource_id)


def cost_periods(server, resource_id):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(server.data_dir, "cloudplane.db"), uri=True)
    try:
        return db.execute("SELECT monthly_cost_usd, started_at, ended_at FROM cost_periods WHERE resource_id = ?"
                          " ORDER BY started_at, ended_at IS NULL", (resource_id,)).fetchall()
    finally:
        db.close()


def test_working_hours_stop_and_start(env, store_env):
    server, api, project, account, key = env
    order = {"project_id": project["id"], "account_id": account["id"], "kind": "vm", "name": "office-vm",
             "region": "sandbox-east-1", "size": "sandbox.small", "config": {"ssh_public_key": SSH_KEY},
             "schedule": {"stop": this_minute(), "start": this_minute(+180), "timezone": ZONE}}
    created = api.ok("POST", "/resources", order, 202)
    res = created["resource"]
    assert res["schedule"] == {"stop": order["schedule"]["stop"], "start": order["schedule"]["start"],
                               "timezone": ZONE}
    assert res["power_state"] == "running"
    assert api.wait_run(created["run"]["id"])["status"] == "succeeded"

    # The stop is due now; it waited for the create run, then ran once.
    seen = set()
    stop = wait_schedule_run(api, res["id"], seen)
    assert stop["status"] == "succeeded", stop
    assert stop["operation"] == "update"
    res = api.ok("GET", "/resources/" + res["id"])
    assert res["power_state"] == "stopped"
    assert res["config"]["power_state"] == "stopped"
    assert abs(res["monthly_cost_usd"] - STOPPED_RATE) < 1e-9
    assert sandbox_instance(server, key, res)["power_state"] == "stopped"
    # The next change is the start, three hours on.
    next_at = datetime.fromisoformat(res["schedule_next_at"].replace("Z", "+00:00"))
    assert 170 * 60 < (next_at - datetime.now(timezone.utc)).total_seconds() < 181 * 60
    summary = api.ok("GET", "/costs/summary?group_by=project")
    assert abs(summary["total_monthly_usd"] - STOPPED_RATE) < 1e-9, summary
    # No second stop is queued while the first is done and the start is not due.
    time.sleep(3)
    assert [r["id"] for r in api.ok("GET", "/resources/%s/runs" % res["id"])["items"]
            if r["source"] == "schedule"] == [stop["id"]]

    # A start due now starts it again.
    res = api.ok("PUT", "/resources/%s/schedule" % res["id"],
                 {"stop": this_minute(+240), "start": this_minute(), "timezone": ZONE}, 200)
    start = wait_schedule_run(api, res["id"], seen)
    assert start["status"] == "succeeded", start
    res = api.ok("GET", "/resources/" + res["id"])
    assert res["power_state"] == "running"
    assert abs(res["monthly_cost_usd"] - RUNNING_RATE) < 1e-9
    assert sandbox_instance(server, key, res)["power_state"] == "running"

    if not store_env:  # SQLite: the cost periods themselves
        periods = cost_periods(server, res["id"])
        assert [round(p[0], 6) for p in periods] == [RUNNING_RATE, STOPPED_RATE, RUNNING_RATE], periods
        # The stopped span is exactly the one billed at the stopped rate.
        assert periods[0][2] == periods[1][1] and periods[1][2] == periods[2][1] and periods[2][2] is None
        assert periods[1][2] >= periods[1][1]

    # Audited, and a deleted schedule leaves the VM as it is.
    res = api.ok("DELETE", "/resources/%s/schedule" % res["id"], status=200)
    assert res["schedule"] is None and res["schedule_next_at"] is None and res["power_state"] == "running"
    actions = [e["action"] for e in api.ok("GET", "/projects/%s/audit" % project["id"])["items"]]
    assert actions.count("resource.schedule.set") == 2 and "resource.schedule.delete" in actions


def test_out_of_band_stop_is_drift_that_the_next_run_corrects(env):
    """A stop made on the sandbox API, not through the platform, is drift of
    power_state: the next run (a resize) plans it back to running."""
    server, api, project, account, key = env
    created = api.create_vm(project["id"], account["id"], name="oob-vm")
    assert api.wait_run(created["run"]["id"])["status"] == "succeeded"
    res = api.ok("GET", "/resources/" + created["resource"]["id"])
    instance_id = res["outputs"]["id"][len("sbx-"):]
    r = requests.patch(server.url + "/sandbox/v1/instances/" + instance_id, json={"power_state": "stopped"},
                       headers={"Authorization": "Bearer " + key}, timeout=30)
    assert r.status_code == 200 and r.json()["power_state"] == "stopped", r.text
    r = requests.patch(server.url + "/sandbox/v1/instances/" + instance_id, json={"power_state": "paused"},
                       headers={"Authorization": "Bearer " + key}, timeout=30)
    assert_error(r, 422, "invalid_power_state", "power_state")
    resize = api.ok("PATCH", "/resources/" + res["id"], {"size": "sandbox.medium"}, 202)
    assert api.wait_run(resize["run"]["id"])["status"] == "succeeded"
    inst = sandbox_instance(server, key, api.ok("GET", "/resources/" + res["id"]))
    assert inst["power_state"] == "running" and inst["size"] == "sandbox.medium", inst


def test_schedule_bad_input(env):
    server, api, project, account, key = env
    created = api.create_vm(project["id"], account["id"], name="bad-vm")
    vm = created["resource"]
    path = "/resources/%s/schedule" % vm["id"]
    cases = [
        ({"stop": "0 19 * *", "timezone": "UTC"}, "invalid_cron", "stop"),
        ({"stop": "0 25 * * *", "timezone": "UTC"}, "invalid_cron", "stop"),
        ({"stop": "0 19 * * 1-5", "start": "0 7 * * MONDAY", "timezone": "UTC"}, "invalid_cron", "start"),
        ({"stop": "0 19 * * *", "timezone": "Mars/Olympus"}, "invalid_timezone", "timezone"),
        ({"stop": "0 19 * * *", "timezone": "GMT+5"}, "invalid_timezone", "timezone"),
        ({"stop": None, "start": None, "timezone": "UTC"}, "invalid_schedule", "stop"),
        ({"stop": "0 0 30 2 *", "timezone": "UTC"}, "cron_never_fires", None),
    ]
    for body, code, field in cases:
        assert_error(api.call("PUT", path, body), 422, code, field)
    assert_error(api.call("PUT", path, {"stop": "0 19 * * *"}), 422, "missing_field", "timezone")
    assert_error(api.call("PUT", path, {"stop": "0 19 * * *", "timezone": "UTC", "extra": 1}), 400)
    assert_error(api.call("PUT", path, "not json"), 400)

    # Storage cannot stop.
    bucket = api.ok("POST", "/resources", {"project_id": project["id"], "account_id": account["id"],
                                           "kind": "storage", "name": "bucket-sched", "region": "sandbox-east-1"},
                    202)["resource"]
    assert_error(api.call("PUT", "/resources/%s/schedule" % bucket["id"], {"stop": "0 19 * * *", "timezone": "UTC"}),
                 422, "not_stoppable")
    assert bucket["power_state"] is None and bucket["schedule"] is None

    # Azure VMs cannot stop (azurerm has no way to): refused in the order, before anything runs.
    azure = api.ok("POST", "/projects/%s/accounts" % project["id"], {
        "name": "az", "cloud": "azure", "credentials": {
            "tenant_id": "00000000-0000-4000-8000-000000000001", "client_id": "00000000-0000-4000-8000-000000000002",
            "client_secret": "not-a-real-secret", "subscription_id": "00000000-0000-4000-8000-000000000003"}}, 201)
    r = api.call("POST", "/resources", {
        "project_id": project["id"], "account_id": azure["id"], "kind": "vm", "name": "az-vm", "region": "eastus",
        "size": "Standard_B1s", "config": {"ssh_public_key": SSH_KEY},
        "schedule": {"stop": "0 19 * * *", "timezone": "UTC"}})
    err = assert_error(r, 422, "not_stoppable", "schedule")
    assert "azurerm" in err["message"]
    r = api.call("POST", "/resources", dict(
        {"project_id": project["id"], "account_id": account["id"], "kind": "vm", "name": "bad-order",
         "region": "sandbox-east-1", "size": "sandbox.small", "config": {"ssh_public_key": SSH_KEY}},
        schedule={"stop": "99 * * * *", "timezone": "UTC"}))
    assert_error(r, 422, "invalid_cron", "schedule.stop")
    catalog = api.ok("GET", "/catalog")
    kinds = {(c["id"], k["id"]): k for c in catalog["clouds"] for k in c["kinds"]}
    assert kinds[("azure", "vm")]["stoppable"] is False and "azurerm" in kinds[("azure", "vm")]["not_stoppable_reason"]
    assert kinds[("sandbox", "vm")]["stoppable"] is True and kinds[("sandbox", "storage")]["stoppable"] is False
    assert all(0 < s["stopped_monthly_cost_usd"] < s["hourly_usd"] * 730 for k in kinds.values()
               for s in k.get("sizes", []))

    # A viewer cannot set one; a non-member does not see the resource.
    viewer, stranger = Api(server), Api(server)
    api.add_member(project["id"], viewer, "viewer")
    assert_error(viewer.call("PUT", path, {"stop": "0 19 * * *", "timezone": "UTC"}), 403)
    assert_error(stranger.call("PUT", path, {"stop": "0 19 * * *", "timezone": "UTC"}), 404)
    assert_error(stranger.call("DELETE", path), 404)


def test_distributed_stop_runs_once(tmp_path):
    """Two API instances and two workers on PostgreSQL and Redis, each worker
    sweeping every second: a due stop is queued once and runs once."""
    from distributed import Cluster

    cluster = Cluster(tmp_path)
    try:
        api1, api2 = cluster.api(), cluster.api()
        for _ in range(2):
            cluster.worker(CLOUDPLANE_SCHEDULER_INTERVAL="1")
        u = Api(api1)
        project = u.project(name="dist-sched")
        account = u.sandbox_account(project["id"])
        created = u.create_vm(project["id"], account["id"], name="dist-vm")
        assert u.wait_run(created["run"]["id"])["status"] == "succeeded"
        other = Api.__new__(Api)  # the same user on the second API instance
        other.s, other.token, other.user = api2, u.token, u.user
        res = other.ok("PUT", "/resources/%s/schedule" % created["resource"]["id"],
                       {"stop": this_minute(), "start": this_minute(+120), "timezone": ZONE}, 200)
        stop = wait_schedule_run(u, res["id"], set())
        assert stop["status"] == "succeeded", stop
        time.sleep(4)  # several more sweeps by both workers
        runs = [r for r in u.ok("GET", "/resources/%s/runs" % res["id"])["items"] if r["source"] == "schedule"]
        assert [r["id"] for r in runs] == [stop["id"]], runs
        assert other.ok("GET", "/resources/" + res["id"])["power_state"] == "stopped"
    finally:
        cluster.close()
