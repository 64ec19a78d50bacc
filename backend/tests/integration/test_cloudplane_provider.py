"""Acceptance tests of the cloudplane/cloudplane provider (providers/cloudplane):
real OpenTofu (CP_TOFU) installs it from the filesystem mirror that
scripts/install-provider.sh fills, and manages a real cloudplane server (SQLite)
with a personal API token: create, read, update, import, drift (changes made
through the API show in the next plan and the apply puts them back), destroy.
Secrets given to the provider (a cloud account's key, a webhook's signing
secret) never reach the state or tofu's output."""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import REPO, Api, provider_mirror

SANDBOX_KEY = "sbx_acce55c0ffee0123456789abcdef0123"  # 36 characters, as the catalog wants
HOOK_SECRET = "whsec-acceptance-9f8e7d6c5b4a"


def tofu_binary():
    path = os.environ.get("CP_TOFU")
    if not path:
        path = subprocess.run([os.path.join(REPO, "scripts", "install-tofu.sh")], check=True, capture_output=True,
                              text=True).stdout.strip().splitlines()[-1]
    return path


def mirror_with_cloudplane():
    """The mirror from make test (CLOUDPLANE_PROVIDER_MIRROR) if it has
    cloudplane/cloudplane, else the one install-provider.sh builds it into."""
    m = provider_mirror()
    if not os.path.isdir(os.path.join(m, "registry.opentofu.org", "cloudplane", "cloudplane")):
        m = subprocess.run([os.path.join(REPO, "scripts", "install-provider.sh"), "cloudplane"], check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return m


def pinned_version():
    for line in open(os.path.join(REPO, "versions.env")):
        if line.startswith("CLOUDPLANE_PROVIDER_VERSION="):
            return line.split("=", 1)[1].strip()
    raise AssertionError("versions.env has no CLOUDPLANE_PROVIDER_VERSION")


class Tofu:
    """One working directory of tofu against the server, with the token."""

    def __init__(self, workdir, server, token):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        cli = os.path.join(workdir, "cli.tfrc")
        with open(cli, "w") as f:
            f.write('provider_installation {\n  filesystem_mirror {\n    path = "%s"\n'
                    '    include = ["registry.opentofu.org/cloudplane/*"]\n  }\n}\n' % mirror_with_cloudplane())
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": workdir, "TF_CLI_CONFIG_FILE": cli,
                    "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
                    "CLOUDPLANE_URL": server.url, "CLOUDPLANE_TOKEN": token,
                    "CP_SANDBOX_KEY": SANDBOX_KEY, "CP_HOOK_SECRET": HOOK_SECRET}
        self.bin = tofu_binary()
        self.outputs = []

    def write(self, hcl):
        with open(os.path.join(self.dir, "main.tf"), "w") as f:
            f.write(hcl)

    def run(self, *args, ok=(0,)):
        r = subprocess.run([self.bin, *args, "-no-color"], cwd=self.dir, env=self.env, capture_output=True,
                           text=True, timeout=300)
        self.outputs.append(r.stdout + r.stderr)
        assert r.returncode in ok, (args, r.returncode, r.stdout[-4000:], r.stderr[-4000:])
        return r

    def apply(self):
        return self.run("apply", "-auto-approve", "-input=false")

    def plan_changes(self):
        """The resource changes the next plan wants: {address: actions}."""
        r = self.run("plan", "-input=false", "-detailed-exitcode", "-out=plan.bin", ok=(0, 2))
        shown = json.loads(self.run("show", "-json", "plan.bin").stdout)
        # Machine output: it holds the state's sensitive values (the project token) by design.
        self.outputs.pop()
        changes = {c["address"]: c["change"]["actions"] for c in shown.get("resource_changes", [])
                   if c["change"]["actions"] != ["no-op"] and c["change"]["actions"] != ["read"]}
        assert (r.returncode == 2) == bool(changes), (r.returncode, changes)
        return changes

    def state_text(self):
        with open(os.path.join(self.dir, "terraform.tfstate")) as f:
            return f.read()

    def state_attrs(self, address):
        state = json.loads(self.state_text())
        for res in state["resources"]:
            if "%s.%s" % (res["type"], res["name"]) == address:
                return res["instances"][0]["attributes"]
        raise AssertionError("%s not in the state" % address)


