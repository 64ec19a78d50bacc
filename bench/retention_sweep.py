"""The retention sweep's cost: loads N finished runs of one resource, each with
E events, all finished long ago, and N * 10 old audit rows (rows written by SQL
after the API made the user, project, account and resource), then waits until
the scheduler has pruned them all. Each sweep that pruned something logs
"retention pruned" (rows per table, db_statements, wall_ms of the sweep);
this sums them and prints the totals, and per 10,000 rows, as JSON.

    python3 bench/retention_sweep.py URL LOG {sqlite DB_PATH | postgres PG_URL} [N] [E]
"""
import json
import sys
import time

import requests

from drift_sweep import sql  # psql or sqlite3 on one script
from signup import signup


def main():
    url, log, kind, target = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
    per_run = int(sys.argv[6]) if len(sys.argv) > 6 else 100
    s = requests.Session()
    h = {"Authorization": "Bearer " + signup(s, url)}
    p = s.post(url + "/api/v1/projects", json={"name": "retention-bench"}, headers=h).json()
    a = s.post(url + "/api/v1/projects/%s/accounts" % p["id"], json={"name": "sb", "cloud": "sandbox"},
               headers=h).json()
    if kind == "sqlite":
        series = "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %d) SELECT i FROM g".__mod__
        run_id = "printf('r%%025d', %s)".__mod__
    else:
        series = "SELECT generate_series(1, %d) AS i".__mod__
        run_id = "'r' || lpad((%s)::text, 25, '0')".__mod__
    pad, pad_of = run_id("i"), run_id("(i - 1) / %d + 1" % per_run)
    with open(log) as f:  # before the rows exist: the first sweep may come as soon as they commit
        f.seek(0, 2)
        start = f.tell()
    # One transaction: a sweep between the runs and their events would
    # find the runs empty, mark them pruned, and leave the events to come.
    sql(kind, target, """
BEGIN;
INSERT INTO resources (id, project_id, account_id, cloud, kind, name, region, size, config, status,
  monthly_cost_usd, created_by, created_at, updated_at)
  VALUES ('00000000000000000000000000', '{p}', '{a}', 'sandbox', 'vm', 'vm', 'sandbox-east-1', 'sandbox.small', '{{}}',
  'active', 1, NULL, 1, 1);
INSERT INTO runs (id, resource_id, project_id, operation, status, queued_at, finished_at, event_count)
  SELECT {pad}, '00000000000000000000000000', '{p}', 'update', 'succeeded', 1, 1000, {e} FROM ({ns}) s;
INSERT INTO run_events (run_id, seq, ts, type, data)
  SELECT {pad_of}, i, 1, 'log', '{{"message":"a line of tofu output as long as a usual one is"}}' FROM ({es}) s;
INSERT INTO audit_events (id, ts, action, detail) SELECT 'a' || i, 1000, 'bench', '{{}}' FROM ({as_}) s;
COMMIT;
""".format(p=p["id"], a=a["id"], pad=pad, e=per_run, ns=series(n), pad_of=pad_of, es=series(n * per_run),
           as_=series(n * 10)))
    want = {"run_events": n * per_run, "audit_events": n * 10}
    t0 = time.time()
    got = {}
    while any(got.get(k, 0) < v for k, v in want.items()) and time.time() - t0 < 600:
        time.sleep(0.5)
        with open(log) as f:
            f.seek(start)
            lines = f.readlines()
        got, sweeps, stmts, wall, most = {}, 0, 0, 0, 0
        for line in lines:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("msg") == "retention pruned":
                sweeps += 1
                for k, v in e["pruned"].items():
                    got[k] = got.get(k, 0) + v
                stmts += e["db_statements"]
                wall += e["wall_ms"]
                most = max(most, e["wall_ms"])
    rows = got.get("run_events", 0) + got.get("audit_events", 0)
    per10k = 10000.0 / rows if rows else 0
    print(json.dumps({"store": kind, "runs": n, "events": want["run_events"], "audit": want["audit_events"],
                      "pruned": got, "sweeps": sweeps, "statements_per_10000": round(stmts * per10k),
                      "wall_ms_per_10000": round(wall * per10k), "longest_sweep_ms": most}))


if __name__ == "__main__":
    main()
