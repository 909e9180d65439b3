"""Issue 6's acceptance walk in Chromium: chat with an example bot in the editor's emulator,
follow a "transitioned" line to its node, read a captured variable in the debugger's state
tab, save the conversation as a test, reload, break the bot and watch the test fail with a
readable diff."""
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from flows import services as flow_services
from flows.models import Bot

pytestmark = pytest.mark.browser

DEMO = Path(__file__).resolve().parents[2] / "examples" / "webchat-demo.bot.json"


def open_editor(page, bot):
    page.goto(f"/bots/{bot.pk}/editor/")
    expect(page.locator("body[data-editor-ready=true]")).to_be_attached()


def test_chat_debug_save_as_test_and_see_it_fail_after_breaking_the_bot(logged_in_page):
    page = logged_in_page
    bot = flow_services.import_bot(json.loads(DEMO.read_text()), workspace=page.user.workspace)
    open_editor(page, bot)
    emulator = page.locator("#fs-emulator")
    expect(emulator).to_be_hidden()
    page.keyboard.press("Control+e")
    expect(emulator).to_be_visible()

    box = page.get_by_label("Message to the bot")
    log = page.locator("#fs-emu-log")
    box.fill("hi")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text("What's your name?")
    expect(log).to_contain_text("Capturing user.firstName")
    box.fill("Ada")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_contain_text("Nice to meet you, Ada! Which plan interests you?")
    expect(log).to_contain_text("Captured user.firstName")
    log.get_by_role("button", name="Pro").click()
    # Markdown is rendered as elements, not as HTML from the message.
    expect(log.locator(".fs-emu-msg.bot strong", has_text="Ada")).to_be_visible()
    expect(log).to_contain_text("Conversation ended")

    # Up arrow recalls what was typed.
    box.press("ArrowUp")
    expect(box).to_have_value("Ada")
    box.press("ArrowUp")
    expect(box).to_have_value("hi")
    box.fill("")

    # A transitioned line jumps to its node on the canvas, which is selected.
    log.get_by_role("button", name="Transitioned to main › ask_plan").click()
    page.wait_for_function("window.flowEditor.store.selection.nodes.includes('ask_plan')")
    expect(page.locator('#fs-canvas [data-cell-id="ask_plan"] .fs-node.selected')).to_be_visible()

    # The debugger's state tab shows the captured variable; the trace and event tabs the turn.
    page.keyboard.press("Control+j")
    debugger = page.locator("#fs-debugger")
    expect(debugger).to_be_visible()
    debugger.get_by_role("tab", name="State").click()
    expect(debugger.locator('[data-variable="user.firstName"]')).to_contain_text('"Ada"')
    # The debugger follows the turn last clicked: the one that captured the name.
    debugger.get_by_role("tab", name="Trace").click()
    expect(debugger.locator('.fs-dbg-row[data-type="captured"]')).to_contain_text('Captured user.firstName = "Ada"')
    debugger.get_by_role("tab", name="Event JSON").click()
    expect(debugger).to_contain_text('"channel": "emulator"')

    # Save as test, with the captured variable checked.
    page.locator("#fs-emulator summary[aria-label=\"More emulator actions\"]").click()
    page.get_by_role("menuitem", name="Save as test…").click()
    dialog = page.locator("#fs-emu-save")
    dialog.get_by_label("Test name").fill("plan choice")
    dialog.get_by_label(re.compile(r"user\.firstName")).check()
    dialog.get_by_role("button", name="Save test").click()
    expect(log).to_contain_text("Saved as test “plan choice”")
    bot.refresh_from_db()
    test = next(t for t in bot.draft["tests"] if t["name"] == "plan choice")
    assert test["steps"][0] == {"user": "hi"}
    assert {"variable": "user.firstName", "equals": "Ada"} in test["steps"]

    # A reload brings the conversation back, status lines included.
    page.reload()
    expect(page.locator("body[data-editor-ready=true]")).to_be_attached()
    expect(emulator).to_be_visible()
    expect(log.locator(".fs-emu-msg.user")).to_have_count(3)
    expect(log).to_contain_text("Captured user.firstName")

    # The test passes on the draft as it is...
    page.goto(f"/bots/{bot.pk}/tests/")
    page.get_by_test_id("run-all").click()
    expect(page.locator('[data-test="plan choice"]')).to_contain_text("PASS")

    # ...and fails once someone breaks the summary, with expected and received side by side.
    bot = Bot.objects.get(pk=bot.pk)
    document = flow_services.draft_document(bot)
    for flow in document["flows"]:
        for node in flow["nodes"]:
            for card in node.get("cards", []):
                if card["id"] == "summary-text":
                    card["text"] = "Thanks {{user.firstName}}, you chose {{workflow.plan}}."
    flow_services.replace_draft(bot, document, base_revision=bot.draft_revision)
    page.get_by_test_id("run-all").click()
    result = page.locator('[data-test="plan choice"]')
    expect(result).to_contain_text("FAIL")
    failed = result.locator("tr.failed").first
    expect(failed.locator(".fs-diff-expected")).to_contain_text("Thanks **Ada**, you picked the *pro* plan.")
    expect(failed.locator(".fs-diff-received")).to_contain_text("you chose pro")
    expect(failed.locator("del").first).to_be_visible()
    expect(failed.locator("ins").first).to_be_visible()
