"""Tables as the studio and the cards use them: definitions in the draft, rows in the
database, every refusal naming what and where."""
from __future__ import annotations

import pytest
from django.test import override_settings

from flows import services
from flows.botfile.problems import BotFileInvalid
from flows.models import TableRow
from flows.tables import csv_io, service
from flows.tables.definition import TableError, UnknownTable


def test_a_table_is_part_of_the_draft_and_of_the_export(bot, items):
    exported = services.export_bot(bot)
    assert exported["tables"][0]["name"] == "Items"
    assert [c["name"] for c in exported["tables"][0]["columns"]] == ["name", "price", "active", "born", "tags"]
    assert services.draft_problems(bot) == []


@pytest.mark.parametrize("entry, path, words", [
    ({"name": "Items2", "columns": [{"name": "id", "type": "number"}]}, "$.columns[0].name", "system column"),
    ({"name": "Items2", "columns": [{"name": "n", "type": "text"}]}, "$.columns[0].type", "must be one of"),
    ({"name": "Items2", "columns": [{"name": "n", "type": "number", "searchable": True}]},
     "$.columns[0].searchable", "only string columns"),
    ({"name": "Items2", "columns": [{"name": "a", "type": "number"}, {"name": "a", "type": "string"}]},
     "$.columns[1].name", "duplicate column"),
    ({"name": "Items2", "columns": [{"name": f"c{i}", "type": "string"} for i in range(21)]}, "$.columns",
     "at most 20"),
    ({"name": "2x", "columns": []}, "$.name", "letters"),
])
def test_a_bad_definition_is_refused_with_its_path(bot, entry, path, words):
    with pytest.raises(BotFileInvalid) as caught:
        service.create_table(bot, entry)
    assert any(p.path == path and words in p.message for p in caught.value.problems), caught.value.problems


def test_a_second_table_of_the_same_name_is_refused(bot, items):
    with pytest.raises(service.TableExists):
        service.create_table(bot, {"name": "Items", "columns": []})


def test_rows_are_stored_typed_with_system_columns(bot, items):
    row = service.insert_row(bot.pk, items, {"name": "Pen", "price": 2, "born": "2026-03-01", "tags": {"a": 1}})
    assert row["id"] > 0 and row["createdAt"].endswith("Z")
    assert row["born"] == "2026-03-01T00:00:00.000Z"
    assert service.get_row(bot.pk, items, row["id"])["name"] == "Pen"
    assert service.get_row(bot.pk, items, str(row["id"]))["name"] == "Pen"
    assert service.get_row(bot.pk, items, 999_999) is None


@pytest.mark.parametrize("values, path, words", [
    ({"price": "two"}, "$.values.price", "must be a number"),
    ({"colour": "red"}, "$.values.colour", "unknown column 'colour'"),
    ({"active": "yes"}, "$.values.active", "true or false"),
    ({"born": "tomorrow"}, "$.values.born", "ISO 8601"),
    ({"tags": "x"}, "$.values.tags", "object or array"),
    ({"createdAt": "2026-01-01"}, "$.values.createdAt", "system column"),
    (["Pen"], "$.values", "an object"),
])
def test_a_bad_row_is_refused_with_its_path(bot, items, values, path, words):
    with pytest.raises(TableError) as caught:
        service.insert_row(bot.pk, items, values)
    assert caught.value.path == path and words in caught.value.message
    assert TableRow.objects.count() == 0


def test_a_batch_with_one_bad_row_writes_nothing(bot, items):
    with pytest.raises(TableError) as caught:
        service.insert_rows(bot.pk, items, [{"name": "a"}, {"price": True}])
    assert caught.value.path == "$.rows[1].price"
    assert TableRow.objects.count() == 0


@override_settings(FLOWSTUDIO_TABLE_ROW_BYTES=100)
def test_a_row_over_the_size_limit_is_refused(bot, items):
    with pytest.raises(TableError) as caught:
        service.insert_row(bot.pk, items, {"name": "x" * 200})
    assert "over the 100 byte limit" in caught.value.message


@override_settings(FLOWSTUDIO_TABLE_MAX_ROWS=3)
def test_a_table_holds_at_most_its_row_limit(bot, items):
    service.insert_rows(bot.pk, items, [{"name": "a"}, {"name": "b"}])
    with pytest.raises(TableError) as caught:
        service.insert_rows(bot.pk, items, [{"name": "c"}, {"name": "d"}])
    assert "limit of 3" in caught.value.message
    service.insert_row(bot.pk, items, {"name": "c"})
    assert service.count_rows(bot.pk, items) == 3