def config(project_name="acc-project", require_approval=True, member_role="viewer", events=("run.failed",),
           vcpu=4, member_email="", resource_id=""):
    ev = ", ".join('"%s"' % e for e in events)
    return """
terraform {
  required_providers {
    cloudplane = { source = "cloudplane/cloudplane", version = "%(version)s" }
  }
}
provider "cloudplane" {}

resource "cloudplane_project" "p" {
  name                   = "%(name)s"
  require_approval       = %(approval)s
  monthly_budget_usd     = 250
  max_ttl_seconds        = 604800
  default_ttl_seconds    = 86400
  drift_interval_minutes = 0
}

resource "cloudplane_project_member" "m" {
  project_id = cloudplane_project.p.id
  email      = "%(email)s"
  role       = "%(role)s"
}

resource "cloudplane_cloud_account" "a" {
  project_id      = cloudplane_project.p.id
  name            = "sandbox-acc"
  cloud           = "sandbox"
  credentials_env = { api_key = "CP_SANDBOX_KEY" }
}

resource "cloudplane_guardrails" "g" {
  project_id = cloudplane_project.p.id
  rules = jsonencode({
    allowed_clouds        = { level = "hard", clouds = ["sandbox"] }
    max_vcpu_per_resource = { level = "soft", vcpu = %(vcpu)d }
  })
}

resource "cloudplane_webhook" "w" {
  project_id = cloudplane_project.p.id
  url        = "https://hooks.example.com/cloudplane"
  events     = [%(events)s]
  secret_env = "CP_HOOK_SECRET"
}

resource "cloudplane_project_token" "t" {
  project_id      = cloudplane_project.p.id
  name            = "ci"
  scopes          = ["read", "order"]
  role            = "member"
  expires_in_days = 30
}

data "cloudplane_catalog" "c" {}

data "cloudplane_resource" "r" {
  id = "%(resource_id)s"
}

output "clouds" { value = [for c in data.cloudplane_catalog.c.clouds : c.id] }
output "resource_name" { value = data.cloudplane_resource.r.name }
output "resource_status" { value = data.cloudplane_resource.r.status }
output "token" {
  value     = cloudplane_project_token.t.token
  sensitive = true
}
""" % {"version": pinned_version(), "name": project_name, "approval": str(require_approval).lower(),
       "email": member_email, "role": member_role, "vcpu": vcpu, "events": ev, "resource_id": resource_id}


