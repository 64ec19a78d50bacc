"""The hot statements' plans on a loaded fleet (PostgreSQL): 20,000 resources
across 200 projects, loaded by bench/fleet.py's COPY loader and analysed, so
the planner sees realistic statistics. Every hot API read runs against it with
auto_explain logging the executed plan (bench/fleet_plans.py): once with the
real parameter values, once with plan_cache_mode = force_generic_plan. Any
Seq Scan on resources, runs, memberships or run_events fails.

Also: the cost summary and budget use, read from resource_totals (kept by
triggers), equal the old queries over resources, after the load and after
status and cost changes."""
import os
import subprocess
import sys

import pytest

from conftest import fresh_pg_database

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench")
sys.path.insert(0, os.path.abspath(BENCH))
import fleet  # noqa: E402
import fleet_plans  # noqa: E402

PROJECTS, PER_PROJECT = 200, 100

# The summaries as they were computed before resource_totals: over resources.
OLD_COSTS = {
    "cloud": "SELECT r.cloud, SUM(r.monthly_cost_usd), COUNT(*) %s GROUP BY r.cloud",
    "project": "SELECT p.id, SUM(r.monthly_cost_usd), COUNT(*) %s GROUP BY p.id",
    "kind": "SELECT r.kind, SUM(r.monthly_cost_usd), COUNT(*) %s GROUP BY r.kind",
    "region": "SELECT r.region, SUM(r.monthly_cost_usd), COUNT(*) %s GROUP BY r.region",
}
OLD_FROM = ("FROM resources r JOIN memberships m ON m.project_id = r.project_id AND m.user_id = '%s'"
            " JOIN projects p ON p.id = r.project_id WHERE r.status IN ('active', 'updating', 'destroying')")
OLD_BUDGET = ("SELECT p.id, (SELECT COALESCE(SUM(r.monthly_cost_usd), 0) FROM resources r WHERE r.project_id = p.id"
              " AND r.status <> 'destroyed' AND (r.status <> 'failed' OR EXISTS (SELECT 1 FROM cost_periods c"
              " WHERE c.resource_id = r.id AND c.ended_at IS NULL))) FROM projects p JOIN memberships m"
              " ON m.project_id = p.id AND m.user_id = '%s'")


