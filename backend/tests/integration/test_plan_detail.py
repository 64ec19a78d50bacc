"""Approvers see what they approve: a plan that waits for approval carries,
per resource, its type and the attributes that change (before -> after,
read from the plan's show -json), and the monthly cost before and after.
Secrets that reach an attribute are redacted. A replace and its
replace_paths are covered on the unit level (test_engine_plan_json.c, a
sandbox rename fixture): no API renames a resource on this branch yet."""
import json
import secrets

import pytest

from conftest import Api

HOURS_PER_MONTH = 730.0


def monthly(u, size):
    cat = u.ok("GET", "/catalog")
    cloud = next(c for c in cat["clouds"] if c["id"] == "sandbox")
    vm = next(k for k in cloud["kinds"] if k["id"] == "vm")
    return next(s for s in vm["sizes"] if s["id"] == size)["hourly_usd"] * HOURS_PER_MONTH


def awaiting(u, run_id):
    run = u.wait_run(run_id, until=("awaiting_approval", "failed", "succeeded", "canceled"), timeout=180)
    assert run["status"] == "awaiting_approval", run
    return run


def attrs(res):
    return {a["path"]: a for a in res["attributes"]}


def test_resize_plan_shows_attributes_and_cost(make_server, store_env):
    server = make_server(env=store_env)
    u = Api(server)
    p = u.project(name="see-what-you-approve", require_approval=True)
    key = "sbx_" + secrets.token_hex(16)
    acct = u.ok("POST", "/projects/%s/accounts" % p["id"],
                {"name": "sandbox", "cloud": "sandbox", "credentials": {"api_key": key}}, 201)
    # The key as a tag value too: it reaches the plan, and must not leave it.
    order = u.create_vm(p["id"], acct["id"], name="web-1", size="sandbox.small", tags={"team": "web", "leak": key})
    rid = order["resource"]["id"]
    small, large = monthly(u, "sandbox.small"), monthly(u, "sandbox.large")

    run = awaiting(u, order["run"]["id"])
    ps = run["plan_summary"]
    assert ps["add"] == 1 and ps["change"] == 0 and ps["destroy"] == 0, ps
    res = next(r for r in ps["resources"] if r["address"] == "sandbox_instance.this")
    assert res["type"] == "sandbox_instance" and res["action"] == "create", res
    a = attrs(res)
    assert a["size"]["before"] is None and a["size"]["after"] == "sandbox.small", a["size"]
    assert a["tags.team"]["after"] == "web", a
    assert a["id"]["known"] is False and a["id"]["after"] is None, a["id"]  # the cloud assigns it
    assert a["tags.leak"]["after"] != key, a["tags.leak"]
    assert ps["cost"]["before_usd"] == 0, ps["cost"]
    assert ps["cost"]["after_usd"] == pytest.approx(small) and ps["cost"]["delta_usd"] == pytest.approx(small)
    assert key not in json.dumps(run)
    u.ok("POST", "/runs/%s/approve" % run["id"])
    assert u.wait_run(run["id"], timeout=180)["status"] == "succeeded"

    resized = u.ok("PATCH", "/resources/" + rid, {"size": "sandbox.large"}, 202)
    run = awaiting(u, resized["run"]["id"])
    ps = run["plan_summary"]
    assert ps["change"] == 1 and ps["add"] == 0 and ps["destroy"] == 0, ps
    res = next(r for r in ps["resources"] if r["address"] == "sandbox_instance.this")
    assert res["action"] == "update" and res["type"] == "sandbox_instance", res
    a = attrs(res)
    # Only what changes: the size, nothing else (the tags, the id stay).
    assert list(a) == ["size"], a
    assert a["size"] == {"path": "size", "before": "sandbox.small", "after": "sandbox.large",
                         "sensitive": False, "known": True}
    assert "replace_paths" not in res
    cost = ps["cost"]
    assert cost["before_usd"] == pytest.approx(small) and cost["after_usd"] == pytest.approx(large), cost
    assert cost["delta_usd"] == pytest.approx(large - small) and cost["delta_usd"] > 0, cost
    # The run list and the run read agree; the key is in neither.
    listed = u.ok("GET", "/resources/%s/runs" % rid)
    assert key not in json.dumps(listed) and key not in json.dumps(run)
    u.ok("POST", "/runs/%s/approve" % run["id"])
    assert u.wait_run(run["id"], timeout=180)["status"] == "succeeded"
    assert u.ok("GET", "/resources/" + rid)["size"] == "sandbox.large"

    # A destroy's plan costs nothing after.
    gone = u.ok("DELETE", "/resources/" + rid, status=202)
    run = awaiting(u, gone["run"]["id"])
    ps = run["plan_summary"]
    res = next(r for r in ps["resources"] if r["address"] == "sandbox_instance.this")
    assert res["action"] == "delete" and attrs(res)["size"]["before"] == "sandbox.large", res
    assert ps["cost"]["after_usd"] == 0 and ps["cost"]["delta_usd"] == pytest.approx(-large), ps["cost"]
    assert key not in json.dumps(run)
