"""Guardrails end to end on the sandbox cloud, on SQLite and PostgreSQL: rules
set by owners and admins, checked at order time (hard blocks, soft blocks an
owner overrides with a reason, advisory warnings stored on the run) and again
on the plan (a protected bucket a rename would replace, a soft rule added
after the order that parks the run for an approval with a reason)."""
import secrets

import pytest
import requests

from conftest import SSH_KEY, Api, assert_error


class Sandbox:
    def __init__(self, server, key):
        self.s, self.key = server, key

    def get(self, path):
        return requests.get(self.s.url + "/sandbox/v1" + path, timeout=30,
                            headers={"Authorization": "Bearer " + self.key})


def setup(server, **settings):
    u = Api(server)
    p = u.project(name="guard", **settings)
    key = "sbx_" + secrets.token_hex(16)
    acct = u.ok("POST", "/projects/%s/accounts" % p["id"],
                {"name": "sandbox", "cloud": "sandbox", "credentials": {"api_key": key}}, 201)
    return u, p, acct, Sandbox(server, key)


def vm_order(p, acct, name, size="sandbox.small", tags=None, **extra):
    cfg = {"ssh_public_key": SSH_KEY, "allowed_cidrs": ["198.51.100.0/24"]}
    if tags is not None:
        cfg["tags"] = tags
    return dict({"project_id": p["id"], "account_id": acct["id"], "kind": "vm", "name": name,
                 "region": "sandbox-east-1", "size": size, "config": cfg}, **extra)


def bucket_order(p, acct, name, public=False, **extra):
    return dict({"project_id": p["id"], "account_id": acct["id"], "kind": "storage", "name": name,
                 "region": "sandbox-east-1", "config": {"public": public}}, **extra)


def put_rules(u, p, rules):
    return u.ok("PUT", "/projects/%s/guardrails" % p["id"], rules, 200)


def audit(u, p, action):
    return [e for e in u.ok("GET", "/projects/%s/audit?limit=200" % p["id"])["items"] if e["action"] == action]


def checks(u, run_id):
    return u.ok("GET", "/runs/%s/checks" % run_id)["items"]


def by_rule(items, rule, stage=None):
    return [c for c in items if c["rule"] == rule and (stage is None or c["stage"] == stage)]


def test_rules_roles_and_bad_documents(make_server, store_env):
    s = make_server(env=store_env)
    u, p, acct, _ = setup(s)
    g = u.ok("GET", "/projects/%s/guardrails" % p["id"])
    assert g == {"project_id": p["id"], "rules": {}, "updated_at": None, "updated_by": None}
    member = Api(s)
    u.add_member(p["id"], member, "member")
    rules = {"allowed_sizes": {"level": "hard", "sizes": {"sandbox": ["sandbox.small"]}}}
    assert_error(member.call("PUT", "/projects/%s/guardrails" % p["id"], rules), 403)
    assert member.ok("GET", "/projects/%s/guardrails" % p["id"])["rules"] == {}
    for bad, status, code in (
            ({"allowed_sizes": {"level": "hard", "sizes": {"sandbox": ["t3.micro"]}}}, 422, "unknown_size"),
            ({"allowed_regions": {"level": "soft", "regions": {"aws": ["mars-1"]}}}, 422, "unknown_region"),
            ({"required_tags": {"level": "soft", "tags": [{"key": "owner", "pattern": "(["}]}}, 422,
             "invalid_pattern"),
            ({"budget": {"level": "medium"}}, 400, None),
            ({"protected": {"level": "hard"}}, 400, None),
            ({"max_monthly_cost": {"level": "soft", "usd": 1, "extra": 2}}, 400, None)):
        assert_error(u.call("PUT", "/projects/%s/guardrails" % p["id"], bad), status, code)
    g = put_rules(u, p, rules)
    assert g["rules"] == rules and g["updated_by"] == u.user["id"] and g["updated_at"]
    ev = audit(u, p, "guardrails.update")
    assert len(ev) == 1 and ev[0]["detail"]["rules"] == rules


