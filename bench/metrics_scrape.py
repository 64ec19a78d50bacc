"""The /metrics scrape with a fleet in the store: loads N active sandbox
resources into one project (a signed-up user, a sandbox account, then the
rows by SQL, as bench/drift_sweep.py does), one succeeded create run each, a
quarter of them checked for drift, and times SCRAPES scrapes over one
keep-alive connection. Prints JSON: the first (cold) scrape, then p50/p95 of
the rest (warm), and the reply's size.

    python3 bench/metrics_scrape.py URL {sqlite DB_PATH | postgres PG_URL} [N] [SCRAPES]
"""
import json
import sys
import time

import requests

from drift_sweep import numbers, sandbox_project, sql


def main():
    url, kind, target = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
    scrapes = int(sys.argv[5]) if len(sys.argv) > 5 else 200
    s = requests.Session()
    _, p, a = sandbox_project(s, url, "metrics-bench")
    series = numbers(kind, n)
    # Ids: the prefix digit, then i, 26 characters.
    pad = ((lambda c: "printf('%s%%025d', i)" % c) if kind == "sqlite"
           else (lambda c: "'%s' || lpad(i::text, 25, '0')" % c))
    drift = "CASE WHEN i % 4 = 0 THEN 'in_sync' ELSE 'never_checked' END"
    sql(kind, target, "INSERT INTO resources (id, project_id, account_id, cloud, kind, name, region, size, config,"
        " status, monthly_cost_usd, created_by, created_at, updated_at, drift_status) SELECT %s, '%s', '%s', 'sandbox',"
        " 'vm', 'vm-' || i, 'sandbox-east-1', 'sandbox.small', '{\"ssh_public_key\":\"ssh-ed25519 AAAA bench\"}',"
        " 'active', 1, NULL, 1, 1, %s FROM (%s) s;" % (pad("0"), p["id"], a["id"], drift, series))
    sql(kind, target, "INSERT INTO runs (id, resource_id, project_id, operation, status, attempt, queued_at,"
        " started_at, finished_at) SELECT %s, %s, '%s', 'create', 'succeeded', 1, 1, 1, 2 FROM (%s) s;"
        % (pad("1"), pad("0"), p["id"], series))
    t = time.perf_counter()
    r = s.get(url + "/metrics")
    cold = (time.perf_counter() - t) * 1000
    assert r.status_code == 200 and 'cloudplane_runs{status="succeeded"} %d' % n in r.text, r.text[:2000]
    times = []
    for _ in range(scrapes):
        t = time.perf_counter()
        r = s.get(url + "/metrics")
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    times.sort()
    print(json.dumps({"store": kind, "resources": n, "runs": n, "scrapes": scrapes, "cold_ms": round(cold, 2),
                      "p50_ms": round(times[len(times) // 2], 2), "p95_ms": round(times[int(len(times) * 0.95)], 2),
                      "bytes": len(r.content)}))


if __name__ == "__main__":
    main()
