"""The resource list reads a page one of several ways, by who asks and what
they filter on (store_resources.c): a project filter, a user in one project,
in a few (2..48), or in many (49+), each with every filter combination, on
SQLite and PostgreSQL. Whichever way, a page walk returns exactly the rows
the user may see that match, newest first, each with its current run."""
import os
import sqlite3
import subprocess

from conftest import Api


def walk(user, query, limit=7):
    ids, rows, cursor = [], {}, None
    while True:
        page = user.ok("GET", "/resources?limit=%d%s%s" % (limit, query, "&cursor=" + cursor if cursor else ""))
        assert len(page["items"]) <= limit
        for r in page["items"]:
            ids.append(r["id"])
            rows[r["id"]] = r
        cursor = page["next_cursor"]
        if not cursor:
            return ids, rows
        assert cursor == ids[-1]


FILTERS = [("", lambda r: True), ("&kind=vm", lambda r: r["kind"] == "vm"),
           ("&kind=storage&cloud=sandbox", lambda r: r["kind"] == "storage"),
           ("&cloud=sandbox&status=pending", lambda r: True), ("&status=active", lambda r: False),
           ("&cloud=aws", lambda r: False), ("&kind=vm&status=pending&cloud=sandbox", lambda r: r["kind"] == "vm")]


def test_every_way_and_filter_pages_exactly_the_visible_rows(make_server, store_env):
    s = make_server(env=dict(store_env, CLOUDPLANE_WORKERS="0", CLOUDPLANE_PROJECT_MAX_RUNS="0"))
    owner, few, one = Api(s, "owner@example.com"), Api(s, "few@example.com"), Api(s, "one@example.com")
    made, runs, projects = {}, {}, []
    for i in range(50):  # owner: 50 projects, more than the 48 read project by project
        p = owner.project(name="p%d" % i)
        projects.append(p["id"])
        acct = owner.sandbox_account(p["id"])
        for j in range(2):
            if (i + j) % 2:
                body = owner.create_vm(p["id"], acct["id"], name="vm-%d-%d" % (i, j))
            else:
                body = owner.ok("POST", "/resources", {"project_id": p["id"], "account_id": acct["id"],
                                                       "kind": "storage", "name": "b-%d-%d" % (i, j),
                                                       "region": "sandbox-east-1", "config": {"expected_gb": 1}},
                                202)
            made[body["resource"]["id"]] = (p["id"], body["resource"])
            runs[body["resource"]["id"]] = body["run"]
    for pid in projects[3:6]:
        owner.add_member(pid, few, "viewer")
    owner.add_member(projects[10], one, "viewer")
    # A destroy queued: that row's current run is the destroy now.
    gone = next(rid for rid, (pid, _) in made.items() if pid == projects[4])
    runs[gone] = owner.ok("DELETE", "/resources/" + gone, status=202)["run"]

    def expect(visible, keep):
        return sorted((rid for rid, (pid, r) in made.items() if pid in visible and keep(r)), reverse=True)

    cases = [(owner, set(projects), ""), (few, set(projects[3:6]), ""), (one, {projects[10]}, ""),
             (owner, {projects[4]}, "&project_id=" + projects[4]), (few, {projects[5]}, "&project_id=" + projects[5]),
             (one, set(), "&project_id=" + projects[4])]
    for user, visible, scope in cases:
        for q, keep in FILTERS:
            ids, rows = walk(user, scope + q)
            assert ids == expect(visible, keep), (user.user["email"], scope + q)
            for rid, row in rows.items():
                run = runs[rid]
                assert row["current_run"] == {"id": run["id"], "operation": run["operation"], "status": "queued"}
    # A list row is the same object as the resource's own reply.
    ids, rows = walk(few, "", limit=200)
    assert rows[gone] == few.ok("GET", "/resources/" + gone)

    # Rendered rows are reused only while every field is unchanged: a write
    # straight in the database (as a worker's) shows on the next page.
    for field, value in (("name", "renamed"), ("outputs", '{"ip":"192.0.2.1"}'), ("status", "active")):
        sql = "UPDATE resources SET %s = '%s' WHERE id = '%s'" % (field, value, gone)
        if "CLOUDPLANE_DATABASE_URL" in store_env:
            subprocess.run(["psql", "-X", "-q", store_env["CLOUDPLANE_DATABASE_URL"], "-c", sql], check=True)
        else:
            db = sqlite3.connect(os.path.join(s.data_dir, "cloudplane.db"), timeout=5, isolation_level=None)
            db.execute(sql)
            db.close()
        ids, rows = walk(few, "", limit=200)
        assert rows[gone] == few.ok("GET", "/resources/" + gone)
    assert rows[gone]["name"] == "renamed" and rows[gone]["outputs"] == {"ip": "192.0.2.1"}
    assert rows[gone]["status"] == "active"
