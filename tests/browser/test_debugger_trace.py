"""The debugger's Trace tab reads as rows (icon, what happened, where, ms), not raw JSON; the
JSON is there on demand, per row and for the whole trace; a row's place selects it in the
editor."""
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .editor_page import EditorPage
from flows import services as flow_services

pytestmark = pytest.mark.browser

DEMO = Path(__file__).resolve().parents[2] / "examples" / "webchat-demo.bot.json"


def test_a_turns_trace_shows_readable_rows_and_the_json_on_demand(logged_in_page):
    page = logged_in_page
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    bot = flow_services.import_bot(json.loads(DEMO.read_text()), workspace=page.user.workspace)
    page.goto(f"/bots/{bot.pk}/editor/")
    expect(page.locator("body[data-editor-ready=true]")).to_be_attached()
    page.keyboard.press("Control+e")
    box = page.get_by_label("Message to the bot")
    log = page.locator("#fs-emu-log")
    box.fill("hi")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text("What's your name?")
    box.fill("Ada")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_contain_text("Nice to meet you, Ada!")

    page.keyboard.press("Control+j")
    debugger = page.locator("#fs-debugger")
    debugger.get_by_role("tab", name="Trace").click()
    trace = debugger.get_by_role("list", name="Trace")
    rows = trace.locator("li.fs-dbg-row")
    expect(rows.first).to_be_visible()

    # Plain words, with the place each thing happened and its time; no JSON in sight.
    captured = rows.filter(has_text='Captured user.firstName = "Ada"')
    expect(captured).to_have_count(1)
    expect(captured.locator(".fs-dbg-where")).to_have_text("main › ask_name › ask-name")
    expect(captured.locator(".fs-dbg-ms")).to_have_text(re.compile(r"^\d+\.\d ms$"))
    expect(captured.locator(".fs-dbg-icon")).not_to_be_empty()
    expect(rows.filter(has_text="Entered node ask_plan")).to_have_count(1)
    expect(rows.filter(has_text='Set user.firstName = "Ada"')).to_have_count(1)
    expect(rows.filter(has_text="Waiting for the user's answer")).to_have_count(1)
    card_row = rows.filter(has_text="Card ask-name ran")
    expect(card_row).to_have_count(1)
    expect(card_row).to_contain_text(" ms)")
    raw = captured.locator(".fs-dbg-raw")
    expect(raw).to_be_hidden()
    expect(trace.locator(".fs-dbg-line", has_text='"type"')).to_have_count(0)

    EditorPage(page).screenshot("debugger-trace.png")  # an artefact for a reviewer (var/artifacts)

    # One row's JSON on demand: the raw entry as the engine traced it.
    captured.get_by_role("button", name='JSON of “Captured user.firstName = "Ada"”').click()
    expect(raw).to_be_visible()
    entry = json.loads(raw.text_content())
    assert entry["type"] == "captured" and entry["variable"] == "user.firstName" and entry["value"] == "Ada"
    captured.locator(".fs-dbg-json-toggle").click()
    expect(raw).to_be_hidden()

    # The whole trace as JSON, and back.
    debugger.get_by_label("Show JSON of every entry").check()
    expect(trace.locator(".fs-dbg-raw")).to_have_count(rows.count())
    for i in range(rows.count()):
        expect(trace.locator(".fs-dbg-raw").nth(i)).to_be_visible()
    debugger.get_by_label("Show JSON of every entry").uncheck()
    expect(raw).to_be_hidden()

    # Where: the row's place selects the node and its card in the editor.
    captured.locator(".fs-dbg-where").click()
    page.wait_for_function("window.flowEditor.store.selection.card === 'ask-name'")
    assert errors == []
