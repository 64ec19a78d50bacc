"""Fixtures that run the real cloudplane binary over HTTP.

CP_BINARY selects the binary (the normal or the ASan build); each server gets
a fresh data dir and a free loopback port, and a clean environment.
"""
import json
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest
import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BINARY = os.environ.get("CP_BINARY", os.path.join(REPO, "build", "cloudplane"))


def provider_mirror():
    """The filesystem mirror with cloudplane/sandbox: CLOUDPLANE_PROVIDER_MIRROR as
    `make test` exports it, else built here by scripts/install-provider.sh. Every
    serve and worker gets it explicitly: their HOME is a temp data dir, so the
    default mirror under ~/.cache is not theirs."""
    global _MIRROR
    if _MIRROR is None:
        _MIRROR = os.environ.get("CLOUDPLANE_PROVIDER_MIRROR") or subprocess.run(
            [os.path.join(REPO, "scripts", "install-provider.sh")], check=True, capture_output=True,
            text=True).stdout.strip().splitlines()[-1]
    return _MIRROR


_MIRROR = None


# Functional suites sign up and log in many users from one address, and
# simulate slow clouds to cancel or kill runs midway; the abuse limits would
# refuse them. test_limits.py runs each limit with its own values (and the
# defaults where it tests them).
RELAXED_LIMITS = {
    "CLOUDPLANE_SANDBOX_MAX_SIMULATE_SECONDS": "600",
    "CLOUDPLANE_SIGNUP_IP_PER_HOUR": "100000",
    "CLOUDPLANE_SIGNUP_ACCOUNT_PER_HOUR": "100000",
    "CLOUDPLANE_LOGIN_IP_PER_MINUTE": "100000",
    "CLOUDPLANE_LOGIN_ACCOUNT_PER_MINUTE": "100000",
    "CLOUDPLANE_INVITE_IP_PER_HOUR": "100000",
    "CLOUDPLANE_INVITE_ACCOUNT_PER_HOUR": "100000",
    "CLOUDPLANE_HASH_QUEUE": "1000",
    "CLOUDPLANE_PROJECT_MAX_RUNS": "0",
    "CLOUDPLANE_PROJECT_MAX_RESOURCES": "0",
    "CLOUDPLANE_PROJECT_ACTIVE_RUNS": "0",
}


