"""The Keyboard shortcuts dialog and the keys come from one table (static/editor/shortcuts.js):
the dialog lists exactly the table's rows, every listed key is bound to the row's handler,
and the keys do what the dialog says (Ctrl+E the emulator, Ctrl+J the debugger)."""
import copy
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage
from .test_editor_interactions import SMALL_BOT
from flows import services

pytestmark = pytest.mark.browser

EDITOR_DOC = Path(__file__).resolve().parents[2] / "docs" / "editor.md"


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def bot(owner):
    return services.import_bot(copy.deepcopy(SMALL_BOT), workspace=owner.workspace, user=owner)


@pytest.fixture
def editor(new_context, login, studio_url, owner, bot):
    context = new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    yield EditorPage(page).open(studio_url, bot)
    assert errors == [], f"JavaScript errors on the page: {errors}"


def open_dialog(page):
    page.locator("#fs-menu").click()
    page.get_by_role("menuitem", name="Keyboard shortcuts").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    return dialog


def playwright_keys(keys: str) -> str:
    # Chromium here is on Linux: Mod is Control.
    return keys.replace("Mod", "Control")


def test_the_dialog_lists_the_table_and_every_listed_key_is_bound(editor):
    page = editor.page
    table = page.evaluate("window.flowShortcuts.table")
    dialog = open_dialog(page)
    rows = dialog.locator("[data-shortcut]")
    expect(rows).to_have_count(len(table))
    for i, shortcut in enumerate(table):
        row = rows.nth(i)
        assert row.get_attribute("data-shortcut") == shortcut["id"]
        expect(row).to_contain_text(shortcut["description"])
        for keys in shortcut["keys"]:
            expect(row).to_contain_text(keys.replace("Mod", "Ctrl"))

    # What issue 20 found wrong: Ctrl+E and Ctrl+J are the emulator and the debugger.
    expect(dialog.locator('[data-keys="Mod+E"]')).to_contain_text("Open or close the emulator")
    expect(dialog.locator('[data-keys="Mod+J"]')).to_contain_text("Open or close the debugger drawer")
    expect(dialog.locator('[data-keys="Mod+Shift+E"]')).to_contain_text("inspector")
    expect(dialog.locator('[data-keys="Mod+Shift+J"]')).to_contain_text("problems panel")
    editor.screenshot("keyboard-shortcuts.png")  # an artefact for a reviewer (var/artifacts)
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("dialog[open]")).to_have_count(0)

    # Each listed key resolves to its own row's handler (resolved, not run: Delete after
    # Ctrl+A would empty the flow).
    page.evaluate("window.flowShortcuts.state.dryRun = true")
    for shortcut in table:
        for keys in shortcut["keys"]:
            page.evaluate("document.activeElement && document.activeElement.blur(); window.flowShortcuts.state.last = null")
            page.keyboard.press(playwright_keys(keys))
            assert page.evaluate("window.flowShortcuts.state.last") == shortcut["id"], keys
            handler = shortcut["handler"]
            assert page.evaluate(f"typeof window.flowShortcuts.handlers[{handler!r}]") == "function", handler
    page.evaluate("window.flowShortcuts.state.dryRun = false")


def test_the_keys_do_what_the_dialog_says(editor):
    page = editor.page
    emulator, debugger = page.locator("#fs-emulator"), page.locator("#fs-debugger")
    expect(emulator).to_be_hidden()
    page.keyboard.press("Control+e")
    expect(emulator).to_be_visible()
    # The emulator's keys work while typing in its message box (the focus is there now).
    page.get_by_label("Message to the bot").fill("typing")
    page.keyboard.press("Control+j")
    expect(debugger).to_be_visible()
    page.keyboard.press("Control+j")
    expect(debugger).to_be_hidden()
    page.keyboard.press("Control+e")
    expect(emulator).to_be_hidden()

    # The inspector and the problems panel take the same keys with Shift.
    for keys, panel in (("Control+Shift+e", ".fs-right"), ("Control+Shift+j", "#fs-problems"), ("Control+b", ".fs-left")):
        expect(page.locator(panel)).to_be_visible()
        page.keyboard.press(keys)
        expect(page.locator(panel)).to_be_hidden()
        page.keyboard.press(keys)
        expect(page.locator(panel)).to_be_visible()

    # Ctrl+A selects every node, Escape clears the selection, Ctrl+F opens find.
    page.keyboard.press("Control+a")
    assert page.evaluate("window.flowEditor.store.selection.nodes.length") == 4
    page.keyboard.press("Escape")
    assert page.evaluate("window.flowEditor.store.selection.nodes.length") == 0
    page.keyboard.press("Control+f")
    expect(page.get_by_role("searchbox", name="Find")).to_be_focused()


def test_the_docs_table_is_the_same_table(editor):
    table = editor.page.evaluate("window.flowShortcuts.table")
    section = EDITOR_DOC.read_text().split("## Shortcuts\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    documented = [(keys.strip(), what.strip()) for keys, what in rows[1:]]
    assert documented == [(", ".join(k.replace("Mod", "Ctrl/Cmd") for k in s["keys"]), s["description"]) for s in table]
