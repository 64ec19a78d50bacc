"""Project webhooks end to end: a local receiver (http.server in a thread)
checks every request's HMAC signature and timestamp against the secret, and
answers as each test scripts it (500, 429, a sleep past the timeout, 400,
200). Deliveries retry 429, 5xx and timeouts with backoff and fail other
4xx at once; the delivery log, redeliver and the test ping work; the secret
is never in a reply or the server log after creation; an address on
loopback is refused unless the operator allow-lists it. The events of runs,
drift and expiry on the sandbox cloud reach the webhook and the
notification list; in distributed mode each delivery is sent once; with an
SMTP server configured, notifications are mailed. The backoff is shortened
with CLOUDPLANE_TEST_WEBHOOK_BACKOFF_MS. Waits are bounded polls; nothing
here asserts a timing."""
import datetime
import hashlib
import hmac
import json
import re
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import Api, assert_error
from distributed import wait_for

ALLOW = {"CLOUDPLANE_WEBHOOK_ALLOW_CIDRS": "127.0.0.1/32", "CLOUDPLANE_TEST_WEBHOOK_BACKOFF_MS": "200"}
FAST = {"CLOUDPLANE_SCHEDULER_INTERVAL": "1"}
SECRET = "s3cret-for-the-receiver-" + "x" * 12
ALL_EVENTS = ["run.needs_approval", "run.succeeded", "run.failed", "resource.drifted", "resource.expiring",
              "resource.expired", "guardrail.blocked"]


