#!/usr/bin/env python3
"""Writes bench/results.md from the figures the benchmarks reported
(bench_result lines: KEY<TAB>FIGURE<TAB>MET) next to each figure's goal.

    python3 bench/report.py RESULTS.tsv OUT.md [FAILED-SCRIPT ...]

A figure that no benchmark reported reads "not measured", with the scripts
that failed listed under the table; it never reads as met."""
import datetime
import os
import subprocess
import sys

# (key, what, goal): the goals of the performance work, in the order of its table.
GOALS = [
    ("list_miss_sqlite", "GET /resources?limit=50, every request a cache miss, SQLite, 64 connections",
     "≥ 10,000 req/s, p99 ≤ 15 ms"),
    ("list_miss_pg", "same, PostgreSQL", "≥ 6,000 req/s, p99 ≤ 20 ms"),
    ("list_hit_sqlite", "GET /resources?limit=50, cache hits, SQLite", "≥ 35,000 req/s"),
    ("list_hit_pg", "same, PostgreSQL", "≥ 20,000 req/s"),
    ("me_sqlite", "GET /auth/me, SQLite", "≥ 35,000 req/s"),
    ("me_pg", "GET /auth/me, PostgreSQL", "≥ 20,000 req/s"),
    ("fleet_list_miss", "100,000 resources / 1,000 projects (PostgreSQL): any list page, cache miss, any user, "
     "fresh connections included, 16 connections", "p99 ≤ 10 ms"),
    ("fleet_projects", "same fleet: GET /projects", "p99 ≤ 10 ms"),
    ("fleet_costs", "same fleet: GET /costs/summary", "≤ 50 ms"),
    ("fleet_explain", "same fleet: hot statements whose plan has a Seq Scan on resources, runs, memberships or events",
     "0"),
    ("streams_idle_queries", "10,000 idle event streams: database statements per second", "0"),
    ("streams_rss", "10,000 idle event streams: server RSS", "≤ 200 MB"),
    ("streams_fanout", "10,000 event streams: a new event reaches all of them", "≤ 1 s"),
    ("creates_embedded", "100 concurrent creates, 2 workers, embedded: wall ÷ (OpenTofu + provider CPU ÷ cores)",
     "≤ 1.15×"),
    ("creates_distributed", "same, distributed (PostgreSQL, Redis, s3 state)", "≤ 1.15×"),
    ("cloudplane_cpu_share", "100 concurrent creates: cloudplane's own CPU, share of the total", "≤ 5 %"),
    ("approval_ratio", "approval path (plan, wait, apply the saved plan) ÷ the commands typed by hand", "≤ 1.15×"),
    ("fast_ratio", "create without approval ÷ the commands typed by hand", "≤ 0.7×"),
    ("idle_rss_server", "idle RSS, cloudplane serve", "≤ 20 MB"),
    ("idle_rss_worker", "idle RSS, cloudplane worker", "≤ 10 MB"),
    ("drift_sweep_sqlite", "the drift scheduler queuing 1,000 due checks, SQLite: statements, CPU and wall time "
     "of the sweeps", "-"),
    ("drift_sweep_pg", "same, PostgreSQL", "-"),
    ("webhook_latency_embedded", "webhook delivery, event commit to receipt at a local receiver, embedded (SQLite)",
     "-"),
    ("webhook_latency_distributed", "same, distributed (PostgreSQL, Redis, one worker process)", "-"),
    ("cli_startup_help", "command-line client: `cloudplane --help`, wall time per process", "-"),
    ("cli_startup_projects", "command-line client: `cloudplane projects -o json` against a local server", "-"),
    ("backup_10k", "admin backup of a live SQLite data dir, 10,000 resources (200,000 events, 10,000 state files)",
     "-"),
    ("restore_10k", "admin restore of that archive into an empty dir", "-"),
    ("sso_cold", "single sign-on callback (code exchange, ID token check, session) on a fresh server: JWKS fetched",
     "-"),
    ("sso_new", "single sign-on callback, first sign-in of each of 200 identities (a user made each)", "-"),
    ("sso_returning", "single sign-on callback, the same identities again", "-"),
    ("sso_rotated", "single sign-on callback, first after the provider rotated its key (JWKS fetched again)", "-"),
    ("sso_parallel", "single sign-on, 8 browsers at once, whole flow (start, authorize at the IdP, callback)", "-"),
]


def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def main():
    results_path, out_path, failed = sys.argv[1], sys.argv[2], sys.argv[3:]
    got = {}
    if os.path.exists(results_path):
        for line in open(results_path, encoding="utf-8"):
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                got.setdefault(parts[0], []).append((parts[1], parts[2]))
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"] * 3
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/report.py); each figure comes from the script named in bench/README.md,",
        "which prints the command lines that rerun it.",
        "",
        "- commit: %s" % commit,
        "- date: %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "- cores: %d; load average when the report was written: %s" % (os.cpu_count() or 0, " ".join(load)),
        "- the load generators run on the same cores as the server",
        "",
        "| what | goal | figure | met |",
        "| --- | --- | --- | --- |",
    ]
    met_count = missed = unmeasured = 0
    for key, what, goal in GOALS:
        if key not in got:
            unmeasured += 1
            lines.append("| %s | %s | not measured | no |" % (what, goal))
            continue
        for figure, met in got[key]:
            met_count += met == "yes"
            missed += met == "no"
            lines.append("| %s | %s | %s | %s |" % (what, goal, figure, met))
    extra = [k for k in got if k not in {g[0] for g in GOALS}]
    if extra:
        lines += ["", "Other figures:", ""]
        lines += ["- %s: %s" % (k, f) for k in extra for f, _ in got[k]]
    lines += ["", "%d met, %d missed, %d not measured." % (met_count, missed, unmeasured)]
    if failed:
        lines += ["", "Benchmarks that failed (their figures are missing): %s." % ", ".join(failed)]
    open(out_path, "w", encoding="utf-8").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
