"""Table cards in the editor (Chromium): a Find Records card dropped from the tray picks its
table from the bot's tables, and the canvas shows which table it reads."""
import copy

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