def test_update_changes_only_the_given_columns_and_null_clears(bot, items):
    row = service.insert_row(bot.pk, items, {"name": "Pen", "price": 2})
    after = service.update_row(bot.pk, items, row["id"], {"price": 3, "name": None})
    assert after["price"] == 3 and "name" not in after
    with pytest.raises(service.RowNotFound):
        service.update_row(bot.pk, items, 999_999, {"price": 1})


def test_upsert_updates_the_matching_row_or_inserts(bot, items):
    service.insert_row(bot.pk, items, {"name": "Pen", "price": 2})
    result = service.upsert_rows(bot.pk, items, "name", [{"name": "Pen", "price": 5}, {"name": "Ink", "price": 1}])
    assert (result["inserted"], result["updated"]) == (1, 1)
    assert sorted((r["name"], r["price"]) for r in service.find_rows(bot.pk, items)["rows"]) == [
        ("Ink", 1), ("Pen", 5)]
    service.insert_row(bot.pk, items, {"name": "Pen"})
    with pytest.raises(TableError) as caught:
        service.upsert_rows(bot.pk, items, "name", [{"name": "Pen", "price": 6}])
    assert caught.value.path == "$.rows[0].name" and "more than one row" in caught.value.message
    with pytest.raises(TableError) as caught:
        service.upsert_rows(bot.pk, items, "colour", [{"name": "Pen"}])
    assert caught.value.path == "$.keyColumn"


def test_delete_by_ids_by_filter_or_all(bot, items):
    rows = service.insert_rows(bot.pk, items, [{"name": n, "price": p} for n, p in (("a", 1), ("b", 2), ("c", 3))])
    assert service.delete_rows(bot.pk, items, ids=[rows[0]["id"]]) == 1
    assert service.delete_rows(bot.pk, items, filter={"price": {"$gte": 3}}) == 1
    assert service.delete_rows(bot.pk, items, delete_all=True) == 1
    with pytest.raises(TableError):
        service.delete_rows(bot.pk, items)


def test_changing_a_column_type_clears_its_values_and_a_rename_keeps_the_rows(bot, items):
    service.insert_row(bot.pk, items, {"name": "Pen", "price": 2})
    entry = items.to_dict()
    entry["name"] = "Products"
    entry["columns"][1]["type"] = "string"
    renamed = service.update_table(bot, "Items", entry)
    rows = service.find_rows(bot.pk, renamed)["rows"]
    assert [(r["name"], r.get("price")) for r in rows] == [("Pen", None)]
    with pytest.raises(UnknownTable):
        service.get_table(bot, "Items")


def test_deleting_a_table_deletes_its_rows(bot, items):
    service.insert_row(bot.pk, items, {"name": "Pen"})
    assert service.delete_table(bot, "Items") == 1
    assert TableRow.objects.count() == 0 and services.export_bot(bot).get("tables", []) == []


def test_a_table_card_naming_a_missing_table_or_column_is_a_draft_problem(bot, items):
    document = services.draft_document(bot)
    at = len(document["flows"][0]["nodes"])
    document["flows"][0]["nodes"].append({"id": "n1", "kind": "standard", "cards": [
        {"id": "c1", "type": "table_insert", "table": "Nope", "values": {}},
        {"id": "c2", "type": "table_insert", "table": "Items", "values": {"colour": "red"}},
    ]})
    with pytest.raises(BotFileInvalid) as caught:
        services.replace_draft(bot, document, base_revision=None)
    paths = {p.path: p.message for p in caught.value.problems}
    assert "no table 'Nope'" in paths[f"$.flows[0].nodes[{at}].cards[0].table"]
    assert "no column 'colour'" in paths[f"$.flows[0].nodes[{at}].cards[1].values.colour"]


# ---- CSV ------------------------------------------------------------------------------------------

def test_csv_import_reads_cells_by_type_and_export_imports_back(bot, items):
    text = 'name,price,active,born,tags\n"Pen, blue",2.5,yes,2026-01-02,"[1,2]"\nInk,,false,,\n'
    assert csv_io.import_csv(bot, items, text) == 2
    rows = service.find_rows(bot.pk, items)["rows"]
    assert rows[0]["name"] == "Pen, blue" and rows[0]["price"] == 2.5 and rows[0]["active"] is True
    assert rows[0]["tags"] == [1, 2] and "price" not in rows[1]
    exported = csv_io.export_csv(bot, items)
    assert exported.splitlines()[0] == "id,name,price,active,born,tags,createdAt,updatedAt"
    assert csv_io.import_csv(bot, items, exported) == 2
    assert service.count_rows(bot.pk, items) == 4