def test_hard_soft_and_advisory_at_order_time(make_server, store_env):
    s = make_server(env=store_env)
    u, p, acct, _ = setup(s)
    member = Api(s)
    u.add_member(p["id"], member, "member")
    put_rules(u, p, {"allowed_sizes": {"level": "hard", "sizes": {"sandbox": ["sandbox.small", "sandbox.medium"]}},
                     "max_monthly_cost": {"level": "soft", "usd": 10},
                     "max_vcpu_per_resource": {"level": "advisory", "vcpu": 1}})
    # Hard: never, not even with an override.
    for who in (u, member):
        err = assert_error(who.call("POST", "/resources", vm_order(p, acct, "big-1", "sandbox.large",
                                                                   guardrail_override={"reason": "please"})),
                           422, "guardrail_blocked")
        assert err["override_possible"] is False
        sizes = by_rule(err["violations"], "allowed_sizes")
        assert sizes[0]["outcome"] == "blocked" and sizes[0]["level"] == "hard" and "sandbox.large" in sizes[0]["message"]
    assert len(audit(u, p, "guardrail.blocked")) == 2
    assert u.ok("GET", "/resources?project_id=" + p["id"])["items"] == []
    # Each refusal is a guardrail.blocked event: who ordered hears of their own, owners of every one.
    def blocked_notes(who):
        return [n for n in who.ok("GET", "/notifications")["items"] if n["kind"] == "guardrail_blocked"]
    assert len(blocked_notes(u)) == 2 and len(blocked_notes(member)) == 1
    assert all(n["project_id"] == p["id"] and n["run_id"] is None and n["message"] for n in blocked_notes(u))
    # The form's check says the same without ordering.
    chk = member.ok("POST", "/guardrails/check", {"project_id": p["id"], "account_id": acct["id"], "kind": "vm",
                                                  "region": "sandbox-east-1", "size": "sandbox.large"}, 200)
    assert chk["allowed"] is False and chk["override_possible"] is False
    assert {c["rule"] for c in chk["checks"]} == {"allowed_sizes", "max_monthly_cost", "max_vcpu_per_resource"}
    assert all(c["created_at"] is None and c["stage"] == "order" for c in chk["checks"])
    # Soft: sandbox.medium costs $14.60 a month, over $10. A member is refused, even with a reason.
    err = assert_error(member.call("POST", "/resources", vm_order(p, acct, "mid-1", "sandbox.medium")),
                       422, "guardrail_blocked")
    assert err["override_possible"] is False  # a member may not override
    assert by_rule(err["violations"], "max_monthly_cost")[0]["outcome"] == "blocked"
    assert_error(member.call("POST", "/resources", vm_order(p, acct, "mid-1", "sandbox.medium",
                                                            guardrail_override={"reason": "needed"})),
                 403, "override_forbidden")
    err = assert_error(u.call("POST", "/resources", vm_order(p, acct, "mid-1", "sandbox.medium")),
                       422, "guardrail_blocked")
    assert err["override_possible"] is True
    out = u.ok("POST", "/resources", vm_order(p, acct, "mid-1", "sandbox.medium",
                                              guardrail_override={"reason": "load test this week"}), 202)
    ov = audit(u, p, "guardrail.override")
    assert len(ov) == 1 and ov[0]["detail"]["reason"] == "load test this week"
    assert ov[0]["detail"]["rules"] == ["max_monthly_cost"] and ov[0]["actor"]["id"] == u.user["id"]
    run = u.wait_run(out["run"]["id"])
    assert run["status"] == "succeeded" and run["override_required"] is False, run.get("error")
    stored = checks(u, run["id"])
    cost = by_rule(stored, "max_monthly_cost", "order")[0]
    assert cost["outcome"] == "overridden" and cost["reason"] == "load test this week"
    assert cost["overridden_by"] == u.user["id"] and cost["created_at"]
    # Advisory: 2 vCPUs over 1 warns, on the order and again on the plan; the run goes on.
    assert by_rule(stored, "max_vcpu_per_resource", "order")[0]["outcome"] == "warned"
    assert by_rule(stored, "max_vcpu_per_resource", "plan")[0]["outcome"] == "warned"
    # The order's own overridden rule is not asked again at plan time.
    assert by_rule(stored, "max_monthly_cost", "plan")[0]["outcome"] == "overridden"
    assert stored[0]["stage"] == "order" and stored[-1]["stage"] == "plan"
    assert u.ok("GET", "/resources/" + out["resource"]["id"])["protected"] is False


