"""bench/backup.sh's store: N sandbox VMs in one project (a signed-up user and
a sandbox account through the API, then the rows by SQL into the live SQLite
store), each with one succeeded create run of EVENTS events, and a local
OpenTofu state file per resource as the sandbox module writes it. Prints the
store's size in bytes.

    python3 bench/backup.py URL DATA_DIR N EVENTS
"""
import json
import os
import sqlite3
import sys

import requests

from signup import signup

url, data_dir, n, per_run = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = requests.Session()
s.headers["Authorization"] = "Bearer " + signup(s, url)
p = s.post(url + "/api/v1/projects", json={"name": "backup-bench"}).json()
a = s.post(url + "/api/v1/projects/%s/accounts" % p["id"], json={"name": "sb", "cloud": "sandbox"}).json()

db = sqlite3.connect(os.path.join(data_dir, "cloudplane.db"), timeout=30, isolation_level=None)
series = "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %d)" % n
db.execute("BEGIN")
db.execute(series + " INSERT INTO resources (id, project_id, account_id, cloud, kind, name, region, size, config,"
           " status, outputs, monthly_cost_usd, created_by, created_at, updated_at) SELECT printf('%026d', i), ?, ?,"
           " 'sandbox', 'vm', 'vm-' || i, 'sandbox-east-1', 'sandbox.small',"
           " '{\"ssh_public_key\":\"ssh-ed25519 AAAA bench\"}', 'active',"
           " '{\"id\":\"sbx-' || i || '\",\"public_ip\":\"198.51.100.7\"}', 1, NULL, 1, 1 FROM g",
           (p["id"], a["id"]))
db.execute(series + " INSERT INTO runs (id, resource_id, project_id, operation, status, attempt, queued_at,"
           " started_at, finished_at, event_count) SELECT printf('r%025d', i), printf('%026d', i), ?, 'create',"
           " 'succeeded', 1, 1, 1, 2, ? FROM g", (p["id"], per_run))
line = json.dumps({"stream": "stdout", "line": "sandbox_vm.this: Creation complete after 1s [id=sbx-0123456789]"})
db.execute("WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < %d)"
           " INSERT INTO run_events (run_id, seq, ts, type, data) SELECT printf('r%%025d', i / %d + 1),"
           " i %% %d + 1, 1, 'log', ? FROM g" % (n * per_run - 1, per_run, per_run), (line,))
db.execute("COMMIT")

state = {"version": 4, "terraform_version": "1.10.10", "serial": 3, "lineage": "bench", "outputs": {},
         "resources": [{"mode": "managed", "type": "sandbox_vm", "name": "this", "provider": "provider[\"x\"]",
                        "instances": [{"schema_version": 0, "attributes": {"id": "sbx-0", "size": "sandbox.small",
                                                                           "tags": {"k": "v" * 64}}}]}]}
for i in range(1, n + 1):
    d = os.path.join(data_dir, "state", "%026d" % i)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "terraform.tfstate"), "w") as f:
        json.dump(state, f, indent=2)
print(os.path.getsize(os.path.join(data_dir, "cloudplane.db")))
