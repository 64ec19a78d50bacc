"""Cloud credentials never appear in API responses, run events, logs or files."""
import base64
import json
import os

from conftest import Api, SSH_KEY

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
GCP_PRIVATE = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Zq3cqG0TESTKEY\n" \
              "-----END PRIVATE KEY-----\n"
GCP_KEY = json.dumps({"type": "service_account", "project_id": "cp-test-project",
                      "private_key_id": "0123456789abcdef0123456789abcdef01234567", "private_key": GCP_PRIVATE,
                      "client_email": "runner@cp-test-project.iam.gserviceaccount.com",
                      "client_id": "123456789012345678901"})


def forms(secret):
    out = {secret, json.dumps(secret)[1:-1], base64.b64encode(secret.encode()).decode().rstrip("=")}
    return {f for f in out if len(f) >= 8}


def scan_tree(root, needles):
    hits = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            path = os.path.join(dirpath, f)
            try:
                data = open(path, "rb").read()
            except OSError:
                continue
            for n in needles:
                if n.encode() in data:
                    hits.append((path, n[:12]))
    return hits


def test_credentials_never_leak(server):
    u = Api(server)
    p = u.project(name="secrets")
    aws = u.call("POST", "/projects/%s/accounts" % p["id"], {
        "name": "prod-aws", "cloud": "aws",
        "credentials": {"access_key_id": AWS_KEY_ID, "secret_access_key": AWS_SECRET}})
    assert aws.status_code == 201, aws.text
    gcp = u.call("POST", "/projects/%s/accounts" % p["id"], {
        "name": "prod-gcp", "cloud": "gcp",
        "credentials": {"service_account_json": GCP_KEY, "project_id": "cp-test-project"}})
    assert gcp.status_code == 201, gcp.text
    assert aws.json()["hint"] == "AKIA…MPLE"
    responses = [aws.text, gcp.text]
    # A run on the real-cloud module: it cannot reach AWS here, so it fails, with the credentials in its env.
    vm = u.ok("POST", "/resources", {"project_id": p["id"], "account_id": aws.json()["id"], "kind": "vm",
                                     "name": "leaky", "region": "us-east-1", "size": "t3.micro",
                                     "config": {"ssh_public_key": SSH_KEY, "allowed_cidrs": ["203.0.113.0/24"]}})
    done = u.wait_run(vm["run"]["id"], timeout=180)
    assert done["status"] == "failed"
    events = u.call("GET", "/runs/%s/events?format=json&limit=1000" % done["id"])
    for path in ["/projects/%s/accounts" % p["id"], "/resources/" + vm["resource"]["id"], "/runs/" + done["id"],
                 "/projects/%s/audit" % p["id"], "/resources?project_id=" + p["id"]]:
        responses.append(u.call("GET", path).text)
    responses.append(events.text)
    needles = forms(AWS_SECRET) | forms(GCP_PRIVATE) | forms(GCP_KEY) | {"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw"}
    for text in responses:
        for n in needles:
            assert n not in text
    assert events.json()["items"], "the failed run recorded its events"
    logs = server.logs()
    for n in needles:
        assert n not in logs
    assert scan_tree(server.data_dir, needles) == []


def test_sandbox_api_key_never_leaks(server):
    """The sandbox cloud's key travels vault -> worker -> tofu -> provider in every sandbox run: it never
    appears in run events (a create, a failing update, a destroy), the server's log or any file under the
    data dir (state, run dirs, plugin cache, database)."""
    import secrets
    u = Api(server)
    p = u.project(name="sbx-secrets")
    key = "sbx_" + secrets.token_hex(16)
    acct = u.ok("POST", "/projects/%s/accounts" % p["id"],
                {"name": "sandbox", "cloud": "sandbox", "credentials": {"api_key": key}}, 201)
    assert acct["hint"] == "sbx_…" + key[-4:]
    runs = []
    vm = u.create_vm(p["id"], acct["id"], name="keyed")
    runs.append(vm["run"]["id"])
    assert u.wait_run(runs[-1])["status"] == "succeeded"
    bad = u.create_vm(p["id"], acct["id"], name="keyed-bad", simulate_failure=True)
    runs.append(bad["run"]["id"])
    assert u.wait_run(runs[-1])["status"] == "failed"
    for res in (vm, bad):
        runs.append(u.ok("DELETE", "/resources/" + res["resource"]["id"], status=202)["run"]["id"])
        assert u.wait_run(runs[-1])["status"] == "succeeded"
    needles = forms(key) | {key[4:]}
    texts = [u.call("GET", "/runs/%s/events?format=json&limit=1000" % r).text for r in runs]
    texts += [u.call("GET", "/runs/" + r).text for r in runs]
    texts.append(u.call("GET", "/projects/%s/accounts" % p["id"]).text)
    for text in texts:
        for n in needles:
            assert n not in text
    assert any("sandbox_instance.this" in t for t in texts), "the runs went through the provider"
    logs = server.logs()
    for n in needles:
        assert n not in logs
    assert scan_tree(server.data_dir, needles) == []


