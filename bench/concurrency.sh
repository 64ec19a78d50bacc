#!/usr/bin/env bash
# Throughput under load: N sandbox VM creates submitted at once with 2 workers,
# in embedded mode (serve on SQLite with 2 worker threads, local state) and in
# distributed mode (serve + 2 `worker` processes with 1 slot each, PostgreSQL,
# Redis Streams, s3 state + DynamoDB lock on moto via scripts/services.sh).
# Prints the wall time from the first create to the last finished resource
# against the CPU time tofu itself used, and the ratio wall / (tofu CPU / cores):
# 1.0 would mean the cores did nothing but tofu. Tofu CPU: the processes that
# run workers are put in a CPU-accounting cgroup (v1 cpuacct or v2), which every
# tofu they spawn inherits (tofu inside bwrap's pid namespace never reaches the
# worker's cutime: that showed ~0.2 s for 100 runs). Tofu CPU = the cgroup's
# usage minus the cloudplane processes' own utime+stime; it includes bwrap. (The
# runner's lock-id probe is a tofu process only with s3 state outside
# bubblewrap; with local state it reads a file.)
# Needs root and a writable cgroup fs, else that figure is skipped. Also
# printed: cloudplane's own CPU, the whole machine's busy CPU (/proc/stat), the
# sum of run durations, Redis XADDs per run, database statements per create
# (serve's /metrics plus the total each worker logs with "run done"), and the
# errors of failed runs.
# Figures only; nothing here passes or fails.
#
#   N=100 bench/concurrency.sh      env: N (100), CP_BINARY (build/cloudplane), CP_TOFU
N="${N:-100}"
BENCH_NAME=concurrency
source "$(dirname "$0")/lib.sh"
# The sandbox VM module's real provider comes from the mirror; all N creates
# go to one project, so its caps on unfinished and on concurrently running
# runs (a tenant-fairness policy, 1 at a time by default) are lifted.
export CLOUDPLANE_PROVIDER_MIRROR="${CLOUDPLANE_PROVIDER_MIRROR:-$(scripts/install-provider.sh | tail -n 1)}"
export CLOUDPLANE_PROJECT_MAX_RUNS=0 CLOUDPLANE_PROJECT_ACTIVE_RUNS=0

# Every cloudplane process goes into a CPU-accounting cgroup, so the tofu it
# spawns is counted there.
cg=""
for base in /sys/fs/cgroup/cpuacct /sys/fs/cgroup/unified /sys/fs/cgroup; do
  if [ -w "$base" ] && { [ -f "$base/cpuacct.usage" ] || [ -f "$base/cgroup.controllers" ]; } &&
     mkdir "$base/cp-bench-$$" 2>/dev/null; then cg="$base/cp-bench-$$"; break; fi
done
bench_on_spawn() { if [ -n "$cg" ]; then echo "$1" >"$cg/cgroup.procs"; fi; }
# PostgreSQL, Redis and moto (distributed mode) get a cgroup of their own, so
# their CPU is told apart from tofu's and from other load on the machine.
cg_svc=""
if [ -n "$cg" ] && mkdir "$cg-svc" 2>/dev/null; then cg_svc="$cg-svc"; fi
bench_extra_cleanup() {
  for g in "$cg" "$cg_svc"; do
    if [ -n "$g" ]; then
      # What is left in it (services being stopped) goes back to the parent first.
      while read -r p; do echo "$p" >"$(dirname "$g")/cgroup.procs" 2>/dev/null || true; done <"$g/cgroup.procs" 2>/dev/null
      rmdir "$g" 2>/dev/null || true
    fi
  done
}
services_into_cgroup() { # the service processes and every child they have now (later ones inherit it)
  [ -n "$cg_svc" ] || return 0
  local roots=() p
  [ -f "$work/svc/pg/data/postmaster.pid" ] && roots+=("$(head -n 1 "$work/svc/pg/data/postmaster.pid")")
  [ -f "$work/svc/redis.pid" ] && roots+=("$(cat "$work/svc/redis.pid")")
  [ -f "$work/svc/moto.pid" ] && roots+=("$(cat "$work/svc/moto.pid")")
  for p in "${roots[@]}"; do
    echo "$p" >"$cg_svc/cgroup.procs" 2>/dev/null || true
    for c in $(pgrep -P "$p" || true); do echo "$c" >"$cg_svc/cgroup.procs" 2>/dev/null || true; done
  done
}

