"""Roles and visibility for every endpoint, and bad input everywhere."""
import re

import pytest

from conftest import Api, SSH_KEY, assert_error

FAKE = "01abcdefghjkmnpqrstvwxyz00"


@pytest.fixture
def world(server):
    owner = Api(server)
    users = {"owner": owner}
    p = owner.project(name="shared")
    for role in ("admin", "member", "viewer"):
        u = Api(server)
        owner.add_member(p["id"], u, role)
        users[role] = u
    users["outsider"] = Api(server)
    acct = owner.sandbox_account(p["id"])
    vm = owner.create_vm(p["id"], acct["id"], name="matrix-vm")
    owner.wait_run(vm["run"]["id"])
    return {"p": p, "acct": acct, "vm": vm["resource"], "run": vm["run"], "u": users, "server": server}


def test_role_matrix(world):
    p, vm, run, acct = world["p"], world["vm"], world["run"], world["acct"]
    pid = p["id"]
    reads = ["/projects/%s" % pid, "/projects/%s/members" % pid, "/projects/%s/accounts" % pid,
             "/projects/%s/audit" % pid, "/resources/%s" % vm["id"], "/resources/%s/runs" % vm["id"],
             "/runs/%s" % run["id"], "/runs/%s/events?format=json" % run["id"]]
    for role, u in world["u"].items():
        for path in reads:
            r = u.call("GET", path)
            if role == "outsider":
                assert_error(r, 404)  # existence is not revealed
            else:
                assert r.status_code == 200, (role, path, r.text)
        listed = [x["id"] for x in u.ok("GET", "/resources")["items"]]
        assert (vm["id"] in listed) == (role != "outsider")
        assert (pid in [x["id"] for x in u.ok("GET", "/projects")["items"]]) == (role != "outsider")

    # Writes: who may do what. 403 for members below the role, 404 for outsiders.
    def expect(role, r, min_role, ok):
        order = ["viewer", "member", "admin", "owner"]
        if role == "outsider":
            assert_error(r, 404)
        elif order.index(role) < order.index(min_role):
            assert_error(r, 403)
        else:
            assert r.status_code == ok, (role, r.status_code, r.text)

    for role, u in world["u"].items():
        r = u.call("PATCH", "/projects/" + pid, {"monthly_budget_usd": 1000})
        expect(role, r, "admin", 200)
        r = u.call("POST", "/projects/%s/accounts" % pid, {"name": "x-" + role, "cloud": "sandbox"})
        expect(role, r, "admin", 201)
        r = u.call("POST", "/resources", {"project_id": pid, "account_id": acct["id"], "kind": "storage",
                                          "name": "b-" + role, "region": "sandbox-east-1",
                                          "config": {"expected_gb": 1}})
        if role == "outsider":
            assert_error(r, 422, field="project_id")
        else:
            expect(role, r, "member", 202)
        r = u.call("PATCH", "/resources/" + vm["id"], {"size": "sandbox.small"})
        if role in ("member", "admin", "owner"):
            assert_error(r, 422, "unchanged")  # allowed, but nothing to change
        else:
            expect(role, r, "member", 202)
        r = u.call("POST", "/projects/%s/invitations" % pid, {"email": "inv-%s@example.com" % role, "role": "viewer"})
        expect(role, r, "admin", 202)
        r = u.call("GET", "/projects/%s/invitations" % pid)
        expect(role, r, "admin", 200)
        r = u.call("POST", "/runs/%s/approve" % run["id"])
        if role in ("admin", "owner"):
            assert_error(r, 409)  # allowed, but nothing awaits approval
        else:
            expect(role, r, "admin", 200)
        r = u.call("POST", "/runs/%s/cancel" % run["id"])
        if role in ("member", "admin", "owner"):
            assert_error(r, 409)  # allowed, but the run has finished
        else:
            expect(role, r, "member", 202)
        r = u.call("DELETE", "/projects/" + pid)
        if role == "owner":
            assert_error(r, 409, "project_not_empty")
        else:
            expect(role, r, "owner", 204)


def test_member_management_rules(world):
    pid = world["p"]["id"]
    owner, admin = world["u"]["owner"], world["u"]["admin"]
    # The last owner can neither leave nor be demoted.
    assert_error(owner.call("DELETE", "/projects/%s/members/%s" % (pid, owner.user["id"])), 409, "last_owner")
    assert_error(owner.call("PATCH", "/projects/%s/members/%s" % (pid, owner.user["id"]), {"role": "admin"}), 409)
    # Admins cannot make owners.
    viewer = world["u"]["viewer"]
    assert_error(admin.call("PATCH", "/projects/%s/members/%s" % (pid, viewer.user["id"]), {"role": "owner"}), 403)
    assert admin.ok("PATCH", "/projects/%s/members/%s" % (pid, viewer.user["id"]), {"role": "member"})["role"] == \
        "member"
    inv = "/projects/%s/invitations" % pid
    assert_error(owner.call("POST", inv, {"email": viewer.user["email"], "role": "viewer"}), 409, "already_member")
    assert_error(owner.call("POST", inv, {"email": viewer.user["email"], "role": "god"}), 422, field="role")
    # Members join only by accepting an invitation: the direct add is gone.
    assert_error(owner.call("POST", "/projects/%s/members" % pid, {"email": viewer.user["email"], "role": "viewer"}),
                 405)
    # With a second owner, the first may leave.
    owner.ok("PATCH", "/projects/%s/members/%s" % (pid, admin.user["id"]), {"role": "owner"})
    assert owner.call("DELETE", "/projects/%s/members/%s" % (pid, owner.user["id"])).status_code == 204
    assert_error(owner.call("GET", "/projects/" + pid), 404)
    actions = [e["action"] for e in admin.ok("GET", "/projects/%s/audit" % pid)["items"]]
    assert "invitation.create" in actions and "invitation.accept" in actions and "member.update" in actions and "member.remove" in actions