def test_tags_public_buckets_and_project_vcpus(make_server, store_env):
    s = make_server(env=store_env)
    u, p, acct, sbx = setup(s)
    put_rules(u, p, {"required_tags": {"level": "hard", "tags": [{"key": "owner"},
                                                                  {"key": "cost-center", "pattern": "cc-[0-9]{4}"}]},
                     "no_public_buckets": {"level": "hard"},
                     "max_vcpu_per_project": {"level": "hard", "vcpu": 3}})
    good = {"owner": "ana", "cost-center": "cc-1234"}
    err = assert_error(u.call("POST", "/resources", vm_order(p, acct, "t-1", tags={"owner": "ana"})),
                       422, "guardrail_blocked")
    assert "cost-center" in by_rule(err["violations"], "required_tags")[0]["message"]
    err = assert_error(u.call("POST", "/resources", vm_order(p, acct, "t-1", tags=dict(good, **{"cost-center": "cc-12"}))),
                       422, "guardrail_blocked")
    assert "cc-12" in by_rule(err["violations"], "required_tags")[0]["message"]
    first = u.ok("POST", "/resources", vm_order(p, acct, "t-1", "sandbox.medium", tags=good), 202)  # 2 vCPUs
    # 2 + 2 > 3: refused; 2 + 1 fits.
    err = assert_error(u.call("POST", "/resources", vm_order(p, acct, "t-2", "sandbox.medium", tags=good)),
                       422, "guardrail_blocked")
    assert "4 vCPUs" in by_rule(err["violations"], "max_vcpu_per_project")[0]["message"]
    second = u.ok("POST", "/resources", vm_order(p, acct, "t-2", "sandbox.small", tags=good), 202)
    # The vCPU check of a change does not count the resource twice.
    chk = u.ok("POST", "/guardrails/check", {"project_id": p["id"], "account_id": acct["id"], "kind": "vm",
                                             "region": "sandbox-east-1", "size": "sandbox.medium",
                                             "config": {"tags": good}, "resource_id": first["resource"]["id"]}, 200)
    assert chk["allowed"] is True, chk
    # Buckets: public refused, private goes (tags are asked of every kind).
    name = "gb-" + secrets.token_hex(4)
    err = assert_error(u.call("POST", "/resources", dict(bucket_order(p, acct, name, public=True),
                                                         config={"public": True, "tags": good})),
                       422, "guardrail_blocked")
    assert by_rule(err["violations"], "no_public_buckets")[0]["outcome"] == "blocked"
    b = u.ok("POST", "/resources", dict(bucket_order(p, acct, name), config={"public": False, "tags": good}), 202)
    for out in (first, second, b):
        assert u.wait_run(out["run"]["id"])["status"] == "succeeded"
    bucket = u.ok("GET", "/resources/" + b["resource"]["id"])
    got = sbx.get("/buckets/" + bucket["outputs"]["id"][len("sbx-"):])
    assert got.status_code == 200 and got.json()["public"] is False


