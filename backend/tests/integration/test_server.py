"""Process-level behaviour: health, static files, config, shutdown, contract."""
import os
import re
import signal
import subprocess
import threading
import time

import requests

from conftest import BINARY, REPO, assert_error


def test_health_and_readiness(server):
    r = server.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = server.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert re.match(r"^[0-9a-f]{16}$", r.headers["X-Request-Id"])
    m = server.get("/metrics")
    assert m.status_code == 200 and "cloudplane_up 1" in m.text


def test_openapi_is_served(server):
    r = server.get("/api/v1/openapi.yaml")
    assert r.status_code == 200
    assert "openapi: 3" in r.text
    with open(os.path.join(REPO, "backend", "openapi.yaml")) as f:
        assert r.text == f.read()


def spec_operations():
    ops = set()
    path = None
    with open(os.path.join(REPO, "backend", "openapi.yaml")) as f:
        in_paths = False
        for line in f:
            if line.startswith("paths:"):
                in_paths = True
                continue
            if not in_paths:
                continue
            m = re.match(r"^  (/\S*):\s*$", line)
            if m:
                path = m.group(1)
                continue
            m = re.match(r"^    (get|post|put|patch|delete):", line)
            if m and path:
                ops.add((m.group(1).upper(), path))
    return ops


def server_routes():
    with open(os.path.join(REPO, "backend", "src", "api", "routes.c")) as f:
        return set(re.findall(r'\{"(GET|POST|PUT|PATCH|DELETE)", "([^"]+)"', f.read()))


def test_every_route_is_in_the_spec_and_back(server):
    spec, routes = spec_operations(), server_routes()
    assert spec, "no operations parsed from openapi.yaml"
    assert routes == spec, {"missing_in_spec": routes - spec, "not_served": spec - routes}
    # And the server really answers each one (no 404 "no route", no 405).
    for method, path in sorted(spec):
        concrete = re.sub(r"\{[^}]+\}", "01abcdefghjkmnpqrstvwxyz00", path)
        r = server.req(method, concrete, headers={"Content-Type": "application/json"}, data=b"{}")
        if r.status_code in (404, 405):
            err = r.json()["error"]
            assert "no route" not in err["message"] and r.status_code != 405, (method, path, r.text)


def test_static_placeholder_and_spa_fallback(server):
    r = server.get("/")
    assert r.status_code == 200 and "cloudplane" in r.text
    assert r.headers["Content-Type"].startswith("text/html")
    r = server.get("/resources/some/client/route")
    assert r.status_code == 200 and "<html" in r.text


def test_ui_pages_carry_the_security_headers(server):
    """Every UI response forbids framing and inline or foreign script; the Chromium end-to-end tests run the
    built UI under this very policy, so a UI that needed inline script would fail there."""
    for path in ["/", "/resources/some/client/route"]:
        r = server.get(path)
        csp = r.headers.get("Content-Security-Policy", "")
        directives = {d.split()[0]: d.split()[1:] for d in (x.strip() for x in csp.split(";")) if d}
        assert directives.get("frame-ancestors") == ["'none'"], csp
        assert directives.get("script-src") == ["'self'"], csp
        assert directives.get("object-src") == ["'none'"], csp
        assert r.headers.get("X-Frame-Options") == "DENY"
        assert r.headers.get("X-Content-Type-Options") == "nosniff"
        assert r.headers.get("Referrer-Policy") == "no-referrer"