measure() { # label cgroup-pids platform-pids [redis-port]
  CG="$cg" CG_SVC="$cg_svc" SVC_PIDS="${SVC_PIDS:-}" WORKER_LOGS="${WORKER_LOGS:-}" BENCH_RESULTS="${BENCH_RESULTS:-}" python3 - "$url" "$N" "$@" <<'PY'
import json, os, resource, sys, time, requests
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
import subprocess
from signup import signup

url, n, label, platform_pids = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[5]
redis_port = sys.argv[6] if len(sys.argv) > 6 else None
platform_pids = [int(x) for x in platform_pids.split(",")]
cg = os.environ.get("CG", "")
cg_svc = os.environ.get("CG_SVC", "")
TCK = os.sysconf("SC_CLK_TCK")
cores = os.cpu_count()
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench@cloudplane"

def own_cpu(pid):  # utime+stime of all its threads, seconds
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TCK

def cg_cpu(g=None):  # CPU of everything in the cgroup, seconds
    g = cg if g is None else g
    if not g:
        return None
    if os.path.exists(g + "/cpuacct.usage"):
        return int(open(g + "/cpuacct.usage").read()) / 1e9
    for line in open(g + "/cpu.stat"):
        if line.startswith("usage_usec"):
            return int(line.split()[1]) / 1e6

def client_cpu():  # this client's own CPU, seconds
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def result(key, figure, met):  # bench_result, as bench/lib.sh has it
    print("result: %-28s %s (goal met: %s)" % (key, figure, met))
    if os.environ.get("BENCH_RESULTS"):
        with open(os.environ["BENCH_RESULTS"], "a") as f:
            f.write("%s\t%s\t%s\n" % (key, figure, met))

def machine():  # (busy, total) jiffies over all CPUs
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)