def test_provider_create_read_update_drift_import_destroy(make_server, tmp_path, capsys):
    t0 = time.monotonic()
    s = make_server()
    u = Api(s)
    other = Api(s)
    made = u.ok("POST", "/tokens", {"name": "tofu", "scopes": ["read", "order", "approve", "admin"]}, 201)

    # Something for cloudplane_resource to read: a VM ordered in a project tofu does not manage.
    side = u.project(name="side")
    acct = u.sandbox_account(side["id"])
    vm = u.create_vm(side["id"], acct["id"], name="seen-by-tofu")
    run = u.wait_run(vm["run"]["id"])
    assert run["status"] == "succeeded", run.get("error")
    rid = vm["resource"]["id"]

    tf = Tofu(str(tmp_path / "tf"), s, made["token"])
    cfg = dict(member_email=other.user["email"], resource_id=rid)
    tf.write(config(**cfg))
    r = tf.run("init", "-input=false")
    assert "cloudplane/cloudplane v%s" % pinned_version() in r.stdout, r.stdout

    # Create.
    tf.apply()
    pid = tf.state_attrs("cloudplane_project.p")["id"]
    p = u.ok("GET", "/projects/" + pid)
    assert (p["name"], p["require_approval"], p["monthly_budget_usd"], p["max_ttl_seconds"],
            p["default_ttl_seconds"]) == ("acc-project", True, 250, 604800, 86400), p
    invs = u.ok("GET", "/projects/%s/invitations" % pid)["items"]
    assert [(i["email"], i["role"]) for i in invs] == [(other.user["email"], "viewer")], invs
    assert tf.state_attrs("cloudplane_project_member.m")["status"] == "pending"
    accounts = u.ok("GET", "/projects/%s/accounts" % pid)["items"]
    assert [(a["name"], a["cloud"]) for a in accounts] == [("sandbox-acc", "sandbox")], accounts
    rules = u.ok("GET", "/projects/%s/guardrails" % pid)["rules"]
    assert rules["allowed_clouds"] == {"level": "hard", "clouds": ["sandbox"]}, rules
    assert rules["max_vcpu_per_resource"] == {"level": "soft", "vcpu": 4}, rules
    hooks = u.ok("GET", "/projects/%s/webhooks" % pid)["items"]
    assert [(h["url"], h["events"], h["secret_hint"]) for h in hooks] == \
        [("https://hooks.example.com/cloudplane", ["run.failed"], HOOK_SECRET[-4:])], hooks

    # The token works in its project, and only there.
    token = tf.run("output", "-raw", "token").stdout
    tf.outputs.pop()  # asked for by name; every other output must not show it
    assert token.startswith("cpt_"), "not a token"
    assert s.req("GET", "/api/v1/projects/" + pid, token).status_code == 200
    assert s.req("GET", "/api/v1/projects/" + side["id"], token).status_code == 404

    # Read: data sources, and nothing to do on the next plan.
    assert "sandbox" in json.loads(tf.run("output", "-json", "clouds").stdout)
    assert tf.run("output", "-raw", "resource_name").stdout == "seen-by-tofu"
    assert tf.run("output", "-raw", "resource_status").stdout == "active"
    assert tf.plan_changes() == {}

    # Secrets stay out of the state (only a SHA-256 of them) and out of tofu's output.
    state = tf.state_text()
    assert SANDBOX_KEY not in state and HOOK_SECRET not in state
    assert len(tf.state_attrs("cloudplane_cloud_account.a")["credentials_sha256"]) == 64
    assert len(tf.state_attrs("cloudplane_webhook.w")["secret_sha256"]) == 64
    for o in tf.outputs:
        assert SANDBOX_KEY not in o and HOOK_SECRET not in o and token not in o, o

    # The member accepts: the next refresh sees a member, not an invitation, and nothing changes.
    other.ok("POST", "/invitations/accept", {"token": s.mailed_token(other.user["email"], "invitation")}, 200)
    assert tf.plan_changes() == {}
    tf.run("apply", "-refresh-only", "-auto-approve")
    m = tf.state_attrs("cloudplane_project_member.m")
    assert (m["status"], m["user_id"]) == ("member", other.user["id"]), m

    # Drift: changes made through the API show in the plan, and the apply puts the config back.
    u.ok("PATCH", "/projects/" + pid, {"require_approval": False, "monthly_budget_usd": 999})
    u.ok("PUT", "/projects/%s/guardrails" % pid, {"allowed_clouds": {"level": "advisory", "clouds": ["aws"]}})
    u.ok("PATCH", "/webhooks/" + hooks[0]["id"], {"enabled": False, "events": ["run.succeeded"]})
    u.ok("PATCH", "/projects/%s/members/%s" % (pid, other.user["id"]), {"role": "admin"})
    old_token_id = tf.state_attrs("cloudplane_project_token.t")["id"]
    u.ok("DELETE", "/projects/%s/tokens/%s" % (pid, old_token_id), status=204)
    assert tf.plan_changes() == {
        "cloudplane_project.p": ["update"], "cloudplane_guardrails.g": ["update"],
        "cloudplane_webhook.w": ["update"], "cloudplane_project_member.m": ["update"],
        "cloudplane_project_token.t": ["create"]}
    tf.apply()
    assert tf.state_attrs("cloudplane_project_token.t")["id"] != old_token_id
    token = tf.state_attrs("cloudplane_project_token.t")["token"]
    assert s.req("GET", "/api/v1/projects/" + pid, token).status_code == 200
    p = u.ok("GET", "/projects/" + pid)
    assert (p["require_approval"], p["monthly_budget_usd"]) == (True, 250), p
    assert u.ok("GET", "/projects/%s/guardrails" % pid)["rules"] == rules
    h = u.ok("GET", "/webhooks/" + hooks[0]["id"])
    assert (h["enabled"], h["events"]) == (True, ["run.failed"]), h
    members = u.ok("GET", "/projects/%s/members" % pid)["items"]
    assert {x["email"]: x["role"] for x in members}[other.user["email"]] == "viewer", members
    assert tf.plan_changes() == {}

    # Update from the config, in place.
    tf.write(config(project_name="acc-renamed", require_approval=False, member_role="member",
                    events=("run.failed", "guardrail.blocked"), vcpu=8, **cfg))
    assert tf.plan_changes() == {
        "cloudplane_project.p": ["update"], "cloudplane_guardrails.g": ["update"],
        "cloudplane_webhook.w": ["update"], "cloudplane_project_member.m": ["update"]}
    tf.apply()
    p = u.ok("GET", "/projects/" + pid)
    assert (p["name"], p["require_approval"]) == ("acc-renamed", False), p
    assert u.ok("GET", "/projects/%s/guardrails" % pid)["rules"]["max_vcpu_per_resource"]["vcpu"] == 8
    assert sorted(u.ok("GET", "/webhooks/" + hooks[0]["id"])["events"]) == ["guardrail.blocked", "run.failed"]
    members = u.ok("GET", "/projects/%s/members" % pid)["items"]
    assert {x["email"]: x["role"] for x in members}[other.user["email"]] == "member", members
    assert tf.plan_changes() == {}

    # A new secret is noticed from its hash alone and sent in place.
    tf.env["CP_HOOK_SECRET"] = HOOK_SECRET + "-rotated"
    assert tf.plan_changes() == {"cloudplane_webhook.w": ["update"]}
    tf.apply()
    assert u.ok("GET", "/webhooks/" + hooks[0]["id"])["secret_hint"] == "ated"
    tf.env["CP_HOOK_SECRET"] = HOOK_SECRET

    # Import every resource into a fresh state: the same objects, no replacement; only the
    # secrets' hashes (which the server cannot give back) are recorded, in place.
    imp = Tofu(str(tmp_path / "import"), s, made["token"])
    imp.env["CP_HOOK_SECRET"] = HOOK_SECRET + "-rotated"
    imp.write(config(project_name="acc-renamed", require_approval=False, member_role="member",
                     events=("run.failed", "guardrail.blocked"), vcpu=8, **cfg))
    imp.run("init", "-input=false")
    ids = {
        "cloudplane_project.p": pid,
        "cloudplane_project_member.m": "%s/%s" % (pid, other.user["email"]),
        "cloudplane_cloud_account.a": "%s/%s" % (pid, accounts[0]["id"]),
        "cloudplane_guardrails.g": pid,
        "cloudplane_webhook.w": hooks[0]["id"],
        "cloudplane_project_token.t": "%s/%s" % (pid, tf.state_attrs("cloudplane_project_token.t")["id"]),
    }
    for address, iid in ids.items():
        imp.run("import", "-input=false", address, iid)
    for address in ids:
        a, b = imp.state_attrs(address), tf.state_attrs(address)
        assert a["id"] == b["id"], (address, a, b)
    assert imp.state_attrs("cloudplane_project_token.t")["token"] is None
    assert imp.plan_changes() == {"cloudplane_cloud_account.a": ["update"], "cloudplane_webhook.w": ["update"]}
    imp.apply()
    assert imp.plan_changes() == {}
    os.remove(os.path.join(imp.dir, "terraform.tfstate"))  # tf's state owns them

    # Destroy: everything tofu made is gone; the project the token did not make stays.
    tf.run("destroy", "-auto-approve", "-input=false")
    assert s.req("GET", "/api/v1/projects/" + pid, u.token).status_code == 404
    assert s.req("GET", "/api/v1/projects/" + pid, token).status_code == 401  # the service token went with it
    assert u.ok("GET", "/projects/" + side["id"])["name"] == "side"
    assert tf.plan_changes() == {
        a: ["create"] for a in ids}

    with capsys.disabled():
        version = tf.run("version").stdout.splitlines()[0]
        print("\nprovider acceptance test: %.1f s (%s)" % (time.monotonic() - t0, version))
    shutil.rmtree(str(tmp_path / "tf" / ".terraform"), ignore_errors=True)