def test_static_files_with_cache_headers(make_server, tmp_path):
    web = tmp_path / "web"
    (web / "assets").mkdir(parents=True)
    (web / "index.html").write_text("<html>app</html>")
    (web / "assets" / "app-abc123.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("outside")
    s = make_server(args=["--web-dir", str(web)])
    r = s.get("/")
    assert r.text == "<html>app</html>" and r.headers["Cache-Control"] == "no-cache"
    r = s.get("/assets/app-abc123.js")
    assert r.text == "console.log(1)"
    assert "immutable" in r.headers["Cache-Control"]
    assert r.headers["Content-Type"].startswith("text/javascript")
    assert s.get("/projects/123").text == "<html>app</html>"
    assert_error(s.get("/assets/missing.js"), 404)
    r = requests.get(s.url + "/../secret.txt")
    assert "outside" not in r.text
    r = requests.get(s.url + "/%2e%2e/secret.txt")
    assert "outside" not in r.text


def test_help_lists_every_setting():
    out = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True, timeout=10)
    assert out.returncode == 0
    for flag, env in [("--listen", "CLOUDPLANE_LISTEN"), ("--data-dir", "CLOUDPLANE_DATA_DIR"),
                      ("--max-body-bytes", "CLOUDPLANE_MAX_BODY_BYTES")]:
        assert flag in out.stdout and env in out.stdout


def test_bad_configuration_stops_startup(tmp_path):
    cases = [(["--workers", "1000"], "--workers"), (["--listen", "nonsense"], "listen"),
             (["--bogus"], "unknown flag"), (["--log-level", "loud"], "log-level")]
    for args, needle in cases:
        out = subprocess.run([BINARY, "serve", "--data-dir", str(tmp_path / "d")] + args,
                             capture_output=True, text=True, timeout=20, env={"PATH": "/usr/bin:/bin"})
        assert out.returncode != 0, args
        assert needle in out.stderr, (args, out.stderr)
    out = subprocess.run([BINARY, "serve", "--data-dir", str(tmp_path / "e")], capture_output=True, text=True,
                         timeout=20, env={"PATH": "/usr/bin:/bin", "CLOUDPLANE_JWT_SECRET": "short"})
    assert out.returncode != 0 and "JWT signing key" in out.stderr
    assert "short" not in out.stderr


def test_listen_from_environment(make_server):
    s = make_server(env={"CLOUDPLANE_LISTEN": "127.0.0.1:0"})
    assert s.get("/healthz").status_code == 200


def test_graceful_shutdown_finishes_in_flight(make_server):
    s = make_server()
    results = []
    assert s.post("/api/v1/auth/signup", {"email": "late@example.com"}).status_code == 202
    token = s.mailed_token("late@example.com", "signup")

    def slow_signup():
        # argon2id hashing keeps this request busy for tens of milliseconds.
        r = s.post("/api/v1/auth/signup/complete", {"token": token, "password": "0123456789", "name": "L"})
        results.append(r.status_code)

    threads = [threading.Thread(target=slow_signup)]
    threads[0].start()
    time.sleep(0.02)
    s.proc.send_signal(signal.SIGTERM)
    threads[0].join(timeout=30)
    assert s.proc.wait(timeout=30) == 0
    assert results == [201]
    assert "shutting down" in s.logs()


def test_migrate_command(tmp_path):
    d = str(tmp_path / "m")
    out = subprocess.run([BINARY, "migrate", "--data-dir", d], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert os.path.exists(os.path.join(d, "cloudplane.db"))
    out2 = subprocess.run([BINARY, "migrate", "--data-dir", d], capture_output=True, text=True, timeout=30)
    assert out2.returncode == 0 and "applied" not in out2.stderr


def test_admin_create_user(tmp_path):
    d = str(tmp_path / "a")
    out = subprocess.run([BINARY, "admin", "create-user", "Root@Example.com", "Root", "--data-dir", d],
                         input="super-secret-pw\n", capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "root@example.com" in out.stdout
    assert "super-secret-pw" not in out.stdout + out.stderr


def test_access_log_is_json_lines_without_query(server):
    server.get("/healthz?access_token=should-not-be-logged")
    time.sleep(0.1)
    import json
    lines = [json.loads(l) for l in server.logs().splitlines() if l.startswith("{")]
    reqs = [l for l in lines if l.get("msg") == "request"]
    assert any(l["path"] == "/healthz" and l["status"] == 200 for l in reqs)
    assert "should-not-be-logged" not in server.logs()
