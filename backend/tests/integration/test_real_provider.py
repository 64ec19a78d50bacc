"""Runs on the sandbox cloud go through the real cloudplane/sandbox provider:
real binary, real OpenTofu, the provider from the filesystem mirror into the
shared plugin cache, talking to cloudplane's own /sandbox/v1 API."""
import glob
import hashlib
import os
import secrets
import shutil
import signal
import tempfile
import threading

import pytest
import requests

from conftest import Api, Server, provider_mirror
from distributed import wait_for

PROVIDER = "terraform-provider-sandbox"
SANDBOX_DIR = ("registry.opentofu.org", "cloudplane", "sandbox")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")


def pinned_version():
    """The sandbox provider's version, from its one pin (versions.env); a
    mirror in a long-lived cache may also hold earlier versions."""
    for line in open(os.path.join(ROOT, "versions.env")):
        if line.startswith("SANDBOX_PROVIDER_VERSION="):
            return line.split("=", 1)[1].strip()
    raise AssertionError("versions.env has no SANDBOX_PROVIDER_VERSION")


def provider_pids(under=None):
    """Pids of live provider processes (by the binary's name in their command
    line); with under, only those whose working directory is below it."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode("utf-8", "replace")
            cwd = os.readlink("/proc/%s/cwd" % pid) if under else ""
        except OSError:
            continue
        if PROVIDER in os.path.basename(argv0) and (not under or cwd.startswith(under)):
            out.append(int(pid))
    return out


def events_of(u, run_id):
    return u.ok("GET", "/runs/%s/events?format=json&limit=1000" % run_id)["items"]


def log_lines(events):
    return [e["data"]["line"] for e in events if e["type"] == "log"]


def sandbox_api(server, key):
    def call(method, path, body=None):
        return requests.request(method, server.url + "/sandbox/v1" + path, json=body, timeout=30,
                                headers={"Authorization": "Bearer " + key})
    return call


def account_with_key(u, project_id, key):
    return u.ok("POST", "/projects/%s/accounts" % project_id,
                {"name": "sandbox", "cloud": "sandbox", "credentials": {"api_key": key}}, 201)


def wait_applying_with_provider(u, run_id, under):
    run = u.wait_run(run_id, until=("applying", "failed", "succeeded", "canceled"), timeout=90)
    assert run["status"] == "applying", run
    return wait_for(lambda: provider_pids(under), 30, "the provider process of run %s" % run_id)


def test_concurrent_creates_install_the_provider_once(make_server):
    s = make_server()
    u = Api(s)
    p = u.project(name="many")
    acct = u.sandbox_account(p["id"])
    runs = [None] * 10

    def create(i):
        runs[i] = u.create_vm(p["id"], acct["id"], name="many-%02d" % i)["run"]["id"]
    threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for rid in runs:
        done = u.wait_run(rid, timeout=240)
        assert done["status"] == "succeeded", (done["error"], log_lines(events_of(u, rid))[-8:])

    # One entry for cloudplane/sandbox in the shared cache: one version, one platform, one binary,
    # the very bytes of the mirror's (tofu links an unpacked mirror's package into the cache). The
    # "<platform>.lock" beside it is the platform's lock for the one init that fills it.
    cache = os.path.join(s.data_dir, "plugin-cache", *SANDBOX_DIR)
    entries = [e for e in glob.glob(os.path.join(cache, "*", "*")) if not e.endswith(".lock")]
    assert len(entries) == 1, entries
    files = os.listdir(entries[0])
    assert len(files) == 1 and files[0].startswith(PROVIDER), files
    version, platform = entries[0].split(os.sep)[-2:]
    mirrored = os.path.join(provider_mirror(), *SANDBOX_DIR, version, platform, files[0])
    digest = lambda path: hashlib.sha256(open(path, "rb").read()).hexdigest()  # noqa: E731
    assert digest(os.path.join(entries[0], files[0])) == digest(mirrored)

    # Every run's init came from the cache or the mirror (directly, or through the shared init that did),
    # and nothing was downloaded: a registry install says "(signed ...)", a mirror one "(unauthenticated)".
    for rid in runs:
        lines = log_lines(events_of(u, rid))
        installs = [x for x in lines if x.startswith("- Installed ") or x.startswith("- Using ")]
        assert installs or "using the shared init for sandbox_vm" in lines, (rid, lines[:20])
        for x in installs:
            assert "cloudplane/sandbox" in x and ("(unauthenticated)" in x or "from the shared cache directory" in x), x
        assert not any("signed" in x or "Downloading" in x or "registry.terraform.io" in x for x in lines), lines


def test_cancel_during_slow_create_leaves_no_provider(make_server):
    s = make_server()
    u = Api(s)
    p = u.project(name="cancel")
    acct = u.sandbox_account(p["id"])
    run = u.create_vm(p["id"], acct["id"], name="slow", simulate_seconds=60)["run"]
    wait_applying_with_provider(u, run["id"], s.data_dir)
    u.ok("POST", "/runs/%s/cancel" % run["id"], status=202)
    done = u.wait_run(run["id"], timeout=60)
    assert done["status"] == "canceled", done
    wait_for(lambda: not provider_pids(s.data_dir), 15, "no provider process after cancel")
    assert provider_pids(s.data_dir) == []


def test_kill_9_of_serve_mid_apply_leaves_no_provider(tmp_path):
    d = tempfile.mkdtemp(dir=str(tmp_path), prefix="data")
    s = Server(d).start()  # not the fixture's: it would want a clean exit
    try:
        u = Api(s)
        p = u.project(name="killed")
        acct = u.sandbox_account(p["id"])
        run = u.create_vm(p["id"], acct["id"], name="victim", simulate_seconds=60)["run"]
        assert wait_applying_with_provider(u, run["id"], d)
        s.stop(sig=signal.SIGKILL)
        wait_for(lambda: not provider_pids(d), 15, "no provider process after kill -9 of serve")
    finally:
        s.stop(sig=signal.SIGKILL)



def test_kill_9_of_worker_mid_apply_leaves_no_provider(cluster):
    api = cluster.api()
    workers = [cluster.worker(), cluster.worker()]
    u = Api(api)
    p = u.project(name="dist-killed")
    acct = u.sandbox_account(p["id"])
    run = u.create_vm(p["id"], acct["id"], name="victim", simulate_seconds=60)["run"]
    row = wait_for(lambda: (lambda r: r if r and r["status"] == "applying" and r["lease_owner"] else None)(
        cluster.run_row(run["id"])), 90, "run to be applying")
    victim = cluster.worker_by_id(row["lease_owner"])
    wait_for(lambda: provider_pids(victim.data_dir), 30, "the provider process under the victim worker")
    victim.signal(signal.SIGKILL)
    wait_for(lambda: not provider_pids(victim.data_dir), 15, "no provider process after kill -9 of the worker")
    done = u.wait_run(run["id"], timeout=60)
    assert done["status"] == "failed" and "worker lost" in done["error"], done
    assert len(workers) == 2


def test_tampered_provider_is_refused_at_init(make_server, tmp_path):
    bad = str(tmp_path / "mirror")
    shutil.copytree(provider_mirror(), bad)
    [binary] = glob.glob(os.path.join(bad, *SANDBOX_DIR, pinned_version(), "*", PROVIDER + "*"))
    with open(binary, "ab") as f:
        f.write(b"\0tampered")
    s = make_server(env={"CLOUDPLANE_PROVIDER_MIRROR": bad})
    u = Api(s)
    p = u.project(name="tampered")
    acct = u.sandbox_account(p["id"])
    run = u.create_vm(p["id"], acct["id"], name="tampered")["run"]
    done = u.wait_run(run["id"], timeout=120)
    assert done["status"] == "failed", done
    text = " ".join([done["error"] or ""] + log_lines(events_of(u, run["id"])))
    text = " ".join(text.split())
    assert "doesn't match any of the checksums previously recorded in the dependency lock file" in text, text
    assert "init failed" in (done["error"] or ""), done["error"]
    # Nothing ran and nothing was cached from the tampered mirror.
    assert not glob.glob(os.path.join(s.data_dir, "plugin-cache", *SANDBOX_DIR, "*", "*", PROVIDER + "*"))


def test_out_of_band_changes_are_seen_and_put_back(make_server):
    s = make_server()
    u = Api(s)
    p = u.project(name="drift")
    key = "sbx_" + secrets.token_hex(16)
    acct = account_with_key(u, p["id"], key)
    cloud = sandbox_api(s, key)
    c = u.create_vm(p["id"], acct["id"], name="drifty")
    res = c["resource"]
    assert u.wait_run(c["run"]["id"])["status"] == "succeeded"
    first = u.ok("GET", "/resources/" + res["id"])["outputs"]
    iid = first["id"][len("sbx-"):]
    assert cloud("GET", "/instances/" + iid).json()["size"] == "sandbox.small"

    # Deleted out of band: the next run's refresh sees it gone and the plan creates it again.
    assert cloud("DELETE", "/instances/" + iid).status_code in (200, 204)
    assert cloud("GET", "/instances/" + iid).status_code == 404
    r1 = u.ok("PATCH", "/resources/" + res["id"], {"size": "sandbox.medium"}, 202)["run"]
    done = u.wait_run(r1["id"])
    assert done["status"] == "succeeded", done
    assert done["plan_summary"]["add"] == 1 and done["plan_summary"]["change"] == 0, done["plan_summary"]
    second = u.ok("GET", "/resources/" + res["id"])["outputs"]
    assert second["id"] != first["id"]
    iid2 = second["id"][len("sbx-"):]
    inst = cloud("GET", "/instances/" + iid2).json()
    assert inst["size"] == "sandbox.medium"
    cidrs = inst["allowed_cidrs"]

    # Changed out of band (size and CIDRs): the next update is in place and puts back what the platform says.
    oob = cloud("PATCH", "/instances/" + iid2, {"size": "sandbox.small", "allowed_cidrs": ["192.0.2.0/24"]})
    assert oob.status_code == 200, oob.text
    r2 = u.ok("PATCH", "/resources/" + res["id"], {"size": "sandbox.large"}, 202)["run"]
    done = u.wait_run(r2["id"])
    assert done["status"] == "succeeded", done
    assert done["plan_summary"]["change"] == 1 and done["plan_summary"]["add"] == 0, done["plan_summary"]
    inst = cloud("GET", "/instances/" + iid2).json()
    assert inst["size"] == "sandbox.large" and inst["allowed_cidrs"] == cidrs, inst
    assert u.ok("GET", "/resources/" + res["id"])["outputs"]["id"] == second["id"]  # same machine