def xadds():
    if not redis_port:
        return None
    out = subprocess.run(["redis-cli", "-p", redis_port, "INFO", "commandstats"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("cmdstat_xadd:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0

def tree_cpu(pid):  # utime+stime of a process and its live descendants, seconds
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += own_cpu(p)
            for t in os.listdir("/proc/%d/task" % p):
                todo += [int(c) for c in open("/proc/%d/task/%s/children" % (p, t)).read().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total

def services():  # {name: CPU seconds} of each service's process tree (SVC_PIDS: name:pid,...)
    pairs = [x.split(":") for x in os.environ.get("SVC_PIDS", "").split(",") if x]
    return {name: tree_cpu(int(pid)) for name, pid in pairs}

def statements():  # statements sent to the database: serve's /metrics plus each worker's log
    text = requests.get(url + "/metrics", timeout=30).text
    total = sum(int(l.split()[1]) for l in text.splitlines() if l.startswith("cloudplane_db_statements_total "))
    for path in [p for p in os.environ.get("WORKER_LOGS", "").split(",") if p]:
        last = 0
        for line in open(path):  # "run done" carries the worker's running total
            if '"run done"' in line and '"db_statements"' in line:
                last = json.loads(line)["db_statements"]
        total += last
    return total

def ms(iso):
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp() * 1000

s = requests.Session()
s.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
tok = signup(s, url)  # bench/signup.py: through the mailed link
s.headers["Authorization"] = "Bearer " + tok

def project(name):
    p = s.post(url + "/api/v1/projects", json={"name": name}).json()
    a = s.post(url + "/api/v1/projects/%s/accounts" % p["id"], json={"name": "sb", "cloud": "sandbox"}).json()
    return p["id"], a["id"]

def create(pa, i):
    r = s.post(url + "/api/v1/resources", json={
        "project_id": pa[0], "account_id": pa[1], "kind": "vm", "name": "c-%04d" % i,
        "region": "sandbox-east-1", "size": "sandbox.small", "config": {"ssh_public_key": KEY}})
    assert r.status_code == 202, r.text
    return r.json()["run"]["id"]

def wait_all(pa, count):
    # One list call per poll, so the client stays light next to the work it measures.
    while True:
        items = s.get(url + "/api/v1/resources?project_id=%s&limit=200" % pa[0]).json()["items"]
        if len(items) == count and all(i["status"] in ("active", "failed") for i in items):
            return
        time.sleep(0.5)

# Warm-up (not measured): each worker makes its shared init once.
warm = project("warm-up")
for i in range(4):
    create(warm, i)
wait_all(warm, 4)

pa = project("bench")
p0 = [own_cpu(pid) for pid in platform_pids]
q0, v0 = statements(), services()
g0, m0, x0, s0, c0, t0 = cg_cpu(), machine(), xadds(), cg_cpu(cg_svc), client_cpu(), time.time()
with ThreadPoolExecutor(16) as pool:
    ids = list(pool.map(lambda i: create(pa, i), range(n)))
wait_all(pa, n)
wall = time.time() - t0
g1, m1, x1, s1, c1 = cg_cpu(), machine(), xadds(), cg_cpu(cg_svc), client_cpu()
q1, v1 = statements(), services()
own = sum(own_cpu(pid) - b for pid, b in zip(platform_pids, p0))
# The cgroup holds the worker processes (and in embedded mode the API too).
in_cg = sum(own_cpu(pid) - b for pid, b in zip(platform_pids, p0) if str(pid) in sys.argv[4].split(","))
tofu = g1 - g0 - in_cg if g0 is not None else None
busy = (m1[0] - m0[0]) / TCK
runs = [s.get(url + "/api/v1/runs/" + rid).json() for rid in ids]
ok = sum(1 for r in runs if r["status"] == "succeeded")
durations = sum(ms(r["finished_at"]) - ms(r["started_at"]) for r in runs if r["finished_at"] and r["started_at"]) / 1000
svc = (s1 - s0) if s0 is not None else 0.0
client = c1 - c0
print("%-12s %d creates, %d succeeded, %d cores" % (label, n, ok, cores))
if tofu is None:
    print("  wall %.1f s   tofu CPU: not measured (no writable cpuacct/cgroup v2 hierarchy; run as root)" % wall)
else:
    ratio = wall / (tofu / cores)
    # CPU the machine spent on anything this bench did not start (other work on a
    # shared machine) stole that much core time from it: the wall time it would
    # have had alone is about wall - outside / cores (while the cores were busy).
    outside = max(0.0, busy - tofu - own - svc - client)
    alone = max(wall - outside / cores, (tofu + own + svc) / cores)
    total = tofu + own + svc
    share = 100.0 * own / total
    print("  wall %.1f s   tofu+provider CPU %.1f s (%.0f ms per create)   wall / (tofu CPU / cores) = %.2f"
          % (wall, tofu, 1000 * tofu / n, ratio))
    per = ", ".join("%s %.2f s" % ("worker" if str(pid) in sys.argv[4].split(",") and label != "embedded" else
                                      "serve", own_cpu(pid) - b) for pid, b in zip(platform_pids, p0))
    print("  cloudplane CPU %.2f s (%s) = %.1f %% of the work's CPU (tofu + cloudplane + services %.1f s)"
          % (own, per, share, total))
    per_svc = ", ".join("%s %.2f s" % (k, v1[k] - v0[k]) for k in v0)
    print("  services (PostgreSQL, Redis, moto) %.1f s%s   client %.1f s"
          % (svc, " (" + per_svc + ")" if per_svc else "", client))
    print("  machine busy %.1f s of %.1f s; %.1f s of it outside this bench: without that load, wall ~%.1f s, "
          "ratio ~%.2f (an estimate)" % (busy, wall * cores, outside, alone, alone / (tofu / cores)))
    if "moto" in v0:
        # moto emulates S3 and DynamoDB in Python on these same cores; a real state
        # backend's CPU is elsewhere. How much of the wall it accounts for:
        moto = v1["moto"] - v0["moto"]
        print("  of that, moto (the S3/DynamoDB emulator) %.1f s: without it too, wall ~%.1f s, ratio ~%.2f "
              "(an estimate)" % (moto, alone - moto / cores, (alone - moto / cores) / (tofu / cores)))
    key = "creates_" + label
    result(key, "%.2fx the CPU bound (wall %.1f s, tofu+provider CPU %.1f s on %d cores, N=%d; %.1f s of other "
           "load, ~%.2fx without it)" % (ratio, wall, tofu, cores, n, outside, alone / (tofu / cores)),
           "yes" if ratio <= 1.15 else "no")
    with open(os.environ["SHARE_FILE"], "a") as f:
        f.write("%s %.1f\n" % (label, share))
print("  sum of run durations %.1f s (%.0f %% of the %d slots' wall time)" % (durations, 100 * durations / (2 * wall), 2))
print("  database statements %d = %.0f per create (API and workers, through the last run's end)" % (q1 - q0, (q1 - q0) / n))
if x0 is not None:
    print("  queue pushes (XADD) %d = %.1f per run" % (x1 - x0, (x1 - x0) / n))
for r in [r for r in runs if r["status"] != "succeeded"][:5]:
    print("  %s run %s: %s" % (r["status"], r["id"], (r["error"] or "")[:300]))
PY
}

echo "== concurrency: $N sandbox VM creates at once, 2 workers, $(nproc) cores, $("$TOFU" version 2>/dev/null | head -1)"
echo "rerun: N=$N CP_TOFU=$TOFU CLOUDPLANE_PROVIDER_MIRROR=$CLOUDPLANE_PROVIDER_MIRROR bench/concurrency.sh"
export SHARE_FILE="$work/share"
CLOUDPLANE_WORKERS=2 start_serve embedded
WORKER_LOGS="" measure embedded "$serve_pid" "$serve_pid"
stop_all

distributed_env
services_into_cgroup
SVC_PIDS="postgres:$(head -n 1 "$work/svc/pg/data/postmaster.pid"),redis:$(cat "$work/svc/redis.pid"),moto:$(cat "$work/svc/moto.pid")"
start_serve api
api_pid=$serve_pid
# Worker processes reach the sandbox cloud that `serve` hosts.
export CLOUDPLANE_SANDBOX_ENDPOINT="$url"
start_worker w1
worker_pids="$worker_pid"
start_worker w2
worker_pids="$worker_pids,$worker_pid"
WORKER_LOGS="$work/w1.log,$work/w2.log" measure distributed "$worker_pids" "$api_pid,$worker_pids" "$CP_TEST_REDIS_PORT"
if [ -s "$SHARE_FILE" ]; then
  share=$(awk '{printf "%s%s %s %%", sep, $1, $2; sep="; "}' "$SHARE_FILE")
  met=$(awk '$2 > 5 {bad = 1} END {print bad ? "no" : "yes"}' "$SHARE_FILE")
  bench_result cloudplane_cpu_share "$share of the work's CPU (N=$N)" "$met"
fi
