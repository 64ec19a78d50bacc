"""cloudplane as an OIDC issuer for runs (workload identity): the discovery
document and JWKS, accounts of kind workload_identity (no vault record), and
a real OpenTofu run whose s3 state backend assumes a role on moto's STS with
a token cloudplane minted, checked against the published JWKS."""
import base64
import glob
import json
import os
import socket
import sqlite3
import stat
import subprocess
import time
import urllib.parse
import uuid

import pytest
import requests

from conftest import Api, assert_error
from distributed import tofu_path, wait_for

ROLE = "arn:aws:iam::123456789012:role/cloudplane-runs"
PROVIDER = "projects/123456789012/locations/global/workloadIdentityPools/cloudplane/providers/cloudplane"
SA = "cloudplane@my-project-123456.iam.gserviceaccount.com"
UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify_rs256(jwks, token):
    """The token's claims when its RS256 signature verifies with the JWKS key its kid names; else AssertionError."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    h, p, sig = token.split(".")
    header = json.loads(b64d(h))
    assert header["alg"] == "RS256" and header.get("typ") == "JWT", header
    keys = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    assert len(keys) == 1, (header, jwks)
    k = keys[0]
    pub = rsa.RSAPublicNumbers(int.from_bytes(b64d(k["e"]), "big"), int.from_bytes(b64d(k["n"]), "big")).public_key()
    pub.verify(b64d(sig), (h + "." + p).encode(), padding.PKCS1v15(), hashes.SHA256())  # raises when it does not
    return json.loads(b64d(p))


def test_discovery_and_jwks_are_public_and_cacheable(server):
    r = server.get("/.well-known/openid-configuration")
    assert r.status_code == 200, r.text
    assert "max-age" in r.headers.get("Cache-Control", "")
    doc = r.json()
    # No CLOUDPLANE_PUBLIC_URL here: the issuer is the listen address serve announced.
    assert doc["issuer"] == server.url
    assert doc["jwks_uri"] == server.url + "/.well-known/jwks.json"
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "public" in doc["subject_types_supported"] and "sub" in doc["claims_supported"]
    r = server.get("/.well-known/jwks.json")
    assert r.status_code == 200 and "max-age" in r.headers.get("Cache-Control", "")
    keys = r.json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["use"] == "sig"
    # Public keys only: no private member of an RSA JWK is published.
    assert not set(keys[0]) & {"d", "p", "q", "dp", "dq", "qi"}, keys[0].keys()
    # The private key set was generated 0600 into the data dir, like the JWT and vault keys.
    path = os.path.join(server.data_dir, "keys", "issuer.jwks")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        assert json.load(f)["keys"][0]["kid"] == keys[0]["kid"]


def test_public_url_is_the_issuer(make_server):
    s = make_server(env={"CLOUDPLANE_PUBLIC_URL": "https://cloudplane.example.com/"})
    doc = s.get("/.well-known/openid-configuration").json()
    assert doc["issuer"] == "https://cloudplane.example.com"
    u = Api(s)
    wi = u.ok("GET", "/workload-identity")
    assert wi["issuer"] == "https://cloudplane.example.com" and wi["public_url_set"] is True
    assert wi["clouds"]["aws"]["default_audience"] == "sts.amazonaws.com"
    assert wi["subject_format"].startswith("project:<project_id>:account:<account_id>:run_phase:")


def test_rotated_keys_are_all_published(make_server, tmp_path):
    """`admin rotate-issuer-key` puts a new key first; the old one stays published (overlap)."""
    s = make_server()
    before = s.get("/.well-known/jwks.json").json()["keys"]
    s.stop()
    env = dict(s.env)
    out = subprocess.run([s.proc.args[0], "admin", "rotate-issuer-key", "--data-dir", s.data_dir], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    s.start()
    after = s.get("/.well-known/jwks.json").json()["keys"]
    assert len(after) == 2 and after[1]["kid"] == before[0]["kid"] and after[0]["kid"] != before[0]["kid"]
    assert after[0]["kid"] in out.stdout


def account_rows(server, project_id):
    """(kind, key_id, nonce, ciphertext) of the project's accounts, from SQLite or PostgreSQL."""
    sql = "SELECT kind, key_id, nonce, ciphertext FROM cloud_accounts WHERE project_id = '%s'" % project_id
    url = server.env.get("CLOUDPLANE_DATABASE_URL")
    if url:
        out = subprocess.run(["psql", url, "-tA", "-F", "|", "-c", sql], check=True, capture_output=True, text=True)
        return [tuple(line.split("|")) for line in out.stdout.splitlines() if line]
    db = sqlite3.connect(os.path.join(server.data_dir, "cloudplane.db"))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_workload_identity_accounts(make_server, store_env):
    server = make_server(env=store_env)
    u = Api(server)
    p = u.project()
    path = "/projects/%s/accounts" % p["id"]
    # A bad role ARN names the field, never echoes the value.
    r = u.call("POST", path, {"name": "a", "cloud": "aws", "kind": "workload_identity",
                              "identity": {"role_arn": "arn:aws:iam::12:user/bob"}})
    err = assert_error(r, 422, "invalid_format", "identity.role_arn")
    assert "12:user/bob" not in err["message"]
    assert_error(u.call("POST", path, {"name": "a", "cloud": "aws", "kind": "workload_identity", "identity": {}}),
                 422, "missing_field", "identity.role_arn")
    assert_error(u.call("POST", path, {"name": "a", "cloud": "aws", "kind": "workload_identity",
                                       "identity": {"role_arn": ROLE, "secret_access_key": "x" * 20}}),
                 400, "unknown_field", "identity.secret_access_key")
    assert_error(u.call("POST", path, {"name": "a", "cloud": "aws", "kind": "workload_identity",
                                       "identity": {"role_arn": ROLE},
                                       "credentials": {"access_key_id": "AKIAAAAAAAAAAAAAAAAA"}}),
                 400, "unknown_field", "credentials")
    assert_error(u.call("POST", path, {"name": "a", "cloud": "sandbox", "kind": "workload_identity",
                                       "identity": {}}), 422, "invalid_value", "kind")
    assert_error(u.call("POST", path, {"name": "a", "cloud": "aws", "kind": "magic"}), 422, "invalid_value", "kind")
    assert_error(u.call("POST", path, {"name": "a", "cloud": "gcp", "kind": "workload_identity",
                                       "identity": {"workload_identity_provider": PROVIDER.replace("/providers/", "/clients/"),
                                                    "service_account_email": SA, "project_id": "my-project-123456"}}),
                 422, "invalid_format", "identity.workload_identity_provider")

    aws = u.ok("POST", path, {"name": "aws-wi", "cloud": "aws", "kind": "workload_identity",
                              "identity": {"role_arn": ROLE, "session_name": "cloudplane"}}, 201)
    assert aws["kind"] == "workload_identity" and aws["audience"] == "sts.amazonaws.com"
    assert aws["identity"] == {"role_arn": ROLE, "session_name": "cloudplane"}
    az = u.ok("POST", path, {"name": "az-wi", "cloud": "azure", "kind": "workload_identity",
                             "identity": {"tenant_id": UUID, "client_id": UUID, "subscription_id": UUID}}, 201)
    assert az["audience"] == "api://AzureADTokenExchange"
    gcp = u.ok("POST", path, {"name": "gcp-wi", "cloud": "gcp", "kind": "workload_identity",
                              "identity": {"workload_identity_provider": PROVIDER, "service_account_email": SA,
                                           "project_id": "my-project-123456"}}, 201)
    assert gcp["audience"] == "//iam.googleapis.com/" + PROVIDER
    custom = u.ok("POST", path, {"name": "aws-aud", "cloud": "aws", "kind": "workload_identity",
                                 "identity": {"role_arn": ROLE}, "audience": "cloudplane-prod"}, 201)
    assert custom["audience"] == "cloudplane-prod"
    listed = {a["id"]: a for a in u.ok("GET", path)["items"]}
    assert listed[aws["id"]]["identity"]["role_arn"] == ROLE
    assert listed[gcp["id"]]["identity"]["service_account_email"] == SA
    # No vault record: nothing is sealed for a workload identity account.
    rows = account_rows(server, p["id"])
    assert len(rows) == 4 and all(r == ("workload_identity", "", "", "") for r in rows), rows
    # The catalog lists each real cloud's identity fields, without the env they become.
    clouds = {c["id"]: c for c in u.ok("GET", "/catalog")["clouds"]}
    assert [f["name"] for f in clouds["aws"]["workload_identity"]["fields"]] == ["role_arn", "session_name"]
    assert "workload_identity" not in clouds["sandbox"]
    assert "env" not in clouds["azure"]["workload_identity"]["fields"][0]
    assert "token_file_env" not in clouds["azure"]["workload_identity"]
    # Removing one works like any account.
    assert u.call("DELETE", "/accounts/" + custom["id"]).status_code == 204
    assert custom["id"] not in {a["id"] for a in u.ok("GET", path)["items"]}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def recording_moto(tmp_path):
    """A moto server of this test's own that records every request (its STS
    calls carry the web identity token), with the state bucket."""
    try:
        import boto3
        import cryptography  # noqa: F401
    except ImportError:
        pytest.skip("boto3 and cryptography are needed (scripts/bootstrap.sh test installs moto[server])")
    if not os.access(tofu_path(), os.X_OK):
        pytest.skip("OpenTofu not installed at %s (scripts/install-tofu.sh; or set CP_TOFU)" % tofu_path())
    exe = subprocess.run(["sh", "-c", "command -v moto_server"], capture_output=True, text=True).stdout.strip()
    if not exe:
        pytest.skip("moto_server not installed (scripts/bootstrap.sh test)")
    port = free_port()
    rec = str(tmp_path / "moto_recording")
    env = dict(os.environ, MOTO_ENABLE_RECORDING="true", MOTO_RECORDER_FILEPATH=rec)
    log = open(str(tmp_path / "moto.log"), "wb")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], cwd=str(tmp_path), env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d" % port

    def up():
        try:
            return requests.get(url + "/moto-api/", timeout=2).status_code < 500
        except requests.RequestException:
            return False
    try:
        wait_for(up, 30, "moto to start")
        boto3.client("s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test",
                     region_name="us-east-1").create_bucket(Bucket="wi-state")
        yield url, rec
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def sts_tokens(rec):
    """The WebIdentityToken of each AssumeRoleWithWebIdentity request moto received."""
    out = []
    if not os.path.exists(rec):
        return out
    for line in open(rec):
        entry = json.loads(line)
        body = entry.get("body") or ""
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        form = urllib.parse.parse_qs(body)
        if form.get("Action") == ["AssumeRoleWithWebIdentity"]:
            out.append((form["RoleArn"][0], form["WebIdentityToken"][0]))
    return out


