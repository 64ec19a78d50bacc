"""The plans PostgreSQL runs for the API's hot statements, read from a live
server: auto_explain logs every statement's executed plan (JSON) as a WARNING,
which reaches the server's connections and libpq prints on its stderr. So what
is checked is the server's own SQL with the real parameter values, not a copy
of it; and, with plan_cache_mode = force_generic_plan, the generic plan of
each prepared statement.

Used by backend/tests/integration/test_fleet_plans.py (fails on a Seq Scan)
and bench/fleet.sh (counts them):

  python3 bench/fleet_plans.py URL PG_URL FLEET_JSON SERVER_LOG   # counts, for a server started after enable()
"""
import json
import re
import subprocess
import sys
import time

import requests

# A sequential scan of these on a hot path is a failure, at any size.
HOT_TABLES = ("resources", "runs", "memberships", "run_events")


def _db_name(pg_url):
    return pg_url.rsplit("/", 1)[1].split("?")[0]


def enable(pg_url, generic=False):
    """Makes new sessions of pg_url's database log each plan (restart the
    server after). generic: force generic plans of prepared statements."""
    name = _db_name(pg_url)
    sets = ["session_preload_libraries = 'auto_explain'", "auto_explain.log_min_duration = 0",
            "auto_explain.log_format = 'json'", "auto_explain.log_level = 'warning'",
            "plan_cache_mode = '%s'" % ("force_generic_plan" if generic else "auto")]
    for s in sets:
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_url, "-c",
                        "ALTER DATABASE %s SET %s" % (name, s)], check=True, capture_output=True)


def disable(pg_url):
    subprocess.run(["psql", "-X", "-q", pg_url, "-c", "ALTER DATABASE %s RESET ALL" % _db_name(pg_url)],
                   check=True, capture_output=True)


def parse_plans(text):
    """The JSON plans in a stretch of server stderr."""
    out, dec = [], json.JSONDecoder()
    for m in re.finditer(r"plan:\s*\n?", text):
        try:
            obj, _ = dec.raw_decode(text, m.end())
        except ValueError:
            continue
        if isinstance(obj, dict) and "Plan" in obj:
            out.append(obj)
    return out


def seq_scans(plan):
    """Tables of HOT_TABLES a plan (auto_explain JSON) reads with a Seq Scan."""
    found = []

    def walk(node):
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in HOT_TABLES:
            found.append(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return found


def hot_requests(fleet):
    """(label, method, path, token) of every hot read: the resource list in
    each filter shape for a user in every project and one in one, resource
    get, projects list, costs summary by each grouping, run get and list,
    events, members (membership role). Each also checks the session."""
    t = fleet["template"]
    big = fleet["tokens"]["big"]
    small = [v for k, v in fleet["tokens"].items() if k != "big"][0]
    reqs = []
    filters = [("project_id", t["project_id"]), ("cloud", "sandbox"), ("kind", "vm"), ("status", "active")]
    for bits in range(16):
        q = "&".join("%s=%s" % filters[i] for i in range(4) if bits & (1 << i))
        for who, tok in (("big", big), ("small", small)):
            path = "/api/v1/resources?limit=50" + ("&" + q if q else "")
            reqs.append(("resources list %s [%s]" % (who, q or "no filter"), "GET", path, tok))
    # The drift filter (its shapes are the ones above with one more condition).
    for q in ("drift_status=drifted", "drift_status=never_checked&status=active",
              "project_id=%s&drift_status=drifted" % t["project_id"]):
        for who, tok in (("big", big), ("small", small)):
            reqs.append(("resources list %s [%s]" % (who, q), "GET", "/api/v1/resources?limit=50&" + q, tok))
    reqs.append(("resources list big, second page", "GET", "/api/v1/resources?limit=50&cursor=__CURSOR__", big))
    reqs += [
        ("resource get", "GET", "/api/v1/resources/" + t["resource_id"], big),
        ("projects list big", "GET", "/api/v1/projects", big),
        ("projects list small", "GET", "/api/v1/projects", small),
        ("project get", "GET", "/api/v1/projects/" + t["project_id"], big),
        ("run get (membership role)", "GET", "/api/v1/runs/" + t["run_id"], big),
        ("runs of a resource", "GET", "/api/v1/resources/%s/runs" % t["resource_id"], big),
        ("recent runs", "GET", "/api/v1/runs", big),
        ("events", "STREAM", "/api/v1/runs/%s/events" % t["run_id"], big),
        ("auth/me (session check)", "GET", "/api/v1/auth/me", big),
    ]
    for who, tok in (("big", big), ("small", small)):
        reqs.append(("drift fleet view %s" % who, "GET", "/api/v1/drift", tok))
    for g in ("cloud", "project", "kind", "region"):
        for who, tok in (("big", big), ("small", small)):
            reqs.append(("costs summary by %s %s" % (g, who), "GET", "/api/v1/costs/summary?group_by=" + g, tok))
    return reqs


def _send(url, method, path, token, cursor):
    h = {"Authorization": "Bearer " + token}
    if method == "STREAM":  # a finished run's events: the stream sends them and is read briefly
        run_id = path.split("/")[4]
        tk = requests.post(url + "/api/v1/runs/%s/stream-ticket" % run_id, headers=h, timeout=10).json()["ticket"]
        try:
            with requests.get(url + path + "?ticket=" + tk, stream=True, timeout=3) as r:
                deadline = time.time() + 1.0
                for _ in r.iter_content(chunk_size=None):
                    if time.time() > deadline:
                        break
                return r.status_code
        except requests.exceptions.RequestException:
            return 200
    r = requests.get(url + path.replace("__CURSOR__", cursor or ""), headers=h, timeout=30)
    return r.status_code, r


def check(url, fleet, read_log):
    """Sends every hot request; returns [(label, n_plans, [seq-scanned tables], [query texts])].
    read_log() returns the server's stderr so far."""
    results, cursor = [], None
    for label, method, path, token in hot_requests(fleet):
        before = len(read_log())
        res = _send(url, method, path, token, cursor)
        status = res if isinstance(res, int) else res[0]
        if not isinstance(res, int) and "no filter" in label and "big" in label:
            cursor = res[1].json().get("next_cursor")
        assert status == 200, (label, status)
        time.sleep(0.05)  # stderr is written by the server thread before the reply, but flush order is not ours
        plans = parse_plans(read_log()[before:])
        scans, texts = [], []
        for p in plans:
            s = seq_scans(p)
            scans += s
            if s:
                texts.append(p.get("Query Text", "")[:300])
        results.append((label, len(plans), scans, texts))
    return results


def main():
    url, pg_url, fleet_json, log_path = sys.argv[1:5]
    fleet = json.load(open(fleet_json))

    def read_log():
        with open(log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    bad = [r for r in check(url, fleet, read_log) if r[2]]
    for label, _, scans, texts in bad:
        print("  seq scan: %s: %s\n    %s" % (label, ", ".join(scans), "\n    ".join(texts)))
    print(len(bad))


if __name__ == "__main__":
    main()
