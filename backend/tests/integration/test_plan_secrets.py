"""A plan awaiting approval embeds prior state and sensitive values: it is
sealed in the vault in the runs row, never carried by a run read (GET, lists,
the event stream), and cleared when its run ends. The approved apply still
applies it."""
import base64
import glob
import json
import os
import sqlite3

from conftest import Api
from test_provisioning import sse_events

ZIP_MAGIC = b"PK\x03\x04"  # a saved plan is a zip archive
ZIP_MAGIC_B64 = base64.b64encode(ZIP_MAGIC + b"\x14\x00")[:5]  # "UEsDB": the start of one in base64


def plan_cols(server, run_id):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(server.data_dir, "cloudplane.db"), uri=True)
    try:
        return db.execute("SELECT plan_blob, plan_nonce, plan_key_id FROM runs WHERE id = ?", (run_id,)).fetchone()
    finally:
        db.close()


def db_bytes(server):
    out = b""
    for f in glob.glob(os.path.join(server.data_dir, "cloudplane.db*")):
        with open(f, "rb") as fh:
            out += fh.read()
    return out


def assert_no_plan(text, blob):
    assert "plan_blob" not in text and "plan_nonce" not in text
    assert ZIP_MAGIC_B64.decode() not in text
    if blob:
        assert blob[:40] not in text


def wait_awaiting(owner, run_id):
    run = owner.wait_run(run_id, until=("awaiting_approval", "failed", "succeeded", "canceled"))
    assert run["status"] == "awaiting_approval", run
    return run


def test_plan_sealed_never_read_and_cleared(server):
    owner = Api(server)
    p = owner.project(name="sealed-plans", require_approval=True)
    acct = owner.sandbox_account(p["id"])
    created = owner.create_vm(p["id"], acct["id"], name="plan-marker-vm")
    run_id, res_id = created["run"]["id"], created["resource"]["id"]
    wait_awaiting(owner, run_id)

    blob, nonce, key_id = plan_cols(server, run_id)
    assert blob and nonce and key_id, "the plan is stored sealed, with its nonce and key id"
    raw = base64.b64decode(blob)
    assert not raw.startswith(ZIP_MAGIC) and ZIP_MAGIC not in raw
    assert b"plan-marker-vm" not in raw
    assert not blob.startswith(ZIP_MAGIC_B64.decode())
    assert ZIP_MAGIC_B64 not in db_bytes(server), "a plan in the clear (base64) is somewhere in the database"

    # No read carries it: the run, the resource's runs, the dashboard's recent runs.
    for path in ("/runs/" + run_id, "/resources/%s/runs" % res_id, "/runs?limit=200",
                 "/runs/%s/events?format=json&limit=1000" % run_id):
        r = owner.call("GET", path)
        if r.status_code == 404:
            continue
        assert r.status_code == 200, (path, r.text)
        assert_no_plan(r.text, blob)

    owner.ok("POST", "/runs/%s/approve" % run_id)
    done = owner.wait_run(run_id)
    assert done["status"] == "succeeded", done
    assert owner.ok("GET", "/resources/" + res_id)["status"] == "active"
    assert plan_cols(server, run_id) == (None, None, None), "the plan outlived its run"
    # The whole stream, replayed after the end, never carried it either.
    events = sse_events(server, owner.token, run_id)
    assert_no_plan(json.dumps(events), blob)

    # A run canceled while it waits for approval leaves no plan behind.
    upd = owner.ok("PATCH", "/resources/" + res_id, {"size": "sandbox.medium"})
    upd_id = upd["run"]["id"]
    wait_awaiting(owner, upd_id)
    assert plan_cols(server, upd_id)[0]
    owner.ok("POST", "/runs/%s/cancel" % upd_id)
    assert owner.wait_run(upd_id)["status"] == "canceled"
    assert plan_cols(server, upd_id) == (None, None, None)
    assert ZIP_MAGIC_B64 not in db_bytes(server)
