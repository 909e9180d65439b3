"""Table cards in the editor (Chromium): a Find Records card dropped from the tray picks its
table from the bot's tables, and the canvas shows which table it reads."""
import copy
import json

import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage
from flows import services
from flows.models import Bot

pytestmark = pytest.mark.browser

BOT = {
    "format": "flowstudio.bot/1",
    "name": "Order desk",
    "tables": [{"name": "Orders", "columns": [{"name": "item", "type": "string", "searchable": True}]},
               {"name": "Customers", "columns": [{"name": "email", "type": "string"}]}],
    "flows": [{"name": "main", "variables": [{"name": "rows", "type": "array"}], "nodes": [
        {"id": "start", "kind": "start", "next": "look"},
        {"id": "look", "kind": "standard", "name": "Look up", "cards": [
            {"id": "hello", "type": "text", "text": "Looking"}], "next": "end"},
        {"id": "end", "kind": "end"},
    ]}],
    "layout": {"main": {"start": [0, 0], "look": [0, 140], "end": [320, 140]}},
}


def test_a_find_records_card_picks_its_table_from_the_bots_tables(new_context, login, studio_url, make_user):
    owner = make_user()
    bot = services.import_bot(copy.deepcopy(BOT), workspace=owner.workspace, user=owner)
    page = new_context(viewport=VIEWPORT).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    ed = EditorPage(page).open(studio_url, bot)

    ed.drop_card("Find Records", "look")
    ed.card("look", "table_find").click()
    table = ed.field("table")
    expect(table.locator("option")).to_have_text(["Choose a table", "Orders", "Customers"])
    table.select_option("Customers")
    ed.saved()
    card = Bot.objects.get(pk=bot.pk).draft["flows"][0]["nodes"][1]["cards"][1]
    assert card["type"] == "table_find" and card["table"] == "Customers"
    expect(ed.card("look", "table_find")).to_contain_text("Customers")
    assert errors == []


SHOP = {
    "format": "flowstudio.bot/1",
    "name": "Stock desk",
    "flows": [{"name": "main", "variables": [{"name": "rows", "type": "array"}], "nodes": [
        {"id": "start", "kind": "start", "next": "look"},
        {"id": "look", "kind": "standard", "name": "Look up", "cards": [], "next": "answer"},
        {"id": "answer", "kind": "standard", "name": "Answer", "cards": [
            {"id": "said", "type": "text", "text": "{{workflow.rows.length}} {{event.preview}} in stock"}],
            "next": "end"},
        {"id": "end", "kind": "end"},
    ]}],
    "layout": {"main": {"start": [0, 0], "look": [0, 140], "answer": [340, 140], "end": [680, 140]}},
}
BAD_CSV = "item,colour,qty\npen,blue,3\nink,blue,lots\ncap,red,\"5\n"
GOOD_CSV = "item,colour,qty\npen,blue,3\nink,blue,0\ncap,red,5\nmug,blue,2\n"


def grid_rows(page):
    return page.locator("#fs-table-view .fs-grid tbody tr[data-row-id]")