class Receiver:
    """Records every POST with whether its signature and timestamp check out;
    answers the next scripted reply (status, headers, seconds to sleep first),
    then 200 once the script is spent."""

    def __init__(self, secret=SECRET):
        self.secret = secret.encode()
        self.got = []
        self.script = []
        self.lock = threading.Lock()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ts = self.headers.get("X-Cloudplane-Timestamp", "")
                want = "sha256=" + hmac.new(rec.secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
                sig = self.headers.get("X-Cloudplane-Signature", "")
                fresh = ts.isdigit() and abs(time.time() - int(ts)) < 300
                with rec.lock:
                    status, headers, sleep = rec.script.pop(0) if rec.script else (200, {}, 0)
                    rec.got.append({"body": json.loads(body), "raw": body, "headers": dict(self.headers),
                                    "verified": hmac.compare_digest(sig, want) and fresh, "status": status})
                if sleep:
                    time.sleep(sleep)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d/hook" % self.httpd.server_address[1]

    def answer(self, *replies):
        with self.lock:
            self.script.extend(replies)

    def of(self, delivery_id):
        with self.lock:
            return [g for g in self.got if g["headers"].get("X-Cloudplane-Delivery") == delivery_id]

    def events(self, event):
        with self.lock:
            return [g for g in self.got if g["body"]["event"] == event]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def hook(u, p, url, events=None, **kw):
    body = dict({"url": url, "events": events or ALL_EVENTS, "secret": SECRET}, **kw)
    return u.ok("POST", "/projects/%s/webhooks" % p["id"], body, 201)


def delivery(u, wid, did):
    return next(d for d in u.ok("GET", "/webhooks/%s/deliveries?limit=200" % wid)["items"] if d["id"] == did)


def settled(u, wid, did, timeout=60):
    return wait_for(lambda: (lambda d: d if d["status"] != "pending" else None)(delivery(u, wid, did)), timeout,
                    "delivery %s to settle" % did)


def attempts_logged(server, did):
    return sorted(json.loads(line)["attempt"] for line in server.logs().splitlines()
                  if line.startswith("{") and '"webhook delivery"' in line and did in line)


def test_signed_delivery_after_two_failures_redeliver_and_log(make_server, store_env, receiver):
    s = make_server(env=dict(ALLOW, **store_env))
    u = Api(s)
    p = u.project(name="hooks")
    w = hook(u, p, receiver.url)
    assert w["secret"] == SECRET and w["secret_hint"] == SECRET[-4:] and w["last_delivery"] is None
    receiver.answer((500, {}, 0), (429, {"Retry-After": "1"}, 0))
    ping = u.ok("POST", "/webhooks/%s/test" % w["id"], status=202)
    assert ping["event"] == "ping" and ping["status"] == "pending" and ping["attempts"] == 0
    d = settled(u, w["id"], ping["id"])
    assert d["status"] == "succeeded" and d["attempts"] == 3 and d["response_code"] == 200, d
    assert d["delivered_at"] and d["error"] is None and d["next_attempt_at"] is None
    got = receiver.of(ping["id"])
    assert [g["status"] for g in got] == [500, 429, 200]
    assert all(g["verified"] for g in got), got
    body = got[-1]["body"]
    assert body["version"] == 1 and body["event"] == "ping" and body["id"] == ping["event_id"]
    assert body["project"] == {"id": p["id"], "name": "hooks"} and body["created_at"]
    assert got[-1]["headers"]["X-Cloudplane-Event"] == "ping"
    # Every attempt is logged, by delivery.
    assert attempts_logged(s, ping["id"]) == [1, 2, 3]
    assert u.ok("GET", "/webhooks/" + w["id"])["last_delivery"]["id"] == ping["id"]

    # Redeliver: a new delivery of the same payload (same event id), freshly signed.
    again = u.ok("POST", "/webhooks/%s/deliveries/%s/redeliver" % (w["id"], ping["id"]), status=202)
    assert again["id"] != ping["id"] and again["event_id"] == ping["event_id"] and again["redelivery_of"] == ping["id"]
    assert settled(u, w["id"], again["id"])["status"] == "succeeded"
    [g] = receiver.of(again["id"])
    assert g["verified"] and g["body"] == body
    # The log pages newest first.
    page = u.ok("GET", "/webhooks/%s/deliveries?limit=1" % w["id"])
    assert [x["id"] for x in page["items"]] == [again["id"]] and page["next_cursor"]
    page = u.ok("GET", "/webhooks/%s/deliveries?limit=1&cursor=%s" % (w["id"], page["next_cursor"]))
    assert [x["id"] for x in page["items"]] == [ping["id"]]


def test_timeout_is_retried_and_400_fails_at_once(make_server, receiver):
    s = make_server(env=dict(ALLOW, CLOUDPLANE_WEBHOOK_TIMEOUT="1"))
    u = Api(s)
    p = u.project()
    w = hook(u, p, receiver.url)
    receiver.answer((200, {}, 3))  # answers after the timeout
    ping = u.ok("POST", "/webhooks/%s/test" % w["id"], status=202)
    d = settled(u, w["id"], ping["id"])
    assert d["status"] == "succeeded" and d["attempts"] == 2, d
    assert len(receiver.of(ping["id"])) == 2
    assert any("timeout" in line for line in s.logs().splitlines() if ping["id"] in line)

    receiver.answer((400, {}, 0))
    ping = u.ok("POST", "/webhooks/%s/test" % w["id"], status=202)
    d = settled(u, w["id"], ping["id"])
    assert d["status"] == "failed" and d["attempts"] == 1 and d["response_code"] == 400, d
    assert d["error"] == "HTTP 400" and d["next_attempt_at"] is None
    # A later ping goes out, and the failed one was never sent again.
    later = u.ok("POST", "/webhooks/%s/test" % w["id"], status=202)
    assert settled(u, w["id"], later["id"])["status"] == "succeeded"
    assert len(receiver.of(ping["id"])) == 1


def test_loopback_refused_without_the_allow_list(make_server, receiver):
    s = make_server(env={"CLOUDPLANE_TEST_WEBHOOK_BACKOFF_MS": "200"})
    u = Api(s)
    p = u.project()
    for url in (receiver.url, receiver.url.replace("127.0.0.1", "localhost"),
                receiver.url.replace("127.0.0.1", "[::ffff:127.0.0.1]")):
        w = hook(u, p, url)
        ping = u.ok("POST", "/webhooks/%s/test" % w["id"], status=202)
        d = settled(u, w["id"], ping["id"])
        assert d["status"] == "failed" and d["error"] == "address not allowed" and d["attempts"] == 1, (url, d)
        assert d["response_code"] is None
    assert receiver.got == []


def test_secret_shown_once_and_access(make_server, receiver):
    s = make_server(env=ALLOW)
    u = Api(s)
    p = u.project()
    seen = []
    # A generated secret, shown in the creation reply only.
    r = u.call("POST", "/projects/%s/webhooks" % p["id"], {"url": receiver.url, "events": ["run.failed"]})
    assert r.status_code == 201, r.text
    gen = r.json()
    assert len(gen["secret"]) >= 32 and gen["secret_hint"] == gen["secret"][-4:]
    w = hook(u, p, receiver.url, events=["run.succeeded", "run.failed"])
    wid = w["id"]
    for method, path, body in (("GET", "/webhooks/" + wid, None), ("GET", "/projects/%s/webhooks" % p["id"], None),
                               ("PATCH", "/webhooks/" + wid, {"events": ["run.failed"]}),
                               ("PATCH", "/webhooks/" + wid, {"enabled": True, "url": receiver.url + "?v=2"}),
                               ("GET", "/projects/%s/audit" % p["id"], None),
                               ("POST", "/webhooks/%s/test" % wid, None),
                               ("GET", "/webhooks/%s/deliveries" % wid, None)):
        rr = u.call(method, path, body)
        assert rr.status_code < 300, (path, rr.text)
        seen.append(rr.text)
        assert "secret" not in rr.json() or path.endswith("audit")
    got = u.ok("GET", "/webhooks/" + wid)
    assert got["events"] == ["run.failed"] and got["url"].endswith("?v=2")
    actions = [e["action"] for e in u.ok("GET", "/projects/%s/audit" % p["id"])["items"]]
    assert {"webhook.create", "webhook.update"} <= set(actions)
    # A new secret signs from then on, and is not shown either.
    new = "another-secret-value-0123456789"
    rr = u.call("PATCH", "/webhooks/" + wid, {"secret": new})
    assert rr.status_code == 200 and rr.json()["secret_hint"] == new[-4:] and "secret" not in rr.json()
    seen.append(rr.text)
    receiver.secret = new.encode()
    ping = u.ok("POST", "/webhooks/%s/test" % wid, status=202)
    assert settled(u, wid, ping["id"])["status"] == "succeeded"
    assert receiver.of(ping["id"])[0]["verified"]
    for text in seen + [s.logs()]:
        assert SECRET not in text and gen["secret"] not in text and new not in text

    # Bad input: 422 invalid_url, unknown events, unknown fields, too many.
    for url in ("ftp://example.com/x", "http://user:pw@example.com/x", "example.com/hook", "http:///nohost",
                "https://example.com/x#frag"):
        assert_error(u.call("POST", "/projects/%s/webhooks" % p["id"], {"url": url, "events": ["run.failed"]}), 422,
                     "invalid_url", "url")
    assert_error(u.call("POST", "/projects/%s/webhooks" % p["id"], {"url": receiver.url, "events": ["nope"]}), 422)
    assert_error(u.call("POST", "/projects/%s/webhooks" % p["id"],
                        {"url": receiver.url, "events": ["run.failed", "run.failed"]}), 422)
    assert_error(u.call("POST", "/projects/%s/webhooks" % p["id"],
                        {"url": receiver.url, "events": ["run.failed"], "bogus": 1}), 400)
    # Members below admin: 403; non-members: 404.
    member, stranger = Api(s), Api(s)
    u.add_member(p["id"], member, "member")
    for who, status in ((member, 403), (stranger, 404)):
        assert_error(who.call("GET", "/webhooks/" + wid), status)
        assert_error(who.call("GET", "/projects/%s/webhooks" % p["id"]), status)
        assert_error(who.call("POST", "/webhooks/%s/test" % wid), status)
        assert_error(who.call("DELETE", "/webhooks/" + wid), status)
    # A disabled webhook takes no ping; deleting takes its log with it.
    u.ok("PATCH", "/webhooks/" + wid, {"enabled": False})
    assert_error(u.call("POST", "/webhooks/%s/test" % wid), 409, "webhook_disabled")
    assert u.call("DELETE", "/webhooks/" + wid).status_code == 204
    assert_error(u.call("GET", "/webhooks/" + wid), 404)
    assert_error(u.call("GET", "/webhooks/%s/deliveries" % wid), 404)


def test_disabled_webhook_deliveries_wait_for_it(make_server, receiver):
    """A delivery waiting for its retry when the webhook is disabled is not
    sent, nor failed: it goes out once the webhook is enabled again."""
    s = make_server(env=ALLOW)
    u = Api(s)
    p = u.project()
    w = hook(u, p, receiver.url)
    receiver.answer((429, {"Retry-After": "4"}, 0))
    ping = u.ok("POST", "/webhooks/%s/test" % w["id"], status=202)
    d = wait_for(lambda: (lambda x: x if x["attempts"] == 1 else None)(delivery(u, w["id"], ping["id"])), 60,
                 "the first attempt")
    assert d["status"] == "pending" and d["next_attempt_at"], d
    u.ok("PATCH", "/webhooks/" + w["id"], {"enabled": False})
    # Past its retry time, and a few rounds of the delivery loop more.
    due = datetime.datetime.fromisoformat(d["next_attempt_at"].replace("Z", "+00:00")).timestamp()
    while time.time() < due + 3:
        time.sleep(0.5)
    d = delivery(u, w["id"], ping["id"])
    assert d["status"] == "pending" and d["attempts"] == 1 and d["error"] == "HTTP 429", d
    assert len(receiver.of(ping["id"])) == 1
    u.ok("PATCH", "/webhooks/" + w["id"], {"enabled": True})
    d = settled(u, w["id"], ping["id"])
    assert d["status"] == "succeeded" and d["attempts"] == 2, d
    got = receiver.of(ping["id"])
    assert [g["status"] for g in got] == [429, 200] and all(g["verified"] for g in got)


def notes(u, kind=None):
    return [n for n in u.ok("GET", "/notifications?limit=200")["items"] if kind is None or n["kind"] == kind]


def wait_event(receiver, event, pred=lambda b: True, timeout=120):
    return wait_for(lambda: next((g for g in receiver.events(event) if pred(g["body"])), None), timeout,
                    "a %s delivery" % event)


def test_run_events_reach_webhook_and_notifications(make_server, store_env, receiver):
    s = make_server(env=dict(ALLOW, **store_env))
    u = Api(s)
    member = Api(s)
    p = u.project(name="evt")
    u.add_member(p["id"], member, "member")
    acct = u.sandbox_account(p["id"])
    hook(u, p, receiver.url)
    # run.succeeded, to whoever asked: the member's order.
    ok = member.create_vm(p["id"], acct["id"], name="evt-ok")
    assert member.wait_run(ok["run"]["id"])["status"] == "succeeded"
    g = wait_event(receiver, "run.succeeded", lambda b: b["data"]["run"]["id"] == ok["run"]["id"])
    assert g["verified"]
    data = g["body"]["data"]
    assert data["run"]["status"] == "succeeded" and data["run"]["operation"] == "create"
    assert data["resource"] == {"id": ok["resource"]["id"], "name": "evt-ok", "cloud": "sandbox", "kind": "vm"}
    n = wait_for(lambda: notes(member, "run_succeeded"), 30, "the member's run_succeeded")[0]
    assert n["run_id"] == ok["run"]["id"] and n["resource_id"] == ok["resource"]["id"]
    assert n["resource_name"] == "evt-ok" and "succeeded" in n["message"] and n["expires_at"] is None
    assert notes(u, "run_succeeded") == []  # the owner did not ask for it

    # run.failed.
    bad = u.create_vm(p["id"], acct["id"], name="evt-bad", simulate_failure=True)
    assert u.wait_run(bad["run"]["id"])["status"] == "failed"
    g = wait_event(receiver, "run.failed", lambda b: b["data"]["run"]["id"] == bad["run"]["id"])
    assert g["verified"] and g["body"]["data"]["run"]["status"] == "failed"
    n = wait_for(lambda: notes(u, "run_failed"), 30, "run_failed")[0]
    assert n["run_id"] == bad["run"]["id"] and "failed" in n["message"]

    # run.needs_approval, to owners and admins.
    u.ok("PATCH", "/projects/" + p["id"], {"require_approval": True})
    wait = member.create_vm(p["id"], acct["id"], name="evt-wait")
    assert member.wait_run(wait["run"]["id"], until=("awaiting_approval",))["status"] == "awaiting_approval"
    g = wait_event(receiver, "run.needs_approval", lambda b: b["data"]["run"]["id"] == wait["run"]["id"])
    assert g["body"]["data"]["run"]["status"] == "awaiting_approval"
    n = wait_for(lambda: notes(u, "run_needs_approval"), 30, "run_needs_approval")[0]
    assert n["run_id"] == wait["run"]["id"] and "approval" in n["message"]
    assert notes(member, "run_needs_approval") == []
    # Each delivery of the project went to this one webhook once, signed.
    assert all(g["verified"] for g in receiver.got)
    ids = [g["headers"]["X-Cloudplane-Delivery"] for g in receiver.got]
    assert len(ids) == len(set(ids))


def test_drift_and_expiry_events(make_server, store_env, receiver):
    import secrets
    import requests
    s = make_server(env=dict(ALLOW, **FAST, **store_env))
    u = Api(s)
    p = u.project(name="evt2")
    key = "sbx_" + secrets.token_hex(16)
    acct = u.ok("POST", "/projects/%s/accounts" % p["id"],
                {"name": "sandbox", "cloud": "sandbox", "credentials": {"api_key": key}}, 201)
    w = hook(u, p, receiver.url, events=["resource.drifted", "resource.expiring", "resource.expired"])
    order = u.create_vm(p["id"], acct["id"], name="evt-drift")
    rid = order["resource"]["id"]
    assert u.wait_run(order["run"]["id"], timeout=180)["status"] == "succeeded"
    # Out of band: a resize in the sandbox cloud, then a drift check.
    iid = u.ok("GET", "/resources/" + rid)["outputs"]["id"][len("sbx-"):]
    r = requests.patch(s.url + "/sandbox/v1/instances/" + iid, json={"size": "sandbox.large"}, timeout=30,
                       headers={"Authorization": "Bearer " + key})
    assert r.status_code == 200, r.text
    chk = u.ok("POST", "/resources/%s/drift-check" % rid, status=202)
    assert u.wait_run(chk["run"]["id"], timeout=180)["status"] == "succeeded"
    g = wait_event(receiver, "resource.drifted", lambda b: b["data"]["resource"]["id"] == rid)
    assert g["verified"] and g["body"]["data"]["drift_status"] == "drifted"
    n = wait_for(lambda: notes(u, "resource_drifted"), 30, "resource_drifted")[0]
    assert n["resource_id"] == rid and "drifted" in n["message"]
    # A second check finding the same drift tells nobody again.
    chk = u.ok("POST", "/resources/%s/drift-check" % rid, status=202)
    assert u.wait_run(chk["run"]["id"], timeout=180)["status"] == "succeeded"
    assert len(receiver.events("resource.drifted")) == 1 and len(notes(u, "resource_drifted")) == 1

    # Expiry: an order ending in seconds gets the 1 h reminder, then expires.
    exp = u.ok("POST", "/resources", {"project_id": p["id"], "account_id": acct["id"], "kind": "vm",
                                      "name": "evt-exp", "region": "sandbox-east-1", "size": "sandbox.small",
                                      "expires_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                                                  time.gmtime(time.time() + 8)),
                                      "config": {"ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnE1J2m9Xb"
                                                 "KpVqRr6pSgKX6eVg3lXq6vJ0v0b6O1c0X t@c",
                                                 "allowed_cidrs": ["198.51.100.0/24"]}}, 202)
    xid = exp["resource"]["id"]
    g = wait_event(receiver, "resource.expiring", lambda b: b["data"]["resource"]["id"] == xid)
    assert g["body"]["data"]["remaining"] == "1h" and g["body"]["data"]["expires_at"]
    g = wait_event(receiver, "resource.expired", lambda b: b["data"]["resource"]["id"] == xid)
    assert g["body"]["data"]["run_id"]
    kinds = {n["kind"] for n in notes(u) if n["resource_id"] == xid}
    assert {"expiring_1h", "expired"} <= kinds
    # One notification per kind, not one from the reminder and another from the event.
    assert len([n for n in notes(u) if n["resource_id"] == xid and n["kind"] == "expiring_1h"]) == 1
    assert all(g["verified"] for g in receiver.got)
    assert u.ok("GET", "/webhooks/" + w["id"])["last_delivery"]["status"] in ("pending", "succeeded")


# ---- distributed: two workers, each delivery sent once ----


def test_distributed_each_delivery_sent_once(cluster, receiver):
    # The API sends nothing itself: only the two worker processes do.
    api = cluster.api(CLOUDPLANE_WORKERS="0", **ALLOW)
    cluster.worker(**ALLOW)
    cluster.worker(**ALLOW)
    u = Api(api)
    p = u.project(name="dist")
    w = hook(u, p, receiver.url)
    pings = [u.ok("POST", "/webhooks/%s/test" % w["id"], status=202)["id"] for _ in range(20)]
    for did in pings:
        assert settled(u, w["id"], did)["status"] == "succeeded"
    for did in pings:
        assert len(receiver.of(did)) == 1, did
    assert all(g["verified"] for g in receiver.got)


# ---- SMTP: notifications by mail ----

class SmtpSink:
    """A minimal SMTP server (enough of RFC 5321 for libcurl) that keeps
    each message: (mail from, rcpt to, data)."""

    def __init__(self):
        self.mails = []
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line):
                self.wfile.write((line + "\r\n").encode())

            def handle(self):
                self.reply("220 sink ESMTP")
                frm, to = None, []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode(errors="replace").strip()
                    up = cmd.upper()
                    if up.startswith("EHLO") or up.startswith("HELO"):
                        self.reply("250 sink")
                    elif up.startswith("MAIL FROM:"):
                        frm, to = cmd[10:].strip(), []
                        self.reply("250 ok")
                    elif up.startswith("RCPT TO:"):
                        to.append(cmd[8:].strip())
                        self.reply("250 ok")
                    elif up == "DATA":
                        self.reply("354 go on")
                        data = []
                        while True:
                            d = self.rfile.readline()
                            if not d or d in (b".\r\n", b".\n"):
                                break
                            data.append(d)
                        sink.mails.append((frm, to, b"".join(data).decode(errors="replace")))
                        self.reply("250 queued")
                    elif up == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 ok")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.srv = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.port = self.srv.server_address[1]

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_notifications_mailed_through_smtp(make_server):
    sink = SmtpSink()
    try:
        s = make_server(env={"CLOUDPLANE_SMTP_URL": "smtp://127.0.0.1:%d" % sink.port,
                             "CLOUDPLANE_SMTP_FROM": "cloudplane@example.com",
                             "CLOUDPLANE_SMTP_USER": "", "CLOUDPLANE_SMTP_PASSWORD": "pw-never-logged-123"})
        # Sign-up mails go through SMTP too (one mail path): the link arrives there.
        u = SmtpApi(s, sink)
        p = u.project(name="mailed")
        acct = u.sandbox_account(p["id"])
        bad = u.create_vm(p["id"], acct["id"], name="mail-bad", simulate_failure=True)
        assert u.wait_run(bad["run"]["id"])["status"] == "failed"
        mail = wait_for(lambda: next((m for m in sink.mails if "mail-bad" in m[2] and "failed" in m[2]), None), 60,
                        "the run_failed mail")
        assert mail[1] == ["<%s>" % u.user["email"]] and mail[0] == "<cloudplane@example.com>"
        assert "Subject: [cloudplane] mailed:" in mail[2]
        # The notification is in the list as well.
        assert [n["kind"] for n in u.ok("GET", "/notifications")["items"]].count("run_failed") == 1
        assert "pw-never-logged-123" not in s.logs()
    finally:
        sink.close()


