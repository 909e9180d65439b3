"""The tables REST API: a builder creates a table, fills it, finds and changes rows, moves
CSV in and out; every bad input is a 400 naming the JSON path of what is wrong."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(world):
    return world.client("developer")


def url(world, rest=""):
    return f"/api/v1/bots/{world.bot.pk}/tables{rest}"


def post(api, path, body):
    return api.post(path, body, format="json")


def details(response):
    assert response.status_code == 400, response.content
    return {d["path"]: d["message"] for d in response.json()["error"]["details"]}


def test_a_table_made_filled_and_queried_through_the_api(world, api):
    created = post(api, url(world), {"name": "People", "columns": [
        {"name": "name", "type": "string", "searchable": True}, {"name": "age", "type": "number"}]})
    assert created.status_code == 201 and created.json()["rows"] == 0
    inserted = post(api, url(world, "/People/rows"), {"rows": [{"name": "Ana", "age": 31}, {"name": "Bo", "age": 17}]})
    assert inserted.status_code == 201
    found = post(api, url(world, "/People/rows/find"), {"filter": {"age": {"$gte": 18}}})
    assert [r["name"] for r in found.json()["rows"]] == ["Ana"] and found.json()["total"] == 1
    grouped = post(api, url(world, "/People/rows/find"), {"group": {"age": ["count", "max"]}})
    assert grouped.json()["rows"] == [{"ageCount": 2, "ageMax": 31}]
    listed = api.get(url(world, "/People/rows?orderBy=age&limit=1"))
    assert [r["name"] for r in listed.json()["rows"]] == ["Bo"] and listed.json()["total"] == 2
    row = inserted.json()["rows"][1]["id"]
    patched = api.patch(url(world, f"/People/rows/{row}"), {"values": {"age": 18}}, format="json")
    assert patched.json()["age"] == 18
    tables = {t["name"]: t["rows"] for t in api.get(url(world)).json()["tables"]}
    assert tables == {"Orders": 1, "People": 2}
    assert api.delete(url(world, f"/People/rows/{row}")).status_code == 204
    assert api.get(url(world, f"/People/rows/{row}")).status_code == 404


def test_csv_goes_in_and_out(world, api):
    imported = post(api, url(world, "/Orders/import"), {"csv": "item,qty\nink,4\nglue,\n"})
    assert imported.status_code == 201 and imported.json() == {"inserted": 2}
    exported = api.get(url(world, "/Orders/export"))
    assert exported["Content-Type"].startswith("text/csv")
    lines = exported.content.decode().splitlines()
    assert lines[0] == "id,item,qty,createdAt,updatedAt" and len(lines) == 4


@pytest.mark.parametrize("path, body, where, words", [
    ("/Orders/rows", {"rows": [{"item": "ink", "qty": "four"}]}, "$.rows[0].qty", "must be a number"),
    ("/Orders/rows", {"rows": [{"item": "ink", "colour": "red"}]}, "$.rows[0].colour", "unknown column"),
    ("/Orders/rows", {"rows": {"item": "ink"}}, "$.rows", "a list of rows"),
    ("/Orders/rows/find", {"filter": {"qty": {"$gt": "many"}}}, '$.filter.qty["$gt"]', "must be a number"),
    ("/Orders/rows/find", {"filter": {"$or": [{"item": "a"}, {"price": 3}]}}, '$.filter["$or"][1].price',
     "unknown column 'price'"),
    ("/Orders/rows/find", {"filter": {"qty": {"$near": 3}}}, '$.filter.qty["$near"]', "unknown operator"),
    ("/Orders/rows/find", {"orderBy": "colour"}, "$.orderBy", "unknown column"),
    ("/Orders/rows/find", {"limit": 5000}, "$.limit", "from 1 to 1000"),
    ("/Orders/rows/find", {"where": {}}, "$.where", "not a field"),
    ("/Orders/rows/find", {"group": {"item": ["sum"]}}, "$.group.item[0]", "number columns"),
    ("/Orders/rows/upsert", {"keyColumn": "colour", "rows": []}, "$.keyColumn", "unknown column"),
    ("/Orders/rows/delete", {}, "$", "exactly one of"),
    ("/Orders/import", {"csv": "item,qty\nink,lots\n"}, "$.csv[2].qty", "not a number"),
    ("/Orders/import", {"csv": 'item,qty\n"ink,1\n'}, "$.csv[2]", "not valid CSV"),
    ("", {"name": "Bad", "columns": [{"name": "n", "type": "money"}]}, "$.columns[0].type", "must be one of"),
    ("", {"name": "Bad", "columns": [{"name": "n", "type": "number", "searchable": True}]},
     "$.columns[0].searchable", "only string columns"),
])
def test_bad_input_is_a_400_with_its_path(world, api, path, body, where, words):
    found = details(post(api, url(world, path), body))
    assert where in found, found
    assert words in found[where]


def test_a_filter_nested_too_deep_is_a_400_not_a_500(world, api):
    spec = {"item": "pen"}
    for _ in range(30):
        spec = {"$not": spec}
    found = details(post(api, url(world, "/Orders/rows/find"), {"filter": spec}))
    assert found == {"$.filter" + '["$not"]' * 8: "the filter is nested deeper than 8 levels"}


def test_a_wrong_type_on_update_and_an_unknown_table_or_row(world, api):
    found = details(api.patch(url(world, f"/Orders/rows/{world.row}"), {"values": {"qty": [1]}}, format="json"))
    assert "must be a number" in found["$.values.qty"]
    assert api.get(url(world, "/Nope/rows")).status_code == 404
    assert api.patch(url(world, "/Orders/rows/999999"), {"values": {"qty": 1}}, format="json").status_code == 404
    assert post(api, url(world), {"name": "Orders", "columns": []}).status_code == 409


def test_a_viewer_reads_rows_but_cannot_write_them(world):
    viewer = world.client("viewer")
    assert viewer.get(url(world, "/Orders/rows")).json()["rows"][0]["item"] == "pen"
    assert post(viewer, url(world, "/Orders/rows"), {"rows": [{"item": "ink"}]}).status_code == 403
