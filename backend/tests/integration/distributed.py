"""Helpers for distributed-mode tests: `serve` instances and `worker` processes
sharing one fresh PostgreSQL database, the test Redis, and an S3 state
backend on moto (so every worker sees the same tofu state and lock table).

Each test gets its own database and its own S3 key prefix; the Redis stream
and consumer group are shared by every test (entries of other databases are
turned away by the claim and acked).
"""
import base64
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import BINARY, RELAXED_LIMITS, REPO, Server, fresh_pg_database, provider_mirror

SERVICE_VARS = ("CP_TEST_PG_ADMIN", "CP_TEST_REDIS_URL", "CP_TEST_REDIS_PORT", "CP_TEST_MOTO_URL",
                "CP_TEST_S3_BUCKET", "CP_TEST_DDB_TABLE")


def pinned_tofu_version():
    """TOFU_VERSION from versions.env at the repo root (the one place it is written)."""
    with open(os.path.join(REPO, "versions.env")) as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if sep and key == "TOFU_VERSION":
                return value
    raise RuntimeError("versions.env has no TOFU_VERSION line")


def tofu_path():
    return os.environ.get("CP_TOFU") or os.path.expanduser(
        "~/.cache/cloudplane/tofu/%s/tofu" % pinned_tofu_version())


def require_services():
    missing = [v for v in SERVICE_VARS if not os.environ.get(v)]
    if missing:
        pytest.skip("distributed mode needs PostgreSQL, Redis and moto (scripts/services.sh, run by make test);"
                    " missing: " + ", ".join(missing))
    if not os.access(tofu_path(), os.X_OK):
        pytest.skip("OpenTofu not installed at %s (scripts/install-tofu.sh; or set CP_TOFU)" % tofu_path())
    try:
        import boto3  # noqa: F401
    except ImportError:
        pytest.skip("boto3 not installed (needed to inspect the DynamoDB lock table on moto)")


def wait_for(pred, timeout, what, every=0.2, explain=None):
    """Polls pred() until it returns a truthy value; that value, or AssertionError naming what (and what explain()
    returns then, to say where things stood)."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() >= deadline:
            raise AssertionError("timed out after %ss waiting for %s%s"
                                 % (timeout, what, "; " + repr(explain()) if explain else ""))
        time.sleep(every)


def log_lines(text):
    """The JSON log lines of a process's log (others, e.g. sanitizer reports, are skipped)."""
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


