"""Type flow in the editor (issue 20): a Person capture stored into a string `user.name` is an
error in the Problems panel, publishing is refused with it, and its fix button clears it (then
the warning that the greeting would show the object as JSON, and its fix)."""
import copy

import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage
from flows import services
from flows.models import Bot

pytestmark = pytest.mark.browser

GREETER = {
    "format": "flowstudio.bot/1",
    "name": "Greeter",
    "variables": [{"scope": "user", "name": "name", "type": "string"}],
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "ask"},
        {"id": "ask", "kind": "standard", "name": "Ask", "cards": [
            {"id": "ask-name", "type": "capture", "capture": "person", "variable": "user.name",
             "prompt": "What is your name?"},
            {"id": "greet", "type": "text", "text": "Nice to meet you, {{user.name}}!"},
        ], "next": "end"},
        {"id": "end", "kind": "end"},
    ]}],
    "layout": {"main": {"start": [0, 0], "ask": [0, 140], "end": [360, 140]}},
}


@pytest.fixture
def editor(new_context, login, make_user, studio_url):
    owner = make_user()
    bot = services.import_bot(copy.deepcopy(GREETER), workspace=owner.workspace, user=owner)
    page = new_context(viewport=VIEWPORT).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    yield EditorPage(page).open(studio_url, bot), bot
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_a_person_capture_into_a_string_variable_is_a_problem_publish_refuses_and_its_fix_clears(editor):
    ed, bot = editor
    page = ed.page
    expect(page.locator("#fs-problems-badge")).to_have_text("1 error")
    problem = page.locator(".fs-problem.error")
    expect(problem).to_contain_text("main › Ask › Capture Information › variable")
    expect(problem).to_contain_text("a Person capture stores an object {first, last}, but user.name is declared string")

    page.locator("#fs-publish").click()
    expect(page.locator(".fs-toast").last).to_contain_text("Publishing is blocked: 1 error")
    assert not bot.versions.exists()

    ed.screenshot("typeflow-person-into-string.png")
    page.get_by_role("button", name="Declare user.name as object", exact=True).click()
    expect(page.locator("#fs-problems-badge")).to_have_text("1 warning")
    # one undoable step: undo brings the error back, and the fix applies again
    page.locator("#fs-undo").click()
    expect(page.locator("#fs-problems-badge")).to_have_text("1 error")
    page.get_by_role("button", name="Declare user.name as object", exact=True).click()
    # an object now, printed whole it would read as JSON: a warning, with its own fix
    expect(page.locator("#fs-problems-badge")).to_have_text("1 warning")
    expect(page.locator(".fs-problem.warning")).to_contain_text("shown whole, the message reads as JSON")
    page.get_by_role("button", name="Show user.name.first", exact=True).click()
    expect(page.locator("#fs-problems-badge")).to_have_text("No problems")
    expect(page.locator(".fs-problem")).to_have_count(0)
    ed.saved()
    draft = Bot.objects.get(pk=bot.pk).draft
    assert draft["variables"][0]["type"] == "object"
    assert draft["flows"][0]["nodes"][1]["cards"][1]["text"] == "Nice to meet you, {{user.name.first}}!"

    page.locator("#fs-publish").click()
    page.locator("dialog[open] button[value=ok]").click()
    expect(page.locator(".fs-toast").last).to_contain_text("Published version")
    assert bot.versions.count() == 1