def test_write_only_credentials_need_a_newer_tofu(tmp_path):
    """The write-only `credentials` is refused by this OpenTofu (write-only
    attributes came with 1.11): validation fails before anything is planned or
    stored, saying why; credentials_env is the way with it."""
    tf = Tofu(str(tmp_path / "wo"), type("S", (), {"url": "http://127.0.0.1:9"})(), "cpt_unused_token")
    tf.write(config(member_email="x@example.com", resource_id="r").replace(
        'credentials_env = { api_key = "CP_SANDBOX_KEY" }', "credentials = { api_key = var.key }") +
        'variable "key" {\n  type = string\n  sensitive = true\n  default = "%s"\n}\n' % SANDBOX_KEY)
    tf.run("init", "-input=false")
    r = tf.run("validate", ok=(1,))
    assert "WriteOnly Attribute Not Allowed" in r.stderr and "credentials" in r.stderr, r.stderr
    assert SANDBOX_KEY not in r.stdout + r.stderr
    assert not os.path.exists(os.path.join(tf.dir, "terraform.tfstate"))


def test_a_project_service_token_manages_its_project_only(make_server, tmp_path):
    """A project service token (role admin) as the provider's token: it sets its
    project's guardrails and webhook; another project is not found to it."""
    s = make_server()
    u = Api(s)
    mine, other = u.project(name="mine"), u.project(name="other")
    made = u.ok("POST", "/projects/%s/tokens" % mine["id"], {"name": "tofu", "scopes": ["read", "admin"],
                                                             "role": "admin"}, 201)
    tf = Tofu(str(tmp_path / "svc"), s, made["token"])
    hcl = """
terraform {
  required_providers {
    cloudplane = { source = "cloudplane/cloudplane", version = "%s" }
  }
}
resource "cloudplane_guardrails" "g" {
  project_id = "%%s"
  rules      = jsonencode({ no_public_buckets = { level = "hard" } })
}
resource "cloudplane_webhook" "w" {
  project_id = "%%s"
  url        = "https://hooks.example.com/svc"
  events     = ["run.failed"]
}
""" % pinned_version()
    tf.write(hcl % (mine["id"], mine["id"]))
    tf.run("init", "-input=false")
    tf.apply()
    assert u.ok("GET", "/projects/%s/guardrails" % mine["id"])["rules"] == {"no_public_buckets": {"level": "hard"}}
    assert [h["url"] for h in u.ok("GET", "/projects/%s/webhooks" % mine["id"])["items"]] == \
        ["https://hooks.example.com/svc"]
    assert tf.plan_changes() == {}
    tf.run("destroy", "-auto-approve", "-input=false")
    assert u.ok("GET", "/projects/%s/webhooks" % mine["id"])["items"] == []

    tf.write(hcl % (other["id"], other["id"]))
    r = tf.run("apply", "-auto-approve", "-input=false", ok=(1,))
    assert "HTTP 404" in r.stdout + r.stderr, r.stdout + r.stderr
    assert u.ok("GET", "/projects/%s/guardrails" % other["id"])["updated_at"] is None
    assert u.ok("GET", "/projects/%s/webhooks" % other["id"])["items"] == []
