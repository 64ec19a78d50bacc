"""The sandbox cloud's API (/sandbox/v1) over HTTP: the real binary on SQLite
and PostgreSQL, keys from sandbox cloud accounts and from
`cloudplane admin sandbox-key`."""
import ipaddress
import re
import secrets
import subprocess
import time
from datetime import datetime

import pytest
import requests

from conftest import BINARY, SSH_KEY, Api, assert_error

KEY_RE = re.compile(r"^sbx_[0-9a-f]{32}$")


def new_key():
    return "sbx_" + secrets.token_hex(16)


class Sandbox:
    """A client of the sandbox cloud with one key; keeps every reply's text."""

    def __init__(self, server, key, seen):
        self.s, self.key, self.seen = server, key, seen

    def call(self, method, path, body=None, key=None, **kw):
        headers = kw.pop("headers", {})
        k = self.key if key is None else key
        if k:
            headers["Authorization"] = "Bearer " + k
        if body is not None:
            kw["json"] = body
        r = requests.request(method, self.s.url + "/sandbox/v1" + path, headers=headers, timeout=30, **kw)
        self.seen.append(r.text + " " + " ".join("%s: %s" % h for h in r.headers.items()))
        assert r.status_code < 500, (method, path, r.status_code, r.text)
        return r

    def ok(self, method, path, body=None, status=200):
        r = self.call(method, path, body)
        assert r.status_code == status, (method, path, r.status_code, r.text)
        return r.json() if r.content else None


def account_with_key(api, project_id, key, name="sandbox"):
    creds = {"api_key": key} if key else {}
    return api.ok("POST", "/projects/%s/accounts" % project_id,
                  {"name": name, "cloud": "sandbox", "credentials": creds}, 201)


def rfc3339(s):
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", s), s
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@pytest.fixture
def cloud(make_server, store_env):
    """A server, a signed-in user with a project, and a key registered by a sandbox account."""
    s = make_server(env=store_env)
    u = Api(s)
    p = u.project(name="sbx")
    key = new_key()
    acct = account_with_key(u, p["id"], key)
    assert acct["hint"] == "sbx_…" + key[-4:]
    seen = []
    return s, u, p, Sandbox(s, key, seen), seen


INSTANCE = {"name": "web-1", "region": "sandbox-east-1", "size": "sandbox.small", "ssh_public_key": SSH_KEY,
            "allowed_cidrs": ["198.51.100.0/24"], "tags": {"env": "test"}}


def test_instance_crud(cloud):
    s, _, _, sb, seen = cloud
    inst = sb.ok("POST", "/instances", INSTANCE, 201)
    assert re.match(r"^i-[0-9a-f]+$", inst["id"])
    for k, v in INSTANCE.items():
        assert inst[k] == v, k
    assert inst["status"] == "running"
    assert ipaddress.ip_address(inst["public_ip"]) in ipaddress.ip_network("203.0.113.0/24")
    assert ipaddress.ip_address(inst["private_ip"]) in ipaddress.ip_network("10.0.0.0/8")
    assert rfc3339(inst["created_at"]) == rfc3339(inst["updated_at"])
    assert set(inst) == {"id", "name", "region", "size", "ssh_public_key", "allowed_cidrs", "tags", "public_ip",
                         "private_ip", "status", "created_at", "updated_at", "power_state"}
    assert inst["power_state"] == "running"

    got = sb.ok("GET", "/instances/" + inst["id"])
    assert got == inst  # addresses are stable

    time.sleep(0.01)
    patched = sb.ok("PATCH", "/instances/" + inst["id"],
                    {"size": "sandbox.large", "allowed_cidrs": ["203.0.113.0/24", "10.0.0.0/8"], "tags": {},
                     "ssh_public_key": ""})
    assert patched["size"] == "sandbox.large" and patched["tags"] == {} and patched["ssh_public_key"] == ""
    assert patched["allowed_cidrs"] == ["203.0.113.0/24", "10.0.0.0/8"]
    assert patched["name"] == "web-1" and patched["public_ip"] == inst["public_ip"]
    assert rfc3339(patched["updated_at"]) > rfc3339(inst["updated_at"])
    assert sb.ok("PATCH", "/instances/" + inst["id"], {"tags": {"a": "b"}})["size"] == "sandbox.large"
    # Stopped and started in place; the stop keeps everything else.
    stopped = sb.ok("PATCH", "/instances/" + inst["id"], {"power_state": "stopped"})
    assert stopped["power_state"] == "stopped" and stopped["public_ip"] == inst["public_ip"]
    assert stopped["size"] == "sandbox.large" and stopped["tags"] == {"a": "b"}
    assert sb.ok("PATCH", "/instances/" + inst["id"], {"power_state": None})["power_state"] == "stopped"
    assert_error(sb.call("PATCH", "/instances/" + inst["id"], {"power_state": "paused"}), 422, "invalid_power_state",
                 "power_state")
    assert sb.ok("PATCH", "/instances/" + inst["id"], {"power_state": "running"})["power_state"] == "running"

    for field, value in (("name", "web-2"), ("region", "sandbox-west-1")):
        r = sb.call("PATCH", "/instances/" + inst["id"], {field: value})
        assert_error(r, 422, "not_patchable", field)
    assert sb.ok("GET", "/instances/" + inst["id"])["name"] == "web-1"

    assert sb.call("DELETE", "/instances/" + inst["id"]).status_code == 204
    assert_error(sb.call("GET", "/instances/" + inst["id"]), 404)
    assert_error(sb.call("PATCH", "/instances/" + inst["id"], {"size": "x"}), 404)
    assert_error(sb.call("DELETE", "/instances/" + inst["id"]), 404)

    # Optional fields default to empty.
    bare = sb.ok("POST", "/instances", {"name": "n", "region": "r", "size": "s"}, 201)
    assert bare["ssh_public_key"] == "" and bare["allowed_cidrs"] == [] and bare["tags"] == {}
    assert bare["power_state"] == "running"
    assert sb.ok("POST", "/instances", dict(INSTANCE, power_state="stopped"), 201)["power_state"] == "stopped"
    assert_error(sb.call("POST", "/instances", dict(INSTANCE, power_state="off")), 422, "invalid_power_state")
    assert sb.key not in " ".join(seen) and sb.key not in s.logs()


