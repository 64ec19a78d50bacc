"""Prometheus metrics on /metrics: the text format (checked by promtool where it
is installed, and always by the strict parser below), the families the issue
lists moving with the work they count, bounded labels, the separate listener
and the token, and a worker process's own metrics in distributed mode."""
import json
import math
import os
import re
import secrets
import shutil
import socket
import subprocess
import uuid

import pytest
import requests

from conftest import BINARY, Api, assert_error
from distributed import wait_for
from test_guardrails import put_rules, setup, vm_order
from test_sessions import FAST_CANCEL, Stream, cancel, slow_run
from test_webhooks import ALLOW, hook, receiver, settled  # noqa: F401 (receiver is a fixture)

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class FormatError(AssertionError):
    pass


def _labels(text, lineno):
    """Parses `a="x",b="y"` (the text between the braces) strictly: escapes are only \\\\, \\" and \\n."""
    out, i = {}, 0
    while i < len(text):
        m = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"").match(text, i)
        if not m:
            raise FormatError("line %d: bad label at %r" % (lineno, text[i:]))
        name, i, val = m.group(1), m.end(), []
        while True:
            if i >= len(text):
                raise FormatError("line %d: unterminated label value" % lineno)
            c = text[i]
            if c == "\\":
                nxt = text[i + 1:i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise FormatError("line %d: bad escape \\%s" % (lineno, nxt))
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise FormatError("line %d: newline in a label value" % lineno)
            else:
                val.append(c)
                i += 1
        if name in out:
            raise FormatError("line %d: label %s twice" % (lineno, name))
        out[name] = "".join(val)
        if i < len(text):
            if text[i] != ",":
                raise FormatError("line %d: expected ',' at %r" % (lineno, text[i:]))
            i += 1
    return out


def _value(s, lineno):
    if s in ("+Inf", "-Inf", "NaN"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise FormatError("line %d: bad value %r" % (lineno, s))
    return float(s)


def _family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
            return base
    return name


def parse(text):
    """The text format 0.0.4, strictly: HELP and TYPE at most once per family
    and before its samples, a family's lines together, no series twice, valid
    names, labels and values, counters named *_total, and histograms whole
    (every series has le-ordered cumulative buckets ending in +Inf that equal
    its _count, and a _sum). Returns {(name, frozenset(labels)): value}."""
    if not text.endswith("\n"):
        raise FormatError("no final newline")
    types, helps, series, done, current = {}, {}, {}, set(), None
    for lineno, line in enumerate(text[:-1].split("\n"), 1):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) < 3 or parts[1] not in ("HELP", "TYPE"):
                continue  # a comment
            kind, name = parts[1], parts[2]
            if not NAME.match(name):
                raise FormatError("line %d: bad metric name %r" % (lineno, name))
            if name in done and name != current:
                raise FormatError("line %d: family %s split" % (lineno, name))
            seen = helps if kind == "HELP" else types
            if name in seen:
                raise FormatError("line %d: second %s for %s" % (lineno, kind, name))
            if kind == "TYPE":
                if len(parts) != 4 or parts[3] not in TYPES:
                    raise FormatError("line %d: bad type %r" % (lineno, line))
                if any(_family_of(n, types) == name for n, _ in series):
                    raise FormatError("line %d: TYPE after samples of %s" % (lineno, name))
                types[name] = parts[3]
            else:
                if len(parts) != 4 or not parts[3].strip():
                    raise FormatError("line %d: empty HELP" % lineno)
                helps[name] = parts[3]
            if current != name and current:
                done.add(current)
            current = name
            continue
        if not line.strip():
            raise FormatError("line %d: blank line" % lineno)
        m = re.fullmatch(r"([^{ ]+)(?:\{(.*)\})? (\S+)(?: (-?\d+))?", line)
        if not m:
            raise FormatError("line %d: bad sample %r" % (lineno, line))
        name, labels = m.group(1), _labels(m.group(2) or "", lineno)
        if not NAME.match(name):
            raise FormatError("line %d: bad metric name %r" % (lineno, name))
        fam = _family_of(name, types)
        if fam in done and fam != current:
            raise FormatError("line %d: family %s split" % (lineno, fam))
        if current != fam and current:
            done.add(current)
        current = fam
        key = (name, frozenset(labels.items()))
        if key in series:
            raise FormatError("line %d: series twice: %r" % (lineno, line))
        series[key] = _value(m.group(3), lineno)
        if types.get(fam) == "counter" and not fam.endswith("_total"):
            raise FormatError("line %d: counter %s not named *_total" % (lineno, fam))
        if types.get(fam) == "counter" and series[key] < 0:
            raise FormatError("line %d: negative counter" % lineno)
    _check_histograms(types, series)
    return series


def _check_histograms(types, series):
    for fam, t in types.items():
        if t != "histogram":
            continue
        groups = {}
        for (name, labels), v in series.items():
            if name == fam + "_bucket":
                d = dict(labels)
                le = d.pop("le", None)
                if le is None:
                    raise FormatError("%s bucket without le" % fam)
                groups.setdefault(frozenset(d.items()), []).append((float(le.replace("Inf", "inf")), v))
        for key, buckets in groups.items():
            buckets.sort()
            if not buckets or not math.isinf(buckets[-1][0]):
                raise FormatError("%s%s: no +Inf bucket" % (fam, dict(key)))
            counts = [v for _, v in buckets]
            if counts != sorted(counts):
                raise FormatError("%s%s: buckets not cumulative" % (fam, dict(key)))
            if series.get((fam + "_count", key)) != counts[-1]:
                raise FormatError("%s%s: _count is not the +Inf bucket" % (fam, dict(key)))
            if (fam + "_sum", key) not in series:
                raise FormatError("%s%s: no _sum" % (fam, dict(key)))
        for (name, labels) in series:
            if name == fam + "_count" and labels not in groups:
                raise FormatError("%s%s: _count without buckets" % (fam, dict(labels)))


def test_parser_refuses_what_it_should():
    good = "# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\"} 1\n"
    assert parse(good) == {("a_total", frozenset({("k", "v")})): 1.0}
    for bad in ("a_total 1",  # no final newline
                good + "a_total{k=\"v\"} 2\n",  # a series twice
                "# TYPE a counter\na 1\n",  # a counter not *_total
                "# TYPE a gauge\na{k=\"\\x\"} 1\n",  # a bad escape
                "# TYPE a gauge\na{1k=\"v\"} 1\n",  # a bad label name
                "# TYPE a gauge\na one\n",  # a bad value
                "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",  # a family split
                "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
                "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",  # no +Inf
                "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n"):
        with pytest.raises(FormatError):
            parse(bad)


def check_format(text):
    """Both checks: promtool's where it is installed (make test installs it), then the parser."""
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    return parse(text)


def scrape(url, token=None):
    r = requests.get(url + "/metrics", headers={"Authorization": "Bearer " + token} if token else {}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return r.text, check_format(r.text)


def value(series, name, **labels):
    return series.get((name, frozenset(labels.items())), 0.0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_families_runs_and_bounded_routes(make_server, store_env):
    server = make_server(env=store_env)
    text, before = scrape(server.url)
    for fam in ("cloudplane_runs", "cloudplane_drift_resources", "cloudplane_queue_depth", "cloudplane_workers",
                "cloudplane_state_lock_conflicts_total", "cloudplane_guardrail_checks_total",
                "cloudplane_webhook_deliveries_total", "cloudplane_event_streams", "process_cpu_seconds_total",
                "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds",
                "process_max_fds", "process_start_time_seconds", "cloudplane_up", "cloudplane_db_statements_total"):
        assert "# TYPE %s " % fam in text, fam
    # Every status is there, zeros included.
    for st in ("queued", "planning", "planned", "awaiting_approval", "applying", "succeeded", "failed", "canceled"):
        assert ("cloudplane_runs", frozenset({("status", st)})) in before
    for st in ("never_checked", "in_sync", "drifted", "missing", "check_failed"):
        assert ("cloudplane_drift_resources", frozenset({("status", st)})) in before
    assert value(before, "cloudplane_workers", state="idle") == 2  # CLOUDPLANE_WORKERS' default
    assert value(before, "process_open_fds") > 0 and value(before, "process_resident_memory_bytes") > 0

    u = Api(server)
    p = u.project(name="metrics")
    acct = u.sandbox_account(p["id"])
    created = u.create_vm(p["id"], acct["id"], name="met-1")
    assert u.wait_run(created["run"]["id"])["status"] == "succeeded"
    res_id = created["resource"]["id"]

    assert u.ok("GET", "/resources/" + res_id)["status"] == "active"

    _, after = scrape(server.url)
    assert value(after, "cloudplane_runs", status="succeeded") == value(before, "cloudplane_runs",
                                                                          status="succeeded") + 1
    assert value(after, "cloudplane_drift_resources", status="never_checked") == 1
    assert value(after, "cloudplane_run_phase_duration_seconds_count", phase="apply", cloud="sandbox") >= 1
    assert value(after, "cloudplane_run_phase_duration_seconds_sum", phase="apply", cloud="sandbox") > 0
    route = dict(route="/api/v1/resources/{id}", method="GET")
    assert value(after, "cloudplane_http_requests_total", code="200", **route) == 1
    assert value(after, "cloudplane_http_requests_total", route="/api/v1/resources", method="POST", code="202") == 1

    # Many ids on one route, many unknown paths: one series each grows, and a
    # second round adds no series at all. No id, email or name shows.
    def requests_round():
        ids = ["r" + secrets.token_hex(7) for _ in range(40)]
        for i in ids:
            assert u.call("GET", "/resources/" + i).status_code == 404
        unknown = ["/api/v1/nothing-%s" % secrets.token_hex(6) for _ in range(10)]
        for path in unknown:
            assert server.get(path).status_code == 404
        return ids + unknown

    seen = requests_round()
    text2, again = scrape(server.url)
    assert value(again, "cloudplane_http_requests_total", code="404", **route) == 40
    assert value(again, "cloudplane_http_request_duration_seconds_count", **route) == 41
    assert value(again, "cloudplane_http_requests_total", route="unmatched", method="GET", code="404") == 10
    new = [k for k in again if k not in after]
    assert all(k[0].startswith("cloudplane_http_") for k in new), new
    assert {dict(k[1])["route"] for k in new} <= {"unmatched", "/api/v1/resources/{id}"}, new
    seen += requests_round()
    text3, third = scrape(server.url)
    assert set(third) == set(again)
    assert value(third, "cloudplane_http_requests_total", code="404", **route) == 80
    for secret in seen + [res_id, u.user["email"], "met-1", p["id"], created["run"]["id"]]:
        assert secret not in text2 and secret not in text3

    # A destroy run's apply is the destroy phase.
    gone = u.ok("DELETE", "/resources/" + res_id, status=202)
    assert u.wait_run(gone["run"]["id"])["status"] == "succeeded"
    _, last = scrape(server.url)
    assert value(last, "cloudplane_run_phase_duration_seconds_count", phase="destroy", cloud="sandbox") == 1
    assert value(last, "cloudplane_run_phase_duration_seconds_count", phase="apply", cloud="sandbox") == \
        value(after, "cloudplane_run_phase_duration_seconds_count", phase="apply", cloud="sandbox")
    assert value(last, "cloudplane_drift_resources", status="never_checked") == 0


def test_guardrail_block_and_webhook_delivery_are_counted(make_server, receiver):  # noqa: F811
    s = make_server(env=ALLOW)
    u, p, acct, _ = setup(s)
    put_rules(u, p, {"allowed_sizes": {"level": "hard", "sizes": {"sandbox": ["sandbox.small"]}}})
    _, before = scrape(s.url)
    assert_error(u.call("POST", "/resources", vm_order(p, acct, "big-1", "sandbox.large")), 422, "guardrail_blocked")
    w = hook(u, p, receiver.url)
    ping = u.ok("POST", "/webhooks/%s/test" % w["id"], status=202)
    assert settled(u, w["id"], ping["id"])["status"] == "succeeded"
    _, after = scrape(s.url)
    blocked = dict(result="blocked", level="hard")
    assert value(after, "cloudplane_guardrail_checks_total", **blocked) == \
        value(before, "cloudplane_guardrail_checks_total", **blocked) + 1
    ok = dict(result="succeeded")
    assert value(after, "cloudplane_webhook_deliveries_total", **ok) == \
        value(before, "cloudplane_webhook_deliveries_total", **ok) + 1


def test_separate_listener_and_token(make_server):
    port = free_port()
    token = "mt-" + secrets.token_hex(20)
    s = make_server(env={"CLOUDPLANE_METRICS_LISTEN": "127.0.0.1:%d" % port, "CLOUDPLANE_METRICS_TOKEN": token})
    murl = "http://127.0.0.1:%d" % port
    assert_error(s.get("/metrics"), 404)
    assert_error(s.get("/metrics", headers={"Authorization": "Bearer " + token}), 404)
    # The listener serves /metrics only: no web UI, no API.
    assert requests.get(murl + "/", timeout=10).status_code == 404
    assert requests.get(murl + "/api/v1/openapi.yaml", timeout=10).status_code == 404
    err = assert_error(requests.get(murl + "/metrics", timeout=10), 401, "unauthorized")
    assert token not in err["message"]
    for wrong in ("Bearer " + token[:-1], "Bearer " + token + "x", "Basic " + token, token, "Bearer"):
        assert_error(requests.get(murl + "/metrics", headers={"Authorization": wrong}, timeout=10), 401)
    text, series = scrape(murl, token)
    assert value(series, "cloudplane_up") == 1
    # The main port's requests are counted; the listener's own are not.
    assert value(series, "cloudplane_http_requests_total", route="/metrics", method="GET", code="404") == 2
    assert not any(dict(k[1]).get("code") == "401" for k in series if k[0] == "cloudplane_http_requests_total")
    assert token not in s.logs() and token not in text


def test_token_on_the_main_port(make_server):
    token = "mt-" + secrets.token_hex(20)
    s = make_server(env={"CLOUDPLANE_METRICS_TOKEN": token})
    r = s.get("/metrics")
    assert_error(r, 401, "unauthorized")
    assert r.headers.get("WWW-Authenticate") == "Bearer"
    scrape(s.url, token)
    r = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True, timeout=30, env=s.env)
    assert "CLOUDPLANE_METRICS_TOKEN" in r.stdout + r.stderr and token not in r.stdout + r.stderr
    assert token not in s.logs()


def test_token_from_a_file(make_server, tmp_path):
    token = "mt-" + secrets.token_hex(20)
    path = tmp_path / "metrics-token"
    path.write_text(token + "\n")
    os.chmod(path, 0o600)
    s = make_server(env={"CLOUDPLANE_METRICS_TOKEN_FILE": str(path), "CLOUDPLANE_METRICS_TOKEN": "not-this-one"})
    assert_error(s.get("/metrics"), 401, "unauthorized")
    assert_error(s.get("/metrics", headers={"Authorization": "Bearer not-this-one"}), 401, "unauthorized")
    scrape(s.url, token)
    assert token not in s.logs()
    # A missing file stops the start with a clear error.
    r = subprocess.run([BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "d2")],
                       capture_output=True, text=True, timeout=30,
                       env=dict(s.env, CLOUDPLANE_METRICS_TOKEN_FILE=str(tmp_path / "missing")))
    assert r.returncode != 0 and "missing" in r.stderr, r.stderr


def test_worker_process_reports_its_runs(cluster):
    api = cluster.api()
    port = free_port()
    w = cluster.worker(CLOUDPLANE_METRICS_LISTEN="127.0.0.1:%d" % port)
    wurl = "http://127.0.0.1:%d" % port
    # The listener can answer before the worker thread has reported in (slow under ASan).
    wait_for(lambda: value(scrape(wurl)[1], "cloudplane_workers", state="idle") == 1, 30,
             "the worker thread idle in the worker's metrics")
    u = Api(api)
    p = u.project(name="dist-metrics")
    acct = u.sandbox_account(p["id"])
    created = u.create_vm(p["id"], acct["id"], name="dm-1")
    assert u.wait_run(created["run"]["id"])["status"] == "succeeded"
    assert {c["run_id"] for c in w.claims()} == {created["run"]["id"]}
    after = wait_for(lambda: (lambda s: s if value(s, "cloudplane_run_phase_duration_seconds_count", phase="apply",
                                                   cloud="sandbox") >= 1 else None)(scrape(wurl)[1]),
                     30, "the worker's apply phase in its metrics")
    assert value(after, "cloudplane_runs", status="succeeded") >= 1
    assert value(after, "cloudplane_state_lock_conflicts_total") == 0

    # Someone else holds the state lock: the update fails on it, and the worker counts it.
    res_id = created["resource"]["id"]
    info = {"ID": str(uuid.uuid4()), "Operation": "OperationTypeApply", "Info": "", "Who": "ops@elsewhere",
            "Version": "1.10.0", "Created": "2026-01-01T00:00:00Z", "Path": cluster.state_path(res_id)}
    cluster._aws("dynamodb").put_item(TableName=cluster.table, Item={"LockID": {"S": cluster.state_path(res_id)},
                                                                     "Info": {"S": json.dumps(info)}})
    upd = u.ok("PATCH", "/resources/" + res_id, {"size": "sandbox.medium"}, 202)
    failed = u.wait_run(upd["run"]["id"])
    assert failed["status"] == "failed" and "ops@elsewhere" in (failed.get("error") or ""), failed
    assert value(scrape(wurl)[1], "cloudplane_state_lock_conflicts_total") == 1
    # The API process ran no tofu: no phase durations there.
    _, at_api = scrape(api.url)
    assert not any(k[0].startswith("cloudplane_run_phase_duration_seconds") for k in at_api)


def test_busy_worker_and_open_stream(make_server):
    s = make_server(env=FAST_CANCEL)
    u = Api(s)
    _, run_id = slow_run(u, "slow-metrics")
    u.wait_run(run_id, until=("applying",))
    stream = Stream(s, run_id, token=u.token)
    try:
        got = wait_for(lambda: (lambda m: m if value(m, "cloudplane_event_streams") == 1 else None)(scrape(s.url)[1]),
                       30, "the open stream in the metrics")
        assert value(got, "cloudplane_workers", state="busy") == 1
        assert value(got, "cloudplane_workers", state="idle") == 1
        assert value(got, "cloudplane_runs", status="applying") == 1
    finally:
        cancel(u, run_id)
        stream.close()
    wait_for(lambda: value(scrape(s.url)[1], "cloudplane_event_streams") == 0, 30, "the stream to be gone")
    _, done = scrape(s.url)
    assert value(done, "cloudplane_workers", state="busy") == 0 and value(done, "cloudplane_runs", status="canceled") == 1