def test_a_table_made_in_the_tables_tab_serves_a_published_bot_in_the_webchat(new_context, login, studio_url,
                                                                               make_user, tmp_path):
    from flows.models import TableRow

    owner = make_user()
    bot = services.import_bot(copy.deepcopy(SHOP), workspace=owner.workspace, user=owner)
    page = new_context(viewport=VIEWPORT).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    ed = EditorPage(page).open(studio_url, bot)

    # Create the table: name and typed columns.
    page.locator('#fs-rail [data-left-tab="tables"]').click()
    expect(page.locator("#fs-tables")).to_contain_text("No tables yet")
    page.locator('#fs-tables [data-action="new-table"]').click()
    dialog = page.locator("dialog[open]")
    dialog.locator("[name=name]").fill("Stock")
    dialog.locator("[name=columns]").fill("item: string searchable\ncolour: string\nqty: numbr")
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator('[data-dialog-field="columns"] .fs-field-error')).to_contain_text("Line 3")
    dialog.locator("[name=columns]").fill("item: string searchable\ncolour: string\nqty: number")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#fs-table-view .fs-table-title")).to_have_text("Stock")
    expect(page.locator("#fs-table-view th")).to_have_text(
        ["idnumber", "itemstring", "colourstring", "qtynumber", "createdAtdate", "updatedAtdate"])
    assert [t["name"] for t in Bot.objects.get(pk=bot.pk).draft["tables"]] == ["Stock"]

    # A CSV with a wrong cell and a broken quote: both named, nothing written.
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV)
    page.locator("#fs-table-view [data-role=csv-file]").set_input_files(str(bad))
    message = page.locator("#fs-table-view [data-role=message]")
    expect(message).to_contain_text("nothing was imported")
    expect(message.locator("li").first).to_contain_text("line")
    assert not TableRow.objects.filter(bot=bot).exists()
    expect(grid_rows(page)).to_have_count(0)

    good = tmp_path / "stock.csv"
    good.write_text(GOOD_CSV)
    page.locator("#fs-table-view [data-role=csv-file]").set_input_files(str(good))
    expect(message).to_contain_text("Imported 4 rows from stock.csv")
    expect(grid_rows(page)).to_have_count(4)
    expect(page.locator("#fs-table-view [data-role=count]")).to_have_text("4 rows")
    expect(page.locator("#fs-tables .fs-table-item.active")).to_contain_text("4 rows")

    # The filter builder: colour is equal to blue.
    page.locator('#fs-table-view [data-action="toggle-filter"]').click()
    page.locator('#fs-table-view [data-action="add-rule"]').click()
    rule = page.locator("#fs-table-view .fs-filter-rule").first
    rule.locator("[data-part=column]").select_option("colour")
    rule.locator("[data-part=value]").fill("blue")
    page.locator('#fs-table-view [data-action="apply-filter"]').click()
    expect(grid_rows(page)).to_have_count(3)
    expect(page.locator("#fs-table-view [data-role=count]")).to_have_text("3 rows match")
    # "Edit manually" shows the same filter as JSON; a hand-written one applies as it is.
    page.locator('#fs-table-view [data-action="manual"]').click()
    area = page.locator("#fs-table-view [data-role=filter-json]")
    assert json.loads(area.input_value()) == {"colour": {"$eq": "blue"}}
    area.fill('{"colour": "blue", "qty": {"$gt": 0}}')
    page.locator('#fs-table-view [data-action="apply-filter"]').click()
    expect(grid_rows(page).locator('td[data-col="item"]')).to_have_text(["pen", "mug"])
    area.fill('{"colour": {"$near": 1}}')
    page.locator('#fs-table-view [data-action="apply-filter"]').click()
    expect(message).to_contain_text("$near")
    expect(grid_rows(page)).to_have_count(2)  # the last good filter stays

    # Keyboard: arrows move, Enter edits, Enter saves, Escape leaves.
    grid_rows(page).first.locator('td[data-col="item"]').click()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#fs-table-view td.focused")).to_have_attribute("data-col", "qty")
    page.keyboard.press("Enter")
    cell_input = page.locator("#fs-table-view input.fs-cell-input")
    expect(cell_input).to_be_focused()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("seven")
    page.keyboard.press("Enter")
    expect(message).to_contain_text("is not a number")
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("7")
    page.keyboard.press("Enter")
    expect(grid_rows(page).first.locator('td[data-col="qty"]')).to_have_text("7")
    assert TableRow.objects.get(bot=bot, data__item="pen").data["qty"] == 7
    page.keyboard.press("Escape")
    expect(page.locator("#fs-table-view td.focused")).to_have_count(0)

    # Add a record, delete one with the context menu.
    page.locator('#fs-table-view [data-action="add-row"]').click()
    dialog = page.locator("dialog[open]")
    dialog.locator("[name=item]").fill("cup")
    dialog.locator("[name=colour]").fill("blue")
    dialog.locator("[name=qty]").fill("1")
    dialog.locator("button[type=submit]").click()
    expect(grid_rows(page)).to_have_count(3)
    ink_id = TableRow.objects.get(bot=bot, data__item="mug").pk
    page.locator(f'#fs-table-view tr[data-row-id="{ink_id}"] td[data-col="item"]').click(button="right")
    page.locator(".fs-context-menu button", has_text="Delete record").click()
    page.locator("dialog[open] button[type=submit]").click()
    expect(grid_rows(page).locator('td[data-col="item"]')).to_have_text(["pen", "cup"])
    export = page.locator('#fs-table-view [data-action="export"]')
    assert export.get_attribute("href").endswith("/tables/Stock/export")

    # Right-click a column header: edit the columns (a new one, the rows keep their values).
    page.locator("#fs-table-view th").nth(1).click(button="right")
    page.locator(".fs-context-menu button", has_text="Edit columns").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("[name=columns]")).to_have_value("item: string searchable\ncolour: string\nqty: number")
    dialog.locator("[name=columns]").fill("item: string searchable\ncolour: string\nqty: number\nnote: string")
    dialog.locator("button[type=submit]").click()
    expect(page.locator("#fs-table-view th").nth(4)).to_have_text("notestring")
    assert [c["name"] for c in Bot.objects.get(pk=bot.pk).draft["tables"][0]["columns"]] == [
        "item", "colour", "qty", "note"]
    expect(grid_rows(page)).to_have_count(4)
    ed.saved()

    # Use the table from a Find Records card, publish, and ask through the webchat.
    page.locator('#fs-table-view [data-action="close"]').click()
    page.locator('#fs-rail [data-left-tab="explorer"]').click()
    ed.drop_card("Find Records", "look")
    ed.card("look", "table_find").click()
    ed.field("table").select_option("Stock")
    ed.field("filter").fill('{"colour": "{{event.preview}}", "qty": {"$gt": 0}}')
    ed.type_into(ed.field("result"), "workflow.rows")
    ed.saved()
    card = Bot.objects.get(pk=bot.pk).draft["flows"][0]["nodes"][1]["cards"][0]
    assert card["table"] == "Stock" and card["result"] == "workflow.rows"
    # The filter field holds JSON: it is stored as the object, not as its text.
    assert card["filter"] == {"colour": "{{event.preview}}", "qty": {"$gt": 0}}
    services.publish(Bot.objects.get(pk=bot.pk), user=owner)

    chat = new_context().new_page()
    chat.goto(f"{studio_url}/s/{bot.pk}")
    chat.locator(".bpComposerInput").fill("blue")
    chat.locator(".bpComposerInput").press("Enter")
    expect(chat.locator(".bpMessageFromBot").last).to_contain_text("2 blue in stock")
    chat.locator(".bpComposerInput").fill("red")
    chat.locator(".bpComposerInput").press("Enter")
    expect(chat.locator(".bpMessageFromBot").last).to_contain_text("1 red in stock")

    # Deleting the table takes its rows; the card that reads it becomes a problem.
    page.locator('#fs-rail [data-left-tab="tables"]').click()
    page.locator('#fs-tables [data-table="Stock"]').click()
    page.locator('#fs-table-view [data-action="delete-table"]').click()
    page.locator("dialog[open] button[type=submit]").click()
    expect(page.locator("#fs-tables")).to_contain_text("No tables yet")
    expect(page.locator("#fs-table-view")).to_be_hidden()
    assert Bot.objects.get(pk=bot.pk).draft.get("tables") in (None, [])
    assert not TableRow.objects.filter(bot=bot).exists()
    expect(page.locator("#fs-problems-badge")).not_to_have_text("No problems")
    assert errors == []