class Worker:
    """One `cloudplane worker` process with its own data dir (run dirs, init cache)."""

    def __init__(self, worker_id, data_dir, env):
        self.id = worker_id
        self.data_dir = data_dir
        self.env = env
        self.log_path = data_dir + ".log"
        self.proc = None
        self.killed = False

    def start(self, timeout=30):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BINARY, "worker", "--data-dir", self.data_dir], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log, env=self.env)
        wait_for(lambda: self.proc.poll() is not None or any(e.get("msg") == "worker started" for e in self.events()),
                 timeout, "worker %s to start" % self.id, every=0.05)
        if self.proc.poll() is not None:
            raise RuntimeError("worker %s exited with %s:\n%s" % (self.id, self.proc.returncode, self.logs()[-4000:]))
        return self

    @property
    def pid(self):
        return self.proc.pid

    def logs(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def events(self):
        """The JSON log lines of this worker."""
        return log_lines(self.logs())

    def claims(self):
        return [e for e in self.events() if e.get("msg") == "run claimed"]

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        if sig == signal.SIGKILL:
            self.killed = True
            self.proc.wait(timeout=30)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # in case a test left it stopped
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Cluster:
    """API servers and workers in distributed mode, on one fresh database."""

    def __init__(self, tmp_path, lease_seconds=4, heartbeat_seconds=1):
        require_services()
        self.tmp = str(tmp_path)
        self.db_url = fresh_pg_database()
        self.redis_url = os.environ["CP_TEST_REDIS_URL"]
        self.redis_port = int(os.environ["CP_TEST_REDIS_PORT"])
        self.moto = os.environ["CP_TEST_MOTO_URL"]
        self.bucket = os.environ["CP_TEST_S3_BUCKET"]
        self.table = os.environ["CP_TEST_DDB_TABLE"]
        self.prefix = "t-" + uuid.uuid4().hex[:12]
        self.tag = uuid.uuid4().hex[:6]  # keeps consumer names unique across tests on the shared stream
        # One run-token issuer key set for every process, made the way an operator would.
        self.issuer_keys = os.path.join(self.tmp, "issuer.jwks")
        subprocess.run([BINARY, "admin", "rotate-issuer-key", "--data-dir", os.path.join(self.tmp, "keygen"),
                        "--issuer-keys-file", self.issuer_keys], check=True, capture_output=True, timeout=60)
        self.env = {
            "CLOUDPLANE_DATABASE_URL": self.db_url,
            "CLOUDPLANE_REDIS_URL": self.redis_url,
            # Every process must share the signing key and the vault keys.
            "CLOUDPLANE_JWT_SECRET": base64.b64encode(os.urandom(33)).decode(),
            "CLOUDPLANE_VAULT_KEYS": "k1:" + base64.b64encode(os.urandom(32)).decode(),
            "CLOUDPLANE_ISSUER_KEYS_FILE": self.issuer_keys,
            "CLOUDPLANE_LEASE_SECONDS": str(lease_seconds),
            "CLOUDPLANE_HEARTBEAT_SECONDS": str(heartbeat_seconds),
            "CLOUDPLANE_TF_BINARY": tofu_path(),
            "CLOUDPLANE_MODULES_DIR": os.path.join(REPO, "terraform", "modules"),
            "CLOUDPLANE_PROVIDER_MIRROR": provider_mirror(),
            "CLOUDPLANE_STATE_BACKEND": "s3",
            "CLOUDPLANE_STATE_S3_BUCKET": self.bucket,
            "CLOUDPLANE_STATE_S3_REGION": "us-east-1",
            "CLOUDPLANE_STATE_S3_KEY_PREFIX": self.prefix,
            "CLOUDPLANE_STATE_S3_ENDPOINT": self.moto,
            "CLOUDPLANE_STATE_S3_DYNAMODB_ENDPOINT": self.moto,
            "CLOUDPLANE_STATE_S3_DYNAMODB_TABLE": self.table,
            "CLOUDPLANE_STATE_S3_PATH_STYLE": "true",
            "CLOUDPLANE_STATE_S3_SKIP_CHECKS": "true",
            "CLOUDPLANE_STATE_S3_ACCESS_KEY_ID": "test",
            "CLOUDPLANE_STATE_S3_SECRET_ACCESS_KEY": "test",
            "CLOUDPLANE_SHUTDOWN_GRACE": "10",
        }
        self.servers = []
        self.workers = []

    # ---- processes

    def api(self, **env):
        d = tempfile.mkdtemp(dir=self.tmp, prefix="api")
        s = Server(d, dict(self.env, **env)).start()
        self.servers.append(s)
        return s

    def worker(self, name=None, slots=1, **env):
        wid = "%s-%s" % (name or "w%d" % (len(self.workers) + 1), self.tag)
        d = tempfile.mkdtemp(dir=self.tmp, prefix="worker-%s-" % (name or "w"))
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": d}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                base[k] = os.environ[k]
        base.update(RELAXED_LIMITS)  # as the API servers get them (conftest.Server)
        base.update(self.env)
        base.update({"CLOUDPLANE_WORKER_ID": wid, "CLOUDPLANE_WORKERS": str(slots)})
        # The sandbox cloud's API is served by the API instances (one database
        # behind them all): the workers' provider calls the first one.
        if self.servers:
            base["CLOUDPLANE_SANDBOX_ENDPOINT"] = self.servers[0].url
        base.update(env)
        w = Worker(wid, d, base).start()
        self.workers.append(w)
        return w

    def worker_by_id(self, wid):
        return next(w for w in self.workers if w.id == wid)

    def close(self):
        """Stops everything; a worker or server that was not killed must exit 0 (LeakSanitizer in the ASan build)."""
        bad = []
        for w in self.workers:
            code = w.stop()
            if not w.killed and code != 0:
                bad.append("worker %s exited with %s\n%s" % (w.id, code, w.logs()[-3000:]))
        for s in self.servers:
            code = s.stop()
            if code != 0:
                bad.append("server exited with %s\n%s" % (code, s.logs()[-3000:]))
        assert not bad, "\n\n".join(bad)

    # ---- the database

    def sql(self, query, *args):
        """Rows of a query as lists of strings; args are bound as psql variables :'a1', :'a2', ..."""
        cmd = ["psql", self.db_url, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
        for i, a in enumerate(args, 1):
            cmd += ["-v", "a%d=%s" % (i, a)]
        out = subprocess.run(cmd, input=query, capture_output=True, text=True, check=True).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def run_row(self, run_id):
        rows = self.sql("SELECT status, COALESCE(lease_owner, ''), COALESCE(lock_id, ''), tofu_started, attempt"
                        " FROM runs WHERE id = :'a1'", run_id)
        if not rows:
            return None
        st, owner, lock, started, attempt = rows[0]
        return {"status": st, "lease_owner": owner, "lock_id": lock, "tofu_started": started == "1",
                "attempt": int(attempt)}

    # ---- the state backend

    def _aws(self, service):
        import boto3
        return boto3.client(service, endpoint_url=self.moto, aws_access_key_id="test", aws_secret_access_key="test",
                            region_name="us-east-1")

    def state_path(self, resource_id):
        """<bucket>/<key>: the DynamoDB LockID of a resource's state (its tofu workspace)."""
        return "%s/%s/%s/terraform.tfstate" % (self.bucket, self.prefix, resource_id)

    def lock_item(self, resource_id):
        r = self._aws("dynamodb").get_item(TableName=self.table, Key={"LockID": {"S": self.state_path(resource_id)}},
                                           ConsistentRead=True)
        return r.get("Item")

    def state_objects(self):
        r = self._aws("s3").list_objects_v2(Bucket=self.bucket, Prefix=self.prefix + "/")
        return [o["Key"] for o in r.get("Contents", [])]


# ---- Redis

def _redis_cli(port, *args, timeout=10):
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port)] + list(args), capture_output=True,
                          text=True, timeout=timeout)


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def restart_redis(port, while_down=None):
    """Restarts the test Redis on the same port with the flags scripts/services.sh uses (no persistence: every
    stream entry, pending list and consumer group is lost)."""
    conf = {}
    for key in ("pidfile", "logfile", "dir"):
        out = _redis_cli(port, "--raw", "CONFIG", "GET", key).stdout.splitlines()
        conf[key] = out[1] if len(out) > 1 else ""
    _redis_cli(port, "SHUTDOWN", "NOSAVE")
    wait_for(lambda: not _port_open(port), 15, "redis on port %d to stop" % port, every=0.05)
    if while_down:
        while_down()
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--daemonize", "yes"]
    for key in ("pidfile", "logfile", "dir"):
        if conf[key]:
            cmd += ["--" + key, conf[key]]
    subprocess.run(cmd, check=True, capture_output=True, timeout=15)
    wait_for(lambda: _redis_cli(port, "PING").stdout.strip() == "PONG", 15, "redis on port %d to restart" % port,
             every=0.05)
