#!/usr/bin/env bash
# Dispatch latency: from the API's commit of a run to the moment a worker
# spawns tofu for it, p50 / p99 / max over N runs, in both modes:
#   embedded     serve on SQLite, in-process queue, 2 worker threads, local state
#   distributed  serve + 2 `worker` processes (1 slot each) on PostgreSQL and
#                Redis Streams, s3 state + DynamoDB lock on moto (all started on
#                loopback by scripts/services.sh)
# Measured from timestamps the system already stores: runs.queued_at (taken in
# the API's insert transaction) and the ts of the run's first "<phase> started"
# event, which the runner stamps right before it forks tofu (the row itself is
# written with the job's next event batch).
# Two patterns: "idle" (one run at a time: the pure dispatch path) and "burst"
# (N creates at once: includes waiting for a free slot). Figures only; nothing
# here passes or fails.
#
#   N=50 bench/dispatch.sh          env: N (50), CP_BINARY (build/cloudplane), CP_TOFU
N="${N:-50}"
BENCH_NAME=dispatch
source "$(dirname "$0")/lib.sh"
# The real sandbox provider from the mirror; the burst goes to one project,
# so its caps on unfinished and on concurrently running runs are lifted.
export CLOUDPLANE_PROVIDER_MIRROR="${CLOUDPLANE_PROVIDER_MIRROR:-$(scripts/install-provider.sh | tail -n 1)}"
export CLOUDPLANE_PROJECT_MAX_RUNS=0 CLOUDPLANE_PROJECT_ACTIVE_RUNS=0

measure() { # label
  python3 - "$url" "$N" "$1" <<'PY'
import sys, time, math, statistics, requests
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from signup import signup

url, n, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench@cloudplane"
PHASES = ("init", "plan", "apply")
s = requests.Session()
tok = signup(s, url)  # bench/signup.py: through the mailed link
s.headers["Authorization"] = "Bearer " + tok
p = s.post(url + "/api/v1/projects", json={"name": "bench"}).json()
a = s.post(url + "/api/v1/projects/%s/accounts" % p["id"], json={"name": "sb", "cloud": "sandbox"}).json()
seq = [0]

def ms(iso):
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp() * 1000

def create():
    seq[0] += 1
    r = s.post(url + "/api/v1/resources", json={
        "project_id": p["id"], "account_id": a["id"], "kind": "vm", "name": "d-%04d" % seq[0],
        "region": "sandbox-east-1", "size": "sandbox.small", "config": {"ssh_public_key": KEY}})
    assert r.status_code == 202, r.text
    return r.json()["run"]["id"]

def wait(rid):
    while True:
        run = s.get(url + "/api/v1/runs/" + rid).json()
        if run["status"] in ("succeeded", "failed", "canceled"):
            return run
        time.sleep(0.05)

def latency(rid):
    run = wait(rid)
    if run["status"] != "succeeded":
        print("  warning: run %s %s: %s" % (rid, run["status"], run["error"]))
    evs = s.get(url + "/api/v1/runs/%s/events?format=json&limit=1000" % rid).json()["items"]
    for e in evs:
        line = e["data"].get("line", "") if e["type"] == "log" else ""
        if e["data"].get("stream") == "system" and line.split(" ")[0] in PHASES and " started" in line:
            return ms(e["ts"]) - ms(run["queued_at"])
    return None

def report(pattern, lat):
    lat = sorted(x for x in lat if x is not None)
    p99 = lat[max(0, math.ceil(0.99 * len(lat)) - 1)]
    print("%-12s %-6s n=%-3d p50 %6.1f ms   p99 %6.1f ms   max %6.1f ms" %
          (label, pattern, len(lat), statistics.median(lat), p99, lat[-1]))

# Warm-up: every worker makes its shared init once; not measured.
with ThreadPoolExecutor(4) as pool:
    list(pool.map(wait, [create() for _ in range(4)]))
report("idle", [latency(create()) for _ in range(n)])
ids = []
with ThreadPoolExecutor(16) as pool:
    ids = list(pool.map(lambda _: create(), range(n)))
    lat = list(pool.map(latency, ids))
report("burst", lat)
PY
}

echo "== dispatch latency (run committed -> tofu spawned), N=$N per pattern, $(nproc) cores, $("$TOFU" version 2>/dev/null | head -1)"
echo "rerun: N=$N CP_TOFU=$TOFU CLOUDPLANE_PROVIDER_MIRROR=$CLOUDPLANE_PROVIDER_MIRROR bench/dispatch.sh"
CLOUDPLANE_WORKERS=2 start_serve embedded
measure embedded
stop_all

distributed_env
start_serve api
export CLOUDPLANE_SANDBOX_ENDPOINT="$url" # worker processes reach the sandbox cloud serve hosts
start_worker w1
start_worker w2
measure distributed
