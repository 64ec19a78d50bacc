"""Loads a fleet into a running cloudplane on PostgreSQL: P projects of R
resources each (default 1,000 x 100 = 100,000), written with COPY in seconds.

Every row is a copy of a real one: a user signed up through the API, a project,
a sandbox account and a VM created through the API and provisioned by a real
run, so the copies carry the columns, JSON and sealed credentials the server
itself wrote. Ids are fresh and time-ordered like the server's own.

Users: `big` is a member of every project (sees every resource); `small-N`
(N < SMALL) each own one project (see R resources); every project also has an
owner of its own and MEMBERS viewers from a pool of team members, each in
about 10 projects (`member0` and `member1` get tokens). Every 10th run gets
the template run's events. Prints JSON: the URL, tokens of big, the small
users and two members, the template's ids and the counts. Used by bench/fleet.sh; run alone:

  python3 bench/fleet.py URL PG_URL [--projects P] [--per-project R] [--small N] [--members M]
"""
import argparse
import io
import json
import os
import secrets
import subprocess
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(__file__))
from signup import signup  # noqa: E402

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
PASSWORD = "bench-password"


class Ids:
    """Ids in the server's format (48-bit ms time, 80 random bits, base32), ascending."""

    def __init__(self):
        self.ms = int(time.time() * 1000) - 10_000_000

    def __call__(self):
        self.ms += 1
        n = (self.ms << 80) | secrets.randbits(80)
        return "".join(ALPHABET[(n >> (5 * i)) & 31] for i in range(25, -1, -1))


def psql(pg_url, sql, stdin=None):
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_url, "-c", sql], input=stdin, text=True,
                       capture_output=True)
    if r.returncode != 0:
        raise SystemExit("fleet: psql failed: %s\n%s" % (sql[:200], r.stderr))
    return r.stdout


def row(pg_url, table, where):
    """One row as a dict, by psql's JSON."""
    out = psql(pg_url, "COPY (SELECT row_to_json(t) FROM %s t WHERE %s LIMIT 1) TO STDOUT" % (table, where))
    return json.loads(out.strip().replace("\\\\", "\\"))


def copy(pg_url, table, cols, rows):
    buf = io.StringIO()
    for r in rows:
        buf.write("\t".join("\\N" if v is None else str(v).replace("\\", "\\\\").replace("\t", "\\t")
                            .replace("\n", "\\n") for v in r))
        buf.write("\n")
    psql(pg_url, "COPY %s (%s) FROM STDIN" % (table, ",".join(cols)), buf.getvalue())


def template(s, url, token):
    """A project, sandbox account and provisioned VM made through the API."""
    h = {"Authorization": "Bearer " + token}
    p = s.post(url + "/api/v1/projects", json={"name": "fleet-template"}, headers=h).json()
    a = s.post(url + "/api/v1/projects/%s/accounts" % p["id"], json={"name": "sandbox", "cloud": "sandbox"},
               headers=h)
    assert a.status_code == 201, a.text
    r = s.post(url + "/api/v1/resources", headers=h, json={
        "project_id": p["id"], "account_id": a.json()["id"], "kind": "vm", "name": "web-0", "region": "sandbox-east-1",
        "size": "sandbox.small", "config": {"ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench bench@host",
                                            "allowed_cidrs": ["203.0.113.0/24"]}})
    assert r.status_code == 202, r.text
    run_id = r.json()["run"]["id"]
    for _ in range(600):
        run = s.get(url + "/api/v1/runs/" + run_id, headers=h).json()
        if run["status"] in ("succeeded", "failed", "canceled"):
            break
        time.sleep(0.2)
    assert run["status"] == "succeeded", run
    return p["id"], a.json()["id"], r.json()["resource"]["id"], run_id