def test_protected_bucket_replacement_caught_on_the_plan(make_server, store_env):
    s = make_server(env=store_env)
    u, p, acct, sbx = setup(s)
    member = Api(s)
    u.add_member(p["id"], member, "member")
    old = "keep-" + secrets.token_hex(4)
    out = u.ok("POST", "/resources", bucket_order(p, acct, old), 202)
    assert u.wait_run(out["run"]["id"])["status"] == "succeeded"
    rid = out["resource"]["id"]
    bid = u.ok("GET", "/resources/" + rid)["outputs"]["id"][len("sbx-"):]
    assert_error(member.call("PUT", "/resources/%s/protection" % rid, {"protected": True}), 403)
    res = u.ok("PUT", "/resources/%s/protection" % rid, {"protected": True}, 200)
    assert res["protected"] is True
    assert len(audit(u, p, "resource.protect")) == 1
    assert_error(member.call("DELETE", "/resources/" + rid), 409, "resource_protected")
    # A rename looks harmless, but the cloud cannot rename a bucket: the plan replaces it.
    q = member.ok("PATCH", "/resources/" + rid, {"name": "new-" + secrets.token_hex(4)}, 202)
    run = u.wait_run(q["run"]["id"])
    assert run["status"] == "failed" and "protected" in run["error"], run
    assert [r["action"] for r in run["plan_summary"]["resources"]] == ["replace"]
    assert "name" in run["plan_summary"]["resources"][0]["replace_paths"]
    note = [n for n in member.ok("GET", "/notifications")["items"] if n["kind"] == "guardrail_blocked"]
    assert len(note) == 1 and note[0]["run_id"] == run["id"] and note[0]["resource_id"] == rid
    prot = by_rule(checks(u, run["id"]), "protected", "plan")
    assert prot and prot[0]["outcome"] == "blocked" and prot[0]["level"] == "hard" and prot[0]["address"]
    # Nothing applied: the bucket is there under its old name, and the resource kept it too.
    got = sbx.get("/buckets/" + bid)
    assert got.status_code == 200 and got.json()["name"] == old
    res = u.ok("GET", "/resources/" + rid)
    assert res["name"] == old and res["status"] == "active"
    assert [e for e in audit(u, p, "guardrail.blocked") if e["detail"]["stage"] == "plan"]
    # Unprotected, the rename goes through and becomes the resource's name.
    u.ok("PUT", "/resources/%s/protection" % rid, {"protected": False}, 200)
    new = "new-" + secrets.token_hex(4)
    q = u.ok("PATCH", "/resources/" + rid, {"name": new}, 202)
    assert u.wait_run(q["run"]["id"])["status"] == "succeeded"
    assert u.ok("GET", "/resources/" + rid)["name"] == new


def test_soft_rule_broken_at_plan_time_needs_a_reason(make_server, store_env):
    """A drift reconcile is queued by no order form: the rules added since the
    order reach it only on its plan, which parks it for an owner's reason."""
    s = make_server(env=store_env)
    u, p, acct, sbx = setup(s)
    assert p["require_approval"] is False
    out = u.ok("POST", "/resources", vm_order(p, acct, "later-1", tags={"team": "a"}), 202)
    assert u.wait_run(out["run"]["id"])["status"] == "succeeded"
    rid = out["resource"]["id"]
    put_rules(u, p, {"max_monthly_cost": {"level": "soft", "usd": 1}})
    # Out of band: the tags change; a check finds it; the reconcile's plan re-checks the run's params.
    iid = u.ok("GET", "/resources/" + rid)["outputs"]["id"][len("sbx-"):]
    r = requests.patch(s.url + "/sandbox/v1/instances/" + iid, json={"tags": {"team": "zz"}}, timeout=30,
                       headers={"Authorization": "Bearer " + sbx.key})
    assert r.status_code == 200, r.text
    chk = u.ok("POST", "/resources/%s/drift-check" % rid, status=202)
    assert u.wait_run(chk["run"]["id"], timeout=180)["status"] == "succeeded"
    assert u.ok("GET", "/resources/%s/drift" % rid)["status"] == "drifted"
    q = u.ok("POST", "/resources/%s/drift/reconcile" % rid, status=202)
    run = u.wait_run(q["run"]["id"], until=("awaiting_approval", "succeeded", "failed"), timeout=180)
    assert run["status"] == "awaiting_approval" and run["override_required"] is True, run
    cost = by_rule(checks(u, run["id"]), "max_monthly_cost", "plan")[0]
    assert cost["outcome"] == "blocked" and cost["level"] == "soft" and "$7.30" in cost["message"]
    member = Api(s)
    u.add_member(p["id"], member, "member")
    assert_error(member.call("POST", "/runs/%s/approve" % run["id"], {"reason": "fine by me"}), 403)
    assert_error(u.call("POST", "/runs/%s/approve" % run["id"]), 422, "reason_required")
    assert_error(u.call("POST", "/runs/%s/approve" % run["id"], {}), 422, "reason_required")
    u.ok("POST", "/runs/%s/approve" % run["id"], {"reason": "reconcile the tags back"}, 200)
    run = u.wait_run(run["id"], timeout=180)
    assert run["status"] == "succeeded", run
    cost = by_rule(checks(u, run["id"]), "max_monthly_cost", "plan")[0]
    assert cost["outcome"] == "overridden" and cost["reason"] == "reconcile the tags back"
    assert cost["overridden_by"] == u.user["id"]
    ov = [e for e in audit(u, p, "guardrail.override") if e["detail"].get("stage") == "plan"]
    assert len(ov) == 1 and ov[0]["detail"]["rules"] == ["max_monthly_cost"]
    assert ov[0]["detail"]["reason"] == "reconcile the tags back"
    r = requests.get(s.url + "/sandbox/v1/instances/" + iid, timeout=30, headers={"Authorization": "Bearer " + sbx.key})
    assert r.json()["tags"].get("team") == "a"
    # A change through the API meets the same rule at order time.
    err = assert_error(u.call("PATCH", "/resources/" + rid, {"tags": {"team": "b"}}), 422, "guardrail_blocked")
    assert err["override_possible"] is True
    q = u.ok("PATCH", "/resources/" + rid, {"tags": {"team": "b"}, "guardrail_override": {"reason": "retag"}}, 202)
    run = u.wait_run(q["run"]["id"])
    assert run["status"] == "succeeded", run  # overridden at order time: the plan does not ask again
    assert u.ok("GET", "/resources/" + rid)["config"]["tags"] == {"team": "b"}


