"""Abuse limits against the real binary: the password hashing pool under a
sign-up flood, request rates on sign-up and login, per-IP connections and slow
clients, and trusted proxies (X-Forwarded-For, IPv6 by /64)."""
import concurrent.futures
import http.client
import json
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from conftest import Api, assert_error

SIGNUP = "/api/v1/auth/signup"
SIGNUP_COMPLETE = "/api/v1/auth/signup/complete"
LOGIN = "/api/v1/auth/login"
PASSWORD = "correct horse battery"


def host_port(server):
    host, port = server.url.split("//")[1].split(":")
    return host, int(port)


def raw_post(server, path, body, headers=None, source=None):
    """One POST over its own connection, optionally from a given source address."""
    host, port = host_port(server)
    conn = http.client.HTTPConnection(host, port, timeout=30,
                                      source_address=(source, 0) if source else None)
    try:
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        conn.request("POST", path, json.dumps(body), hdrs)
        r = conn.getresponse()
        data = r.read()
        return r.status, dict(r.getheaders()), json.loads(data) if data else None
    finally:
        conn.close()


def signup_body(email):
    return {"email": email}


def metric(server, name):
    """A counter from /metrics (labels included in name), as an int."""
    for line in requests.get(server.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[-1])
    raise AssertionError("no metric " + name)


def check_429(status, headers, body):
    assert status == 429, (status, body)
    assert int(headers["Retry-After"]) >= 1
    assert body["error"]["code"] == "rate_limited", body


