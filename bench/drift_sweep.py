"""The drift scheduler's cost per 1,000 resources with checks due: loads N
active resources into one project (a signed-up user, a sandbox account, then
the rows by SQL), turns the project's drift interval on, and waits until the
scheduler has queued a check for each. Each sweep logs what it cost the
process ("scheduler queued runs": db_statements and cpu_ms of the sweeping
thread, wall_ms); this sums them over the sweeps that queued the N checks
and prints the totals per 1,000 as JSON.

    python3 bench/drift_sweep.py URL LOG {sqlite DB_PATH | postgres PG_URL} [N]
"""
import json
import subprocess
import sys
import time

import requests

from signup import signup


def sql(kind, target, text):
    cmd = ["sqlite3", target] if kind == "sqlite" else ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", target]
    if kind == "sqlite":
        text = ".timeout 10000\n" + text
    subprocess.run(cmd, input=text, text=True, check=True, capture_output=True)


def sandbox_project(s, url, name):
    """A signed-up user (s carries its session) with a project and a sandbox
    account: (auth headers, project, account)."""
    h = {"Authorization": "Bearer " + signup(s, url)}
    p = s.post(url + "/api/v1/projects", json={"name": name}, headers=h).json()
    a = s.post(url + "/api/v1/projects/%s/accounts" % p["id"], json={"name": "sb", "cloud": "sandbox"},
               headers=h).json()
    return h, p, a


def numbers(kind, n):
    """SQL of the rows i = 1..n, to INSERT ... SELECT from."""
    return ("WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %d) SELECT i FROM g" % n
            if kind == "sqlite" else "SELECT generate_series(1, %d) AS i" % n)


def main():
    url, log, kind, target = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    s = requests.Session()
    h, p, a = sandbox_project(s, url, "drift-bench")
    # Active resources, as if each had been created and had succeeded.
    series = numbers(kind, n)
    pad = "printf('%026d', i)" if kind == "sqlite" else "lpad(i::text, 26, '0')"
    name = "'vm-' || i"
    sql(kind, target, "INSERT INTO resources (id, project_id, account_id, cloud, kind, name, region, size, config,"
        " status, monthly_cost_usd, created_by, created_at, updated_at) SELECT %s, '%s', '%s', 'sandbox', 'vm', %s,"
        " 'sandbox-east-1', 'sandbox.small', '{\"ssh_public_key\":\"ssh-ed25519 AAAA bench\"}', 'active', 1, NULL,"
        " 1, 1 FROM (%s) s;" % (pad, p["id"], a["id"], name, series))
    with open(log) as f:
        f.seek(0, 2)
        start = f.tell()
    t0 = time.time()
    r = s.patch(url + "/api/v1/projects/" + p["id"], json={"drift_interval_minutes": 60}, headers=h)
    assert r.status_code == 200, r.text
    sweeps, runs, stmts, cpu, wall = 0, 0, 0, 0.0, 0
    while runs < n and time.time() - t0 < 300:
        time.sleep(0.5)
        with open(log) as f:
            f.seek(start)
            lines = f.readlines()
        sweeps, runs, stmts, cpu, wall = 0, 0, 0, 0.0, 0
        for line in lines:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("msg") == "scheduler queued runs" and e.get("task") == "drift":
                sweeps += 1
                runs += e["runs"]
                stmts += e["db_statements"]
                cpu += e["cpu_ms"]
                wall += e["wall_ms"]
    per = 1000.0 / runs if runs else 0
    print(json.dumps({"store": kind, "due": n, "queued": runs, "sweeps": sweeps,
                      "statements_per_1000": round(stmts * per), "cpu_ms_per_1000": round(cpu * per, 1),
                      "wall_ms_per_1000": round(wall * per)}))


if __name__ == "__main__":
    main()
