"""Retention: the scheduler prunes finished runs' event logs, audit rows and
the run dirs a crash left behind once they are older than the retention
settings (seconds here, so the tests run fast), and never touches an
unfinished run: one awaiting approval and one still applying keep their
events and their dirs whatever their age. Runs themselves stay. 0 and off
keep everything."""
import os
import subprocess
import time

from conftest import BINARY, Api

AGE = 6  # seconds: every retention age of the pruning server


def retention_env(store_env, events, audit, workspaces):
    return dict(store_env, CLOUDPLANE_SCHEDULER_INTERVAL="1", CLOUDPLANE_CANCEL_GRACE="2",
                CLOUDPLANE_RETENTION_EVENTS=events,
                CLOUDPLANE_RETENTION_AUDIT=audit, CLOUDPLANE_RETENTION_WORKSPACES=workspaces)


def events_page(u, run_id):
    return u.ok("GET", "/runs/%s/events?format=json&limit=1000" % run_id)


def plant_dir(s, run_id, tag):
    """A run dir as a crash leaves it (runs/<run_id>.<rnd>), last written long ago."""
    d = os.path.join(s.data_dir, "runs", "%s.%s" % (run_id, tag))
    os.makedirs(os.path.join(d, ".tfdata"))
    with open(os.path.join(d, ".tfdata", "plan.bin"), "w") as f:
        f.write("a saved plan")
    old = time.time() - 3600
    os.utime(d, (old, old))
    return d