def can_bind(addr):
    s = socket.socket()
    try:
        s.bind((addr, 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


# ---------------------------------------------------------------- hashing pool

# Polls a URL every 20 ms on one keep-alive connection until stdin has a
# line; says "ready" once it is polling, then prints the latencies (seconds)
# as JSON. Any answer but 200 fails it.
PROBE = """
import http.client, json, sys, threading, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
lat = []
while not stop.is_set():
    t0 = time.monotonic()
    conn.request("GET", u.path)
    r = conn.getresponse()
    r.read()
    lat.append(time.monotonic() - t0)
    if r.status != 200:
        sys.exit("status %d" % r.status)
    if len(lat) == 3:
        print("ready", flush=True)
    time.sleep(0.02)
print(json.dumps(lat))
"""

def mailed_completions(server, prefix, n):
    """n sign-up completion bodies, each with the token mailed for a fresh email (step one costs no hash)."""
    bodies = []
    for i in range(n):
        email = "%s%d@example.com" % (prefix, i)
        assert raw_post(server, SIGNUP, {"email": email})[0] == 202
        bodies.append({"token": server.mailed_token(email, "signup"), "name": "Limit Test", "password": PASSWORD})
    return bodies


def test_signup_flood_keeps_healthz_fast(make_server):
    """60 sign-ups completed at once: argon2id runs on the pool, so /healthz keeps answering within 100 ms (nine in
    ten probes; none waits a second, as one queued behind the hashes would); the requests the queue cannot hold get
    503 with Retry-After, and nothing else fails."""
    server = make_server(env={"CLOUDPLANE_HASH_QUEUE": "8"})
    bodies = mailed_completions(server, "flood", 60)
    # The probe runs in its own process, so the 60 client threads here
    # (and their GIL) do not count against the server.
    probe = subprocess.Popen([sys.executable, "-c", PROBE, server.url + "/healthz"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert probe.stdout.readline().strip() == "ready"
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=60) as ex:
            results = list(ex.map(lambda b: raw_post(server, SIGNUP_COMPLETE, b), bodies))
    finally:
        time.sleep(0.2)
        out, _ = probe.communicate("stop\n", timeout=30)
    latencies = sorted(json.loads(out.strip().splitlines()[-1]))
    statuses = [s for s, _, _ in results]
    assert set(statuses) <= {201, 503}, statuses
    assert statuses.count(201) >= 8, statuses
    busy = [(h, b) for s, h, b in results if s == 503]
    assert busy, "a queue of 8 held 60 sign-ups at once"
    assert metric(server, "cloudplane_hash_busy_total") == len(busy)
    for h, b in busy:
        assert int(h["Retry-After"]) >= 1
        assert b["error"]["code"] == "busy", b
    assert len(latencies) >= 5
    assert latencies[int(len(latencies) * 0.9)] < 0.1 and latencies[-1] < 1.0, latencies[-5:]
    # Those accepted are real accounts: they log in.
    ok = [i for i, (s, _, _) in enumerate(results) if s == 201]
    r = server.post(LOGIN, {"email": "flood%d@example.com" % ok[0], "password": PASSWORD})
    assert r.status_code == 200, r.text


def test_login_flood_on_pool(make_server):
    """Logins verify on the pool too: a flood gets 200 or 503, never a stall or a 500."""
    server = make_server(env={"CLOUDPLANE_HASH_QUEUE": "4"})
    server.signup("pool@example.com")
    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as ex:
        results = list(ex.map(lambda i: raw_post(server, LOGIN, {"email": "pool@example.com",
                                                                  "password": PASSWORD if i % 2 else "wrong pass"}),
                              range(30)))
    statuses = [s for s, _, _ in results]
    assert set(statuses) <= {200, 401, 503}, statuses
    assert 200 in statuses and 401 in statuses and 503 in statuses, statuses


# ---------------------------------------------------------------- request rates

def test_signup_rate_per_ip_and_per_account(make_server):
    server = make_server(env={"CLOUDPLANE_SIGNUP_IP_PER_HOUR": "3", "CLOUDPLANE_SIGNUP_ACCOUNT_PER_HOUR": "2"})
    assert raw_post(server, SIGNUP, signup_body("a1@example.com"))[0] == 202
    # The same email twice more: the second is the account's last try.
    assert raw_post(server, SIGNUP, signup_body("a1@example.com"))[0] == 202
    status, headers, body = raw_post(server, SIGNUP, signup_body("a1@example.com"))
    assert status == 429, (status, body)  # the address's third, and the account's third
    check_429(status, headers, body)
    # The address is spent too: a new email from it is refused.
    check_429(*raw_post(server, SIGNUP, signup_body("a2@example.com")))
    assert metric(server, 'cloudplane_rate_limited_total{kind="signup"}') == 2
    assert metric(server, 'cloudplane_rate_limited_total{kind="login"}') == 0


def test_login_rate_counts_successful_logins(make_server):
    server = make_server(env={"CLOUDPLANE_LOGIN_ACCOUNT_PER_MINUTE": "3", "CLOUDPLANE_LOGIN_IP_PER_MINUTE": "5"})
    server.signup("l1@example.com")
    server.signup("l2@example.com")
    for _ in range(3):
        assert raw_post(server, LOGIN, {"email": "l1@example.com", "password": PASSWORD})[0] == 200
    # The right password, but the account's limit is spent.
    check_429(*raw_post(server, LOGIN, {"email": "l1@example.com", "password": PASSWORD}))
    # Another account from the same address: its own limit, but the address's is nearly spent.
    assert raw_post(server, LOGIN, {"email": "l2@example.com", "password": PASSWORD})[0] == 200
    check_429(*raw_post(server, LOGIN, {"email": "l2@example.com", "password": PASSWORD}))
    r = requests.post(server.url + LOGIN, json={"email": "l2@example.com", "password": PASSWORD}, timeout=10)
    assert_error(r, 429, "rate_limited")


# ---------------------------------------------------------------- trusted proxies

def test_trusted_proxy_separates_clients(make_server):
    server = make_server(env={"CLOUDPLANE_TRUSTED_PROXIES": "127.0.0.1/32, ::1",
                              "CLOUDPLANE_SIGNUP_IP_PER_HOUR": "2"})
    n = [0]

    def signup(xff, source=None):
        n[0] += 1
        return raw_post(server, SIGNUP, signup_body("p%d@example.com" % n[0]), {"X-Forwarded-For": xff}, source)

    a = "198.51.100.1"
    assert signup(a)[0] == 202
    # The client cannot escape by prepending addresses: the proxy's entry is the rightmost.
    assert signup("203.0.113.99, " + a)[0] == 202
    check_429(*signup(a))
    # Another client behind the same proxy has its own limit.
    assert signup("198.51.100.2")[0] == 202
    # IPv6 clients share their /64.
    assert signup("2001:db8:1:2::1")[0] == 202
    assert signup("2001:db8:1:2:ffff::2")[0] == 202
    check_429(*signup("2001:db8:1:2::3"))
    assert signup("2001:db8:1:3::1")[0] == 202
    if not can_bind("127.0.0.2"):
        pytest.skip("cannot bind 127.0.0.2 for an untrusted peer")
    # 127.0.0.2 is no proxy: its X-Forwarded-For is ignored, so fresh
    # addresses in it do not buy fresh limits.
    assert signup("192.0.2.1", "127.0.0.2")[0] == 202
    assert signup("192.0.2.2", "127.0.0.2")[0] == 202
    check_429(*signup("192.0.2.3", "127.0.0.2"))


def test_untrusted_forwarded_for_is_ignored(make_server):
    server = make_server(env={"CLOUDPLANE_SIGNUP_IP_PER_HOUR": "1"})
    assert raw_post(server, SIGNUP, signup_body("u1@example.com"), {"X-Forwarded-For": "198.51.100.1"})[0] == 202
    check_429(*raw_post(server, SIGNUP, signup_body("u2@example.com"), {"X-Forwarded-For": "198.51.100.2"}))


@pytest.mark.parametrize("spec", ["10.0.0.1/8", "10.0.0.0/33", "proxy.example.com", "fd00::/129", "1.2.3.4,,x"])
def test_bad_trusted_proxies_fail_startup(make_server, spec):
    with pytest.raises(RuntimeError) as e:
        make_server(env={"CLOUDPLANE_TRUSTED_PROXIES": spec})
    assert "trusted proxy" in str(e.value), str(e.value)


# ---------------------------------------------------------------- connections

def wait_closed(sock, limit):
    """Seconds until the server closes sock (recv gives EOF or a reset), or None."""
    t0 = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - t0 < limit:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


def test_slow_client_is_disconnected(make_server):
    """A client sending its headers one byte a second is cut off after the
    read timeout, while a normal client is served meanwhile."""
    server = make_server(env={"CLOUDPLANE_READ_TIMEOUT": "3"})
    host, port = host_port(server)
    slow = socket.create_connection((host, port))
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100
    t0 = time.monotonic()
    cut_after = None
    served = []
    for b in request:
        try:
            slow.send(bytes([b]))
        except OSError:
            cut_after = time.monotonic() - t0
            break
        served.append(requests.get(server.url + "/healthz", timeout=5).status_code)
        slow.settimeout(1.0)
        try:
            if slow.recv(4096) == b"":
                cut_after = time.monotonic() - t0
                break
        except socket.timeout:
            pass
        except OSError:
            cut_after = time.monotonic() - t0
            break
    slow.close()
    assert cut_after is not None, "the slow client was never disconnected"
    assert 2.5 <= cut_after <= 6, cut_after
    assert metric(server, "cloudplane_slow_clients_cut_total") >= 1
    assert served and set(served) == {200}, served


def test_slow_body_is_disconnected(make_server):
    server = make_server(env={"CLOUDPLANE_READ_TIMEOUT": "2"})
    host, port = host_port(server)
    s = socket.create_connection((host, port))
    s.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100\r\n\r\n{")
    took = wait_closed(s, 8)
    s.close()
    assert took is not None and took < 5, took


def test_keepalive_connection_serves_in_time_requests(make_server):
    """The deadline is per request: a kept-alive connection that asks promptly keeps working."""
    server = make_server(env={"CLOUDPLANE_READ_TIMEOUT": "2"})
    s = requests.Session()
    for _ in range(4):
        assert s.get(server.url + "/healthz", timeout=5).status_code == 200
        time.sleep(0.8)


def test_connection_limit_per_ip(make_server):
    if not can_bind("127.0.0.2"):
        pytest.skip("cannot bind 127.0.0.2 as a second client address")
    server = make_server(env={"CLOUDPLANE_CONN_PER_IP": "3", "CLOUDPLANE_READ_TIMEOUT": "60"})
    host, port = host_port(server)
    held = [socket.create_connection((host, port)) for _ in range(3)]
    time.sleep(0.3)
    extra = socket.create_connection((host, port))
    extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert wait_closed(extra, 5) is not None, "connection 4 from one address was served"
    extra.close()
    # Another address is served meanwhile.
    status, _, body = None, None, None
    conn = http.client.HTTPConnection(host, port, timeout=5, source_address=("127.0.0.2", 0))
    conn.request("GET", "/healthz")
    status = conn.getresponse().status
    conn.close()
    assert status == 200
    # A freed slot is usable again.
    held.pop().close()
    time.sleep(0.3)
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    for s in held:
        s.close()
    # The server frees the closed connections' slots when it notices they
    # closed: until then a fourth connection is still refused.
    deadline = time.time() + 10
    while True:
        try:
            refused = metric(server, "cloudplane_connections_refused_total")
            break
        except requests.ConnectionError:
            assert time.time() < deadline, "the closed connections' slots were never freed"
            time.sleep(0.2)
    assert refused >= 1


# ---------------------------------------------------------------- sandbox cloud

def test_sandbox_simulate_seconds_capped(make_server):
    from conftest import Api
    server = make_server(env={"CLOUDPLANE_WORKERS": "0", "CLOUDPLANE_SANDBOX_MAX_SIMULATE_SECONDS": "5"})
    api = Api(server)
    p = api.project()
    acc = api.sandbox_account(p["id"])
    r = api.call("POST", "/resources", {"project_id": p["id"], "account_id": acc["id"], "kind": "storage",
                                        "name": "slow-bucket", "region": "sandbox-east-1",
                                        "config": {"simulate_seconds": 6}})
    err = assert_error(r, 422, "out_of_range", "config.simulate_seconds")
    assert "0 to 5" in err["message"], err
    r = api.call("POST", "/resources", {"project_id": p["id"], "account_id": acc["id"], "kind": "storage",
                                        "name": "ok-bucket", "region": "sandbox-east-1",
                                        "config": {"simulate_seconds": 5}})
    assert r.status_code == 202, r.text


def test_sandbox_simulate_seconds_default_cap(make_server):
    from conftest import Api
    # The default, not the functional suites' relaxed value.
    server = make_server(env={"CLOUDPLANE_WORKERS": "0", "CLOUDPLANE_SANDBOX_MAX_SIMULATE_SECONDS": None})
    api = Api(server)
    p = api.project()
    acc = api.sandbox_account(p["id"])
    r = api.call("POST", "/resources", {"project_id": p["id"], "account_id": acc["id"], "kind": "storage",
                                        "name": "slow-bucket", "region": "sandbox-east-1",
                                        "config": {"simulate_seconds": 31}})
    assert_error(r, 422, "out_of_range", "config.simulate_seconds")


def test_sandbox_cloud_off(make_server, tmp_path):
    from conftest import Api
    data = str(tmp_path / "data-sbx")
    os.makedirs(data)
    on = make_server(env={"CLOUDPLANE_WORKERS": "0"}, data_dir=data)
    api = Api(on, "owner@example.com")
    p = api.project()
    acc = api.sandbox_account(p["id"])
    key = acc.get("api_key") or acc.get("credentials", {}).get("api_key")
    on.stop()
    off = make_server(env={"CLOUDPLANE_WORKERS": "0", "CLOUDPLANE_SANDBOX_CLOUD": "off"}, data_dir=data)
    api.s = off
    clouds = [c["id"] for c in api.ok("GET", "/catalog")["clouds"]]
    assert "sandbox" not in clouds and "aws" in clouds, clouds
    assert_error(api.call("POST", "/projects/%s/accounts" % p["id"], {"name": "s2", "cloud": "sandbox"}),
                 422, "cloud_disabled", "cloud")
    r = api.call("POST", "/resources", {"project_id": p["id"], "account_id": acc["id"], "kind": "storage",
                                        "name": "b1", "region": "sandbox-east-1"})
    assert_error(r, 422, "cloud_disabled", "cloud")
    # The sandbox cloud's own API is gone too, with or without a key.
    r = requests.post(off.url + "/sandbox/v1/buckets", json={}, timeout=10,
                      headers={"Authorization": "Bearer " + (key or "sbx_x")})
    assert_error(r, 404, "cloud_disabled")
    # Real clouds are unaffected.
    r = api.call("POST", "/projects/%s/accounts" % p["id"], {"name": "a", "cloud": "aws", "credentials": {}})
    assert r.status_code in (201, 422) and "cloud_disabled" not in r.text, r.text


def test_default_signup_limit_per_ip(make_server):
    """The shipped default: 20 sign-ups an hour from one address."""
    server = make_server(env={"CLOUDPLANE_SIGNUP_IP_PER_HOUR": None})
    for i in range(20):
        status, _, body = raw_post(server, SIGNUP, signup_body("d%d@example.com" % i))
        assert status == 202, (i, body)
    check_429(*raw_post(server, SIGNUP, signup_body("d20@example.com")))


# ---------------------------------------------------------------- runs

def test_project_run_and_resource_caps(make_server, store_env):
    from conftest import Api
    server = make_server(env=dict(store_env, CLOUDPLANE_WORKERS="0", CLOUDPLANE_PROJECT_MAX_RUNS="2",
                                  CLOUDPLANE_PROJECT_MAX_RESOURCES="3"))
    api = Api(server)
    p = api.project()
    acc = api.sandbox_account(p["id"])
    other = api.project(name="other")
    other_acc = api.sandbox_account(other["id"])
    first = api.create_vm(p["id"], acc["id"], name="vm-1")
    api.create_vm(p["id"], acc["id"], name="vm-2")
    r = api.call("POST", "/resources", {"project_id": p["id"], "account_id": acc["id"], "kind": "storage",
                                        "name": "bucket-3", "region": "sandbox-east-1"})
    err = assert_error(r, 429, "too_many_runs")
    assert int(r.headers["Retry-After"]) >= 1
    assert "2 unfinished runs" in err["message"], err
    # Updates count too; destroys never wait on the cap.
    rid = first["resource"]["id"]
    assert_error(api.call("PATCH", "/resources/" + rid, {"size": "sandbox.medium"}), 429, "too_many_runs")
    assert api.call("DELETE", "/resources/" + rid).status_code == 202
    # Another project is unaffected.
    api.create_vm(other["id"], other_acc["id"], name="vm-o")
    # Finish the two creates by hand (no workers here): the run cap frees, the resource quota holds.
    finish = ["UPDATE runs SET status = 'succeeded' WHERE operation <> 'destroy'",
              "UPDATE resources SET status = 'active'"]
    if store_env:
        for q in finish:
            subprocess.run(["psql", store_env["CLOUDPLANE_DATABASE_URL"], "-q", "-c", q], check=True,
                           capture_output=True)
    else:
        import sqlite3
        db = sqlite3.connect(os.path.join(server.data_dir, "cloudplane.db"))
        for q in finish:
            db.execute(q)
        db.commit()
        db.close()
    api.create_vm(p["id"], acc["id"], name="vm-3")
    r = api.call("POST", "/resources", {"project_id": p["id"], "account_id": acc["id"], "kind": "storage",
                                        "name": "bucket-4", "region": "sandbox-east-1"})
    assert_error(r, 409, "resource_quota")


def fair_queue_scenario(api_server, runs_before=None):
    """Project A queues 30 runs, then project B one: B's run ends while most
    of A's backlog is still queued."""
    from conftest import Api
    a = Api(api_server)
    pa = a.project(name="backlog")
    acc_a = a.sandbox_account(pa["id"])
    b = Api(api_server)
    pb = b.project(name="small")
    acc_b = b.sandbox_account(pb["id"])
    a_runs = [a.create_vm(pa["id"], acc_a["id"], name="a-%02d" % i, simulate_seconds=1)["run"]["id"]
              for i in range(30)]
    b_run = b.create_vm(pb["id"], acc_b["id"], name="b-00")["run"]["id"]
    done = b.wait_run(b_run, timeout=240)
    assert done["status"] == "succeeded", done
    statuses = [a.ok("GET", "/runs/" + rid)["status"] for rid in a_runs]
    started = [s for s in statuses if s != "queued"]
    # One slot for A: at most a few of its runs went before B's.
    assert len(started) <= 6, statuses
    assert statuses.count("queued") >= 24, statuses
    return a, a_runs


FAIR_ENV = {"CLOUDPLANE_PROJECT_ACTIVE_RUNS": "1", "CLOUDPLANE_PROJECT_MAX_RUNS": "50",
            "CLOUDPLANE_PROJECT_MAX_RESOURCES": "50"}


def test_fair_queueing_in_process(make_server):
    if not os.environ.get("CP_TOFU"):
        pytest.skip("OpenTofu not configured (CP_TOFU)")
    server = make_server(env=dict(FAIR_ENV, CLOUDPLANE_WORKERS="2"))
    a, a_runs = fair_queue_scenario(server)
    # A's backlog still drains, one at a time: the next one starts.
    late = [r for r in a_runs if a.ok("GET", "/runs/" + r)["status"] == "queued"][0]
    assert a.wait_run(a_runs[0], timeout=120)["status"] == "succeeded"
    deadline = time.time() + 120
    while time.time() < deadline and a.ok("GET", "/runs/" + late)["status"] == "queued":
        time.sleep(0.5)
    # Not asserting late itself ran (others may be ahead of it): some A run after the first did.
    statuses = [a.ok("GET", "/runs/" + r)["status"] for r in a_runs[1:]]
    assert any(s != "queued" for s in statuses), statuses


def test_fair_queueing_distributed(tmp_path):
    from distributed import Cluster
    cluster = Cluster(tmp_path)
    try:
        api = cluster.api(**FAIR_ENV)
        cluster.worker(slots=2, **FAIR_ENV)
        fair_queue_scenario(api)
    finally:
        cluster.close()


def test_event_stream_outlives_read_timeout(make_server):
    """The read deadline ends when a request is read: a long-lived event
    stream stays open past it, while a slow client is still cut off."""
    from conftest import Api
    server = make_server(env={"CLOUDPLANE_WORKERS": "0", "CLOUDPLANE_READ_TIMEOUT": "2"})
    api = Api(server)
    p = api.project()
    acc = api.sandbox_account(p["id"])
    run = api.create_vm(p["id"], acc["id"], name="waits")["run"]  # no workers: stays queued, its stream open
    host, port = host_port(server)
    s = socket.create_connection((host, port))
    s.sendall(("GET /api/v1/runs/%s/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
               "Authorization: Bearer %s\r\n\r\n" % (run["id"], api.token)).encode())
    s.settimeout(5)
    head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"text/event-stream" in head, head
    slow = socket.create_connection((host, port))
    slow.sendall(b"GET /healthz HTTP/1.1\r\n")
    assert wait_closed(slow, 6) is not None, "the slow client was not cut off"
    slow.close()
    # Three times the read timeout later the stream is still open.
    s.settimeout(0.5)
    t_end = time.monotonic() + 4
    while time.monotonic() < t_end:
        try:
            assert s.recv(4096) != b"", "the event stream was closed by the read timeout"
        except socket.timeout:
            pass
    s.close()


def test_shutdown_during_signup_flood(make_server):
    """SIGTERM while sign-ups wait on the hashing pool: the suspended requests
    are finished within the grace, and the server exits cleanly."""
    server = make_server(env={"CLOUDPLANE_HASH_QUEUE": "16"})
    bodies = mailed_completions(server, "sd", 20)
    ex = concurrent.futures.ThreadPoolExecutor(max_workers=20)

    def attempt(i):
        try:
            return raw_post(server, SIGNUP_COMPLETE, bodies[i])[0]
        except OSError:
            return None  # the server went away

    futures = [ex.submit(attempt, i) for i in range(20)]
    time.sleep(0.3)
    assert server.stop() == 0, server.logs()[-3000:]
    statuses = [f.result(timeout=60) for f in futures]
    ex.shutdown()
    assert set(statuses) <= {201, 503, None}, statuses
    assert "panic" not in server.logs()


def test_invitation_rate_per_inviter_and_address(make_server):
    """Invitations are rate-limited per inviter and per address: the third of an inviter's hour answers 429 with
    Retry-After, and writes no invitation and sends no mail."""
    server = make_server(env={"CLOUDPLANE_INVITE_ACCOUNT_PER_HOUR": "2", "CLOUDPLANE_INVITE_IP_PER_HOUR": "100"})
    owner = Api(server)
    p = owner.project(name="inv-rate")
    owner.invite(p["id"], "i1@example.com", "member")
    owner.invite(p["id"], "i2@example.com", "member")
    r = owner.call("POST", "/projects/%s/invitations" % p["id"], {"email": "i3@example.com", "role": "member"})
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    assert server.mails("i3@example.com") == []
    pending = owner.ok("GET", "/projects/%s/invitations" % p["id"])["items"]
    assert sorted(i["email"] for i in pending) == ["i1@example.com", "i2@example.com"]
    # Another inviter has their own allowance.
    other = Api(server)
    q = other.project(name="inv-rate-2")
    other.invite(q["id"], "i4@example.com", "member")
    assert metric(server, 'cloudplane_rate_limited_total{kind="invite"}') == 1