def test_vault_key_rotation(make_server, tmp_path):
    import subprocess
    from conftest import BINARY
    keys = tmp_path / "vault.keys"
    old = "old:" + base64.b64encode(b"o" * 32).decode()
    new = "new:" + base64.b64encode(b"n" * 32).decode()
    keys.write_text(old + "\n")
    s = make_server(env={"CLOUDPLANE_VAULT_KEYS_FILE": str(keys)})
    u = Api(s)
    p = u.project(name="rot")
    acct = u.ok("POST", "/projects/%s/accounts" % p["id"],
                {"name": "a", "cloud": "aws", "credentials": {"access_key_id": AWS_KEY_ID,
                                                              "secret_access_key": AWS_SECRET}}, 201)
    s.stop()
    # Roll out the new key first in the ring; old records still open under the old key.
    keys.write_text(new + "\n" + old + "\n")
    env = dict(s.env, CLOUDPLANE_VAULT_KEYS_FILE=str(keys))
    out = subprocess.run([BINARY, "admin", "rotate-vault-key", "--data-dir", s.data_dir], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "re-sealed 1 account(s) under vault key new" in out.stdout
    out = subprocess.run([BINARY, "admin", "rotate-vault-key", "--data-dir", s.data_dir], env=env,
                         capture_output=True, text=True, timeout=60)
    assert "re-sealed 0 account(s)" in out.stdout and "1 already current" in out.stdout
    # The old key can now be dropped: a server with only the new key runs the account's credentials.
    keys.write_text(new + "\n")
    s2 = make_server(env={"CLOUDPLANE_VAULT_KEYS_FILE": str(keys)}, data_dir=s.data_dir)
    u.s = s2
    vm = u.ok("POST", "/resources", {"project_id": p["id"], "account_id": acct["id"], "kind": "vm", "name": "rot",
                                     "region": "us-east-1", "size": "t3.micro",
                                     "config": {"ssh_public_key": SSH_KEY}})
    done = u.wait_run(vm["run"]["id"], timeout=180)
    # It fails on the missing cloud provider, not on the vault.
    assert "vault" not in (done["error"] or "")
    assert AWS_SECRET not in s2.logs()


def test_gcp_key_naming_another_endpoint_is_refused(server):
    """A service-account key whose endpoint fields name anything but Google's own is refused (422, the field
    named, the value not echoed): the provider's auth library would send signed requests there."""
    u = Api(server)
    p = u.project(name="gcp-endpoints")
    good = json.loads(GCP_KEY)
    for field, value in [("token_uri", "http://169.254.169.254/computeMetadata/v1/token"),
                         ("universe_domain", "internal.example"),
                         ("auth_uri", "https://127.0.0.1:8080/auth"),
                         ("client_x509_cert_url", "https://attacker.example/robot/v1/metadata/x509/x")]:
        key = dict(good, **{field: value})
        r = u.call("POST", "/projects/%s/accounts" % p["id"], {
            "name": "bad-gcp", "cloud": "gcp",
            "credentials": {"service_account_json": json.dumps(key), "project_id": "cp-test-project"}})
        assert r.status_code == 422, (field, r.text)
        assert r.json()["error"]["field"] == "credentials.service_account_json." + field, r.text
        assert value not in r.text
    # Google's own values pass; fields a key file does not have are dropped, not refused.
    key = dict(good, token_uri="https://oauth2.googleapis.com/token", universe_domain="googleapis.com",
               extra_endpoint="http://10.0.0.1/")
    r = u.call("POST", "/projects/%s/accounts" % p["id"], {
        "name": "good-gcp", "cloud": "gcp",
        "credentials": {"service_account_json": json.dumps(key), "project_id": "cp-test-project"}})
    assert r.status_code == 201, r.text


CHUNK = 64 << 20


def process_memory_contains(pid, needles):
    """The needles found anywhere in the writable memory of process pid (heap, anonymous maps, stacks)."""
    found = set()
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if "w" not in fields[1] or (len(fields) > 5 and fields[5].startswith("/")):
                continue  # only writable, unnamed or [heap]/[stack] mappings hold request data
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if end - start > 1 << 32:
                continue  # ASan's shadow and allocator reserves: terabytes, mostly never touched
            tail = b""
            for at in range(start, end, CHUNK):
                try:
                    mem.seek(at)
                    data = tail + mem.read(min(CHUNK, end - at))
                except (OSError, ValueError, OverflowError):
                    break
                found |= {n for n in needles if n.encode() in data}
                tail = data[-256:]
    return found


def test_request_bodies_with_secrets_are_wiped(server):
    """Once a request is answered, the password and cloud secret it carried are nowhere in the server's memory:
    request bodies, the parsed JSON and jansson's copies are zeroed when freed (the vault holds the sealed form)."""
    marker = base64.b32encode(os.urandom(20)).decode()
    password = "pw-" + marker.lower()[:20]
    secret = "sk" + marker[:38]
    r = server.signup(password=password)
    token = r["access_token"]
    p = server.post("/api/v1/projects", {"name": "wipe"}, token=token).json()
    acc = server.post("/api/v1/projects/%s/accounts" % p["id"], {
        "name": "wiped", "cloud": "aws", "credentials": {"access_key_id": AWS_KEY_ID, "secret_access_key": secret}},
        token=token)
    assert acc.status_code == 201, acc.text
    # The scan can find things: the email stays in memory (SQLite's page cache holds the users row).
    assert process_memory_contains(server.proc.pid, {r["user"]["email"]}), "the memory scan finds nothing at all"
    assert process_memory_contains(server.proc.pid, {password, secret}) == set()
