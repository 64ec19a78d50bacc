"""Distributed mode end to end: `serve` with PostgreSQL and Redis (so it runs no
workers), separate `worker` processes, real OpenTofu on the sandbox modules,
and the s3 state backend with a DynamoDB lock table on moto, shared by every
worker. Leases are short (4 s, heartbeat 1 s) so recovery is quick; every
bound below is generous and only guards against a hang."""
import ipaddress
import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import Api
from distributed import restart_redis, wait_for

FINAL = ("succeeded", "failed", "canceled")



def setup_user(api_server):
    u = Api(api_server)
    p = u.project(name="dist")
    acct = u.sandbox_account(p["id"])
    return u, p, acct


def run_events(u, run_id):
    return u.ok("GET", "/runs/%s/events?format=json&limit=1000" % run_id)["items"]


def phase_starts(events):
    """The tofu commands a run spawned, from the runner's "<phase> started" system lines."""
    return [e["data"]["line"].split(" ")[0] for e in events
            if e["type"] == "log" and e["data"].get("stream") == "system" and " started" in e["data"]["line"]
            and e["data"]["line"].split(" ")[0] in ("init", "plan", "apply", "show", "output")]


def held_by_run(cluster, res_id, run_id):
    """The DynamoDB lock item on the resource's state while tofu in the run's own sandbox (host cp-<run id>-...)
    holds it, else None. In bubblewrap with s3 state the runner records no lock id (no tofu process probes for it):
    the holder names the run, and that is what the reaper frees a dead run's lock by."""
    item = cluster.lock_item(res_id)
    return item if item and ("@cp-%s-" % run_id) in json.dumps(item) else None


def own_lock_retries(events):
    """Phases the runner re-ran because tofu had met this run's own stray state lock (a lock request the AWS SDK
    retried after it had succeeded): that attempt never held the lock, so it changed nothing."""
    return sum(1 for e in events if e["type"] == "log" and "own stray lock" in e["data"].get("line", "")
               and "retrying" in e["data"].get("line", ""))


