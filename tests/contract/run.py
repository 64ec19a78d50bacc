#!/usr/bin/env python3
"""The API contract check: schemathesis against the real binary.

Starts `cloudplane serve` on SQLite in a fresh data dir with the sandbox cloud
and one small worker, seeds a user with `cloudplane admin create-user`, signs
in over HTTP and registers a sandbox cloud key, then runs `schemathesis run`
over the served spec (/api/v1/openapi.yaml, so every route the spec lists is
covered, new ones included) with every check, a fixed seed and a time budget,
in the examples, coverage, fuzzing and stateful phases. Every check runs (all
enabled in schemathesis.toml, the equivalent of --checks all).

Exits non-zero if schemathesis reports any failure or error, or if the server
did not exit cleanly at the end (a crash, a sanitizer report, a leak).

Usage: run.py [--binary PATH] [--seed N] [--max-time SECONDS] [--keep DIR]
Environment: CP_BINARY (default build/cloudplane), CP_TOFU and
CLOUDPLANE_PROVIDER_MIRROR (else scripts/install-tofu.sh and install-provider.sh
provide them), CONTRACT_PHASES (a subset of the phases), CONTRACT_REPORTS
(schemathesis report formats, default ndjson,junit), CONTRACT_ENV_<NAME>=value
(extra server settings, e.g. for limits other features add).
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
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
EMAIL = "contract@example.com"
# Not a secret: a throwaway user in a throwaway data dir.
PASSWORD = "contract-check-password"


def script_output(name):
    """The last line a scripts/ installer prints: the path it installed."""
    p = subprocess.run([os.path.join(REPO, "scripts", name)], capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        sys.exit("contract: scripts/%s failed: %s" % (name, p.stderr.strip()))
    return p.stdout.strip().splitlines()[-1]


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
           "CLOUDPLANE_SIGNUP_IP_PER_HOUR": "1000000", "CLOUDPLANE_SIGNUP_ACCOUNT_PER_HOUR": "1000000",
           "CLOUDPLANE_LOGIN_IP_PER_MINUTE": "1000000", "CLOUDPLANE_LOGIN_ACCOUNT_PER_MINUTE": "1000000",
           "CLOUDPLANE_INVITE_IP_PER_HOUR": "1000000", "CLOUDPLANE_INVITE_ACCOUNT_PER_HOUR": "1000000",
           "CLOUDPLANE_PROJECT_MAX_RESOURCES": "1000000",
           "CLOUDPLANE_ACCESS_LOG": "false"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    # OpenTofu and the sandbox provider's mirror as `make test` exports them, else
    # from the install scripts (which reuse their caches): runs are real.
    env["CLOUDPLANE_TF_BINARY"] = os.environ.get("CP_TOFU") or script_output("install-tofu.sh")
    env["CLOUDPLANE_PROVIDER_MIRROR"] = (os.environ.get("CLOUDPLANE_PROVIDER_MIRROR")
                                         or script_output("install-provider.sh"))
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


def ancestors():
    """This process and its parents, up to init."""
    out, pid = set(), os.getpid()
    while pid > 1 and pid not in out:
        out.add(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def leftovers(data_dir):
    """Processes still running in or on the data dir (a tofu or provider the
    server should have stopped on shutdown): (pid, command line) pairs."""
    pids = []
    mine = ancestors()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in mine:
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % d)
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if cwd.startswith(data_dir) or data_dir in cmd:
            pids.append((int(d), cmd.strip()))
    return pids


# Operations that end the session whose token the run uses: every request
# after one of them would answer 401 (revokeSession too: schemathesis reuses
# the session ids it has seen). They run last, on their own token.
SESSION_ENDING = ["logout", "revokeAllSessions", "revokeSession", "changePassword"]


TOOL_BUG = "AST constructor recursion depth mismatch"


def schemathesis(url, cfg, phases, max_time, args, reports, env, cwd, ops=(), retried=False):
    """One `schemathesis run`; returns (exit code, its output). Every check runs:
    schemathesis.toml enables them all, as `--checks all` would; the flag itself
    is not passed because on the command line it also overrides the checks
    turned off for single operations there."""
    cmd = ["schemathesis", "--config-file", cfg, "run", url + "/api/v1/openapi.yaml",
           "--seed", str(args.seed), "--max-time", str(max_time), "--phases", phases, "--workers", args.workers,
           "--report", os.environ.get("CONTRACT_REPORTS", "ndjson,junit"), "--report-dir", reports]
    if args.max_examples:
        cmd += ["--max-examples", str(args.max_examples)]
    for flag, op in ops:
        cmd += [flag, op]
    print("contract: schemathesis %s against %s (seed %d, budget %ds)" % (phases, url, args.seed, max_time),
          flush=True)
    t0 = time.time()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = []
    for line in p.stdout:
        sys.stdout.write(line)
        out.append(line)
    rc = p.wait()
    print("contract: schemathesis %s exited %d after %.0fs" % (phases, rc, time.time() - t0), flush=True)
    text = "".join(out)
    if rc and TOOL_BUG in text and not retried:
        # The tool's own crash (see --workers), not a finding about the server: once more.
        print("contract: schemathesis crashed on CPython's %r; running it again" % TOOL_BUG, flush=True)
        return schemathesis(url, cfg, phases, max_time, args, reports, env, cwd, ops, retried=True)
    return rc, text


def summary_line(name, out):
    """The one-line summary of a schemathesis run: its last line, and for the
    stateful phase the links it followed."""
    last = [l.strip("= \n") for l in out.splitlines() if l.startswith("====")]
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", out)
    scen = re.search(r"Scenarios:\s+(\d+)", out)
    text = "%s: %s" % (name, last[-1] if last else "no summary (schemathesis did not finish)")
    if links:
        text += "; links covered %s of %s in %s scenarios" % (links.group(1), links.group(2),
                                                              scen.group(1) if scen else "?")
    return text


def failure_digest(out, limit=12):
    """The failing operations and checks of a run's FAILURES section, a line
    each, so the end of the output says what failed."""
    lines, in_failures = [], False
    for l in out.splitlines():
        if l.startswith("====") and "FAILURES" in l:
            in_failures = True
        elif l.startswith("===="):
            in_failures = False
        elif in_failures and (l.startswith("___") or l.startswith("- ")):
            lines.append(l.strip("_ ") if l.startswith("___") else "    " + l)
    return lines[:limit] + (["    ... %d more" % (len(lines) - limit)] if len(lines) > limit else [])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.environ.get("CP_BINARY", os.path.join(REPO, "build", "cloudplane")))
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--max-time", type=int, default=165, help="schemathesis time budget in seconds, all phases")
    ap.add_argument("--stateful-share", type=float, default=0.45, help="part of the budget for the stateful phase")
    ap.add_argument("--max-examples", type=int, default=0, help="test cases per operation (0: schemathesis' default)")
    # One worker: schemathesis' threads make a seed's run depend on timing, and
    # two of them compiling at once trip CPython 3.11's AST recursion-depth
    # check (gh-106905: "AST constructor recursion depth mismatch").
    ap.add_argument("--workers", default="1")
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
        cfg = os.path.join(HERE, "schemathesis.toml")

        def env_with_token():
            # The password hashes queued by the phase before may still fill the
            # hash pool: its 429 carries Retry-After, which a client honours.
            for attempt in range(30):
                try:
                    login = http("POST", url + "/api/v1/auth/login", {"email": EMAIL, "password": PASSWORD})
                    break
                except urllib.error.HTTPError as e:
                    if e.code != 429 or attempt == 29:
                        raise
                    time.sleep(min(float(e.headers.get("Retry-After") or 1), 5))
            return dict(os.environ, CP_CONTRACT_TOKEN=login["access_token"], CP_CONTRACT_SANDBOX_KEY=sandbox_key)

        # Two runs with their own budgets: in one run the fuzzing phase, which
        # repeats until the budget is spent, leaves the stateful phase too little
        # time to get from a project to a run.
        ending_time = max(1, int(args.max_time * 0.06))
        stateful_time = max(1, int((args.max_time - ending_time) * args.stateful_share))
        phases = os.environ.get("CONTRACT_PHASES", "examples,coverage,fuzzing,stateful").split(",")
        runs = []
        stateless = ",".join(p for p in phases if p != "stateful")
        keep = [("--exclude-operation-id", op) for op in SESSION_ENDING]
        if stateless:
            runs.append(("examples, coverage and fuzzing phases",
                         schemathesis(url, cfg, stateless,
                                      args.max_time - ending_time - (stateful_time if "stateful" in phases else 0),
                                      args, reports + "/stateless", env_with_token(), work, keep)))
        if "stateful" in phases:
            runs.append(("stateful phase", schemathesis(url, cfg, "stateful", stateful_time if stateless
                                                        else args.max_time - ending_time, args,
                                                        reports + "/stateful", env_with_token(), work, keep)))
        if stateless:
            runs.append(("session-ending operations",
                         schemathesis(url, cfg, stateless, ending_time, args, reports + "/ending", env_with_token(),
                                      work, [("--include-operation-id", op) for op in SESSION_ENDING])))
        rc = max(r[1][0] for r in runs)
        print("\ncontract: summary")
        for name, (code, out) in runs:
            print("  " + summary_line(name, out))
            for l in failure_digest(out) if code else []:
                print("    " + l)
        print("contract: %s" % ("ok" if rc == 0 else "FAILED (schemathesis reported failures or errors above)"))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        log.close()
    left = leftovers(data_dir)
    for pid, cmd in left:
        print("contract: still running after the server stopped: %d %s" % (pid, cmd))
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if left:
        rc = rc or 1
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
