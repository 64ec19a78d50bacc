#!/usr/bin/env bash
# Start-up time of the command-line client (the client commands of the one
# binary): `cloudplane --help` (process start and exit, nothing else) and
# `cloudplane projects -o json` against a local server on loopback (process
# start, credentials from the environment, one HTTP request, JSON out), each
# run N times; prints the median and p90 wall time per run and the median
# CPU time (user + system: less at the mercy of a busy machine). Figures only;
# nothing here passes or fails.
#
#   N=200 bench/cli_startup.sh      env: N (200), CP_BINARY
N="${N:-200}"
BENCH_NAME=cli_startup
source "$(dirname "$0")/lib.sh"
start_serve cli
python3 - "$BIN" "$url" "$N" <<'PY' | tee "$work/figures"
import os, statistics, subprocess, sys, time
import requests
from signup import signup

binary, url, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = requests.Session()
token = signup(s, url)
for i in range(3):  # a few projects, so the reply is not empty
    s.post(url + "/api/v1/projects", json={"name": "bench-%d" % i}, headers={"Authorization": "Bearer " + token})
env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "CLOUDPLANE_URL": url, "CLOUDPLANE_TOKEN": token}


def timed(args):
    """Wall and CPU (user + system, from wait4) milliseconds of each run."""
    wall, cpu = [], []
    for _ in range(n):
        t = time.perf_counter()
        p = subprocess.Popen([binary] + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((ru.ru_utime + ru.ru_stime) * 1000)
        p.returncode = os.waitstatus_to_exitcode(status)
        assert p.returncode == 0, (args, p.returncode)
    wall.sort()
    return statistics.median(wall), wall[int(len(wall) * 0.9)], statistics.median(cpu)


for label, args in (("help", ["--help"]), ("projects", ["projects", "-o", "json"])):
    med, p90, cpu = timed(args)
    print("%-9s median %.2f ms, p90 %.2f ms, CPU median %.2f ms (%d runs)" % (label, med, p90, cpu, n))
PY
help=$(sed -n 's/^help *median \([0-9.]*\) ms.*/\1/p' "$work/figures")
proj=$(sed -n 's/^projects *median \([0-9.]*\) ms.*/\1/p' "$work/figures")
hcpu=$(sed -n 's/^help .*CPU median \([0-9.]*\) ms.*/\1/p' "$work/figures")
pcpu=$(sed -n 's/^projects .*CPU median \([0-9.]*\) ms.*/\1/p' "$work/figures")
bench_result cli_startup_help "median ${help} ms (CPU ${hcpu} ms)" -
bench_result cli_startup_projects "median ${proj} ms (CPU ${pcpu} ms; one API call)" -
