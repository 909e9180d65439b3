"""The knowledge bases REST API: a builder makes a KB, uploads the shipped PDF, watches it
index and tries a query; bad input is a 400 naming the field; a viewer may read but not add."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

pytestmark = pytest.mark.django_db

FILES = Path(__file__).resolve().parents[2] / "runtime" / "knowledge" / "tests" / "files"


@pytest.fixture
def api(world, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the indexing job runs right after the commit
    return world.client("developer")


def url(world, rest=""):
    return f"/api/v1/bots/{world.bot.pk}/knowledge-bases{rest}"


def details(response):
    assert response.status_code == 400, response.content
    return {d["path"]: d["message"] for d in response.json()["error"]["details"]}


def test_a_document_uploaded_indexed_and_searched(world, api, django_capture_on_commit_callbacks):
    created = api.post(url(world), {"name": "Handbook", "folder": "Support", "description": "Kettles"}, format="json")
    assert created.status_code == 201, created.content
    kb = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = api.post(url(world, f"/{kb}/sources"), {
            "file": SimpleUploadedFile("handbook.pdf", (FILES / "handbook.pdf").read_bytes(), "application/pdf")},
            format="multipart")
    assert uploaded.status_code == 201, uploaded.content
    assert uploaded.json()["status"] == "queued" and uploaded.json()["format"] == "pdf"
    source = api.get(url(world, f"/{kb}/sources/{uploaded.json()['id']}")).json()
    assert (source["status"], source["chunks"], source["error"]) == ("ready", 3, "")
    listed = api.get(url(world)).json()
    mine = next(k for k in listed["knowledgeBases"] if k["id"] == kb)  # the world's bot has one KB already
    assert listed["maxSources"] == 100 and mine["sources"][0]["name"] == "handbook.pdf"
    found = api.post(url(world, "/search"), {"query": "how many days to get a refund"}, format="json")
    assert found.status_code == 200
    best = found.json()["hits"][0]
    assert (best["sourceName"], best["page"], best["knowledgeBase"]) == ("handbook.pdf", 2, "Handbook")
    assert best["ftsRank"] == 1 and best["similarity"] > 0.3
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(url(world, f"/{kb}/sources/{source['id']}/reindex"))
    assert again.status_code == 202 and again.json()["revision"] == 2
    assert api.get(url(world, f"/{kb}/sources/{source['id']}")).json()["status"] == "ready"
    assert api.delete(url(world, f"/{kb}/sources/{source['id']}")).status_code == 204
    assert api.post(url(world, "/search"), {"query": "refund"}, format="json").json()["hits"] == []


def test_text_and_web_sources_and_what_is_refused(world, api, django_capture_on_commit_callbacks):
    kb = api.post(url(world), {"name": "Notes"}, format="json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        text = api.post(url(world, f"/{kb}/sources"), {"kind": "text", "name": "Hours",
                                                        "text": "We open at nine."}, format="json")
    assert text.status_code == 201
    assert api.get(url(world, f"/{kb}/sources/{text.json()['id']}")).json()["status"] == "ready"
    assert details(api.post(url(world, f"/{kb}/sources"), {"kind": "url", "url": "http://10.0.0.5/admin"},
                            format="json"))["$.url"].endswith("is a private or reserved address; the server does not "
                                                              "fetch from its own network (FLOWSTUDIO_OUTBOUND_ALLOW_"
                                                              "HOSTS lists exceptions)")
    assert "http or https" in details(api.post(url(world, f"/{kb}/sources"), {"kind": "url", "url": "ftp://x"},
                                               format="json"))["$.url"]
    assert "$.kind" in details(api.post(url(world, f"/{kb}/sources"), {"kind": "web"}, format="json"))
    assert "formats are PDF" in details(api.post(url(world, f"/{kb}/sources"), {
        "file": SimpleUploadedFile("deck.pptx", b"x")}, format="multipart"))["$.file"]
    assert "already has" in details(api.post(url(world), {"name": "Notes"}, format="json"))["$.name"]
    assert "$.name" in details(api.post(url(world), {"name": "../x"}, format="json"))
    assert "no knowledge base named 'Nope'" in details(
        api.post(url(world, "/search"), {"query": "x", "knowledgeBases": ["Nope"]}, format="json"))[
        "$.knowledgeBases[0]"]
    assert api.get(url(world, "/999999")).status_code == 404


def test_a_viewer_reads_but_does_not_change(world, api):
    kb = api.post(url(world), {"name": "Notes"}, format="json").json()["id"]
    viewer = world.client("viewer")
    assert viewer.get(url(world, f"/{kb}")).status_code == 200
    assert viewer.post(url(world, f"/{kb}/sources"), {"kind": "text", "name": "x", "text": "y"},
                       format="json").status_code == 403
    assert viewer.delete(url(world, f"/{kb}")).status_code == 403


def test_a_nul_character_is_refused_with_the_field_named(world, api):
    assert "NUL" in details(api.post(url(world), {"name": "Notes", "description": "a\x00b"}, format="json"))[
        "$.description"]
    kb = api.post(url(world), {"name": "Notes"}, format="json").json()["id"]
    assert "NUL" in details(api.post(url(world, f"/{kb}/sources"), {"kind": "text", "name": "x", "text": "a\x00"},
                                     format="json"))["$.text"]
    assert "NUL" in details(api.post(url(world, "/search"), {"query": "refund\x00"}, format="json"))["$.query"]


def test_a_table_source_reads_the_rows_of_one_of_the_bots_tables(world, api, django_capture_on_commit_callbacks):
    from flows.tables import service as tables

    tables.create_table(world.bot, {"name": "Products", "columns": [
        {"name": "title", "type": "string", "searchable": True}, {"name": "price", "type": "number"}]})
    world.bot.refresh_from_db()
    tables.insert_rows(world.bot.pk, tables.get_table(world.bot, "Products"),
                       [{"title": "Kettle Pro, a steel kettle that boils in three minutes", "price": 49}])
    kb = api.post(url(world), {"name": "Catalogue"}, format="json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        added = api.post(url(world, f"/{kb}/sources"), {"kind": "table", "table": "Products"}, format="json")
    assert added.status_code == 201, added.content
    assert (added.json()["kind"], added.json()["table"], added.json()["columns"]) == ("table", "Products", [])
    source = api.get(url(world, f"/{kb}/sources/{added.json()['id']}")).json()
    assert (source["status"], source["chunks"]) == ("ready", 1)
    best = api.post(url(world, "/search"), {"query": "which kettle boils fast", "knowledgeBases": ["Catalogue"]},
                    format="json").json()["hits"][0]
    row = tables.find_rows(world.bot.pk, tables.get_table(world.bot, "Products"))["rows"][0]["id"]
    assert (best["sourceType"], best["sourceName"], best["row"]) == ("table", "Products", row)
    assert details(api.post(url(world, f"/{kb}/sources"), {"kind": "table", "table": "Invoices"},
                            format="json"))["$.table"] == "the bot has no table 'Invoices' (its tables: Orders, Products)"
    assert details(api.post(url(world, f"/{kb}/sources"), {"kind": "table", "table": "Products",
                                                            "columns": ["price"]}, format="json"))[
        "$.columns[0]"] == "column 'price' is number; a table source reads string columns"
    for bad in (5, "title", [1], ["no spaces allowed"]):
        assert details(api.post(url(world, f"/{kb}/sources"), {"kind": "table", "table": "Products", "columns": bad},
                                format="json"))["$.columns"] == "a list of the table's column names"