def test_budget_rule_levels(make_server, store_env):
    s = make_server(env=store_env)
    u, p, acct, _ = setup(s, monthly_budget_usd=10)
    # Without the rule the budget is hard as before.
    assert_error(u.call("POST", "/resources", vm_order(p, acct, "b-1", "sandbox.medium")), 422, "budget_exceeded")
    put_rules(u, p, {"budget": {"level": "soft"}})
    err = assert_error(u.call("POST", "/resources", vm_order(p, acct, "b-1", "sandbox.medium")),
                       422, "guardrail_blocked")
    assert by_rule(err["violations"], "budget")[0]["outcome"] == "blocked"
    out = u.ok("POST", "/resources", vm_order(p, acct, "b-1", "sandbox.medium",
                                              guardrail_override={"reason": "over budget this once"}), 202)
    assert by_rule(checks(u, out["run"]["id"]), "budget")[0]["outcome"] == "overridden"
    put_rules(u, p, {"budget": {"level": "advisory"}})
    out = u.ok("POST", "/resources", vm_order(p, acct, "b-2", "sandbox.small"), 202)
    assert by_rule(checks(u, out["run"]["id"]), "budget")[0]["outcome"] == "warned"


def test_public_bucket_reaches_the_cloud_and_advisory_warns(make_server, store_env):
    s = make_server(env=store_env)
    u, p, acct, sbx = setup(s)
    put_rules(u, p, {"no_public_buckets": {"level": "advisory"}})
    out = u.ok("POST", "/resources", bucket_order(p, acct, "pub-" + secrets.token_hex(4), public=True), 202)
    run = u.wait_run(out["run"]["id"])
    assert run["status"] == "succeeded", run
    assert by_rule(checks(u, run["id"]), "no_public_buckets", "order")[0]["outcome"] == "warned"
    res = u.ok("GET", "/resources/" + out["resource"]["id"])
    assert res["config"]["public"] is True
    got = sbx.get("/buckets/" + res["outputs"]["id"][len("sbx-"):])
    assert got.status_code == 200 and got.json()["public"] is True
    # config.public is checked as the catalog says: a boolean, storage only.
    assert_error(u.call("POST", "/resources", dict(bucket_order(p, acct, "pub-x1"), config={"public": "yes"})), 422)
    assert_error(u.call("POST", "/resources", vm_order(p, acct, "v-1", **{})
                        | {"config": {"ssh_public_key": SSH_KEY, "public": True}}), 400)



