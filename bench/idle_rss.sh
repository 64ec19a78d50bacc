#!/usr/bin/env bash
# Idle memory: the resident set (VmRSS) of `cloudplane serve` (embedded:
# SQLite, in-process workers, sandbox cloud) and of `cloudplane worker`
# (distributed: PostgreSQL, Redis, s3 state on moto), each read twice: just
# after start, and idle again after some use (a user signed up, 2,000 API
# requests, one VM created and destroyed through a real OpenTofu run), which
# is the figure that counts: allocator arenas and caches stay. Figures only.
#
#   bench/idle_rss.sh              env: CP_BINARY (build/cloudplane), CP_TOFU
BENCH_NAME=idle_rss
source "$(dirname "$0")/lib.sh"
export CLOUDPLANE_PROVIDER_MIRROR="${CLOUDPLANE_PROVIDER_MIRROR:-$(scripts/install-provider.sh | tail -n 1)}"

rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
rss_parts() { # anonymous (heap, stacks) and file-backed (the binary and its libraries) parts
  awk '/^RssAnon|^RssFile|^RssShmem/ {printf "%s %.1f MB  ", $1, $2 / 1024}' "/proc/$1/status"
  # Pss shares each library page among the processes that map it; Private is
  # what one more such process costs.
  awk '/^Pss:/ {printf "Pss: %.1f MB  ", $2 / 1024} /^Private_(Clean|Dirty):/ {p += $2}
       END {printf "Private: %.1f MB", p / 1024}' "/proc/$1/smaps_rollup"
}

use_platform() { # url: sign up, 2,000 requests, one VM created and destroyed
  python3 - "$1" <<'PY'
import sys, time, requests
from signup import signup
url = sys.argv[1]
s = requests.Session()
tok = signup(s, url)
s.headers["Authorization"] = "Bearer " + tok
p = s.post(url + "/api/v1/projects", json={"name": "rss"}).json()
a = s.post(url + "/api/v1/projects/%s/accounts" % p["id"],
           json={"cloud": "sandbox", "name": "sb"}).json()
for i in range(1000):
    s.get(url + "/api/v1/auth/me").raise_for_status()
    s.get(url + "/api/v1/resources?limit=50").raise_for_status()
def wait(res_id, want):
    for _ in range(600):
        res = s.get(url + "/api/v1/resources/" + res_id).json()
        st = res["status"]
        if st == want:
            return
        if st == "failed":
            run = s.get(url + "/api/v1/runs/" + res["current_run"]["id"]).json()
            sys.exit("run failed: %s" % run.get("error"))
        time.sleep(0.1)
    sys.exit("timed out waiting for " + want)
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench@cloudplane"
r = s.post(url + "/api/v1/resources", json={"project_id": p["id"], "account_id": a["id"], "kind": "vm",
           "name": "rss-vm", "region": "sandbox-east-1", "size": "sandbox.small",
           "config": {"ssh_public_key": KEY, "allowed_cidrs": ["198.51.100.0/24"]}})
r.raise_for_status()
rid = r.json()["resource"]["id"]
wait(rid, "active")
s.delete(url + "/api/v1/resources/" + rid).raise_for_status()
wait(rid, "destroyed")
PY
}

measure() { # pid label key goal-mb: RSS after start, use, RSS idle after use
  local start used
  sleep 2
  start=$(rss_mb "$1")
  use_platform "$url"
  sleep 3
  used=$(rss_mb "$1")
  echo "  $2 idle after use: $(rss_parts "$1")"
  printf '  %s: %s MB after start, %s MB idle after use\n' "$2" "$start" "$used"
  bench_result "$3" "$used MB idle after use ($start MB at start)" \
    "$(awk -v x="$used" -v g="$4" 'BEGIN {print (x <= g) ? "yes" : "no"}')"
}

echo "idle_rss: serve (embedded) $BIN serve --listen 127.0.0.1:0 --data-dir DIR"
start_serve embedded
measure "$serve_pid" serve idle_rss_server 20
stop_all

echo "idle_rss: worker (distributed) $BIN worker --data-dir DIR, with serve on PostgreSQL + Redis"
distributed_env
export CLOUDPLANE_WORKERS=0
start_serve dist
start_worker w1
measure "$worker_pid" worker idle_rss_worker 10