def test_bad_input_everywhere(world):
    u = world["u"]["owner"]
    pid, vm, run, acct = world["p"]["id"], world["vm"]["id"], world["run"]["id"], world["acct"]["id"]
    posts = {
        "/projects": {"name": "ok"},
        "/projects/%s/invitations" % pid: {"email": "a@b.io", "role": "viewer"},
        "/projects/%s/accounts" % pid: {"name": "a", "cloud": "sandbox"},
        "/resources": {"project_id": pid, "account_id": acct, "kind": "vm", "name": "x", "region": "sandbox-east-1"},
    }
    patches = {"/projects/" + pid: {"name": "n"}, "/resources/" + vm: {"size": "sandbox.medium"},
               "/projects/%s/members/%s" % (pid, u.user["id"]): {"role": "owner"}}
    for method, table in (("POST", posts), ("PATCH", patches)):
        for path, body in table.items():
            r = u.call(method, path, data=b"{nope", headers={"Content-Type": "application/json"})
            assert_error(r, 400)
            r = u.call(method, path, dict(body, surprise=1))
            assert_error(r, 400, "unknown_field", "surprise")
            r = u.call(method, path, data=b"{}", headers={"Content-Type": "text/plain"})
            assert_error(r, 415)
            for k in body:
                for bad in (12345, ["x"], {"a": 1}, True, "x" * 100000):
                    r = u.call(method, path, dict(body, **{k: bad}))
                    assert 400 <= r.status_code < 500, (method, path, k, r.status_code, r.text)
                    assert "error" in r.json()
    for path in ["/projects/%s", "/resources/%s", "/runs/%s", "/projects/%s/members", "/resources/%s/runs"]:
        for bad in ["nope", "../../etc", FAKE, "%00", "x" * 300]:
            r = u.call("GET", path % bad)
            assert r.status_code in (404,), (path, bad, r.status_code)
            assert "error" in r.json()
    for q in ["limit=0", "limit=201", "limit=abc", "cursor=bad", "limit=-1"]:
        assert_error(u.call("GET", "/resources?" + q), 422 if "limit" in q else 400)
    assert_error(u.call("GET", "/costs/summary?group_by=evil;drop"), 422, field="group_by")
    assert_error(u.call("GET", "/costs/daily?days=0"), 422)
    assert_error(u.call("GET", "/runs/%s/events?format=xml" % run), 422)
    assert_error(u.call("GET", "/runs/%s/events?after=-3" % run), 422)
    # Resource validation names the field and the rule.
    base = {"project_id": pid, "account_id": acct, "kind": "vm", "name": "ok-name", "region": "sandbox-east-1",
            "size": "sandbox.small", "config": {"ssh_public_key": SSH_KEY}}
    for field, value, expect_field in [("name", "Bad Name!", "name"), ("region", "mars-1", "region"),
                                       ("size", "huge", "size"), ("kind", "database", "kind"),
                                       ("account_id", FAKE, "account_id"), ("project_id", FAKE, "project_id")]:
        assert_error(u.call("POST", "/resources", dict(base, **{field: value})), 422, field=expect_field)
    r = u.call("POST", "/resources", dict(base, config={"ssh_public_key": "not a key"}))
    assert_error(r, 422, field="config.ssh_public_key")
    r = u.call("POST", "/resources", dict(base, config={"ssh_public_key": SSH_KEY, "allowed_cidrs": ["1.2.3.4/99"]}))
    assert_error(r, 422)
    r = u.call("POST", "/resources", dict(base, config={"ssh_public_key": SSH_KEY, "rootkit": True}))
    assert_error(r, 400, field="config.rootkit")
    # Cloud account credentials are checked per cloud.
    for body, field in [({"name": "a", "cloud": "aws", "credentials": {"access_key_id": "AKIAEXAMPLEEXAMPLE"}},
                         "credentials.secret_access_key"),
                        ({"name": "a", "cloud": "azure", "credentials": {"tenant_id": "x", "client_id": "y",
                                                                          "client_secret": "zzzzzzzz",
                                                                          "subscription_id": "w"}},
                         "credentials.tenant_id"),
                        ({"name": "a", "cloud": "gcp", "credentials": {"service_account_json": "{" + "x" * 200,
                                                                        "project_id": "my-project-1"}},
                         "credentials.service_account_json"),
                        ({"name": "a", "cloud": "moon"}, "cloud"),
                        ({"name": "a", "cloud": "sandbox", "credentials": {"x": "y"}}, "credentials.x")]:
        r = u.call("POST", "/projects/%s/accounts" % pid, body)
        assert 400 <= r.status_code < 500 and r.json()["error"].get("field") == field, (body, r.text)
    assert world["server"].get("/healthz").status_code == 200
