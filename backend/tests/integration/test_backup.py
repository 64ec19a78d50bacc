"""`cloudplane admin backup` and `admin restore`: an online backup of a live
SQLite data dir while ten runs apply, restored into a new data dir that a new
server starts on with every resource, account (its credentials decrypt),
run and event, and where a destroy works. Then what is refused: a wrong
passphrase, an altered or cut archive, a non-empty dir without --force, no
passphrase at all; and that no key or passphrase is readable in the archive
or the output."""
import base64
import json
import os
import secrets
import stat
import subprocess

import requests

from conftest import BINARY, Api
from distributed import wait_for

PASSPHRASE = "correct horse battery staple " + secrets.token_hex(4)


def admin(args, env=None, passphrase=PASSPHRASE):
    """Runs `cloudplane admin ...` without a terminal (its own session); the completed process."""
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    e.update(env or {})
    if passphrase is not None:
        e["CLOUDPLANE_BACKUP_PASSPHRASE"] = passphrase
    return subprocess.run([BINARY, "admin"] + list(args), env=e, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, start_new_session=True)


def events(u, run_id):
    out, after = [], 0
    while True:
        page = u.ok("GET", "/runs/%s/events?format=json&limit=1000&after=%d" % (run_id, after))
        out += [(e["seq"], e["type"], e["data"]) for e in page["items"]]
        if not page["items"] or not page["next_cursor"]:
            return out
        after = page["items"][-1]["seq"]


def runs_of(u, rid):
    return {r["id"]: r for r in u.ok("GET", "/resources/%s/runs?limit=200" % rid)["items"]}


def sandbox_account(u, project_id):
    """An account with a key of ours: a run can only reach the sandbox cloud if the vault opens it."""
    key = "sbx_" + secrets.token_hex(16)
    acct = u.ok("POST", "/projects/%s/accounts" % project_id,
                {"name": "sandbox", "cloud": "sandbox", "credentials": {"api_key": key}}, 201)
    return acct, key


def key_texts(data_dir):
    """The key material of a data dir, as it could appear in clear: the files' text and the raw vault key."""
    texts = []
    for name in ("jwt.key", "vault.keys"):
        with open(os.path.join(data_dir, "keys", name)) as f:
            texts.append(f.read().strip())
    for line in texts[1].splitlines():
        raw = base64.b64decode(line.split(":", 1)[1])
        texts += [line.split(":", 1)[1], raw.hex()]
    # The run-token issuer's private keys: the whole file and each key's private exponent.
    with open(os.path.join(data_dir, "keys", "issuer.jwks")) as f:
        issuer = f.read().strip()
    texts += [issuer] + [k["d"] for k in json.loads(issuer)["keys"]]
    return texts, raw


def assert_sealed(archive, output, secrets_):
    with open(archive, "rb") as f:
        blob = f.read()
    assert blob.startswith(b"CPBACKUP")
    for s in secrets_:
        b = s if isinstance(s, bytes) else s.encode()
        assert b not in blob, "found in clear in the archive: %r" % s[:8]
        if not isinstance(s, bytes):
            assert s not in output, "found in the output: %r" % s[:8]