def test_a_bad_csv_names_every_wrong_cell_and_writes_nothing(bot, items):
    with pytest.raises(csv_io.CsvInvalid) as caught:
        csv_io.import_csv(bot, items, "name,price,active\nPen,cheap,yes\nInk,3,maybe\n")
    assert [path for path, _ in caught.value.errors] == ["$.csv[2].price", "$.csv[3].active"]
    assert TableRow.objects.count() == 0
    with pytest.raises(csv_io.CsvInvalid) as caught:
        csv_io.import_csv(bot, items, 'name,price\n"Pen,2\n')
    assert "not valid CSV" in caught.value.errors[0][1]
    with pytest.raises(csv_io.CsvInvalid) as caught:
        csv_io.import_csv(bot, items, "name,colour\nPen,red\n")
    assert caught.value.errors[0][0] == "$.csv[1][1]"


def test_csv_types_are_detected_for_a_new_table():
    definition = csv_io.detect_definition("People", "name,age,vip,since,extra\nAna,31,true,2026-01-01,{}\nBo,,no,,\n")
    assert [(c["name"], c["type"]) for c in definition["columns"]] == [
        ("name", "string"), ("age", "number"), ("vip", "boolean"), ("since", "date"), ("extra", "object")]


# ---- rows in the bot file ---------------------------------------------------------------------------

def test_an_export_with_rows_imports_into_a_new_bot_with_its_rows(bot, items):
    service.insert_rows(bot.pk, items, [{"name": "Pen", "price": 2}, {"name": "Ink", "active": False}])
    exported = services.export_bot(bot, with_rows=True)
    assert exported["tables"][0]["rows"] == [{"name": "Pen", "price": 2}, {"name": "Ink", "active": False}]
    assert "rows" not in services.export_bot(bot)["tables"][0]
    copy_bot = services.import_bot(exported, workspace=bot.workspace)
    assert "rows" not in copy_bot.draft["tables"][0]
    copied = service.find_rows(copy_bot.pk, service.get_table(copy_bot, "Items"))["rows"]
    assert [(r["name"], r.get("price")) for r in copied] == [("Pen", 2), ("Ink", None)]


def test_a_bad_row_in_an_imported_file_refuses_the_whole_import(bot, items):
    exported = services.export_bot(bot)
    exported["name"] = "Copy"
    exported["tables"][0]["rows"] = [{"name": "Pen"}, {"name": "Ink", "price": "cheap"}]
    with pytest.raises(BotFileInvalid) as caught:
        services.import_bot(exported, workspace=bot.workspace)
    assert caught.value.problems[0].path == "$.tables[0].rows[1].price"
    assert not type(bot).objects.filter(name="Copy").exists()
    assert TableRow.objects.count() == 0


def test_rows_are_never_kept_in_the_draft(bot, items):
    document = services.draft_document(bot)
    document["tables"][0]["rows"] = [{"name": "Pen"}]
    with pytest.raises(BotFileInvalid) as caught:
        services.replace_draft(bot, document, base_revision=None)
    assert "rows come with a new bot only" in {p.path: p.message for p in caught.value.problems}["$.tables[0].rows"]


def test_bot_export_with_rows_on_the_command_line(bot, items):
    import io
    import json

    from django.core.management import call_command

    service.insert_row(bot.pk, items, {"name": "Pen"})
    out = io.StringIO()
    call_command("bot", "export", str(bot.pk), "--with-rows", stdout=out)
    assert json.loads(out.getvalue())["tables"][0]["rows"] == [{"name": "Pen"}]


def test_values_the_database_cannot_hold_are_bad_input(bot, items):
    with pytest.raises(TableError) as caught:
        service.insert_row(bot.pk, items, {"name": "a\x00b"})
    assert caught.value.path == "$.values" and "NUL" in caught.value.message
    with pytest.raises(TableError) as caught:
        service.get_row(bot.pk, items, 2 ** 70)
    assert caught.value.path == "$.id"
    with pytest.raises(TableError) as caught:
        service.find_rows(bot.pk, items, offset=10 ** 30)
    assert caught.value.path == "$.offset"