def test_bucket_crud(cloud):
    s, _, _, sb, seen = cloud
    name = "bkt-%s" % secrets.token_hex(4)
    b = sb.ok("POST", "/buckets", {"name": name, "region": "sandbox-east-1", "tags": {"t": "1"},
                                   "versioning": True, "public": False}, 201)
    assert re.match(r"^b-[0-9a-f]+$", b["id"])
    assert b["url"] == "sandbox://" + name and b["versioning"] is True and b["public"] is False
    assert b["tags"] == {"t": "1"} and b["region"] == "sandbox-east-1"
    rfc3339(b["created_at"])
    assert set(b) == {"id", "name", "region", "tags", "versioning", "public", "url", "created_at", "updated_at"}
    assert sb.ok("GET", "/buckets/" + b["id"]) == b

    p = sb.ok("PATCH", "/buckets/" + b["id"], {"public": True})
    assert p["public"] is True and p["versioning"] is True and p["tags"] == {"t": "1"}
    p = sb.ok("PATCH", "/buckets/" + b["id"], {"versioning": False, "tags": {}})
    assert p["public"] is True and p["versioning"] is False and p["tags"] == {}
    assert_error(sb.call("PATCH", "/buckets/" + b["id"], {"name": "other"}), 422, "not_patchable", "name")
    assert_error(sb.call("PATCH", "/buckets/" + b["id"], {"region": "x"}), 422, "not_patchable", "region")

    # Defaults.
    d = sb.ok("POST", "/buckets", {"name": name + "-d", "region": "r"}, 201)
    assert d["versioning"] is False and d["public"] is False and d["tags"] == {}

    assert sb.call("DELETE", "/buckets/" + b["id"]).status_code == 204
    assert_error(sb.call("GET", "/buckets/" + b["id"]), 404)
    assert_error(sb.call("DELETE", "/buckets/" + b["id"]), 404)
    # The name of a deleted bucket is free again.
    sb.ok("POST", "/buckets", {"name": name, "region": "sandbox-east-1"}, 201)
    assert sb.key not in " ".join(seen) and sb.key not in s.logs()