def test_backup_while_ten_runs_apply_then_restore(make_server, tmp_path):
    s = make_server(env={"CLOUDPLANE_WORKERS": "10"})
    u = Api(s)
    p = u.project(name="backed-up")
    acct, key = sandbox_account(u, p["id"])
    before = [u.create_vm(p["id"], acct["id"], name="before-%d" % i) for i in range(2)]
    for c in before:
        assert u.wait_run(c["run"]["id"], timeout=240)["status"] == "succeeded"
    busy = [u.create_vm(p["id"], acct["id"], name="busy-%02d" % i, simulate_seconds=90) for i in range(10)]
    busy_runs = [c["run"]["id"] for c in busy]
    wait_for(lambda: all(u.ok("GET", "/runs/" + r)["status"] == "applying" for r in busy_runs), 300,
             "ten runs to be applying", every=1,
             explain=lambda: [u.ok("GET", "/runs/" + r)["status"] for r in busy_runs])

    # What exists before the backup starts: all of it must come back.
    resources = {r["id"]: r for r in u.ok("GET", "/resources?limit=200")["items"]}
    accounts = u.ok("GET", "/projects/%s/accounts" % p["id"])
    runs = {rid: runs_of(u, rid) for rid in resources}
    evs = {run_id: events(u, run_id) for rs in runs.values() for run_id in rs}
    assert len(resources) == 12 and sum(len(x) for x in runs.values()) == 12, runs
    assert all(len(evs[r]) > 1 for r in busy_runs), "the busy runs have events so far"

    archive = str(tmp_path / "backup.cpb")
    b = admin(["backup", archive, "--data-dir", s.data_dir])
    assert b.returncode == 0, b.stderr
    assert "SQLite snapshot" in b.stdout and "JWT key: in the archive" in b.stdout, b.stdout
    assert "vault keys: in the archive" in b.stdout and "not archived: runs" in b.stdout, b.stdout
    assert "run-token issuer keys: in the archive" in b.stdout, b.stdout
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600
    assert not [f for f in os.listdir(tmp_path) if f.startswith("backup.cpb.")], "temp files left behind"
    texts, raw = key_texts(s.data_dir)
    assert_sealed(archive, b.stdout + b.stderr, texts + [raw, PASSPHRASE, key])

    # The live server was not disturbed: the ten runs finish.
    for r in busy_runs:
        assert u.wait_run(r, timeout=300)["status"] == "succeeded"
    s.stop()

    restored = str(tmp_path / "restored")
    r = admin(["restore", archive, "--data-dir", restored])
    assert r.returncode == 0, r.stderr
    assert "restored" in r.stdout and "OpenTofu state: " in r.stdout, r.stdout
    assert PASSPHRASE not in r.stdout + r.stderr
    for name in ("jwt.key", "vault.keys", "issuer.jwks"):
        assert stat.S_IMODE(os.stat(os.path.join(restored, "keys", name)).st_mode) == 0o600
    assert key_texts(restored)[0] == texts, "the keys came back as they were"
    assert not [f for f in os.listdir(restored) if f.startswith(".restore")], "the staging dir was removed"

    s2 = make_server(data_dir=restored)
    # The JWT key came back: the token signed by the old server is good here.
    u.s = s2
    got = {x["id"]: x for x in u.ok("GET", "/resources?limit=200")["items"]}
    assert set(got) == set(resources)
    for rid, res in resources.items():
        for k in ("name", "project_id", "account_id", "kind", "config", "created_at"):
            assert got[rid][k] == res[k], (rid, k)
    assert u.ok("GET", "/projects/%s/accounts" % p["id"]) == accounts  # hint included: still configured
    for rid, rs in runs.items():
        assert set(rs) <= set(runs_of(u, rid)), rid
    for run_id, before_events in evs.items():
        assert events(u, run_id)[:len(before_events)] == before_events, run_id
    # The snapshot caught all ten mid-apply (they finished on the old server): the new server fails them, as it
    # does runs whose worker died, and never applies them again.
    for run_id in busy_runs:
        done = u.wait_run(run_id, timeout=180)
        assert done["status"] == "failed" and done["attempt"] == 1, done

    # A restored resource's state is there and its credentials decrypt: its destroy succeeds, and removes
    # the instance from the (restored) sandbox cloud, which it could not without the state.
    victim = before[0]["resource"]["id"]
    iid = got[victim]["outputs"]["id"][len("sbx-"):]
    instance = "%s/sandbox/v1/instances/%s" % (s2.url, iid)
    auth = {"Authorization": "Bearer " + key}
    assert requests.get(instance, headers=auth, timeout=30).status_code == 200
    d = u.ok("DELETE", "/resources/" + victim, status=202)
    done = u.wait_run(d["run"]["id"], timeout=240)
    assert done["status"] == "succeeded", (done, events(u, d["run"]["id"])[-10:])
    assert u.ok("GET", "/resources/" + victim)["status"] == "destroyed"
    assert requests.get(instance, headers=auth, timeout=30).status_code == 404