def test_state_backend_assumes_role_with_minted_token(make_server, recording_moto):
    """A real OpenTofu run on the sandbox cloud whose s3 state backend has no
    static keys: it assumes a role with AssumeRoleWithWebIdentity on moto's
    STS using the token cloudplane minted for the run, and the state write
    proves the exchange worked. moto does not check the token, so the test
    checks its signature against the published JWKS and its claims."""
    moto, rec = recording_moto
    prefix = "wi-" + uuid.uuid4().hex[:8]
    role = "arn:aws:iam::123456789012:role/cloudplane-state"
    s = make_server(env={
        "CLOUDPLANE_TF_BINARY": tofu_path(),
        "CLOUDPLANE_STATE_BACKEND": "s3",
        "CLOUDPLANE_STATE_S3_BUCKET": "wi-state",
        "CLOUDPLANE_STATE_S3_REGION": "us-east-1",
        "CLOUDPLANE_STATE_S3_KEY_PREFIX": prefix,
        "CLOUDPLANE_STATE_S3_ENDPOINT": moto,
        "CLOUDPLANE_STATE_S3_USE_LOCKFILE": "true",
        "CLOUDPLANE_STATE_S3_PATH_STYLE": "true",
        "CLOUDPLANE_STATE_S3_SKIP_CHECKS": "true",
        "CLOUDPLANE_STATE_S3_WEB_IDENTITY_ROLE_ARN": role,
    })
    u = Api(s)
    p = u.project()
    acct = u.sandbox_account(p["id"])
    created = u.create_vm(p["id"], acct["id"], name="wi-1")
    res = created["resource"]
    run = u.wait_run(created["run"]["id"], timeout=300)
    events = u.ok("GET", "/runs/%s/events?format=json&limit=1000" % run["id"])["items"]
    assert run["status"] == "succeeded", (run.get("error"), [e["data"].get("line") or e["data"].get("message") for e in events][-25:])

    # The state was written through the assumed role.
    import boto3
    s3 = boto3.client("s3", endpoint_url=moto, aws_access_key_id="test", aws_secret_access_key="test",
                      region_name="us-east-1")
    key = "%s/%s/terraform.tfstate" % (prefix, res["id"])
    state = json.loads(s3.get_object(Bucket="wi-state", Key=key)["Body"].read())
    assert state["resources"], state

    calls = sts_tokens(rec)
    assert calls, "moto's STS saw no AssumeRoleWithWebIdentity"
    jwks = s.get("/.well-known/jwks.json").json()
    phases = set()
    for arn, token in calls:
        assert arn == role
        claims = verify_rs256(jwks, token)
        assert claims["iss"] == s.url and claims["aud"] == "sts.amazonaws.com"
        assert claims["sub"] == "project:%s:account:%s:run_phase:%s" % (p["id"], acct["id"], claims["run_phase"])
        assert claims["run_id"] == run["id"] and claims["resource_id"] == res["id"]
        assert claims["project_id"] == p["id"] and claims["account_id"] == acct["id"]
        assert claims["nbf"] <= claims["iat"] < claims["exp"] <= claims["iat"] + 7200
        assert claims["iat"] <= time.time() + 5
        phases.add(claims["run_phase"])
        # A token never reaches the run's log, events or the server log.
        assert token not in json.dumps(events)
        assert token not in s.logs() and token.split(".")[2] not in s.logs()
    # A fresh token per phase: init/plan read with a plan token, the apply writes with an apply token.
    assert "apply" in phases, phases
    assert len({t for _, t in calls}) >= 2

    # No token file (nor run dir) is left after the run.
    runs = os.path.join(s.data_dir, "runs")
    assert not glob.glob(os.path.join(runs, "*", ".cloudplane*token*")), os.listdir(runs)

    # Destroy goes the same way, with destroy-phase tokens.
    d = u.ok("DELETE", "/resources/" + res["id"], status=202)
    assert u.wait_run(d["run"]["id"], timeout=300)["status"] == "succeeded"
    destroy_phases = {verify_rs256(jwks, t)["run_phase"] for _, t in sts_tokens(rec)[len(calls):]}
    assert "destroy" in destroy_phases, destroy_phases