def test_keys_tenants_and_bucket_names(cloud):
    s, u, p, sb, seen = cloud
    inst = sb.ok("POST", "/instances", INSTANCE, 201)
    name = "shared-%s" % secrets.token_hex(4)
    b = sb.ok("POST", "/buckets", {"name": name, "region": "r"}, 201)

    # No key, an unknown key, a malformed key, another scheme: 401 in the error shape.
    for headers in ({}, {"Authorization": "Bearer " + new_key()}, {"Authorization": "Bearer sbx_123"},
                    {"Authorization": "Bearer " + sb.key.upper()}, {"Authorization": "Basic " + sb.key},
                    {"Authorization": "Bearer "}):
        for method, path in (("GET", "/instances/" + inst["id"]), ("POST", "/buckets"),
                             ("DELETE", "/buckets/" + b["id"])):
            r = sb.call(method, path, {"name": "x", "region": "r"} if method == "POST" else None, key="",
                        headers=dict(headers))
            err = assert_error(r, 401)
            assert err["code"] in ("unauthorized", "invalid_api_key")

    # Another tenant (a second account, its own key) sees 404 for everything of the first.
    other_key = new_key()
    account_with_key(u, p["id"], other_key, name="other")
    other = Sandbox(s, other_key, seen)
    for method, path, body in (("GET", "/instances/" + inst["id"], None),
                               ("PATCH", "/instances/" + inst["id"], {"size": "x"}),
                               ("DELETE", "/instances/" + inst["id"], None),
                               ("GET", "/buckets/" + b["id"], None),
                               ("PATCH", "/buckets/" + b["id"], {"public": True}),
                               ("DELETE", "/buckets/" + b["id"], None)):
        assert_error(other.call(method, path, body), 404)
    assert sb.ok("GET", "/instances/" + inst["id"])["size"] == "sandbox.small"
    assert sb.ok("GET", "/buckets/" + b["id"])["public"] is False

    # A live bucket name is taken for every tenant.
    assert_error(other.call("POST", "/buckets", {"name": name, "region": "r"}), 409, "bucket_name_taken", "name")
    assert_error(sb.call("POST", "/buckets", {"name": name, "region": "r"}), 409, "bucket_name_taken", "name")

    # A sandbox account without a key gets a generated one, shown only as a hint.
    gen = account_with_key(u, p["id"], None, name="generated")
    assert re.match(r"^sbx_…[0-9a-f]{4}$", gen["hint"])
    listed = u.ok("GET", "/projects/%s/accounts" % p["id"])
    assert all(sb.key not in str(a) and other_key not in str(a) for a in listed["items"])
    # A malformed key is refused by the catalog's rule, without echoing it.
    bad = "sbx_" + "Z" * 32
    r = u.call("POST", "/projects/%s/accounts" % p["id"],
               {"name": "bad", "cloud": "sandbox", "credentials": {"api_key": bad}})
    assert_error(r, 422, field="credentials.api_key")
    assert bad not in r.text

    cat = u.ok("GET", "/catalog")
    sandbox = [c for c in cat["clouds"] if c["id"] == "sandbox"][0]
    assert [(f["name"], f["generated"], f["required"]) for f in sandbox["credentials"]] == [("api_key", True, False)]

    logs = s.logs()
    for k in (sb.key, other_key):
        assert k not in " ".join(seen) and k not in logs


BAD_BODIES = [
    ('{"name": "a"', 400),
    ("[]", 400),
    ('"text"', 400),
    ("", 400),
    ('{"name":"a","region":"r","size":"s","bogus":1}', 400),
    ('{"name":1,"region":"r","size":"s"}', 422),
    ('{"region":"r","size":"s"}', 422),
    ('{"name":null,"region":"r","size":"s"}', 422),
    ('{"name":"","region":"r","size":"s"}', 422),
    ('{"name":"' + "a" * 129 + '","region":"r","size":"s"}', 422),
    ('{"name":"a\\u0001b","region":"r","size":"s"}', 422),
    ('{"name":"a","region":"r","size":"s","allowed_cidrs":"10.0.0.0/8"}', 422),
    ('{"name":"a","region":"r","size":"s","allowed_cidrs":[1,2]}', 422),
    ('{"name":"a","region":"r","size":"s","allowed_cidrs":[""]}', 422),
    ('{"name":"a","region":"r","size":"s","allowed_cidrs":[' + ",".join(['"10.0.0.0/8"'] * 65) + "]}", 422),
    ('{"name":"a","region":"r","size":"s","tags":[]}', 422),
    ('{"name":"a","region":"r","size":"s","tags":{"k":1}}', 422),
    ('{"name":"a","region":"r","size":"s","tags":{"k":{"x":"y"}}}', 422),
    ('{"name":"a","region":"r","size":"s","tags":{"":"v"}}', 422),
    ('{"name":"a","region":"r","size":"s","tags":{"k":"' + "v" * 257 + '"}}', 422),
    ('{"name":"a","region":"r","size":"s","tags":{' + ",".join('"k%d":"v"' % i for i in range(51)) + "}}", 422),
    ('{"name":"a","region":"r","size":"s","ssh_public_key":' + '"' + "A" * 9000 + '"}', 422),
    ('{"name":"a","name":"b","region":"r","size":"s"}', 400),
    ('{"name":"a\\u0000","region":"r","size":"s"}', 400),
]