def test_distributed_block_at_order_and_on_the_plan(cluster):
    """Two API instances and a worker process on PostgreSQL and Redis: rules set
    through one instance refuse an order through the other, and the worker
    process stops the replacement of a protected bucket on its plan."""
    apis = [cluster.api(CLOUDPLANE_WORKERS="0"), cluster.api(CLOUDPLANE_WORKERS="0")]
    u, p, acct, sbx = setup(apis[0])
    cluster.worker()
    u2 = Api.__new__(Api)
    u2.s, u2.token, u2.user = apis[1], u.token, u.user
    put_rules(u, p, {"allowed_regions": {"level": "hard", "regions": {"sandbox": ["sandbox-east-1"]}}})
    err = assert_error(u2.call("POST", "/resources", dict(bucket_order(p, acct, "far-" + secrets.token_hex(4)),
                                                          region="sandbox-eu-1")), 422, "guardrail_blocked")
    assert by_rule(err["violations"], "allowed_regions")[0]["outcome"] == "blocked"
    old = "dist-" + secrets.token_hex(4)
    out = u2.ok("POST", "/resources", bucket_order(p, acct, old), 202)
    assert u.wait_run(out["run"]["id"], timeout=240)["status"] == "succeeded"
    rid = out["resource"]["id"]
    u.ok("PUT", "/resources/%s/protection" % rid, {"protected": True}, 200)
    assert u2.ok("GET", "/resources/" + rid)["protected"] is True
    q = u2.ok("PATCH", "/resources/" + rid, {"name": "dist-" + secrets.token_hex(4)}, 202)
    run = u.wait_run(q["run"]["id"], timeout=240)
    assert run["status"] == "failed" and "protected" in run["error"], run
    assert by_rule(checks(u2, run["id"]), "protected", "plan")[0]["outcome"] == "blocked"
    got = sbx.get("/buckets/" + u.ok("GET", "/resources/" + rid)["outputs"]["id"][len("sbx-"):])
    assert got.status_code == 200 and got.json()["name"] == old


def busy_worker(u, p, acct, seconds=20):
    """The server's one worker busy with a slow create, so a run queued now waits for it."""
    slow = u.create_vm(p["id"], acct["id"], name="slow-" + secrets.token_hex(3), simulate_seconds=seconds)
    run = u.wait_run(slow["run"]["id"], until=("awaiting_approval", "applying", "succeeded", "failed"), timeout=120)
    if run["status"] == "awaiting_approval":
        u.ok("POST", "/runs/%s/approve" % run["id"], status=200)
        run = u.wait_run(run["id"], until=("applying", "succeeded", "failed"), timeout=120)
    assert run["status"] == "applying", run
    return run


def test_protection_after_the_plan(make_server, store_env):
    """A destroy planned, then the resource protected: the approval is refused;
    approved first and protected before the apply, the worker stops it."""
    s = make_server(env=dict(store_env, CLOUDPLANE_WORKERS="1"))
    u, p, acct, sbx = setup(s, require_approval=True)
    out = u.ok("POST", "/resources", bucket_order(p, acct, "keep-" + secrets.token_hex(4)), 202)
    run = u.wait_run(out["run"]["id"], until=("awaiting_approval", "failed"), timeout=180)
    u.ok("POST", "/runs/%s/approve" % run["id"], status=200)
    assert u.wait_run(run["id"], timeout=180)["status"] == "succeeded"
    rid = out["resource"]["id"]
    bid = u.ok("GET", "/resources/" + rid)["outputs"]["id"][len("sbx-"):]
    d = u.ok("DELETE", "/resources/" + rid, status=202)["run"]
    d = u.wait_run(d["id"], until=("awaiting_approval", "failed", "succeeded"), timeout=180)
    assert d["status"] == "awaiting_approval", d
    u.ok("PUT", "/resources/%s/protection" % rid, {"protected": True}, 200)
    assert_error(u.call("POST", "/runs/%s/approve" % d["id"]), 409, "resource_protected")
    assert u.ok("GET", "/runs/" + d["id"])["status"] == "awaiting_approval"
    # Approved while unprotected, protected again before a worker applies it.
    u.ok("PUT", "/resources/%s/protection" % rid, {"protected": False}, 200)
    busy_worker(u, p, acct)
    u.ok("POST", "/runs/%s/approve" % d["id"], status=200)
    u.ok("PUT", "/resources/%s/protection" % rid, {"protected": True}, 200)
    assert u.ok("GET", "/runs/" + d["id"])["status"] == "awaiting_approval"  # not applied yet: the check is the worker's
    done = u.wait_run(d["id"], timeout=180)
    assert done["status"] == "failed" and "protected" in done["error"], done
    prot = by_rule(checks(u, d["id"]), "protected", "plan")
    assert prot and prot[-1]["outcome"] == "blocked" and prot[-1]["address"]
    assert sbx.get("/buckets/" + bid).status_code == 200
    assert u.ok("GET", "/resources/" + rid)["status"] == "active"


