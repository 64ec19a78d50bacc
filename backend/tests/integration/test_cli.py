"""The command-line client (`cloudplane <client command>`) driven as CI
drives it: the real binary against a real server on the sandbox cloud.
Login stores the credentials 0600; order --wait -o json ends active; runs
logs --follow prints the run's log to its end; destroy --wait; and each exit
code CI branches on: a failing run (3), a guardrail (4), approval past
--timeout (5), a bad token (2), no server (7), bad usage (1)."""
import json
import os
import stat
import subprocess

import pytest

from conftest import BINARY, Api


def cli(args, env=None, token=None, url=None, home=None, stdin=None, timeout=180):
    """Runs the client; CompletedProcess (text). A clean environment: HOME is
    a temp dir, so no stored credentials unless a test wrote them."""
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home or "/nonexistent"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    if url:
        e["CLOUDPLANE_URL"] = url
    if token:
        e["CLOUDPLANE_TOKEN"] = token
    e.update(env or {})
    return subprocess.run([BINARY] + list(args), env=e, input=stdin, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def user(server):
    u = Api(server)
    p = u.project(name="team-a")
    acct = u.sandbox_account(p["id"])
    u.p, u.acct = p, acct
    u.run = lambda args, **kw: cli(args, token=u.token, url=server.url, **kw)
    return u


def order_bucket(u, name, *extra):
    return u.run(["order", "bucket", "-p", "team-a", "-a", "sandbox", "-n", name, "-r", "sandbox-east-1"]
                 + list(extra))


def test_login_stores_credentials_0600_and_logout_removes_them(server, tmp_path):
    u = Api(server)
    home = str(tmp_path / "home")
    os.makedirs(home)
    r = cli(["login", "--url", server.url + "/"], home=home, stdin=u.token + "\n")
    assert r.returncode == 0, r.stderr
    path = os.path.join(home, ".config", "cloudplane", "credentials")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    with open(path) as f:
        assert json.load(f) == {"url": server.url, "token": u.token}
    assert u.token not in r.stdout + r.stderr  # never echoed back

    # The stored credentials serve the next commands, without the environment.
    r = cli(["projects", "-o", "json"], home=home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["items"] == []
    # The environment overrides the file: a bad token from it is refused (2).
    r = cli(["projects"], home=home, token="nope")
    assert r.returncode == 2, (r.returncode, r.stderr)

    # XDG_CONFIG_HOME is honoured.
    xdg = str(tmp_path / "xdg")
    r = cli(["login", "--url", server.url], home=home, env={"XDG_CONFIG_HOME": xdg}, stdin=u.token)
    assert r.returncode == 0, r.stderr
    assert os.path.exists(os.path.join(xdg, "cloudplane", "credentials"))

    r = cli(["logout"], home=home)
    assert r.returncode == 0 and not os.path.exists(path)
    r = cli(["projects"], home=home)
    assert r.returncode == 1 and "not logged in" in r.stderr


def test_login_with_a_bad_token_stores_nothing(server, tmp_path):
    home = str(tmp_path)
    r = cli(["login", "--url", server.url], home=home, stdin="not-a-token\n")
    assert r.returncode == 2, r.stderr
    assert not os.path.exists(os.path.join(home, ".config", "cloudplane", "credentials"))


def test_order_follow_show_destroy_in_json(user):
    u = user
    r = order_bucket(u, "cli-bucket-1", "--tag", "team=ci", "--ttl", "8h", "--wait", "-o", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    res, run = out["resource"], out["run"]
    assert res["status"] == "active" and run["status"] == "succeeded"
    assert res["project_id"] == u.p["id"] and res["account_id"] == u.acct["id"]  # names resolved to ids
    assert res["config"]["tags"] == {"team": "ci"} and res["expires_at"]
    assert res["outputs"]["url"].startswith("sandbox://")

    # The whole log, to its end, as the API stored it.
    r = u.run(["runs", "logs", run["id"], "--follow"])
    assert r.returncode == 0, r.stderr
    stored = u.ok("GET", "/runs/%s/events?format=json&limit=1000" % run["id"])["items"]
    lines = [e["data"]["line"] for e in stored if e["type"] == "log"]
    assert lines and r.stdout.splitlines() == lines
    r = u.run(["runs", "logs", run["id"], "-f", "-o", "json"])
    assert r.returncode == 0, r.stderr
    events = [json.loads(l) for l in r.stdout.splitlines()]
    assert [e["seq"] for e in events] == [e["seq"] for e in stored]
    # Without --follow: the same lines, from the JSON pages.
    assert u.run(["runs", "logs", run["id"]]).stdout.splitlines() == lines

    r = u.run(["resources", "show", res["id"], "-o", "json"])
    assert r.returncode == 0 and json.loads(r.stdout)["id"] == res["id"]
    r = u.run(["resources", "show", res["id"]])
    assert r.returncode == 0 and res["outputs"]["url"] in r.stdout and "active" in r.stdout
    r = u.run(["resources", "list", "-p", "team-a"])
    assert r.returncode == 0 and "cli-bucket-1" in r.stdout and r.stdout.startswith("ID")
    r = u.run(["runs", "list", "--resource", res["id"], "-o", "json"])
    assert [x["id"] for x in json.loads(r.stdout)["items"]] == [run["id"]]

    r = u.run(["resources", "destroy", res["id"], "--wait", "-o", "json"])
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["resource"]["status"] == "destroyed" and out["run"]["operation"] == "destroy"
    assert u.ok("GET", "/resources/" + res["id"])["status"] == "destroyed"


def test_read_commands_print_tables_and_json(user):
    u = user
    for args in (["projects"], ["accounts"], ["accounts", "-p", "team-a"], ["catalog"], ["drift"], ["cost"],
                 ["runs", "list"], ["resources", "list"]):
        r = u.run(args)
        assert r.returncode == 0, (args, r.stderr)
        r = u.run(args + ["-o", "json"])
        assert r.returncode == 0, (args, r.stderr)
        json.loads(r.stdout)
    assert "team-a" in u.run(["projects"]).stdout
    accts = json.loads(u.run(["accounts", "-o", "json"]).stdout)["items"]
    assert [a["id"] for a in accts] == [u.acct["id"]] and "project_name" not in accts[0]
    assert json.loads(u.run(["catalog", "-o", "json"]).stdout) == u.ok("GET", "/catalog")
    assert "sandbox.small" in u.run(["catalog"]).stdout


def test_failing_run_exits_3(user):
    r = order_bucket(user, "cli-fails", "--config", "simulate_failure=true", "--wait")
    assert r.returncode == 3, (r.returncode, r.stderr)
    assert "failed" in r.stderr


def test_guardrail_block_exits_4(user):
    u = user
    u.ok("PUT", "/projects/%s/guardrails" % u.p["id"], {"no_public_buckets": {"level": "hard"}})
    r = order_bucket(u, "cli-public", "--public", "--wait")
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert "guardrail_blocked" in r.stderr and "no_public_buckets" in r.stderr
    assert u.ok("GET", "/resources?project_id=" + u.p["id"])["items"] == []


def test_run_failed_on_a_plan_guardrail_exits_4(user):
    """A protected bucket renamed: the cloud cannot rename it, the plan
    replaces it, and the protected rule blocks the plan (hard)."""
    u = user
    r = order_bucket(u, "cli-keep", "--wait", "-o", "json")
    assert r.returncode == 0, r.stderr
    rid = json.loads(r.stdout)["resource"]["id"]
    u.ok("PUT", "/resources/%s/protection" % rid, {"protected": True}, 200)
    r = u.run(["resources", "update", rid, "--name", "cli-renamed", "--wait", "-o", "json"])
    assert r.returncode == 4, (r.returncode, r.stderr)
    assert "protected" in r.stderr
    out = json.loads(r.stdout)
    assert out["run"]["status"] == "failed" and out["resource"]["name"] == "cli-keep"
    # Tags change in place: the same command goes through.
    r = u.run(["resources", "update", rid, "-t", "owner=ci", "--wait", "-o", "json"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["resource"]["config"]["tags"] == {"owner": "ci"}


def test_approval_past_timeout_exits_5_then_approve(user):
    u = user
    u.ok("PATCH", "/projects/" + u.p["id"], {"require_approval": True})
    r = order_bucket(u, "cli-approve", "--wait", "--timeout", "3s", "-o", "json")
    assert r.returncode == 5, (r.returncode, r.stderr)
    run = json.loads(r.stdout)["run"]
    assert run["status"] == "awaiting_approval"
    # logs --follow waits through the approval and goes on to the end.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent", "CLOUDPLANE_URL": u.s.url,
           "CLOUDPLANE_TOKEN": u.token}
    follow = subprocess.Popen([BINARY, "runs", "logs", run["id"], "--follow"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        while not any("awaiting approval" in l for l in seen):  # the stream ended there; it waits
            line = follow.stderr.readline()
            assert line, (seen, follow.wait(5))
            seen.append(line)
        r = u.run(["runs", "approve", run["id"], "-o", "json"])
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["id"] == run["id"]
        out, err = follow.communicate(timeout=120)
    finally:
        if follow.poll() is None:
            follow.kill()
    assert follow.returncode == 0, err
    assert u.wait_run(run["id"])["status"] == "succeeded"
    stored = u.ok("GET", "/runs/%s/events?format=json&limit=1000" % run["id"])["items"]
    assert out.splitlines() == [e["data"]["line"] for e in stored if e["type"] == "log"]


def test_errors_exit_2_7_and_1(user, server):
    r = cli(["projects"], token="bad-token", url=server.url)
    assert r.returncode == 2 and "HTTP 401" in r.stderr, (r.returncode, r.stderr)
    r = user.run(["resources", "show", "01hzzzzzzzzzzzzzzzzzzzzzzz"])
    assert r.returncode == 2 and "HTTP 404" in r.stderr
    r = user.run(["accounts", "-p", "no-such-project"])
    assert r.returncode == 2 and "no-such-project" in r.stderr
    r = cli(["projects"], token="x", url="http://127.0.0.1:9")
    assert r.returncode == 7 and "cannot reach" in r.stderr
    for args in (["order", "vm"], ["order", "bucket", "--bogus"], ["resources", "show"], ["runs", "nope"],
                 ["order", "bucket", "-p", "a", "-a", "b", "-n", "c", "-r", "d", "--wait", "--timeout", "soon"],
                 ["projects", "-o", "yaml"]):
        r = user.run(args)
        assert r.returncode == 1, (args, r.returncode, r.stderr)


def test_tokens_create_use_revoke(user, server):
    """Against a server without API tokens the command says so (404, exit
    2); with them: create (shown once), use, list, revoke, refused after."""
    u = user
    r = u.run(["tokens", "list", "-o", "json"])
    if r.returncode == 2:
        assert "HTTP 404" in r.stderr and "no API tokens" in r.stderr, r.stderr
        return
    assert r.returncode == 0, r.stderr
    r = u.run(["tokens", "create", "-p", "team-a", "-n", "ci", "--scope", "read", "--scope", "order", "-o", "json"])
    assert r.returncode == 0, r.stderr
    made = json.loads(r.stdout)
    assert made["token"].startswith("cpt_") and made["project_id"] == u.p["id"]
    ci = lambda args: cli(args, token=made["token"], url=server.url)
    r = ci(["order", "bucket", "-p", "team-a", "-a", "sandbox", "-n", "cli-token", "-r", "sandbox-east-1",
            "--wait", "-o", "json"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["resource"]["status"] == "active"
    listed = json.loads(u.run(["tokens", "list", "-p", "team-a", "-o", "json"]).stdout)["items"]
    assert [t["id"] for t in listed] == [made["id"]] and "token" not in listed[0]
    r = u.run(["tokens", "revoke", made["id"], "-p", "team-a"])
    assert r.returncode == 0, r.stderr
    r = ci(["projects"])
    assert r.returncode == 2 and "HTTP 401" in r.stderr, (r.returncode, r.stderr)


def test_help_everywhere():
    r = subprocess.run([BINARY, "help"], capture_output=True, text=True)
    assert r.returncode == 0 and "exit codes" in r.stdout and "runs logs RUN" in r.stdout
    for args in (["order", "--help"], ["resources", "--help"], ["resources", "destroy", "-h"],
                 ["runs", "logs", "--help"], ["help", "runs", "approve"], ["login", "--help"], ["tokens", "-h"]):
        r = subprocess.run([BINARY] + args, capture_output=True, text=True, env={"HOME": "/nonexistent"})
        assert r.returncode == 0 and "usage: cloudplane" in r.stdout, (args, r.stdout, r.stderr)


def test_logs_follow_reconnects_from_the_last_event_id():
    """A stream that drops without its end event is reopened with
    Last-Event-ID: the events after it follow, none twice. A stand-in server
    drops the first connection after two events (a real one would do so on a
    restart or a proxy's idle timeout)."""
    import http.server
    import threading

    seen = []

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path.endswith("/events"):
                seen.append((self.headers.get("Authorization"), self.headers.get("Last-Event-ID")))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                if len(seen) == 1:
                    body = ": hi\n\nid: 1\nevent: log\ndata: {\"stream\":\"stdout\",\"line\":\"one\"}\n\n" \
                           "id: 2\nevent: log\ndata: {\"stream\":\"stdout\",\"line\":\"two\"}\n\n"
                else:
                    body = "id: 3\r\nevent: log\r\ndata: {\"stream\":\"stdout\",\"line\":\"three\"}\r\n\r\n" \
                           "event: end\ndata: {\"reason\":\"run_finished\"}\n\n"
                self.wfile.write(body.encode())
                self.wfile.flush()
                self.close_connection = True
                return
            body = json.dumps({"id": "r1", "status": "succeeded", "error": None}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        r = cli(["runs", "logs", "r1", "--follow"], token="tok", url="http://127.0.0.1:%d" % srv.server_port,
                timeout=60)
    finally:
        srv.shutdown()
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["one", "two", "three"]
    assert seen == [("Bearer tok", None), ("Bearer tok", "2")]


def test_timeout_while_running_exits_6(user):
    r = order_bucket(user, "cli-slow", "--config", "simulate_seconds=5", "--wait", "--timeout", "1s", "-o", "json")
    assert r.returncode == 6, (r.returncode, r.stderr)
    run = json.loads(r.stdout)["run"]
    assert run["status"] not in ("succeeded", "failed", "canceled", "awaiting_approval")
    assert user.wait_run(run["id"])["status"] == "succeeded"
