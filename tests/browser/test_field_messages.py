"""Inspector fields say what is wrong in plain words, once, and stop saying it as soon as the
value is right: not the validator's regex, not "Required" twice, not a stale "is required"
until the autosave lands (static/editor/field_messages.js)."""
import copy

import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage
from flows import services

pytestmark = pytest.mark.browser

BOT = {
    "format": "flowstudio.bot/1",
    "name": "Ages",
    "variables": [{"scope": "user", "name": "age", "type": "number"}],
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "ask"},
        {"id": "ask", "kind": "standard", "name": "Ask", "cards": [
            {"id": "ask-age", "type": "capture", "capture": "number", "variable": "user.age", "prompt": "How old are you?"},
            {"id": "say", "type": "text", "text": "You are {{user.age}}."},
        ], "next": "end"},
        {"id": "end", "kind": "end"},
    ]}],
    "layout": {"main": {"start": [0, 0], "ask": [0, 140], "end": [360, 140]}},
}


@pytest.fixture
def editor(new_context, login, make_user, studio_url):
    owner = make_user()
    bot = services.import_bot(copy.deepcopy(BOT), workspace=owner.workspace, user=owner)
    page = new_context(viewport=VIEWPORT).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    yield EditorPage(page).open(studio_url, bot)
    assert errors == [], f"JavaScript errors on the page: {errors}"


def messages(ed, field):
    """Every message the field's wrap shows now, local and server, in order."""
    wrap = ed.page.locator(f'#fs-inspector [data-field-wrap="{field}"]')
    return [t.strip() for t in wrap.locator(".fs-field-error, .fs-field-server").all_text_contents() if t.strip()]


class HeldSaves:
    """Holds the editor's draft saves until released: what the field says meanwhile is the
    inspector's own doing, not the server's answer."""

    def __init__(self, page):
        self.page, self.routes = page, []
        page.route("**/editor/draft", self.hold)

    def hold(self, route):
        if route.request.method == "GET":
            route.continue_()
        else:
            self.routes.append(route)

    def release(self):
        routes, self.routes = self.routes, []
        for route in routes:
            route.continue_()
        self.page.unroute("**/editor/draft", self.hold)


def test_an_invalid_variable_says_one_plain_message_and_fixing_it_clears_it_at_once(editor):
    ed = editor
    page = ed.page
    ed.card("ask", "capture").click()
    variable = ed.field("variable")
    expect(variable).to_have_value("user.age")
    assert messages(ed, "variable") == []

    ed.type_into(variable, "age")
    plain = "Write a variable as scope.name, e.g. user.email"
    expect(page.locator('#fs-inspector [data-field-wrap="variable"] .fs-field-error')).to_have_text(plain)
    assert messages(ed, "variable") == [plain]
    # The save brings the server's problem for the same field: still one message, and none
    # of the validator's own words.
    ed.saved()
    expect(page.locator("#fs-problems")).to_contain_text(f"Capture Information › variable{plain}")
    assert messages(ed, "variable") == [plain]
    expect(page.locator("#fs-inspector")).not_to_contain_text("should match pattern")

    # Fixed: the message goes while the save is still on its way.
    held = HeldSaves(page)
    ed.type_into(variable, "user.age")
    assert messages(ed, "variable") == []
    page.wait_for_timeout(1500)  # past the autosave's debounce: the save is held
    assert held.routes, "the autosave should be waiting"
    assert messages(ed, "variable") == []
    held.release()
    ed.saved()
    assert messages(ed, "variable") == []


def test_a_required_field_says_required_once_and_not_after_it_is_filled(editor):
    ed = editor
    page = ed.page
    ed.card("ask", "text").click()
    text = ed.field("text")
    ed.type_into(text, "")
    page.keyboard.press("Backspace")
    expect(page.locator('#fs-inspector [data-field-wrap="text"] .fs-field-error')).to_have_text("Required")
    ed.saved()
    # The server says "is required" too: one "Required" on the field.
    expect(page.locator("#fs-problems")).to_contain_text("Text › textRequired")
    assert messages(ed, "text") == ["Required"]

    held = HeldSaves(page)
    ed.type_into(text, "You are {{user.age}}!")
    assert messages(ed, "text") == []
    page.wait_for_timeout(1500)
    assert held.routes, "the autosave should be waiting"
    assert messages(ed, "text") == []
    held.release()
    ed.saved()
    assert messages(ed, "text") == []
