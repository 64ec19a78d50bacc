"""The provisioning API end to end: real binary, real store (SQLite and
PostgreSQL), real OpenTofu on the sandbox modules."""
import ipaddress
import json
import os
import re
import threading
import time

import pytest
import requests

from conftest import Api, SSH_KEY, assert_error


def sse_events(server, token, run_id, last_event_id=None, timeout=120):
    """Reads the run's SSE stream to its end; returns [(id, event, data)]."""
    headers = {"Authorization": "Bearer " + token, "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    out, cur = [], {}
    with requests.get(server.url + "/api/v1/runs/%s/events" % run_id, headers=headers, stream=True,
                      timeout=timeout) as r:
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("text/event-stream")
        for raw in r.iter_lines(decode_unicode=True):
            if raw == "":
                if "event" in cur:
                    out.append((cur.get("id"), cur["event"], json.loads(cur.get("data", "null"))))
                cur = {}
            elif raw.startswith(":"):
                continue
            else:
                k, _, v = raw.partition(": ")
                cur[k] = v
    return out


def test_full_flow(make_server, store_env):
    s = make_server(env=store_env)
    u = Api(s)
    p = u.project(name="demo")
    acct = u.sandbox_account(p["id"])
    assert acct["cloud"] == "sandbox" and re.match(r"^sbx_…[0-9a-f]{4}$", acct["hint"])

    created = u.create_vm(p["id"], acct["id"], name="web-1")
    res, run = created["resource"], created["run"]
    assert res["status"] == "pending" and res["cloud"] == "sandbox" and res["simulated"] is True
    assert run["operation"] == "create" and run["status"] == "queued"
    assert abs(res["monthly_cost_usd"] - 0.01 * 730) < 1e-6

    events = sse_events(s, u.token, run["id"])
    kinds = [e[1] for e in events]
    assert "log" in kinds and "plan" in kinds and "progress" in kinds and "status" in kinds
    assert kinds[-1] in ("status", "outputs") or "status" in kinds
    seqs = [int(e[0]) for e in events if e[0]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    progress = [e[2] for e in events if e[1] == "progress"]
    assert any(p_["state"] == "complete" for p_ in progress)
    statuses = [e[2]["run_status"] for e in events if e[1] == "status"]
    assert statuses[-1] == "succeeded", statuses
    assert "planning" in statuses and "applying" in statuses

    r = u.ok("GET", "/resources/" + res["id"])
    assert r["status"] == "active", r
    ip = ipaddress.ip_address(r["outputs"]["public_ip"])
    assert ip in ipaddress.ip_network("203.0.113.0/24")
    assert r["outputs"]["id"].startswith("sbx-i-")
    run = u.ok("GET", "/runs/" + run["id"])
    assert run["status"] == "succeeded" and run["plan_summary"]["add"] >= 1

    bucket = u.ok("POST", "/resources", {"project_id": p["id"], "account_id": acct["id"], "kind": "storage",
                                         "name": "assets-1", "region": "sandbox-west-1",
                                         "config": {"expected_gb": 50}}, 202)
    done = u.wait_run(bucket["run"]["id"])
    assert done["status"] == "succeeded", done
    b = u.ok("GET", "/resources/" + bucket["resource"]["id"])
    assert b["outputs"]["url"] == "sandbox://assets-1"

    summary = u.ok("GET", "/costs/summary?group_by=cloud")
    assert summary["items"][0]["key"] == "sandbox" and summary["items"][0]["count"] == 2
    assert abs(summary["total_monthly_usd"] - (7.3 + 50 * 0.02)) < 1e-6
    by_kind = {i["key"]: i for i in u.ok("GET", "/costs/summary?group_by=kind")["items"]}
    assert set(by_kind) == {"vm", "storage"}
    daily = u.ok("GET", "/costs/daily?days=30")
    assert daily["days"] == 30 and all(i["cloud"] == "sandbox" for i in daily["items"])
    assert sum(i["usd"] for i in daily["items"]) > 0

    lst = u.ok("GET", "/resources?project_id=%s&kind=vm" % p["id"])
    assert [x["id"] for x in lst["items"]] == [res["id"]]

    resized = u.ok("PATCH", "/resources/" + res["id"], {"size": "sandbox.medium"}, 202)
    assert resized["run"]["operation"] == "update"
    assert u.wait_run(resized["run"]["id"])["status"] == "succeeded"
    r = u.ok("GET", "/resources/" + res["id"])
    assert r["size"] == "sandbox.medium" and r["status"] == "active"
    assert abs(r["monthly_cost_usd"] - 0.02 * 730) < 1e-6
    assert r["outputs"]["public_ip"] == str(ip)  # in-place update: same machine

    for rid in (res["id"], b["id"]):
        d = u.ok("DELETE", "/resources/" + rid, status=202)
        assert d["run"]["operation"] == "destroy"
        assert u.wait_run(d["run"]["id"])["status"] == "succeeded"
        gone = u.ok("GET", "/resources/" + rid)
        assert gone["status"] == "destroyed" and gone["outputs"] == {}
    assert u.ok("GET", "/costs/summary")["total_monthly_usd"] == 0
    runs = u.ok("GET", "/resources/%s/runs" % res["id"])["items"]
    assert [x["operation"] for x in runs] == ["destroy", "update", "create"]
    actions = [e["action"] for e in u.ok("GET", "/projects/%s/audit" % p["id"])["items"]]
    for a in ("project.create", "account.add", "resource.create", "resource.update", "resource.destroy"):
        assert a in actions
    # No run dirs are left behind.
    runs_dir = os.path.join(s.data_dir, "runs")
    assert not os.path.isdir(runs_dir) or os.listdir(runs_dir) == []
    # The project can go once everything is destroyed.
    assert u.call("DELETE", "/accounts/" + acct["id"]).status_code == 204
    assert u.call("DELETE", "/projects/" + p["id"]).status_code == 204


def test_approval_flow(server):
    owner = Api(server)
    member = Api(server)
    p = owner.project(name="guarded", require_approval=True)
    owner.add_member(p["id"], member, "member")
    acct = owner.sandbox_account(p["id"])
    created = member.create_vm(p["id"], acct["id"], name="needs-ok")
    run = owner.wait_run(created["run"]["id"], until=("awaiting_approval", "failed", "succeeded"))
    assert run["status"] == "awaiting_approval", run
    assert run["plan_summary"]["add"] >= 1
    assert any(r["address"] == "sandbox_instance.this" for r in run["plan_summary"]["resources"])
    time.sleep(1.0)
    assert owner.ok("GET", "/resources/" + created["resource"]["id"])["status"] == "provisioning"
    assert_error(member.call("POST", "/runs/%s/approve" % run["id"]), 403)
    approved = owner.ok("POST", "/runs/%s/approve" % run["id"])
    assert approved["approved_by"] == owner.user["id"]
    assert_error(owner.call("POST", "/runs/%s/approve" % run["id"]), 409)
    done = owner.wait_run(run["id"])
    assert done["status"] == "succeeded", done
    r = owner.ok("GET", "/resources/" + created["resource"]["id"])
    assert r["status"] == "active" and r["outputs"]["public_ip"].startswith("203.0.113.")


def test_budget_refusal(api):
    p = api.project(name="tight", monthly_budget_usd=10)
    acct = api.sandbox_account(p["id"])
    r = api.call("POST", "/resources", {"project_id": p["id"], "account_id": acct["id"], "kind": "vm", "name": "big",
                                         "region": "sandbox-east-1", "size": "sandbox.large",
                                         "config": {"ssh_public_key": SSH_KEY}})
    assert_error(r, 422, "budget_exceeded")
    assert api.ok("GET", "/resources?project_id=" + p["id"])["items"] == []
    small = api.create_vm(p["id"], acct["id"], name="small")  # 7.30 fits
    proj = api.ok("GET", "/projects/" + p["id"])
    assert abs(proj["budget_used_usd"] - 7.3) < 1e-6
    assert_error(api.call("PATCH", "/resources/" + small["resource"]["id"], {"size": "sandbox.medium"}), 422,
                 "budget_exceeded")
    api.wait_run(small["run"]["id"])


def test_cancel_queued_and_running(api):
    p = api.project(name="cancels")
    acct = api.sandbox_account(p["id"])
    slow = api.create_vm(p["id"], acct["id"], name="slow", simulate_seconds=60)
    run = api.wait_run(slow["run"]["id"], until=("applying", "failed", "succeeded"), timeout=60)
    assert run["status"] == "applying", run
    # A second run of the same resource waits its turn, and can be canceled at once.
    queued = api.ok("DELETE", "/resources/" + slow["resource"]["id"], status=202)["run"]
    c = api.ok("POST", "/runs/%s/cancel" % queued["id"], status=202)
    assert c["status"] == "canceled"
    # Its status event has the shape of every status event: the resource's status too.
    ev = api.ok("GET", "/runs/%s/events?format=json" % queued["id"])["items"]
    status = [e["data"] for e in ev if e["type"] == "status"]
    assert len(status) == 1 and status[0]["run_status"] == "canceled", ev
    assert status[0]["resource_status"] == api.ok("GET", "/resources/" + slow["resource"]["id"])["status"], ev
    t0 = time.time()
    api.ok("POST", "/runs/%s/cancel" % run["id"], status=202)
    done = api.wait_run(run["id"], timeout=90)
    assert done["status"] == "canceled", done
    assert time.time() - t0 < 60
    assert_error(api.call("POST", "/runs/%s/cancel" % run["id"]), 409)
    r = api.ok("GET", "/resources/" + slow["resource"]["id"])
    assert r["status"] == "failed"
    # The state was left consistent and unlocked: a destroy now succeeds.
    d = api.ok("DELETE", "/resources/" + slow["resource"]["id"], status=202)
    assert api.wait_run(d["run"]["id"])["status"] == "succeeded"


def test_failed_apply_is_reported(api):
    p = api.project(name="fails")
    acct = api.sandbox_account(p["id"])
    bad = api.create_vm(p["id"], acct["id"], name="doomed", simulate_failure=True)
    done = api.wait_run(bad["run"]["id"])
    assert done["status"] == "failed" and done["error"]
    assert api.ok("GET", "/resources/" + bad["resource"]["id"])["status"] == "failed"
    logs = api.ok("GET", "/runs/%s/events?format=json" % done["id"])
    assert any(e["type"] == "log" and e["data"]["level"] == "error" for e in logs["items"])


def test_sse_resume_with_last_event_id(api):
    p = api.project(name="sse")
    acct = api.sandbox_account(p["id"])
    c = api.create_vm(p["id"], acct["id"], name="stream")
    api.wait_run(c["run"]["id"])
    full = sse_events(api.s, api.token, c["run"]["id"])
    ids = [int(e[0]) for e in full if e[0]]
    assert len(ids) >= 6
    cut = ids[len(ids) // 2]
    rest = sse_events(api.s, api.token, c["run"]["id"], last_event_id=cut)
    assert [int(e[0]) for e in rest if e[0]] == [i for i in ids if i > cut]
    assert [e for e in full if e[0] and int(e[0]) > cut] == [e for e in rest if e[0]]
    page = api.ok("GET", "/runs/%s/events?format=json&after=%d" % (c["run"]["id"], cut))
    assert [e["seq"] for e in page["items"]] == [i for i in ids if i > cut]
    # EventSource cannot send headers: it opens the stream with a run-scoped ticket, never the access token.
    ticket = api.ok("POST", "/runs/%s/stream-ticket" % c["run"]["id"])["ticket"]
    r = requests.get(api.s.url + "/api/v1/runs/%s/events?ticket=%s" % (c["run"]["id"], ticket), timeout=30)
    assert r.status_code == 200 and "event: status" in r.text
    assert r.text.rstrip().endswith('event: end\ndata: {"reason":"run_finished"}')
    r = requests.get(api.s.url + "/api/v1/runs/%s/events?access_token=%s" % (c["run"]["id"], api.token), timeout=30)
    assert_error(r, 401, "token_in_url")
    assert_error(requests.get(api.s.url + "/api/v1/auth/me?access_token=" + api.token, timeout=10), 401)


def test_live_stream_sees_events_as_they_happen(api):
    p = api.project(name="live")
    acct = api.sandbox_account(p["id"])
    c = api.create_vm(p["id"], acct["id"], name="live-1", simulate_seconds=3)
    got = sse_events(api.s, api.token, c["run"]["id"])
    assert [e[2]["run_status"] for e in got if e[1] == "status"][-1] == "succeeded"


def test_event_cap_reports_truncation(make_server):
    s = make_server(env={"CLOUDPLANE_RUN_LOG_MAX_EVENTS": "10"})
    u = Api(s)
    p = u.project(name="capped")
    acct = u.sandbox_account(p["id"])
    c = u.create_vm(p["id"], acct["id"], name="chatty")
    done = u.wait_run(c["run"]["id"])
    assert done["status"] == "succeeded"  # the cap limits storage, not the run
    page = u.ok("GET", "/runs/%s/events?format=json" % done["id"])
    assert len(page["items"]) == 10 and [e["seq"] for e in page["items"]] == list(range(1, 11))
    assert page["dropped"] > 0
    events = sse_events(s, u.token, done["id"])
    assert len([e for e in events if e[0]]) == 10
    assert events[-2][1] == "truncated" and events[-2][2]["dropped"] == page["dropped"]
    assert events[-1][1:] == ("end", {"reason": "run_finished"})
    assert u.ok("GET", "/resources/" + c["resource"]["id"])["status"] == "active"


def test_run_dirs_left_by_a_crash_are_swept(make_server):
    s = make_server()
    u = Api(s)
    p = u.project(name="sweep")
    acct = u.sandbox_account(p["id"])
    c = u.create_vm(p["id"], acct["id"], name="swept")
    done = u.wait_run(c["run"]["id"])
    runs_dir = os.path.join(s.data_dir, "runs")
    leftovers = [os.path.join(runs_dir, done["id"] + ".deadbeef"),
                 os.path.join(runs_dir, "01aaaaaaaaaaaaaaaaaaaaaaaa.cafef00d")]
    for d in leftovers:
        os.makedirs(os.path.join(d, ".tfdata"))
        with open(os.path.join(d, "terraform.tfvars.json"), "w") as f:
            f.write("{}")
    keep = os.path.join(runs_dir, "not-a-run-dir")
    os.makedirs(keep)
    assert s.stop() == 0
    s2 = make_server(data_dir=s.data_dir)
    assert s2.get("/healthz").status_code == 200
    for d in leftovers:
        assert not os.path.exists(d)
    assert os.path.isdir(keep)
    assert "removed 2 run dir(s) left by an earlier crash" in s2.logs()


def test_resource_list_is_never_stale(make_server, store_env):
    s = make_server(env=store_env)
    owner, other = Api(s), Api(s)
    p = owner.project(name="fresh-lists")
    acct = owner.sandbox_account(p["id"])
    c = owner.create_vm(p["id"], acct["id"], name="listed", simulate_seconds=2)
    first = owner.ok("GET", "/resources?limit=10")["items"]
    assert [r["id"] for r in first] == [c["resource"]["id"]]
    assert other.ok("GET", "/resources?limit=10")["items"] == []
    owner.wait_run(c["run"]["id"])
    # The worker's writes show up in the same query (same cache key).
    after = owner.ok("GET", "/resources?limit=10")["items"][0]
    assert after["status"] == "active" and after["current_run"]["status"] == "succeeded"
    # Membership changes show up for the member at once.
    owner.add_member(p["id"], other, "viewer")
    assert [r["id"] for r in other.ok("GET", "/resources?limit=10")["items"]] == [c["resource"]["id"]]
    owner.ok("DELETE", "/projects/%s/members/%s" % (p["id"], other.user["id"]), status=204)
    assert other.ok("GET", "/resources?limit=10")["items"] == []
    d = owner.ok("DELETE", "/resources/" + c["resource"]["id"], status=202)
    assert owner.ok("GET", "/resources?limit=10")["items"][0]["current_run"]["id"] == d["run"]["id"]
    owner.wait_run(d["run"]["id"])
    assert owner.ok("GET", "/resources?limit=10")["items"][0]["status"] == "destroyed"