def wait_for(pred, what, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError("timed out waiting for " + what)


def live_dirs(s, run_id):
    runs = os.path.join(s.data_dir, "runs")
    return [n for n in os.listdir(runs) if n.startswith(run_id + ".")] if os.path.isdir(runs) else []


def test_old_logs_audit_and_leftover_dirs_go_unfinished_runs_keep_theirs(make_server, store_env):
    s = make_server(env=retention_env(store_env, "%ds" % AGE, "%ds" % AGE, "%ds" % AGE))
    u = Api(s)
    p = u.project(name="plain")
    acct = u.sandbox_account(p["id"])
    guarded = u.project(name="guarded", require_approval=True)
    gacct = u.sandbox_account(guarded["id"])

    done = u.create_vm(p["id"], acct["id"], name="done")["run"]["id"]
    waiting = u.create_vm(guarded["id"], gacct["id"], name="waiting")["run"]["id"]
    assert u.wait_run(done, timeout=180)["status"] == "succeeded"
    assert u.wait_run(waiting, until=("awaiting_approval",), timeout=180)["status"] == "awaiting_approval"
    # Applying for a long while: its own dir is there the whole time.
    slow = u.create_vm(p["id"], acct["id"], name="slow", simulate_seconds=600)["run"]["id"]
    wait_for(lambda: u.ok("GET", "/runs/" + slow)["status"] == "applying" and live_dirs(s, slow), "the slow apply")

    done_events = events_page(u, done)
    waiting_events = events_page(u, waiting)
    assert done_events["items"] and done_events["events_pruned_at"] is None, done_events
    assert waiting_events["items"] and waiting_events["events_pruned_at"] is None, waiting_events
    audit_before = u.ok("GET", "/projects/%s/audit" % p["id"])["items"]
    assert audit_before, "creating the project and its account left no audit rows"

    done_dir = plant_dir(s, done, "deadbeef")
    waiting_dir = plant_dir(s, waiting, "cafebabe")
    unknown_dir = plant_dir(s, p["id"], "0badf00d")  # a valid id of no run

    # The finished run's log goes once it ended AGE seconds ago; it says so.
    pruned = wait_for(lambda: (lambda pg: pg if pg["events_pruned_at"] else None)(events_page(u, done)),
                      "the finished run's events to be pruned")
    assert pruned["items"] == [] and pruned["run_status"] == "succeeded", pruned
    run = u.ok("GET", "/runs/" + done)
    assert run["status"] == "succeeded" and run["events_pruned_at"] == pruned["events_pruned_at"], run
    wait_for(lambda: not os.path.exists(done_dir) and not os.path.exists(unknown_dir), "the leftover dirs to go")
    wait_for(lambda: not any(a["id"] in {x["id"] for x in audit_before}
                             for a in u.ok("GET", "/projects/%s/audit" % p["id"])["items"]),
             "the old audit rows to go")

    # Two more sweeps: the unfinished runs still have all of theirs.
    time.sleep(2.5)
    assert events_page(u, waiting)["items"] == waiting_events["items"]
    assert events_page(u, waiting)["events_pruned_at"] is None
    assert u.ok("GET", "/runs/" + waiting)["events_pruned_at"] is None
    assert os.path.isdir(waiting_dir), "the dir of a run awaiting approval was removed"
    assert u.ok("GET", "/runs/" + slow)["status"] == "applying"
    assert live_dirs(s, slow), "the dir of a run still applying was removed"
    slow_events = events_page(u, slow)
    assert slow_events["items"] and slow_events["events_pruned_at"] is None, slow_events

    # Something new is kept: an audit row written now is listed now.
    u.ok("PATCH", "/projects/" + p["id"], {"name": "renamed"})
    assert any(a["action"] == "project.update" for a in u.ok("GET", "/projects/%s/audit" % p["id"])["items"])

    # The run log stream says the log was pruned instead of ending empty.
    r = s.get("/api/v1/runs/%s/events" % done, u.token, stream=True)
    text = ""
    for chunk in r.iter_content(chunk_size=None, decode_unicode=True):
        text += chunk
        if "event: end" in text:
            break
    r.close()
    assert "event: pruned" in text and "run_finished" in text and "event: log" not in text, text

    u.ok("POST", "/runs/%s/cancel" % slow)
    u.wait_run(slow, timeout=180)
    log = s.logs()
    assert '"retention pruned"' in log or "retention pruned" in log, log[-3000:]


def test_off_and_zero_keep_everything(make_server, store_env):
    # Events and audit kept forever; dirs pruned, which shows the sweeps run.
    s = make_server(env=retention_env(store_env, "off", "0", "2s"))
    u = Api(s)
    p = u.project(name="keep")
    acct = u.sandbox_account(p["id"])
    run = u.create_vm(p["id"], acct["id"])["run"]["id"]
    assert u.wait_run(run, timeout=180)["status"] == "succeeded"
    before = events_page(u, run)["items"]
    audit = u.ok("GET", "/projects/%s/audit" % p["id"])["items"]
    time.sleep(3)  # the run and the audit rows are older than the dirs' age now
    leftover = plant_dir(s, run, "deadbeef")
    wait_for(lambda: not os.path.exists(leftover), "the leftover dir to go")
    time.sleep(2)
    page = events_page(u, run)
    assert page["items"] == before and page["events_pruned_at"] is None
    assert u.ok("GET", "/projects/%s/audit" % p["id"])["items"] == audit
    s.stop()

    # Now the dirs are kept and events go: the dir outlives the log.
    s2 = make_server(env=retention_env(store_env, "2s", "off", "off"), data_dir=s.data_dir)
    u.s = s2
    leftover = plant_dir(s2, run, "cafebabe")
    wait_for(lambda: events_page(u, run)["events_pruned_at"], "the events to be pruned")
    time.sleep(2)
    assert os.path.isdir(leftover)
    assert u.ok("GET", "/projects/%s/audit" % p["id"])["items"] == audit


def test_a_bad_age_is_refused():
    for bad in ("90", "1y", "-1d", "forever"):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CLOUDPLANE_RETENTION_AUDIT": bad}
        r = subprocess.run([BINARY, "serve", "--listen", "127.0.0.1:0", "--data-dir", "/nonexistent/x"], env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0
        assert "CLOUDPLANE_RETENTION_AUDIT" in r.stderr and "90d" in r.stderr, r.stderr


def test_workers_sweeping_one_database_prune_each_event_once(cluster):
    """Three worker processes sweep one PostgreSQL database every second: the
    old events of 40 finished runs all go, once, with no sweep failing."""
    import json

    from distributed import wait_for as cluster_wait
    ages = {"CLOUDPLANE_RETENTION_EVENTS": "3s", "CLOUDPLANE_RETENTION_AUDIT": "off",
            "CLOUDPLANE_RETENTION_WORKSPACES": "off"}
    api = cluster.api(CLOUDPLANE_WORKERS="0", **ages)
    u = Api(api)
    p = u.project(name="retain")
    acct = u.sandbox_account(p["id"])
    workers = [cluster.worker(CLOUDPLANE_SCHEDULER_INTERVAL="1", **ages) for _ in range(3)]
    order = u.create_vm(p["id"], acct["id"])
    assert u.wait_run(order["run"]["id"], timeout=240)["status"] == "succeeded"
    rid = order["resource"]["id"]
    # 40 runs of 500 events each, ended long ago, written in one transaction.
    cluster.sql("BEGIN;"
                " INSERT INTO runs (id, resource_id, project_id, operation, status, queued_at, finished_at)"
                " SELECT 'old' || lpad(i::text, 23, '0'), :'a1', :'a2', 'update', 'succeeded', 1, 1000"
                " FROM generate_series(1, 40) i;"
                " INSERT INTO run_events (run_id, seq, ts, type, data)"
                " SELECT 'old' || lpad(((i - 1) / 500 + 1)::text, 23, '0'), i, 1, 'log', '{}'"
                " FROM generate_series(1, 20000) i;"
                " COMMIT;", rid, p["id"])

    def done():
        left = cluster.sql("SELECT COUNT(*) FROM runs WHERE id LIKE 'old%' AND events_pruned_at IS NULL")
        return left == [["0"]]
    cluster_wait(done, 120, "every old run's events pruned")
    assert cluster.sql("SELECT COUNT(*) FROM run_events WHERE run_id LIKE 'old%'") == [["0"]]
    # The VM's own run ended long enough ago by now to lose its events too.
    own = order["run"]["id"]
    cluster_wait(lambda: u.ok("GET", "/runs/" + own)["events_pruned_at"], 60, "the VM run's events pruned")
    own_events = int(cluster.sql("SELECT event_count FROM runs WHERE id = :'a1'", own)[0][0])
    # What the workers say they pruned adds up to what there was: each event went once.
    total, sweeping = 0, 0
    for w in workers:
        mine = 0
        for line in w.logs().splitlines():
            assert "retention: pruning" not in line, line  # no sweep failed (no deadlock, no conflict)
            if '"retention pruned"' in line:
                mine += json.loads(line)["pruned"].get("run_events", 0)
        total += mine
        sweeping += mine > 0
    assert total == 20000 + own_events, (total, own_events)
    assert sweeping >= 1