def test_bad_input_is_refused_never_5xx(cloud):
    s, _, _, sb, seen = cloud
    inst = sb.ok("POST", "/instances", INSTANCE, 201)
    json_ct = {"Content-Type": "application/json"}
    for body, status in BAD_BODIES:
        r = sb.call("POST", "/instances", data=body.encode(), headers=dict(json_ct))
        assert r.status_code == status, (body[:80], r.status_code, r.text)
        err = assert_error(r, status)
        if status == 422:
            assert err.get("field"), (body[:80], r.text)
    # The same on PATCH and on buckets.
    for body in ('{"size":5}', '{"tags":"x"}', '{"allowed_cidrs":{}}', '{"ssh_public_key":[]}'):
        r = sb.call("PATCH", "/instances/" + inst["id"], data=body.encode(), headers=dict(json_ct))
        assert_error(r, 422)
    assert_error(sb.call("PATCH", "/instances/" + inst["id"], {"status": "stopped"}), 400, "unknown_field")
    for body in ('{"name":"b","region":"r","versioning":"yes"}', '{"name":"b","region":"r","public":1}',
                 '{"name":"' + "b" * 64 + '","region":"r"}'):
        r = sb.call("POST", "/buckets", data=body.encode(), headers=dict(json_ct))
        assert_error(r, 422)
    # Not JSON, invalid UTF-8, too big.
    assert_error(sb.call("POST", "/instances", data=b"name=a", headers={"Content-Type": "text/plain"}), 415)
    assert sb.call("POST", "/instances", data=b'{"name":"\xff\xfe","region":"r","size":"s"}',
                   headers=dict(json_ct)).status_code == 400
    big = b'{"name":"' + b"a" * (2 << 20) + b'"}'
    assert_error(sb.call("POST", "/instances", data=big, headers=dict(json_ct)), 413)
    # Ids that cannot exist, odd paths and methods.
    for path in ("/instances/x", "/instances/i-", "/instances/i-ZZZZZZZZZZZZZZZZ", "/instances/" + "i-" + "a" * 200,
                 "/instances/b-0123456789abcdef", "/buckets/i-0123456789abcdef", "/instances/%2e%2e",
                 "/instances/i-0123456789abcdef", "/nothing", "/instances/i-0123456789abcdef/x"):
        assert_error(sb.call("GET", path), 404)
    assert_error(sb.call("PUT", "/instances/" + inst["id"], {}), 405)
    assert_error(sb.call("GET", "/instances"), 405)
    assert sb.ok("GET", "/instances/" + inst["id"]) == inst
    assert sb.key not in " ".join(seen) and sb.key not in s.logs()


def test_throttling_per_key(make_server, store_env):
    env = dict(store_env, CLOUDPLANE_SANDBOX_RATE="2")
    s = make_server(env=env)
    u = Api(s)
    p = u.project()
    k1, k2 = new_key(), new_key()
    account_with_key(u, p["id"], k1, "a")
    account_with_key(u, p["id"], k2, "b")
    seen = []
    a, b = Sandbox(s, k1, seen), Sandbox(s, k2, seen)
    inst = a.ok("POST", "/instances", INSTANCE, 201)
    codes, throttled = [], None
    for _ in range(12):
        r = a.call("GET", "/instances/" + inst["id"])
        codes.append(r.status_code)
        if r.status_code == 429:
            throttled = r
    assert set(codes) <= {200, 429} and 429 in codes, codes
    assert codes.count(200) <= 5, codes  # burst 4 (2x rate), the POST took one, plus refill
    assert_error(throttled, 429, "throttled")
    assert throttled.headers["Retry-After"] == "1"
    # Per key: the other key is not throttled.
    assert b.call("GET", "/instances/" + inst["id"]).status_code == 404
    time.sleep(1.1)
    assert a.call("GET", "/instances/" + inst["id"]).status_code == 200
    # An unknown key is refused, never throttled.
    assert_error(a.call("GET", "/instances/" + inst["id"], key=new_key()), 401)
    assert k1 not in " ".join(seen) and k1 not in s.logs()


def test_admin_sandbox_key_prints_a_usable_key(make_server, store_env):
    s = make_server(env=store_env)
    out = subprocess.run([BINARY, "admin", "sandbox-key", "--data-dir", s.data_dir], capture_output=True, text=True,
                         timeout=30, env=s.env)
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip()
    assert KEY_RE.match(key), out.stdout
    assert key not in out.stderr
    seen = []
    sb = Sandbox(s, key, seen)
    inst = sb.ok("POST", "/instances", {"name": "cli", "region": "r", "size": "s"}, 201)
    assert sb.ok("GET", "/instances/" + inst["id"])["name"] == "cli"
    # Each call makes a new key: a different tenant.
    out2 = subprocess.run([BINARY, "admin", "sandbox-key", "--data-dir", s.data_dir], capture_output=True, text=True,
                          timeout=30, env=s.env)
    key2 = out2.stdout.strip()
    assert KEY_RE.match(key2) and key2 != key
    assert_error(Sandbox(s, key2, seen).call("GET", "/instances/" + inst["id"]), 404)
    assert key not in " ".join(seen) and key not in s.logs()
