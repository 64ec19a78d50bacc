"""Provider installation settings of the real binary: where providers come
from, and `cloudplane admin providers mirror`."""
import json
import os
import subprocess

import pytest

from conftest import BINARY, REPO

TOFU = os.environ.get("CP_TOFU", "")
LOCAL_CACHE = os.environ.get("CLOUDPLANE_CACHE_DIR") or os.path.expanduser("~/.cache/cloudplane")
LOCAL_SANDBOX = os.path.join(LOCAL_CACHE, "mirror", "registry.opentofu.org", "cloudplane", "sandbox")


def log_records(server, msg):
    out = []
    for line in server.logs().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("msg") == msg:
            out.append(rec)
    return out


def test_serve_tells_its_runs_where_providers_and_the_sandbox_cloud_are(make_server, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    s = make_server(env={"CLOUDPLANE_PROVIDER_MIRROR": str(mirror)})
    recs = log_records(s, "providers")
    assert recs, s.logs()
    rec = recs[0]
    assert rec["mirror"] == str(mirror)
    assert rec["direct"] is False
    assert rec["plugin_cache"] == os.path.realpath(os.path.join(s.data_dir, "plugin-cache"))
    # serve is the sandbox cloud: its own listen address (port 0 resolved after start is logged later).
    assert rec["sandbox_endpoint"].startswith("http://127.0.0.1:")
    assert "CLOUDPLANE_SANDBOX_ENDPOINT is not set" not in s.logs()


def test_help_lists_the_provider_settings():
    out = subprocess.run([BINARY, "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    for name in ("CLOUDPLANE_PROVIDER_MIRROR", "CLOUDPLANE_PROVIDER_DIRECT", "CLOUDPLANE_PLUGIN_CACHE_DIR",
                 "CLOUDPLANE_SANDBOX_ENDPOINT"):
        assert name in out


@pytest.mark.skipif(not TOFU, reason="CP_TOFU not set (scripts/install-tofu.sh)")
def test_admin_providers_mirror_names_what_it_could_not_fetch(tmp_path):
    dest = tmp_path / "mirror"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "CLOUDPLANE_CACHE_DIR": LOCAL_CACHE, "CLOUDPLANE_TF_BINARY": TOFU,
           "CLOUDPLANE_MODULES_DIR": os.path.join(REPO, "terraform", "modules")}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    p = subprocess.run([BINARY, "admin", "providers", "mirror", str(dest), "--platform", "linux_amd64"],
                       capture_output=True, text=True, env=env, timeout=600)
    # No registry here: it fails, and says which providers and why.
    assert p.returncode == 1, p.stdout + p.stderr
    assert "could not fetch provider(s) hashicorp/aws, hashicorp/azurerm, hashicorp/google" in p.stderr
    assert "module aws_vm: could not fetch provider hashicorp/aws: Provider not available" in p.stdout
    # What needs no registry is in the mirror all the same: cloudplane's own provider.
    if os.path.isdir(LOCAL_SANDBOX):
        versions = os.listdir(LOCAL_SANDBOX)
        got = dest / "registry.opentofu.org" / "cloudplane" / "sandbox"
        assert sorted(os.listdir(got)) == sorted(versions)
        binary = got / versions[0] / "linux_amd64" / ("terraform-provider-sandbox_v" + versions[0])
        assert os.access(binary, os.X_OK)


def test_admin_providers_mirror_usage():
    p = subprocess.run([BINARY, "admin", "providers", "mirror"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert "usage: cloudplane admin providers mirror DIR" in p.stderr
