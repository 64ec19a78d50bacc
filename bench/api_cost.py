"""Load-independent cost of the API's hot requests: callgrind instructions
per request in the `serve` process (run under valgrind by bench/api_cost.sh)
and database statements per request (/metrics
cloudplane_db_statements_total). Requests go one at a time over one
kept-alive connection, so the figures do not depend on the machine's load.
   python3 bench/api_cost.py URL TOKENS_FILE SERVE_PID DB_TARGET [N]
Cases: me (GET /auth/me), list_hit (one user's page, unchanged data), list_miss
(USERS users x limits 48..52 cycled, and a status flip in the database every
10 requests, as bench/api.sh's writer does)."""
import glob
import os
import re
import sqlite3
import subprocess
import sys
import time

import requests

url, tokens_file, pid, target = sys.argv[1:5]
n = int(sys.argv[5]) if len(sys.argv) > 5 else 200
tokens = [t.strip() for t in open(tokens_file) if t.strip()]
pg = target.startswith("postgres")
db = None if pg else sqlite3.connect(target, timeout=5, isolation_level=None)
flips = [0]


def flip():
    st = ("active", "pending")[flips[0] % 2]
    flips[0] += 1
    sql = "UPDATE resources SET status = '%s' WHERE id = (SELECT MIN(id) FROM resources)" % st
    if pg:
        subprocess.run(["psql", target, "-X", "-q", "-c", sql], check=True)
    else:
        db.execute(sql)


def statements(s):
    m = re.search(r"^cloudplane_db_statements_total (\d+)", s.get(url + "/metrics").text, re.M)
    return int(m.group(1))


def callgrind(*args):
    subprocess.run(["callgrind_control", *args, pid], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def dumped_total(before):
    for _ in range(100):
        new = sorted(set(glob.glob("callgrind.out.%s.*" % pid)) - before, key=os.path.getmtime)
        if new:
            for line in open(new[-1]):
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1]), new[-1]
        time.sleep(0.1)
    raise SystemExit("no callgrind dump")


def measure(name, request, writes=False):
    s = requests.Session()
    for i in range(20):
        request(s, i)
    st0 = statements(s)
    before = set(glob.glob("callgrind.out.%s.*" % pid))
    callgrind("-z")
    for i in range(n):
        if writes and i % 10 == 0:
            flip()
        r = request(s, i)
        assert r.status_code == 200, r.text
    callgrind("-d")
    ir, dump = dumped_total(before)
    if os.environ.get("KEEP_DUMPS"):  # for callgrind_annotate
        os.replace(dump, os.path.join(os.environ["KEEP_DUMPS"], "callgrind.%s" % name))
    st = statements(s) - st0 - 0  # the /metrics read itself runs no statement
    print("%-10s %8.0f k instructions/request  %.2f statements/request  (%d requests)" % (name, ir / n / 1000, st / n, n))
    return ir / n, st / n


def me(s, i):
    return s.get(url + "/api/v1/auth/me", headers={"Authorization": "Bearer " + tokens[0]})


def hit(s, i):
    return s.get(url + "/api/v1/resources?limit=50", headers={"Authorization": "Bearer " + tokens[0]})


def miss(s, i):
    t = tokens[i % len(tokens)]
    limit = 48 + (i // len(tokens)) % 5
    return s.get(url + "/api/v1/resources?limit=%d" % limit, headers={"Authorization": "Bearer " + t})


measure("me", me)
measure("list_hit", hit)
measure("list_miss", miss, writes=True)