def test_plan_time_block_keeps_a_failed_resource_failed(make_server, store_env):
    s = make_server(env=dict(store_env, CLOUDPLANE_WORKERS="1"))
    u, p, acct, sbx = setup(s)
    bad = u.create_vm(p["id"], acct["id"], name="doomed", simulate_failure=True)
    assert u.wait_run(bad["run"]["id"])["status"] == "failed"
    rid = bad["resource"]["id"]
    assert u.ok("GET", "/resources/" + rid)["status"] == "failed"
    busy_worker(u, p, acct)
    # Ordered while no rule stops it; the rule comes before its plan.
    q = u.ok("PATCH", "/resources/" + rid, {"size": "sandbox.medium"}, 202)
    put_rules(u, p, {"allowed_sizes": {"level": "hard", "sizes": {"sandbox": ["sandbox.small"]}}})
    assert u.ok("GET", "/runs/" + q["run"]["id"])["status"] == "queued"
    run = u.wait_run(q["run"]["id"], timeout=180)
    assert run["status"] == "failed" and "allowed_sizes" in run["error"], run
    assert u.ok("GET", "/resources/" + rid)["status"] == "failed"


def test_hard_rule_set_after_the_plan_stops_the_approved_apply(make_server, store_env):
    s = make_server(env=store_env)
    u, p, acct, sbx = setup(s, require_approval=True)
    out = u.ok("POST", "/resources", vm_order(p, acct, "grow-1"), 202)
    run = u.wait_run(out["run"]["id"], until=("awaiting_approval", "failed"), timeout=180)
    u.ok("POST", "/runs/%s/approve" % run["id"], status=200)
    assert u.wait_run(run["id"], timeout=180)["status"] == "succeeded"
    rid = out["resource"]["id"]
    q = u.ok("PATCH", "/resources/" + rid, {"size": "sandbox.medium"}, 202)
    run = u.wait_run(q["run"]["id"], until=("awaiting_approval", "failed", "succeeded"), timeout=180)
    assert run["status"] == "awaiting_approval", run
    put_rules(u, p, {"allowed_sizes": {"level": "hard", "sizes": {"sandbox": ["sandbox.small"]}},
                     "max_monthly_cost": {"level": "soft", "usd": 1}})
    u.ok("POST", "/runs/%s/approve" % run["id"], status=200)
    done = u.wait_run(run["id"], timeout=180)
    assert done["status"] == "failed" and "allowed_sizes" in done["error"], done
    got = by_rule(checks(u, run["id"]), "allowed_sizes", "plan")
    assert got and got[-1]["outcome"] == "blocked" and got[-1]["level"] == "hard"
    # Only the hard rules are checked again: the soft one the approval could have accepted is not recorded.
    assert by_rule(checks(u, run["id"]), "max_monthly_cost") == []
    res = u.ok("GET", "/resources/" + rid)
    assert res["status"] == "active" and res["size"] == "sandbox.small"


def test_notifications_page_by_cursor(make_server):
    s = make_server()
    u, p, acct, sbx = setup(s)
    put_rules(u, p, {"allowed_sizes": {"level": "hard", "sizes": {"sandbox": ["sandbox.small"]}}})
    for i in range(3):
        assert_error(u.call("POST", "/resources", vm_order(p, acct, "big-%d" % i, size="sandbox.large")), 422,
                     "guardrail_blocked")
    first = u.ok("GET", "/notifications?limit=2")
    assert len(first["items"]) == 2 and first["next_cursor"] and first["unread"] == 3, first
    rest = u.ok("GET", "/notifications?limit=2&cursor=" + first["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None and rest["unread"] == 3, rest
    ids = [n["id"] for n in first["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True)
    assert sorted(n["resource_name"] for n in first["items"] + rest["items"]) == ["big-0", "big-1", "big-2"]
    assert u.ok("GET", "/notifications?limit=3")["next_cursor"] is None
    assert_error(u.call("GET", "/notifications?cursor=nope"), 400, "invalid_cursor")
