#!/usr/bin/env python3
"""The API contract check: schemathesis against the real binary.

Starts `cloudplane serve` on SQLite in a fresh data dir with the sandbox cloud
and one small worker, seeds a user with `cloudplane admin create-user`, signs
in over HTTP and registers a sandbox cloud key, then runs `schemathesis run`
over the served spec (/api/v1/openapi.yaml, so every route the spec lists is
covered, new ones included) with --checks all, a fixed seed and a time budget,
in the examples, coverage, fuzzing and stateful phases.

Exits non-zero if schemathesis reports any failure or error, or if the server
did not exit cleanly at the end (a crash, a sanitizer report, a leak).

Usage: run.py [--binary PATH] [--seed N] [--max-time SECONDS] [--keep DIR]
Environment: CP_BINARY (default build/cloudplane), CP_TOFU (the OpenTofu binary;
runs fail without it but the API is still checked), CLOUDPLANE_PROVIDER_MIRROR.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
EMAIL = "contract@example.com"
# Not a secret: a throwaway user in a throwaway data dir.
PASSWORD = "contract-check-password"


def server_env(data_dir):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": data_dir,
           "CLOUDPLANE_DATA_DIR": data_dir,
           "CLOUDPLANE_MODULES_DIR": os.path.join(REPO, "terraform", "modules"),
           # One worker keeps the runs schemathesis orders from crowding the
           # 2-core machine; short graces keep the shutdown at the end quick.
           "CLOUDPLANE_WORKERS": "1", "CLOUDPLANE_CANCEL_GRACE": "2", "CLOUDPLANE_SHUTDOWN_GRACE": "2",
           "CLOUDPLANE_RUN_TIMEOUT": "60",
           # Generous limits: the check is about the contract, not the throttles
           # (their 429 answers are still in the spec and accepted there).
           "CLOUDPLANE_SANDBOX_RATE": "100000",
           "CLOUDPLANE_ACCESS_LOG": "false"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    if os.environ.get("CP_TOFU"):
        env["CLOUDPLANE_TF_BINARY"] = os.environ["CP_TOFU"]
    if os.environ.get("CLOUDPLANE_PROVIDER_MIRROR"):
        env["CLOUDPLANE_PROVIDER_MIRROR"] = os.environ["CLOUDPLANE_PROVIDER_MIRROR"]
    # Overrides for limits other parts of the server add (CONTRACT_ENV_<NAME>=v).
    for k, v in os.environ.items():
        if k.startswith("CONTRACT_ENV_"):
            env[k[len("CONTRACT_ENV_"):]] = v
    return env


def http(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def seed(binary, env):
    """The seeded user and a sandbox cloud key, through the admin CLI."""
    p = subprocess.run([binary, "admin", "create-user", EMAIL, "Contract Check"], input=PASSWORD + "\n",
                       env=env, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        sys.exit("contract: admin create-user failed: %s" % p.stderr.strip())
    p = subprocess.run([binary, "admin", "sandbox-key"], env=env, capture_output=True, text=True, timeout=120)
    m = re.search(r"\bsbx_[0-9a-f]{32}\b", p.stdout)
    if p.returncode != 0 or not m:
        sys.exit("contract: admin sandbox-key failed: %s" % p.stderr.strip())
    return m.group(0)


def start(binary, env, data_dir, log):
    cmd = [binary, "serve", "--listen", "127.0.0.1:0", "--web-dir", os.path.join(data_dir, "no-web")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env, text=True)
    line = proc.stdout.readline()
    m = re.search(r"(http://[\d.:]+)/", line or "")
    if not m:
        proc.wait(timeout=30)
        sys.exit("contract: server did not start: %r" % line)
    return proc, m.group(1)


def summarize(report_path):
    """Counts from the ndjson event stream: failures, errors, and the stateful
    phase's link coverage. Returns the dict printed as the step's summary."""
    out = {}
    if not os.path.exists(report_path):
        return out
    with open(report_path) as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            for name, body in ev.items():
                if name == "EngineFinished" and isinstance(body, dict):
                    out["engine_finished"] = True
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.environ.get("CP_BINARY", os.path.join(REPO, "build", "cloudplane")))
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--max-time", type=int, default=150, help="schemathesis time budget in seconds")
    ap.add_argument("--max-examples", type=int, default=0, help="test cases per operation (0: schemathesis' default)")
    ap.add_argument("--workers", default="2")
    ap.add_argument("--keep", help="keep the data dir, log and reports here")
    args = ap.parse_args()

    work = args.keep or tempfile.mkdtemp(prefix="cloudplane-contract.")
    os.makedirs(work, exist_ok=True)
    data_dir = os.path.join(work, "data")
    os.makedirs(data_dir, exist_ok=True)
    reports = os.path.join(work, "reports")
    env = server_env(data_dir)
    sandbox_key = seed(args.binary, env)
    log_path = os.path.join(work, "server.log")
    log = open(log_path, "ab")
    proc, url = start(args.binary, env, data_dir, log)
    rc = 1
    try:
        login = http("POST", url + "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD})
        st_env = dict(os.environ, CP_CONTRACT_TOKEN=login["access_token"], CP_CONTRACT_SANDBOX_KEY=sandbox_key)
        cmd = ["schemathesis", "--config-file", os.path.join(HERE, "schemathesis.toml"), "run",
               url + "/api/v1/openapi.yaml", "--checks", "all", "--seed", str(args.seed),
               "--max-time", str(args.max_time), "--phases", os.environ.get("CONTRACT_PHASES", "examples,coverage,fuzzing,stateful"),
               "--workers", args.workers,
               "--report", os.environ.get("CONTRACT_REPORTS", "ndjson,junit"), "--report-dir", reports]
        if args.max_examples:
            cmd += ["--max-examples", str(args.max_examples)]
        print("contract: schemathesis against %s (seed %d, budget %ds)" % (url, args.seed, args.max_time),
              flush=True)
        t0 = time.time()
        rc = subprocess.run(cmd, env=st_env, cwd=work).returncode
        print("contract: schemathesis exited %d after %.0fs" % (rc, time.time() - t0), flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        log.close()
    if code != 0:
        print("contract: the server exited with %s; its log ends:" % code)
        with open(log_path, "rb") as f:
            sys.stdout.write(f.read()[-6000:].decode("utf-8", "replace"))
        rc = rc or 1
    if rc != 0 and not args.keep:
        print("contract: data dir, server log and reports kept in %s" % work)
    elif not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