def test_the_grid_pages_through_rows_and_a_viewer_only_reads(new_context, login, studio_url, make_user):
    from studio.people.models import Role

    owner = make_user()
    definition = copy.deepcopy(SHOP)
    definition["tables"] = [{"name": "Stock", "columns": [{"name": "item", "type": "string"},
                                                          {"name": "qty", "type": "number"}],
                             "rows": [{"item": f"thing {i}", "qty": i} for i in range(1, 121)]}]
    bot = services.import_bot(definition, workspace=owner.workspace, user=owner)
    viewer = make_user(role=Role.VIEWER, workspace=owner.workspace)
    page = new_context(viewport=VIEWPORT).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, viewer)
    EditorPage(page).open(studio_url, bot)

    page.locator('#fs-rail [data-left-tab="tables"]').click()
    expect(page.locator('#fs-tables [data-action="new-table"]')).to_have_count(0)
    page.locator('#fs-tables [data-table="Stock"]').click()
    rng = page.locator("#fs-table-view [data-role=range]")
    expect(rng).to_have_text("1–50 of 120")
    expect(page.locator("#fs-table-view [data-action=prev]")).to_be_disabled()
    page.locator("#fs-table-view [data-action=next]").click()
    expect(rng).to_have_text("51–100 of 120")
    page.locator("#fs-table-view [data-action=next]").click()
    expect(rng).to_have_text("101–120 of 120")
    expect(page.locator("#fs-table-view [data-action=next]")).to_be_disabled()
    expect(grid_rows(page).first.locator('td[data-col="item"]')).to_have_text("thing 101")
    # A viewer reads: no adding, importing or editing a cell.
    for action in ("add-row", "import"):
        expect(page.locator(f'#fs-table-view [data-action="{action}"]')).to_be_disabled()
    grid_rows(page).first.locator('td[data-col="qty"]').dblclick()
    expect(page.locator("#fs-table-view input.fs-cell-input")).to_have_count(0)
    page.locator("#fs-table-view [data-action=prev]").click()
    expect(rng).to_have_text("51–100 of 120")
    assert errors == []


def test_a_table_problem_opens_the_tables_tab(new_context, login, studio_url, make_user):
    owner = make_user()
    bot = services.import_bot(copy.deepcopy(SHOP), workspace=owner.workspace, user=owner)
    # A draft saved with a broken definition (the API refuses one; an older draft may hold it).
    draft = Bot.objects.get(pk=bot.pk).draft
    draft["tables"] = [{"name": "Stock", "columns": [{"name": "qty", "type": "numbr"}]}]
    Bot.objects.filter(pk=bot.pk).update(draft=draft)
    page = new_context(viewport=VIEWPORT).new_page()
    login(page, owner)
    EditorPage(page).open(studio_url, bot)
    problem = page.locator("#fs-problems .fs-problem", has_text="numbr").first
    expect(problem).to_have_count(1)
    if not problem.is_visible():
        page.locator("#fs-problems-badge").click()
    problem.click()
    expect(page.locator('#fs-rail [data-left-tab="tables"]')).to_have_attribute("aria-selected", "true")
    expect(page.locator("#fs-tables")).to_be_visible()
