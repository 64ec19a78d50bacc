"""The resource list's page cache across API instances: two `serve` processes
on one PostgreSQL database. A page one instance has cached is never served
stale after a write made through the other instance, or straight in the
database (as a worker writes a run's status): every instance reads the data
version with each request."""
import pytest

from conftest import Api



def page(api, user, query="limit=50"):
    return user.ok("GET", "/resources?" + query)


def by_id(body):
    return {r["id"]: r for r in body["items"]}


def test_no_stale_page_after_a_write_on_another_instance(cluster):
    api1, api2 = cluster.api(), cluster.api()
    u1 = Api(api1)
    p = u1.project(name="cached")
    acct = u1.sandbox_account(p["id"])
    first = u1.create_vm(p["id"], acct["id"], name="vm-1")["resource"]
    # The same user, signed in on the other instance.
    u2 = Api.__new__(Api)
    u2.s, u2.token, u2.user = api2, u1.token, u1.user

    before = page(api1, u1)
    assert page(api1, u1) == before  # now cached on api1
    assert list(by_id(before)) == [first["id"]]

    # A create through api2: api1's next page has it.
    second = u2.create_vm(p["id"], acct["id"], name="vm-2")["resource"]
    after_create = by_id(page(api1, u1))
    assert set(after_create) == {first["id"], second["id"]}

    # A write straight in the database (a worker's status change).
    cluster.sql("UPDATE resources SET status = 'active' WHERE id = :'a1'", first["id"])
    assert by_id(page(api1, u1))[first["id"]]["status"] == "active"
    assert by_id(page(api2, u2))[first["id"]]["status"] == "active"

    # A destroy queued through api2: api1's cached page shows the new run.
    run = u2.ok("DELETE", "/resources/" + second["id"], status=202)["run"]
    row = by_id(page(api1, u1))[second["id"]]
    assert row["current_run"] == {"id": run["id"], "operation": "destroy", "status": "queued"}

    # Later pages (cursor) follow the same rule, and the single-resource reply
    # is the same object as the list's row.
    later = page(api1, u1, "limit=1")
    assert later["next_cursor"]
    rest = page(api1, u1, "limit=1&cursor=" + later["next_cursor"])
    cluster.sql("UPDATE resources SET name = 'renamed' WHERE id = :'a1'", rest["items"][0]["id"])
    rest2 = page(api1, u1, "limit=1&cursor=" + later["next_cursor"])
    assert rest2["items"][0]["name"] == "renamed"
    one = u1.ok("GET", "/resources/" + rest2["items"][0]["id"])
    assert one == rest2["items"][0]