def load(url, pg_url, projects=1000, per_project=100, small=16, team=8, outbox=None):
    """Loads the fleet; returns the summary main() prints (tokens, counts, the
    template's ids). Also used by backend/tests/integration/test_fleet_plans.py."""
    s = requests.Session()
    t0 = time.time()
    big_token = signup(s, url, "big@example.com", PASSWORD, "Big", outbox=outbox)
    pid, aid, rid, run_id = template(s, url, big_token)
    user = row(pg_url, "users", "email = 'big@example.com'")
    acct = row(pg_url, "cloud_accounts", "id = '%s'" % aid)
    res = row(pg_url, "resources", "id = '%s'" % rid)
    run = row(pg_url, "runs", "id = '%s'" % run_id)
    cost = row(pg_url, "cost_periods", "resource_id = '%s'" % rid)

    new_id = Ids()
    now = int(time.time() * 1000)
    users, projs, members, accounts, resources, runs, costs = [], [], [], [], [], [], []
    smalls = []
    # A pool of team members, each in about 10 projects: memberships are
    # mostly theirs, as in a real deployment, not big's.
    pool = [(new_id(), "member%d@example.com" % j) for j in range(max(1, projects * team // 10))]
    for uid, email in pool:
        users.append((uid, email, user["password_hash"], email.split("@")[0], now))
    for i in range(projects):
        owner = (new_id(), "owner%d@example.com" % i)
        if i < small:
            owner = (owner[0], "small%d@example.com" % i)
            smalls.append(owner[1])
        users.append((owner[0], owner[1], user["password_hash"], "Owner %d" % i, now))
        p = new_id()
        projs.append((p, "project-%04d" % i, 0, None, now))
        members.append((p, owner[0], "owner", now))
        members.append((p, user["id"], "member", now))
        for j in range(team):
            members.append((p, pool[(i * team + j) % len(pool)][0], "viewer", now))
        a = new_id()
        accounts.append((a, p, acct["cloud"], acct["name"], acct["hint"], acct["key_id"], acct["nonce"],
                         acct["ciphertext"], now))
        for k in range(per_project):
            r = new_id()
            resources.append((r, p, a, res["cloud"], res["kind"], "vm-%04d-%03d" % (i, k), res["region"], res["size"],
                              res["config"], res["status"], res["outputs"], res["monthly_cost_usd"], owner[0], now,
                              now))
            runs.append((new_id(), r, p, "create", "succeeded", 1, run["params"], run["plan_summary"], 0, owner[0],
                         now, now, now))
            costs.append((r, p, cost["cloud"], cost["monthly_cost_usd"], now))
    t1 = time.time()
    # The template run's events, copied to every 10th run, so run_events has
    # a realistic size for the planner.
    events = []
    ev = json.loads(psql(pg_url, "COPY (SELECT COALESCE(json_agg(row_to_json(e) ORDER BY seq), '[]') FROM run_events e"
                                 " WHERE run_id = '%s') TO STDOUT" % run_id).strip().replace("\\\\", "\\"))
    for k in range(0, len(runs), 10):
        for e in ev:
            events.append((runs[k][0], e["seq"], e["ts"], e["type"], e["data"]))
    copy(pg_url, "users", ["id", "email", "password_hash", "name", "created_at"], users)
    copy(pg_url, "projects", ["id", "name", "require_approval", "monthly_budget_usd", "created_at"], projs)
    copy(pg_url, "memberships", ["project_id", "user_id", "role", "created_at"], members)
    copy(pg_url, "cloud_accounts", ["id", "project_id", "cloud", "name", "hint", "key_id", "nonce", "ciphertext",
                                    "created_at"], accounts)
    # resource_totals follows by its trigger, one row at a time as COPY goes.
    copy(pg_url, "resources", ["id", "project_id", "account_id", "cloud", "kind", "name", "region", "size",
                               "config", "status", "outputs", "monthly_cost_usd", "created_by", "created_at",
                               "updated_at"], resources)
    copy(pg_url, "runs", ["id", "resource_id", "project_id", "operation", "status", "attempt", "params",
                          "plan_summary", "event_count", "created_by", "queued_at", "started_at", "finished_at"],
         runs)
    copy(pg_url, "run_events", ["run_id", "seq", "ts", "type", "data"], events)
    copy(pg_url, "cost_periods", ["resource_id", "project_id", "cloud", "monthly_cost_usd", "started_at"], costs)
    # VACUUM too: index-only scans need the visibility map a loaded table would have.
    psql(pg_url, "VACUUM ANALYZE")
    t2 = time.time()
    tokens = {"big": big_token}
    for e in smalls + [m[1] for m in pool[:2]]:
        r = s.post(url + "/api/v1/auth/login", json={"email": e, "password": PASSWORD})
        assert r.status_code == 200, r.text
        tokens[e] = r.json()["access_token"]
    return {"url": url, "tokens": tokens, "projects": projects + 1, "resources": len(resources) + 1,
            "generate_s": round(t1 - t0, 1), "copy_and_analyze_s": round(t2 - t1, 1),
            "template": {"project_id": pid, "account_id": aid, "resource_id": rid, "run_id": run_id},
            "fleet_project_id": projs[0][0] if projs else pid}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("pg_url")
    ap.add_argument("--projects", type=int, default=1000)
    ap.add_argument("--per-project", type=int, default=100)
    ap.add_argument("--small", type=int, default=16)
    ap.add_argument("--members", type=int, default=8, help="team members per project besides its owner and big")
    args = ap.parse_args()
    print(json.dumps(load(args.url, args.pg_url, args.projects, args.per_project, args.small, args.members)))


if __name__ == "__main__":
    main()
