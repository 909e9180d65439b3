"""The Library tab in Chromium: intents and entities are added, edited, renamed and deleted
through dialogs, saved into the draft by the autosave, undone, and an intent with too few
utterances shows up in the problems panel."""
import copy

import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage
from flows import services

pytestmark = pytest.mark.browser

BOT = {
    "format": "flowstudio.bot/1",
    "name": "Library",
    "flows": [
        {"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "hello"},
            {"id": "hello", "kind": "standard", "name": "Hello", "cards": [
                {"id": "one", "type": "text", "text": "Hello"},
            ], "next": "end"},
            {"id": "end", "kind": "end"},
        ]},
    ],
    "layout": {"main": {"start": [0, 0], "hello": [0, 140], "end": [320, 140]}},
}

UTTERANCES = [
    "where is my order", "track my package", "has my parcel shipped", "when will my order arrive",
    "order status", "where is my parcel", "is my package on its way", "tracking number please",
    "my order is late", "delivery status of my order",
]


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def bot(owner):
    return services.import_bot(copy.deepcopy(BOT), workspace=owner.workspace, user=owner)


@pytest.fixture
def open_editor(new_context, login, studio_url):
    pages = []

    def open_(user, bot):
        page = new_context(viewport=VIEWPORT).new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        login(page, user)
        pages.append(page)
        return EditorPage(page).open(studio_url, bot)

    yield open_
    for page in pages:
        assert page.errors == [], f"JavaScript errors on the page: {page.errors}"


def entry_row(page, section, name):
    return page.locator(f'#fs-library [data-library="{section}"][data-library-entry="{name}"]')


def test_intents_and_entities_edited_in_the_library(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    page = ed.page
    page.locator('#fs-rail [data-left-tab="library"]').click()
    library = page.locator("#fs-library")
    expect(library).to_be_visible()

    # Add an intent: a name and ten utterances, one per line.
    library.get_by_role("button", name="+ Intent").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Name", exact=True).fill("track_order")
    dialog.get_by_label("Utterances").fill("\n".join(UTTERANCES) + "\n\n")
    dialog.get_by_role("button", name="Add intent").click()
    expect(entry_row(page, "intents", "track_order")).to_contain_text("10 utt.")
    ed.saved()
    bot.refresh_from_db()
    assert bot.draft["intents"] == [{"name": "track_order", "description": "", "utterances": UTTERANCES}]

    # A list entity: "value: synonym, synonym" per line.
    library.get_by_role("button", name="+ Entity").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Name", exact=True).fill("airport")
    dialog.get_by_label("Values").fill("SFO: San Francisco, SF\nBOM: Mumbai\nCDG")
    dialog.get_by_label("Fuzzy matching").select_option("strict")
    expect(dialog.get_by_label("Pattern (regular expression)")).to_be_hidden()
    dialog.get_by_role("button", name="Add entity").click()
    expect(entry_row(page, "entities", "airport")).to_contain_text("list")
    ed.saved()
    bot.refresh_from_db()
    assert bot.draft["entities"] == [{"name": "airport", "description": "", "type": "list", "fuzzy": "strict", "values": [
        {"name": "SFO", "synonyms": ["San Francisco", "SF"]}, {"name": "BOM", "synonyms": ["Mumbai"]},
        {"name": "CDG", "synonyms": []},
    ]}]
    expect(page.locator("#fs-problems-badge")).not_to_contain_text("error")

    # A pattern entity; a bad regular expression is refused in the dialog.
    library.get_by_role("button", name="+ Entity").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Name", exact=True).fill("sku")
    dialog.get_by_label("Type").select_option("pattern")
    dialog.get_by_label("Pattern (regular expression)").fill("[A-Z{3}")
    dialog.get_by_label("Ignore case").check()
    dialog.get_by_role("button", name="Add entity").click()
    expect(dialog.locator('[data-dialog-field="pattern"] .fs-field-error')).not_to_be_empty()
    dialog.get_by_label("Pattern (regular expression)").fill("[A-Z]{3}-[0-9]{4}")
    dialog.get_by_role("button", name="Add entity").click()
    expect(entry_row(page, "entities", "sku")).to_contain_text("pattern")
    ed.saved()
    bot.refresh_from_db()
    assert bot.draft["entities"][1] == {"name": "sku", "description": "", "type": "pattern", "pattern": "[A-Z]{3}-[0-9]{4}",
                                        "ignoreCase": True, "sensitive": False}

    # Edit the intent: rename it and drop an utterance; the server reports the short list.
    entry_row(page, "intents", "track_order").click()
    page.get_by_role("menuitem", name="Edit…").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_label("Utterances")).to_have_value("\n".join(UTTERANCES))
    dialog.get_by_label("Name", exact=True).fill("where_is_my_order")
    dialog.get_by_label("Utterances").fill("\n".join(UTTERANCES[:9]))
    dialog.get_by_role("button", name="Save").click()
    expect(entry_row(page, "intents", "where_is_my_order")).to_contain_text("9 utt.")
    expect(entry_row(page, "intents", "track_order")).to_have_count(0)
    problem = page.locator(".fs-problem.error", has_text="intent where_is_my_order › utterances")
    expect(problem).to_have_count(1)
    expect(page.locator("#fs-problems-badge")).to_have_text("1 error")
    page.locator('#fs-rail [data-left-tab="explorer"]').click()
    expect(library).to_be_hidden()
    problem.click()  # a library problem opens the Library tab
    expect(library).to_be_visible()
    ed.saved()
    bot.refresh_from_db()
    assert bot.draft["intents"] == [{"name": "where_is_my_order", "description": "", "utterances": UTTERANCES[:9]}]

    # Rename from the menu; then fix the intent and the problem goes away.
    entry_row(page, "intents", "where_is_my_order").click()
    page.get_by_role("menuitem", name="Rename…").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("New name").fill("none")
    dialog.get_by_role("button", name="Rename").click()
    expect(dialog).to_contain_text("none is reserved")
    dialog.get_by_label("New name").fill("order_status")
    dialog.get_by_role("button", name="Rename").click()
    entry_row(page, "intents", "order_status").click()
    page.get_by_role("menuitem", name="Edit…").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Utterances").fill("\n".join(UTTERANCES))
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("#fs-problems-badge")).not_to_contain_text("error")
    ed.saved()
    bot.refresh_from_db()
    assert [i["name"] for i in bot.draft["intents"]] == ["order_status"]
    assert bot.draft["intents"][0]["utterances"] == UTTERANCES

    # Delete an entity, then undo the deletion.
    entry_row(page, "entities", "airport").click()
    page.get_by_role("menuitem", name="Delete…").click()
    page.locator("dialog[open]").get_by_role("button", name="Delete entity").click()
    expect(entry_row(page, "entities", "airport")).to_have_count(0)
    ed.saved()
    bot.refresh_from_db()
    assert [e["name"] for e in bot.draft["entities"]] == ["sku"]
    page.locator("#fs-undo").click()
    expect(entry_row(page, "entities", "airport")).to_have_count(1)
    ed.saved()
    bot.refresh_from_db()
    assert [e["name"] for e in bot.draft["entities"]] == ["airport", "sku"]