class Server:
    def __init__(self, data_dir, env=None, args=()):
        self.data_dir = data_dir
        self.log_path = os.path.join(data_dir, "..", os.path.basename(data_dir) + ".log")
        base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": data_dir}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "CP_TOFU"):
            if k in os.environ:
                base_env[k] = os.environ[k]
        tofu = os.environ.get("CP_TOFU")
        if tofu:
            base_env["CLOUDPLANE_TF_BINARY"] = tofu
        base_env["CLOUDPLANE_MODULES_DIR"] = os.path.join(REPO, "terraform", "modules")
        base_env["CLOUDPLANE_PROVIDER_MIRROR"] = provider_mirror()
        # Mails (sign-up and invitation links) land here, one JSON file each.
        base_env["CLOUDPLANE_MAIL_OUTBOX"] = os.path.join(data_dir, "outbox")
        base_env.update(RELAXED_LIMITS)
        base_env.update(env or {})
        # None unsets: a test of a default says so, e.g. {"CLOUDPLANE_SIGNUP_IP_PER_HOUR": None}.
        base_env = {k: v for k, v in base_env.items() if v is not None}
        self.env = base_env
        self.args = list(args)
        self.proc = None
        self.url = None

    def start(self):
        self.log = open(self.log_path, "ab")
        cmd = [BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir,
               "--web-dir", os.path.join(self.data_dir, "no-web")] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, env=self.env, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"(http://[\d.:]+)/", line or "")
        if not m:
            self.proc.wait(timeout=10)
            raise RuntimeError("server did not start: %r\n%s" % (line, self.logs()))
        self.url = m.group(1)
        return self

    def logs(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    # HTTP helpers
    def req(self, method, path, token=None, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = "Bearer " + token
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def get(self, path, token=None, **kw):
        return self.req("GET", path, token, **kw)

    def post(self, path, body=None, token=None, **kw):
        if body is not None:
            kw["json"] = body
        return self.req("POST", path, token, **kw)

    def mails(self, to=None, kind=None):
        """Mails the server sent, oldest first (file names are time-ordered ids)."""
        box = self.env.get("CLOUDPLANE_MAIL_OUTBOX")
        out = []
        if box and os.path.isdir(box):
            for name in sorted(os.listdir(box)):
                if name.endswith(".json"):
                    with open(os.path.join(box, name)) as f:
                        m = json.load(f)
                    if (to is None or m["to"] == to.lower()) and (kind is None or m["kind"] == kind):
                        out.append(m)
        return out

    def mailed_token(self, to, kind):
        """The token in the link of the newest mail of kind to an address."""
        mails = self.mails(to, kind)
        assert mails, "no %s mail to %s" % (kind, to)
        link = mails[-1]["link"]
        assert link, "the newest %s mail to %s has no link: %r" % (kind, to, mails[-1])
        m = re.search(r"#token=([A-Za-z0-9_-]+)$", link)
        assert m, link
        return m.group(1)

    def signup(self, email=None, password="correct horse battery", name="Test User"):
        """Signs up through the mailed link: POST /auth/signup, read the link
        from the outbox, POST /auth/signup/complete. The complete reply."""
        email = email or "user%d@example.com" % int(time.time() * 1e6)
        r = self.post("/api/v1/auth/signup", {"email": email})
        assert r.status_code == 202, r.text
        r = self.post("/api/v1/auth/signup/complete",
                      {"token": self.mailed_token(email, "signup"), "password": password, "name": name})
        assert r.status_code == 201, r.text
        return r.json()


def _in_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip is a failure: CI installs PostgreSQL, Redis, moto,
    OpenTofu and boto3, so a skip there means a service went missing."""
    outcome = yield
    rep = outcome.get_result()
    if _in_ci() and rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome = "failed"
        rep.longrepr = "skipped under CI=true, which must run everything: %s" % reason


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def make(env=None, args=(), data_dir=None):
        d = data_dir or tempfile.mkdtemp(dir=tmp_path, prefix="data")
        s = Server(d, env, args).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        code = s.stop()
        # A clean exit also means no leak report from LeakSanitizer in the ASan build.
        assert code == 0, "server exited with %s\n%s" % (code, s.logs()[-4000:])


@pytest.fixture
def server(make_server):
    return make_server()


def fresh_pg_database():
    """A new, empty PostgreSQL database on the test server; its URL."""
    admin = os.environ.get("CP_TEST_PG_ADMIN")
    if not admin:
        pytest.skip("PostgreSQL not available (make test starts it)")
    name = "cp_%d_%d" % (os.getpid(), int(time.time() * 1e6))
    subprocess.run(["psql", admin, "-q", "-c", "CREATE DATABASE %s" % name], check=True, capture_output=True)
    return admin.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request):
    if request.param == "sqlite":
        return {}
    return {"CLOUDPLANE_DATABASE_URL": fresh_pg_database()}


SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnE1J2m9XbKpVqRr6pSgKX6eVg3lXq6vJ0v0b6O1c0X test@cloudplane"


class Api:
    """A signed-in user of a running server."""

    def __init__(self, server, email=None):
        self.s = server
        body = server.signup(email)
        self.token = body["access_token"]
        self.user = body["user"]

    def call(self, method, path, body=None, **kw):
        if body is not None:
            kw["json"] = body
        return self.s.req(method, "/api/v1" + path, self.token, **kw)

    def ok(self, method, path, body=None, status=None):
        r = self.call(method, path, body)
        assert r.status_code < 300 and (status is None or r.status_code == status), (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    def invite(self, project_id, email, role):
        """Invites an email; the 202 reply (the invitation)."""
        return self.ok("POST", "/projects/%s/invitations" % project_id, {"email": email, "role": role}, 202)

    def add_member(self, project_id, other, role):
        """Makes the signed-in user `other` a member the only way there is:
        an invitation, accepted by them through the mailed link."""
        self.invite(project_id, other.user["email"], role)
        token = self.s.mailed_token(other.user["email"], "invitation")
        return other.ok("POST", "/invitations/accept", {"token": token}, 200)

    def project(self, **kw):
        return self.ok("POST", "/projects", dict({"name": "proj"}, **kw), 201)

    def sandbox_account(self, project_id):
        return self.ok("POST", "/projects/%s/accounts" % project_id, {"name": "sandbox", "cloud": "sandbox"}, 201)

    def create_vm(self, project_id, account_id, name="web-1", size="sandbox.small", **config):
        cfg = dict({"ssh_public_key": SSH_KEY, "allowed_cidrs": ["198.51.100.0/24"]}, **config)
        return self.ok("POST", "/resources", {"project_id": project_id, "account_id": account_id, "kind": "vm",
                                               "name": name, "region": "sandbox-east-1", "size": size,
                                               "config": cfg}, 202)

    def wait_run(self, run_id, until=("succeeded", "failed", "canceled"), timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            run = self.ok("GET", "/runs/" + run_id)
            if run["status"] in until:
                return run
            time.sleep(0.2)
        raise AssertionError("run %s stuck in %s" % (run_id, run["status"]))


@pytest.fixture
def api(server):
    return Api(server)


def assert_error(r, status, code=None, field=None):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert set(body.keys()) == {"error"}, body
    err = body["error"]
    assert isinstance(err.get("code"), str) and err["code"], body
    assert isinstance(err.get("message"), str) and err["message"], body
    if code is not None:
        assert err["code"] == code, body
    if field is not None:
        assert err.get("field") == field, body
    return err


@pytest.fixture
def cluster(tmp_path):
    """Two API instances and worker processes on PostgreSQL + Redis (distributed.py); skipped without them."""
    from distributed import Cluster
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()