def tofu_processes_under(path):
    """Pids of live processes whose working directory is under path (tofu runs in a run dir)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % pid)
        except OSError:
            continue
        if cwd.startswith(path):
            out.append(int(pid))
    return out


def test_lifecycle(cluster):
    api = cluster.api()
    w1, w2 = cluster.worker(), cluster.worker()
    u, p, acct = setup_user(api)

    created = u.create_vm(p["id"], acct["id"], name="dist-1")
    res, run = created["resource"], created["run"]
    done = u.wait_run(run["id"])
    assert done["status"] == "succeeded", done
    assert done["attempt"] == 1
    r = u.ok("GET", "/resources/" + res["id"])
    assert r["status"] == "active", r
    assert ipaddress.ip_address(r["outputs"]["public_ip"]) in ipaddress.ip_network("203.0.113.0/24")
    assert r["outputs"]["id"].startswith("sbx-i-")
    ip = r["outputs"]["public_ip"]
    # The state lives in the shared s3 backend under this test's prefix, not on a worker's disk.
    assert "%s/%s/terraform.tfstate" % (cluster.prefix, res["id"]) in cluster.state_objects()

    resized = u.ok("PATCH", "/resources/" + res["id"], {"size": "sandbox.medium"}, 202)
    assert u.wait_run(resized["run"]["id"])["status"] == "succeeded"
    r = u.ok("GET", "/resources/" + res["id"])
    assert r["size"] == "sandbox.medium" and r["status"] == "active"
    assert r["outputs"]["public_ip"] == ip  # in-place update, whichever worker ran it

    d = u.ok("DELETE", "/resources/" + res["id"], status=202)
    assert u.wait_run(d["run"]["id"])["status"] == "succeeded"
    gone = u.ok("GET", "/resources/" + res["id"])
    assert gone["status"] == "destroyed" and gone["outputs"] == {}
    assert cluster.lock_item(res["id"]) is None

    # Workers ran every run; the API process ran none.
    claimed = {c["run_id"] for w in (w1, w2) for c in w.claims()}
    assert claimed == {run["id"], resized["run"]["id"], d["run"]["id"]}
    assert "run claimed" not in api.logs() and "engine ready" not in api.logs()
    for w in (w1, w2):
        runs_dir = os.path.join(w.data_dir, "runs")
        assert not os.path.isdir(runs_dir) or os.listdir(runs_dir) == [], "run dirs left behind on " + w.id


def test_worker_killed_mid_apply(cluster):
    """kill -9 of the worker running an apply: the run fails (never re-applied), the resource is failed, not
    stuck, the platform frees the state lock the dead run held, and a retry (destroy) succeeds. Three times."""
    api = cluster.api()
    workers = [cluster.worker(), cluster.worker()]
    u, p, acct = setup_user(api)
    for round_ in range(3):
        c = u.create_vm(p["id"], acct["id"], name="victim-%d" % round_, simulate_seconds=20)
        res_id, run_id = c["resource"]["id"], c["run"]["id"]
        # Applying, and tofu in the run's sandbox holds the state lock in DynamoDB now.
        row = wait_for(lambda: (lambda r: r if r and r["status"] == "applying" and held_by_run(cluster, res_id, run_id)
                                else None)(cluster.run_row(run_id)), 60, "run %s to be applying holding its lock" % run_id,
                       explain=lambda: (cluster.run_row(run_id), cluster.lock_item(res_id), run_events(u, run_id)[-12:]))
        victim = cluster.worker_by_id(row["lease_owner"])
        assert not row["lock_id"], row  # nothing probed for it: the holder is the proof

        assert tofu_processes_under(victim.data_dir), "no tofu process found in the victim's run dirs"
        victim.signal(signal.SIGKILL)
        # bubblewrap's --die-with-parent takes tofu down with its worker: no orphan keeps applying.
        wait_for(lambda: not tofu_processes_under(victim.data_dir), 10, "tofu of the killed worker to die")

        done = u.wait_run(run_id, timeout=60)
        assert done["status"] == "failed", done
        assert "worker lost" in done["error"], done
        assert done["attempt"] == 1  # not retried
        r = u.ok("GET", "/resources/" + res_id)
        assert r["status"] == "failed", r
        # The reaper (a surviving worker) frees the lock right after it fails the run: tofu died by SIGKILL and
        # never released it.
        wait_for(lambda: cluster.lock_item(res_id) is None, 30, "the DynamoDB lock of %s to be freed" % res_id)
        # The reaper logs once force-unlock has returned, a moment after the lock item is gone.
        freed = wait_for(lambda: [e for w in workers if w is not victim for e in w.events()
                                  if e.get("msg") == "state lock of a lost run" and e.get("run_id") == run_id],
                         10, "the reaper's log line for %s" % run_id)
        assert freed and freed[0]["freed"] and freed[0]["lock_id"] == "", freed  # freed by its holder
        events = run_events(u, run_id)
        statuses = [e["data"]["run_status"] for e in events if e["type"] == "status"]
        assert statuses[-1] == "failed", statuses
        assert any("worker lost" in e["data"].get("line", "") for e in events if e["type"] == "log")

        workers.remove(victim)
        workers.append(cluster.worker())  # a replacement, so two stay alive

        retry = u.ok("DELETE", "/resources/" + res_id, status=202)["run"]
        done = u.wait_run(retry["id"], timeout=90)
        assert done["status"] == "succeeded", (done, run_events(u, retry["id"])[-5:])
        assert u.ok("GET", "/resources/" + res_id)["status"] == "destroyed"
        assert cluster.lock_item(res_id) is None


def test_lease_expires_before_tofu_starts(cluster):
    """A worker that stalls right after its claim (test hook, before the heartbeat starts) loses the lease; the
    run goes back to queued, another worker runs it as attempt 2, and the stalled one starts nothing."""
    api = cluster.api()
    stalled = cluster.worker("stalled", slots=1, CLOUDPLANE_TEST_PAUSE_AFTER_CLAIM_MS="12000")
    u, p, acct = setup_user(api)
    c = u.create_vm(p["id"], acct["id"], name="requeue-1")
    run_id = c["run"]["id"]
    row = wait_for(lambda: (lambda r: r if r and r["lease_owner"] == stalled.id else None)(cluster.run_row(run_id)),
                   30, "the stalled worker to claim")
    assert row["status"] == "planning" and not row["tofu_started"] and row["attempt"] == 1
    # No heartbeat renews the lease; the reaper (the stalled worker's reconciler thread still runs) puts the run
    # back in the queue. Its only slot is the stalled one, so the run stays queued until another worker comes.
    row = wait_for(lambda: (lambda r: r if r["status"] == "queued" and not r["lease_owner"] else None)(
        cluster.run_row(run_id)), 30, "the run to be queued again")
    assert row["attempt"] == 1 and not row["tofu_started"]
    assert any("lease expired before tofu started" in e.get("msg", "") for e in stalled.events())

    healthy = cluster.worker("healthy", slots=1)
    done = u.wait_run(run_id, timeout=60)
    assert done["status"] == "succeeded", done
    assert done["attempt"] == 2
    assert [c_["attempt"] for c_ in stalled.claims() if c_["run_id"] == run_id] == [1]
    assert [c_["attempt"] for c_ in healthy.claims() if c_["run_id"] == run_id] == [2]
    assert u.ok("GET", "/resources/" + c["resource"]["id"])["status"] == "active"

    # When the stalled worker wakes, it finds the run gone and touches nothing.
    wait_for(lambda: [e for e in stalled.events() if e.get("msg") == "run done" and e.get("run_id") == run_id],
             30, "the stalled worker to give the run up")
    assert [e["fenced"] for e in stalled.events() if e.get("msg") == "run done"] == [True]
    time.sleep(1.5)  # a stale heartbeat or event would land by now
    events = run_events(u, run_id)
    assert phase_starts(events).count("apply") == 1 + own_lock_retries(events), phase_starts(events)
    statuses = [e["data"]["run_status"] for e in events if e["type"] == "status"]
    assert statuses[-1] == "succeeded", statuses
    assert statuses.count("planning") == 1, statuses  # only the healthy worker's start
    assert cluster.run_row(run_id)["attempt"] == 2


def test_worker_that_cannot_renew_kills_its_tofu_first(cluster):
    """A worker whose lease renewals fail (test hook: as if its database were unreachable) kills its own tofu before
    its lease runs out and writes nothing more; the reaper fails the run "worker lost" and frees the state lock only
    after that tofu is gone, so no second apply overlaps it; the next run of the resource succeeds."""
    api = cluster.api()
    # Renewals start failing 5 s into the apply, however long init and plan took on this machine.
    hooked = cluster.worker("nohb", slots=1, CLOUDPLANE_TEST_FAIL_HEARTBEAT_AFTER_MS="5000")
    assert any("CLOUDPLANE_TEST_FAIL_HEARTBEAT_AFTER_MS" in e.get("msg", "") and e.get("level") in ("warn", "warning")
               for e in hooked.events()) or "CLOUDPLANE_TEST_FAIL_HEARTBEAT_AFTER_MS" in hooked.logs()
    u, p, acct = setup_user(api)
    c = u.create_vm(p["id"], acct["id"], name="no-heartbeat", simulate_seconds=40)
    res_id, run_id = c["resource"]["id"], c["run"]["id"]
    row = wait_for(lambda: (lambda r: r if r and r["status"] == "applying" and held_by_run(cluster, res_id, run_id)
                            else None)(cluster.run_row(run_id)), 60, "run %s to be applying holding its lock" % run_id,
                   explain=lambda: (cluster.run_row(run_id), cluster.lock_item(res_id), run_events(u, run_id)[-12:]))
    assert row["lease_owner"] == hooked.id
    applying = set(tofu_processes_under(hooked.data_dir))
    assert applying, "no tofu process found in the hooked worker's run dirs"

    # Watch until the lock is freed: the applying tofu must be gone before the run is failed and before the lock
    # goes. (Only the processes seen applying: the reaper's own force-unlock may run in this worker's dirs too.)
    tofu_gone_at = failed_at = freed_at = None
    deadline = time.time() + 60
    while time.time() < deadline and freed_at is None:
        now = time.time()
        alive = bool(applying & set(tofu_processes_under(hooked.data_dir)))
        if not alive and tofu_gone_at is None:
            tofu_gone_at = now
        st = cluster.run_row(run_id)["status"]
        if st == "failed" and failed_at is None:
            failed_at = now
            assert not alive, "the run was reaped while the lost worker's tofu still ran"
        if failed_at is not None and cluster.lock_item(res_id) is None:
            freed_at = now
            assert not alive, "the state lock was freed while the lost worker's tofu still ran"
        time.sleep(0.1)
    assert tofu_gone_at and failed_at and freed_at, (tofu_gone_at, failed_at, freed_at, cluster.run_row(run_id),
                                                      cluster.lock_item(res_id))
    assert tofu_gone_at < failed_at <= freed_at
    assert any(e.get("msg", "").startswith("lease not renewed in time") and e.get("run_id") == run_id
               for e in hooked.events())

    done = u.wait_run(run_id, timeout=30)
    assert done["status"] == "failed" and "worker lost" in done["error"], done
    assert done["attempt"] == 1  # never re-applied
    events = run_events(u, run_id)
    assert phase_starts(events).count("apply") == 1 + own_lock_retries(events), phase_starts(events)
    statuses = [e["data"]["run_status"] for e in events if e["type"] == "status"]
    assert statuses[-1] == "failed", statuses
    assert [e["fenced"] for e in hooked.events() if e.get("msg") == "run done" and e.get("run_id") == run_id] == [True]

    # The next run of the resource, on a healthy worker, succeeds.
    hooked.stop()
    cluster.worker("healthy", slots=1)
    retry = u.ok("DELETE", "/resources/" + res_id, status=202)["run"]
    done = u.wait_run(retry["id"], timeout=90)
    assert done["status"] == "succeeded", (done, run_events(u, retry["id"])[-5:])
    assert u.ok("GET", "/resources/" + res_id)["status"] == "destroyed"
    assert cluster.lock_item(res_id) is None


def test_redis_restart_loses_no_run(cluster):
    """Redis restarts without persistence while 20 runs are queued or running: the stream, the pending lists and
    the consumer group are gone, yet every run ends succeeded (the reconciler re-enqueues from the database)."""
    api = cluster.api()
    workers = [cluster.worker(slots=2), cluster.worker(slots=2)]
    u, p, acct = setup_user(api)
    # The first four runs are short so the restart comes early; the rest are long enough that a loaded machine
    # cannot finish them all before the restart (the check below would then prove nothing).
    runs = [u.create_vm(p["id"], acct["id"], name="r-%02d" % i, simulate_seconds=1 if i < 4 else 5)["run"]["id"]
            for i in range(20)]

    def finished():
        return sum(1 for rid in runs if cluster.run_row(rid)["status"] in FINAL)

    wait_for(lambda: finished() >= 1, 90, "the first run to finish")
    assert finished() < 20, "all runs finished before the restart; the test proves nothing"
    assert api.get("/readyz").json()["queue"] == "redis"
    down = []
    restart_redis(cluster.redis_port, while_down=lambda: down.append(api.get("/readyz")))
    assert down[0].status_code == 503 and "queue" in down[0].json()["error"]["message"]
    wait_for(lambda: api.get("/readyz").status_code == 200, 30, "readiness after the restart")

    for rid in runs:
        done = u.wait_run(rid, timeout=150)
        assert done["status"] == "succeeded", done
        assert done["attempt"] == 1, done
    # Dispatch works again after the restart: a new run is pushed and taken.
    late = u.create_vm(p["id"], acct["id"], name="after-restart")
    assert u.wait_run(late["run"]["id"], timeout=60)["status"] == "succeeded"
    claims = [c["run_id"] for w in workers for c in w.claims()]
    for rid in runs + [late["run"]["id"]]:
        assert claims.count(rid) == 1, rid


def test_concurrent_creates_no_duplicate_apply(cluster):
    api = cluster.api()
    workers = [cluster.worker(slots=2), cluster.worker(slots=2)]
    u, p, acct = setup_user(api)
    n = 50
    barrier = threading.Barrier(n)

    def create(i):
        barrier.wait()
        return u.create_vm(p["id"], acct["id"], name="c-%02d" % i)["run"]["id"]

    with ThreadPoolExecutor(n) as pool:
        runs = list(pool.map(create, range(n)))
    assert len(set(runs)) == n
    for rid in runs:
        done = u.wait_run(rid, timeout=240)
        assert done["status"] == "succeeded", (done["error"], run_events(u, rid)[-8:])
        assert done["attempt"] == 1, done

    claims = [c["run_id"] for w in workers for c in w.claims()]
    for rid in runs:
        assert claims.count(rid) == 1, (rid, claims.count(rid))
        events = run_events(u, rid)
        assert phase_starts(events).count("apply") == 1 + own_lock_retries(events), (rid, phase_starts(events))
        started = [e["data"]["address"] for e in events if e["type"] == "progress" and e["data"]["state"] == "started"]
        assert sorted(started) == ["sandbox_instance.this"], (rid, started)
    # Both workers took part.
    assert all(w.claims() for w in workers), [len(w.claims()) for w in workers]
    items = u.ok("GET", "/resources?project_id=%s&limit=100" % p["id"])["items"]
    assert len(items) == n and all(i["status"] == "active" for i in items)


def test_any_api_streams_any_run(cluster):
    """A run accepted by one API instance streams live (SSE) from another."""
    api1, api2 = cluster.api(), cluster.api()
    cluster.worker()
    u = Api(api1)
    p = u.project(name="stream")
    acct = u.sandbox_account(p["id"])
    c = u.create_vm(p["id"], acct["id"], name="streamed", simulate_seconds=4)
    run_id = c["run"]["id"]

    got, status_at_applying, ended = [], [], []
    # The ticket comes from one instance and opens the stream on the other.
    ticket = u.ok("POST", "/runs/%s/stream-ticket" % run_id)["ticket"]
    url = api2.url + "/api/v1/runs/%s/events?ticket=%s" % (run_id, ticket)
    with requests.get(url, headers={"Accept": "text/event-stream"}, stream=True, timeout=90) as r:
        assert r.status_code == 200, r.text
        cur = {}
        for raw in r.iter_lines(decode_unicode=True):
            if raw == "":
                if cur.get("event") == "end":
                    ended.append(json.loads(cur.get("data", "null")))
                elif "event" in cur:
                    data = json.loads(cur.get("data", "null"))
                    got.append((int(cur["id"]), cur["event"], data))
                    if cur["event"] == "status" and data["run_status"] == "applying" and not status_at_applying:
                        # Live: while this instance streams "applying", the run is still going.
                        status_at_applying.append(u.ok("GET", "/runs/" + run_id)["status"])
                cur = {}
            elif not raw.startswith(":"):
                k, _, v = raw.partition(": ")
                cur[k] = v
    statuses = [d["run_status"] for _, kind, d in got if kind == "status"]
    assert statuses[0] == "planning" and statuses[-1] == "succeeded", statuses
    assert ended == [{"reason": "run_finished"}]
    assert "applying" in statuses
    assert status_at_applying and status_at_applying[0] not in FINAL, status_at_applying
    seqs = [s for s, _, _ in got]
    assert seqs == list(range(1, len(seqs) + 1))
    # The same events as the accepting instance has.
    assert [e["seq"] for e in run_events(u, run_id)] == seqs
    assert any(kind == "progress" and d["state"] == "complete" for _, kind, d in got)