def psql(url, sql):
    r = subprocess.run(["psql", "-X", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A database with the fleet in it, and the data dir of the server that loaded it."""
    from conftest import Server  # a module-scoped server: the load is the slow part
    pg = fresh_pg_database()
    data = str(tmp_path_factory.mktemp("fleet") / "data")
    os.makedirs(data)
    env = {"CLOUDPLANE_DATABASE_URL": pg, "CLOUDPLANE_PROJECT_MAX_RESOURCES": "0"}
    s = Server(data, env).start()
    try:
        f = fleet.load(s.url, pg, PROJECTS, PER_PROJECT, small=2, team=8, outbox=os.path.join(data, "outbox"))
    finally:
        assert s.stop() == 0, s.logs()[-4000:]
    return pg, data, env, f


@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
def test_no_hot_statement_scans_a_big_table(loaded, make_server, generic):
    pg, data, env, f = loaded
    fleet_plans.enable(pg, generic=generic)
    try:
        s = make_server(env=env, data_dir=data)
        results = fleet_plans.check(s.url, f, s.logs)
    finally:
        fleet_plans.disable(pg)
    unlogged = [label for label, n, _, _ in results if n == 0]
    assert not unlogged, "no plan logged for %s (is auto_explain there?)" % unlogged
    bad = ["%s: Seq Scan on %s in\n  %s" % (label, ", ".join(scans), "\n  ".join(texts))
           for label, _, scans, texts in results if scans]
    assert not bad, "\n".join(bad)


def check_totals(pg, f):
    users = [row[0] for row in psql(pg, "SELECT id FROM users WHERE email IN ('big@example.com',"
                                        " 'small0@example.com', 'member0@example.com')")]
    assert len(users) == 3
    for u in users:
        for by, sql in OLD_COSTS.items():
            old = {k: (float(c), int(n)) for k, c, n in psql(pg, sql % (OLD_FROM % u))}
            new_sql = {"cloud": "t.cloud", "project": "t.project_id", "kind": "t.kind", "region": "t.region"}[by]
            new = {k: (float(c), int(n)) for k, c, n in psql(
                pg, "SELECT %s, SUM(t.monthly_cost_usd), SUM(t.n) FROM resource_totals t JOIN memberships m"
                    " ON m.project_id = t.project_id AND m.user_id = '%s' WHERE t.status IN ('active', 'updating',"
                    " 'destroying') AND t.n > 0 GROUP BY 1" % (new_sql, u))}
            assert old.keys() == new.keys(), (by, u)
            for k in old:
                assert old[k][1] == new[k][1] and abs(old[k][0] - new[k][0]) < 1e-6, (by, u, k, old[k], new[k])
        # The projects list's budget use: the statement the server runs, against the old definition.
        old = {p: float(v) for p, v in psql(pg, OLD_BUDGET % u)}
        new = {p: float(v) for p, v in psql(
            pg, "SELECT p.id, ((SELECT COALESCE(SUM(t.monthly_cost_usd), 0) FROM resource_totals t WHERE t.project_id"
                " = p.id AND t.status NOT IN ('destroyed', 'failed')) + (SELECT COALESCE(SUM(r.monthly_cost_usd), 0)"
                " FROM resources r WHERE r.project_id = p.id AND r.status = 'failed' AND EXISTS (SELECT 1 FROM"
                " cost_periods c WHERE c.resource_id = r.id AND c.ended_at IS NULL))) FROM projects p JOIN"
                " memberships m ON m.project_id = p.id AND m.user_id = '%s'" % u)}
        assert old.keys() == new.keys()
        assert all(abs(old[p] - new[p]) < 1e-6 for p in old), u


def test_cost_totals_equal_the_old_queries(loaded):
    pg, _, _, f = loaded
    check_totals(pg, f)
    # Every kind of write the store makes to resources: status moves (each way
    # a run takes one), cost changes, a failed create with and without an open
    # cost period, deletes, and a whole project's rows at once.
    ids = [r[0] for r in psql(pg, "SELECT id FROM resources ORDER BY id LIMIT 60")]
    q = lambda xs: ",".join("'%s'" % x for x in xs)  # noqa: E731
    psql(pg, "UPDATE resources SET status = 'updating' WHERE id IN (%s)" % q(ids[0:10]))
    psql(pg, "UPDATE resources SET status = 'destroying', monthly_cost_usd = monthly_cost_usd * 3"
             " WHERE id IN (%s)" % q(ids[5:15]))
    psql(pg, "UPDATE resources SET status = 'destroyed' WHERE id IN (%s)" % q(ids[15:25]))
    psql(pg, "UPDATE resources SET monthly_cost_usd = 0.1 WHERE id IN (%s)" % q(ids[25:35]))
    psql(pg, "UPDATE resources SET status = 'failed' WHERE id IN (%s)" % q(ids[35:45]))
    psql(pg, "UPDATE cost_periods SET ended_at = 1 WHERE resource_id IN (%s)" % q(ids[35:40]))
    psql(pg, "UPDATE resources SET status = 'active', region = 'sandbox-west-1' WHERE id IN (%s)" % q(ids[45:50]))
    psql(pg, "DELETE FROM runs WHERE resource_id IN (%s)" % q(ids[50:60]))
    psql(pg, "DELETE FROM cost_periods WHERE resource_id IN (%s)" % q(ids[50:60]))
    psql(pg, "DELETE FROM resources WHERE id IN (%s)" % q(ids[50:60]))
    check_totals(pg, f)
    # And the table itself, group by group.
    drift = psql(pg, "SELECT COUNT(*) FROM (SELECT project_id, cloud, kind, region, status, COUNT(*) n,"
                     " SUM(monthly_cost_usd) c FROM resources GROUP BY 1, 2, 3, 4, 5) a FULL JOIN resource_totals t"
                     " USING (project_id, cloud, kind, region, status) WHERE COALESCE(a.n, 0) <> COALESCE(t.n, -1)"
                     " OR abs(COALESCE(a.c, 0) - COALESCE(t.monthly_cost_usd, -1)) > 1e-6")
    assert drift == [["0"]]