class SmtpApi(Api):
    """An Api whose sign-up link is read from the SMTP sink."""

    def __init__(self, server, sink):
        import requests
        email = "mail%d@example.com" % int(time.time() * 1e6)
        r = requests.post(server.url + "/api/v1/auth/signup", json={"email": email}, timeout=30)
        assert r.status_code == 202, r.text
        mail = wait_for(lambda: next((m for m in sink.mails if m[1] == ["<%s>" % email]), None), 30, "sign-up mail")
        token = re.search(r"#token=([A-Za-z0-9_-]+)", mail[2]).group(1)
        r = requests.post(server.url + "/api/v1/auth/signup/complete",
                          json={"token": token, "password": "correct horse battery", "name": "M"}, timeout=30)
        assert r.status_code == 201, r.text
        self.s = server
        self.token = r.json()["access_token"]
        self.user = r.json()["user"]


def test_vault_key_rotation_reseals_webhook_secrets(make_server, tmp_path, receiver):
    import base64
    import subprocess
    from conftest import BINARY
    keys = tmp_path / "vault.keys"
    old = "old:" + base64.b64encode(b"o" * 32).decode()
    new = "new:" + base64.b64encode(b"n" * 32).decode()
    keys.write_text(old + "\n")
    s = make_server(env=dict(ALLOW, CLOUDPLANE_VAULT_KEYS_FILE=str(keys)))
    u = Api(s)
    p = u.project(name="rot")
    w = hook(u, p, receiver.url)
    s.stop()
    keys.write_text(new + "\n" + old + "\n")
    out = subprocess.run([BINARY, "admin", "rotate-vault-key", "--data-dir", s.data_dir],
                         env=dict(s.env, CLOUDPLANE_VAULT_KEYS_FILE=str(keys)), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "re-sealed 1 webhook secret(s); 0 failed" in out.stdout, out.stdout
    # Only the new key now: the secret still opens and signs.
    keys.write_text(new + "\n")
    s2 = make_server(env=dict(ALLOW, CLOUDPLANE_VAULT_KEYS_FILE=str(keys)), data_dir=s.data_dir)
    u.s = s2
    ping = u.ok("POST", "/webhooks/%s/test" % w["id"], status=202)
    assert settled(u, w["id"], ping["id"])["status"] == "succeeded"
    assert receiver.of(ping["id"])[0]["verified"]
    assert SECRET not in out.stdout + out.stderr + s2.logs()