def test_restore_refusals(make_server, tmp_path):
    s = make_server()
    u = Api(s)
    u.project(name="small")
    archive = str(tmp_path / "small.cpb")

    # No passphrase and no terminal: a clear error, and no file.
    r = admin(["backup", archive, "--data-dir", s.data_dir], passphrase=None)
    assert r.returncode != 0 and "CLOUDPLANE_BACKUP_PASSPHRASE" in r.stderr, r.stderr
    assert not os.path.exists(archive)
    r = admin(["backup", archive, "--data-dir", s.data_dir], passphrase="short")
    assert r.returncode != 0 and "at least 10 characters" in r.stderr and "short" not in r.stderr.split(":", 1)[1]
    assert not os.path.exists(archive)
    r = admin(["backup", archive, "--data-dir", str(tmp_path / "nothing-here")])
    assert r.returncode != 0 and "no SQLite store" in r.stderr, r.stderr

    b = admin(["backup", archive, "--data-dir", s.data_dir])
    assert b.returncode == 0, b.stderr
    with open(archive, "rb") as f:
        blob = f.read()

    target = str(tmp_path / "target")
    wrong = admin(["restore", archive, "--data-dir", target], passphrase=PASSPHRASE + "x")
    assert wrong.returncode != 0 and "wrong passphrase" in wrong.stderr, wrong.stderr
    assert PASSPHRASE not in wrong.stderr + wrong.stdout
    assert not os.path.exists(target), "nothing is written for a wrong passphrase"
    r = admin(["restore", archive, "--data-dir", target], passphrase=None)
    assert r.returncode != 0 and "CLOUDPLANE_BACKUP_PASSPHRASE" in r.stderr and not os.path.exists(target)

    # Altered anywhere (a bit in the middle, the end cut off, a byte added), the archive is refused whole.
    for name, data in (("flipped", blob[:len(blob) // 2] + bytes([blob[len(blob) // 2] ^ 1]) + blob[len(blob) // 2 + 1:]),
                       ("cut", blob[:-100]), ("longer", blob + b"\0"),
                       ("header", blob[:40] + bytes([blob[40] ^ 1]) + blob[41:])):
        bad = str(tmp_path / name)
        with open(bad, "wb") as f:
            f.write(data)
        r = admin(["restore", bad, "--data-dir", target])
        assert r.returncode != 0, name
        assert "damaged or was altered" in r.stderr or "wrong passphrase" in r.stderr, (name, r.stderr)
        assert not os.path.exists(target), name

    # Never under a running server, even with --force: its store and keys stay as they were.
    before = key_texts(s.data_dir)[0]
    r = admin(["restore", archive, "--data-dir", s.data_dir, "--force"])
    assert r.returncode != 0 and "in use by a running cloudplane" in r.stderr, r.stderr
    assert key_texts(s.data_dir)[0] == before
    assert [p["name"] for p in u.ok("GET", "/projects")["items"]] == ["small"]
    assert not [f for f in os.listdir(s.data_dir) if f.startswith(".restore")]

    # A non-empty dir needs --force, and is then replaced (store, keys, state), the rest left alone.
    os.makedirs(os.path.join(target, "keys"))
    with open(os.path.join(target, "keys", "vault.keys"), "w") as f:
        f.write("old:" + base64.b64encode(b"0" * 32).decode() + "\n")
    with open(os.path.join(target, "notes.txt"), "w") as f:
        f.write("mine")
    r = admin(["restore", archive, "--data-dir", target])
    assert r.returncode != 0 and "not empty" in r.stderr and "--force" in r.stderr, r.stderr
    assert sorted(os.listdir(target)) == ["keys", "notes.txt"]
    r = admin(["restore", archive, "--data-dir", target, "--force"])
    assert r.returncode == 0, r.stderr
    assert "left as they were" in r.stdout
    assert key_texts(target)[0] == key_texts(s.data_dir)[0]
    assert open(os.path.join(target, "notes.txt")).read() == "mine"
    assert os.path.exists(os.path.join(target, "cloudplane.db"))


def test_backup_on_postgresql_holds_the_keys(make_server, tmp_path):
    from conftest import fresh_pg_database
    env = {"CLOUDPLANE_DATABASE_URL": fresh_pg_database()}
    s = make_server(env=env)
    Api(s).project(name="pg")
    archive = str(tmp_path / "keys.cpb")
    b = admin(["backup", archive, "--data-dir", s.data_dir], env=env)
    assert b.returncode == 0, b.stderr
    assert "pg_dump" in b.stdout and "vault keys: in the archive" in b.stdout, b.stdout
    texts, raw = key_texts(s.data_dir)
    assert_sealed(archive, b.stdout + b.stderr, texts + [raw, PASSPHRASE])
    target = str(tmp_path / "keys-only")
    r = admin(["restore", archive, "--data-dir", target], env=env)
    assert r.returncode == 0, r.stderr
    assert "pg_restore" in r.stdout, r.stdout
    assert key_texts(target)[0] == texts
    assert not os.path.exists(os.path.join(target, "cloudplane.db"))
    # A SQLite archive is not restored next to a PostgreSQL store.
    sq = make_server()
    sqlite_archive = str(tmp_path / "sqlite.cpb")
    assert admin(["backup", sqlite_archive, "--data-dir", sq.data_dir]).returncode == 0
    r = admin(["restore", sqlite_archive, "--data-dir", str(tmp_path / "mixed")], env=env)
    assert r.returncode != 0 and "SQLite" in r.stderr, r.stderr


def on_terminal(args, answers):
    """Runs `cloudplane admin ...` with a new pseudo-terminal as its controlling terminal and no passphrase in
    the environment, typing each answer after the next prompt; (exit code, everything the terminal showed)."""
    import fcntl
    import termios
    master, slave = os.openpty()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    proc = subprocess.Popen([BINARY, "admin"] + list(args), stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    os.close(slave)
    shown, since = b"", 0
    for a in answers:
        while b":" not in shown[since:]:  # the next prompt (the answer typed before it would be flushed)
            shown += os.read(master, 1024)
        since = len(shown)
        os.write(master, a.encode() + b"\n")
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return proc.wait(timeout=120), shown.decode("utf-8", "replace")


def test_passphrase_asked_on_the_terminal_without_echo(make_server, tmp_path):
    s = make_server()
    archive = str(tmp_path / "asked.cpb")
    code, shown = on_terminal(["backup", archive, "--data-dir", s.data_dir], [PASSPHRASE, PASSPHRASE + "?"])
    assert code != 0 and "differ" in shown and not os.path.exists(archive), shown
    code, shown = on_terminal(["backup", archive, "--data-dir", s.data_dir], [PASSPHRASE, PASSPHRASE])
    assert code == 0, shown
    assert "Backup passphrase:" in shown and "Again:" in shown and PASSPHRASE not in shown, shown
    # The same passphrase given by the environment opens it.
    r = admin(["restore", archive, "--data-dir", str(tmp_path / "back")])
    assert r.returncode == 0, r.stderr


def test_restore_checks_the_store(make_server, tmp_path):
    """A store from a newer cloudplane, or one that fails its integrity check, is not restored."""
    import shutil
    import sqlite3
    s = make_server()
    Api(s).project(name="checked")

    def copy_with(name, change):
        d = str(tmp_path / name)
        shutil.copytree(os.path.join(s.data_dir, "keys"), os.path.join(d, "keys"))
        src = sqlite3.connect(os.path.join(s.data_dir, "cloudplane.db"))
        dst = sqlite3.connect(os.path.join(d, "cloudplane.db"))
        src.backup(dst)
        src.close()
        change(dst)
        dst.close()
        return d

    def newer(db):
        db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)")
        db.commit()

    def corrupt(db):
        # The root page of a table in use (a page picked by position may be a
        # free one, which no check reads), overwritten past its header byte.
        size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'projects'").fetchone()[0]
        path = db.execute("PRAGMA database_list").fetchone()[2]
        with open(path, "r+b") as f:
            f.seek(size * (root - 1) + 1)
            f.write(b"\xff" * (size - 1))

    for name, change, why in (("newer", newer, "newer than this cloudplane"), ("corrupt", corrupt, "integrity")):
        d = copy_with(name, change)
        archive = str(tmp_path / (name + ".cpb"))
        b = admin(["backup", archive, "--data-dir", d])
        assert b.returncode == 0, b.stderr
        target = str(tmp_path / (name + "-restored"))
        r = admin(["restore", archive, "--data-dir", target])
        assert r.returncode != 0 and why in r.stderr, (name, r.stderr)
        assert not os.path.exists(target), name