def test_distributed_worker_tokens_verify_with_every_api_instance(cluster, recording_moto):
    """Distributed mode: API instances and a worker process share one issuer key file; the worker's tokens
    (iss = the public URL) verify with the JWKS any API instance publishes, and its run's state backend
    assumes its role with them."""
    moto, rec = recording_moto
    role = "arn:aws:iam::123456789012:role/cloudplane-state"
    cluster.env.update({
        "CLOUDPLANE_STATE_S3_BUCKET": "wi-state",
        "CLOUDPLANE_STATE_S3_ENDPOINT": moto,
        "CLOUDPLANE_STATE_S3_DYNAMODB_ENDPOINT": "",
        "CLOUDPLANE_STATE_S3_DYNAMODB_TABLE": "",
        "CLOUDPLANE_STATE_S3_USE_LOCKFILE": "true",
        "CLOUDPLANE_STATE_S3_ACCESS_KEY_ID": "",
        "CLOUDPLANE_STATE_S3_SECRET_ACCESS_KEY": "",
        "CLOUDPLANE_STATE_S3_WEB_IDENTITY_ROLE_ARN": role,
        "CLOUDPLANE_PUBLIC_URL": "https://cloudplane.example.test",
    })
    a1, a2 = cluster.api(), cluster.api()
    cluster.worker()
    jwks = a1.get("/.well-known/jwks.json").json()
    assert a2.get("/.well-known/jwks.json").json() == jwks
    assert a2.get("/.well-known/openid-configuration").json()["issuer"] == "https://cloudplane.example.test"
    u = Api(a1)
    p = u.project(name="dist-wi")
    acct = u.sandbox_account(p["id"])
    created = u.create_vm(p["id"], acct["id"], name="dist-wi-1")
    run = u.wait_run(created["run"]["id"], timeout=300)
    assert run["status"] == "succeeded", run
    calls = sts_tokens(rec)
    assert calls
    for _, token in calls:
        claims = verify_rs256(jwks, token)
        assert claims["iss"] == "https://cloudplane.example.test" and claims["run_id"] == run["id"]
