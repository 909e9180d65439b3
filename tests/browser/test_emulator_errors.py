"""A failed turn in the emulator: the visitor's side shows the bot's fallback message, and
the status line names the failing card with a link that selects it in the editor (issue 20:
"Error occurred" alone said neither what nor where)."""
import pytest
from playwright.sync_api import expect

from flows import services as flow_services

pytestmark = pytest.mark.browser


def fragile_bot():
    return {"format": "flowstudio.bot/1", "name": "Fragile", "flows": [
        {"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "ask"},
            {"id": "ask", "kind": "standard", "cards": [{"id": "call-lookup", "type": "call", "flow": "lookup", "name": "lookup"}],
             "next": "end"},
            {"id": "end", "kind": "end"},
        ]},
        {"name": "lookup", "nodes": [
            {"id": "entry", "kind": "entry", "next": "fetch"},
            {"id": "fetch", "kind": "standard", "cards": [
                {"id": "hello", "type": "text", "text": "Looking..."},
                {"id": "parse-name", "type": "code", "code": "user.name = event.nlu.missing.first"}],
             "next": "exit"},
            {"id": "exit", "kind": "exit"},
        ]},
    ], "layout": {"main": {"start": [0, 0], "ask": [240, 0], "end": [520, 0]},
                  "lookup": {"entry": [0, 0], "fetch": [240, 0], "exit": [560, 0]}}}


def test_a_failed_turn_shows_the_fallback_and_links_to_the_failing_card(logged_in_page):
    page = logged_in_page
    bot = flow_services.import_bot(fragile_bot(), workspace=page.user.workspace)
    page.goto(f"/bots/{bot.pk}/editor/")
    expect(page.locator("body[data-editor-ready=true]")).to_be_attached()
    page.keyboard.press("Control+e")
    box = page.get_by_label("Message to the bot")
    log = page.locator("#fs-emu-log")
    box.fill("hi")
    box.press("Enter")

    # What came before the failure does not stand in for the fallback.
    expect(log.locator(".fs-emu-msg.bot")).to_have_text(["Looking...", "Sorry, something went wrong."])
    error = log.locator(".fs-emu-line.error")
    expect(error).to_contain_text("Error in card parse-name:")
    expect(error).to_contain_text("missing")
    expect(log).to_contain_text("Sent the fallback message")

    assert page.evaluate("window.flowEditor.store.flowName") == "main"
    error.click()
    page.wait_for_function("window.flowEditor.store.selection.card === 'parse-name'")
    assert page.evaluate("window.flowEditor.store.flowName") == "lookup"
    assert page.evaluate("window.flowEditor.store.selection.nodes") == ["fetch"]
