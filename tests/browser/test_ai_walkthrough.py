"""Issue 15's browser acceptance, one walk as a new bot builder does it in Chromium at
1440×900: a workspace whose LLM provider is the scripted server; a bot made from the bots
page; in the editor an autonomous node from the canvas's context menu whose tools are an
AI Task card (it fills a declared variable) and a Text card; a chat in the emulator (status
lines, a streamed answer that grows, the Memory tab); Save as test; the saved test passes
from the runner page and from `manage.py bot test` with the model unreachable; publish;
and the same bot in the webchat widget on a customer's page, its answer growing in one
bubble.

Screenshots of each stage, light and dark where the page has a theme, go to
tests/browser/artifacts/ (git-ignored)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from flows.models import Bot
from integrations.llm import scripted_server as scripted
from integrations.llm.services import save_provider
from integrations.llm.testing import scripted_llm_server  # noqa: F401 (a fixture)
from runtime.tests.live_server import database_url

from .editor_page import EditorPage
from .webchat.conftest import HostPages

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VIEWPORT = {"width": 1440, "height": 900}

INSTRUCTIONS = "You are the order desk. Find the order number with the task, say you are checking, then answer."
TASK = "Extract the order number"
CHECKING = "Checking order {{workflow.orderNumber}} for you."
ANSWER = ("Order A-123 left our warehouse this morning and the courier brings it tomorrow "
          "before noon; you will get a tracking link by email tonight.")


def shoot(page, name: str) -> None:
    """`name`-light.png and `name`-dark.png of a studio page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("document.documentElement.dataset.theme = 'light'")
    page.screenshot(path=str(ARTIFACTS / f"{name}-light.png"))
    # What the studio's theme switch does (static/editor/prefs.js applyTheme).
    page.evaluate("document.documentElement.dataset.theme = 'dark'")
    page.screenshot(path=str(ARTIFACTS / f"{name}-dark.png"))
    page.evaluate("document.documentElement.dataset.theme = 'light'")


def watch_growing(page, selector: str) -> None:
    """Record every text a streaming bubble shows, so the test can tell a partial answer was
    on screen before the whole one. It looks every 10 ms, into open shadow roots too (the
    widget draws in one)."""
    page.evaluate("""selector => {
        window.__seen = [];
        const find = (root) => [...root.querySelectorAll(selector),
            ...[...root.querySelectorAll('*')].filter((el) => el.shadowRoot).flatMap((el) => find(el.shadowRoot))];
        setInterval(() => { for (const el of find(document)) {
            const text = el.textContent; if (text && window.__seen.at(-1) !== text) window.__seen.push(text); } }, 10);
    }""", selector)


def partials(page, final: str) -> list[str]:
    return [t for t in page.evaluate("window.__seen") if final.startswith(t.strip()) and t.strip() != final]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """`manage.py bot ...` in a process of its own on the test database, as CI runs it."""
    from django.conf import settings
    from django.db import connection

    env = dict(os.environ, DATABASE_URL=database_url(connection.settings_dict), DEBUG="false",
               STUDIO_LIVE_TEST_DB=connection.settings_dict["NAME"])
    env.setdefault("SECRET_KEY", settings.SECRET_KEY)
    return subprocess.run([sys.executable, "manage.py", "bot", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def host_pages():
    pages = HostPages()
    yield pages
    pages.close()


@pytest.fixture
def builder(new_context, make_user, login):
    """A new owner of a new workspace, signed in, in a 1440×900 window; fails the test on
    JavaScript errors of the studio's pages."""
    user = make_user()
    page = new_context(viewport=VIEWPORT).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, user)
    page.user = user
    yield page
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_build_chat_record_replay_offline_and_publish_an_ai_bot(
        builder, new_context, studio_url, host_pages, scripted_llm_server, request):  # noqa: F811
    page, user = builder, builder.user
    workspace = user.workspace
    # 1. The workspace's LLM provider is the scripted server.
    provider = save_provider(workspace, {
        "name": "acme", "base_url": scripted_llm_server.url, "api_key": "k", "is_default": True,
        "models": [{"id": "scripted-fast", "label": "Fast"}], "default_model": "Fast", "max_retries": 0,
        "timeout_seconds": 20})

    # 2. A bot from the bots page, then built in the editor.
    page.goto(f"{studio_url}/w/{workspace.slug}/")
    page.get_by_role("button", name="New bot").click()  # the New Bot dialog; Blank is chosen
    page.get_by_label("Name", exact=True).fill("Order desk")
    page.get_by_role("button", name="Create bot").click()
    page.wait_for_selector("body[data-editor-ready=true]", state="attached")  # it opens in the editor
    bot = Bot.objects.get(workspace=workspace, name="Order desk")
    ed = EditorPage(page)
    expect(ed.node("start")).to_be_visible()

    page.get_by_role("button", name="+ Variable").click()
    page.get_by_label("Name", exact=True).click()
    page.keyboard.type("orderNumber")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator('#fs-explorer [data-scope="workflow"][data-variable="orderNumber"]')).to_be_visible()

    agent = ed.add_node(80, 260, kind="Autonomous node")
    ed.field("instructions").click()
    page.keyboard.type(INSTRUCTIONS)
    ed.type_into(ed.field("model"), "Fast")

    task_row = ed.drop_card("AI Task", agent)
    ed.type_into(ed.field("instructions"), TASK)
    page.locator("#fs-inspector").get_by_role("button", name="Add output").click()
    ed.type_into(page.locator("#fs-inspector").get_by_label("Outputs 1 variable"), "workflow.orderNumber")
    ed.type_into(page.locator("#fs-inspector").get_by_label("Outputs 1 description"), "The order number, like A-123")
    text_row = ed.drop_card("Text", agent)
    ed.type_into(ed.field("text"), CHECKING)
    ed.connect(ed.port("start", "next"), agent)
    ed.connect(ed.port(agent, "next"), "end")  # where the model moves on to when it is done
    ed.saved()
    expect(task_row).to_contain_text("workflow.orderNumber")
    expect(page.locator("#fs-problems-badge"), page.locator("#fs-problems").text_content()).to_have_text("No problems")
    task_id, text_id = task_row.get_attribute("data-card"), text_row.get_attribute("data-card")

    draft = Bot.objects.get(pk=bot.pk).draft
    main = next(f for f in draft["flows"] if f["name"] == "main")
    nodes = {n["id"]: n for n in main["nodes"]}
    assert (nodes["start"]["next"], nodes[agent]["next"]) == (agent, "end")
    assert nodes[agent]["kind"] == "autonomous" and nodes[agent]["instructions"] == INSTRUCTIONS
    assert [(c["id"], c["type"]) for c in nodes[agent]["cards"]] == [(task_id, "ai_task"), (text_id, "text")]
    assert nodes[agent]["cards"][0]["outputs"] == [
        {"variable": "workflow.orderNumber", "description": "The order number, like A-123"}]
    shoot(page, "1-editor")

    # 3. The emulator: the model calls the AI Task and the Text card as tools, the AI Task
    # asks its own model call (JSON), then the answer streams.
    first = scripted.Step("tool", text="I will look the order number up first.", tool_calls=[
        {"id": "call_1", "name": task_id, "arguments": "{}"},
        {"id": "call_2", "name": text_id, "arguments": "{}"}], tokens_in=120, tokens_out=20)
    scripted_llm_server.script([
        first,
        scripted.text('{"orderNumber": "A-123"}', tokens_in=60, tokens_out=8),
        scripted.text(ANSWER, token_delay=0.05, tokens_in=200, tokens_out=30),
    ])
    page.keyboard.press("Control+e")
    expect(page.locator("#fs-emulator")).to_be_visible()
    box, log = page.get_by_label("Message to the bot"), page.locator("#fs-emu-log")
    expect(page.locator("#fs-emu-status")).to_contain_text("as ")
    watch_growing(page, "#fs-emu-log .fs-emu-msg.streaming")
    page.evaluate("""() => { window.__stopSeen = false; setInterval(() => {
        const stop = document.getElementById('fs-emu-stop');
        if (stop && !stop.hidden && stop.getClientRects().length
            && document.querySelector('#fs-emu-log .fs-emu-msg.streaming')) window.__stopSeen = true; }, 10); }""")
    box.fill("Where is my order A-123?")
    box.press("Enter")
    stop = page.locator("#fs-emu-stop")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text(ANSWER, timeout=20_000)
    # Stop shows while the model's text grows (after the node's held-back first 100
    # characters: docs/ai.md, "Thoughts and streaming"), a second or so here, so the page
    # itself watches for it: Playwright's polling, a second apart by then, could miss it.
    assert page.evaluate("window.__stopSeen"), "the Stop button was never shown while the answer was written"
    expect(stop).to_be_hidden()
    assert partials(page, ANSWER), f"no partial answer was on screen; saw {page.evaluate('window.__seen')}"
    expect(log.locator(".fs-emu-msg.streaming")).to_have_count(0)
    expect(log.locator(".fs-emu-msg.bot")).to_have_text(["Checking order A-123 for you.", ANSWER])

    requests = scripted_llm_server.requests
    assert len(requests) == 3
    assert {t["function"]["name"] for t in requests[0]["tools"]} >= {task_id, text_id}
    assert requests[1]["messages"][-1] == {"role": "user", "content": "Where is my order A-123?"}
    assert any(m.get("role") == "tool" for m in requests[2]["messages"])

    thought = log.locator('details[data-status="Thought"]')
    expect(thought).to_have_count(1)
    thought.locator("summary").click()
    expect(thought.locator(".fs-emu-detail")).to_have_text("I will look the order number up first.")
    called = log.locator(f'details[data-status="Called tool {task_id}"]')
    expect(called).to_have_count(1)
    returned = log.locator(f'details[data-status="Tool {task_id} returned"]')
    returned.locator("summary").click()
    expect(returned.locator(".fs-emu-detail")).to_contain_text('"workflow.orderNumber": "A-123"')
    expect(log.locator(f'details[data-status="Called tool {text_id}"]')).to_have_count(1)
    expect(log.locator(f'details[data-status="Tool {text_id} returned"]')).to_have_count(1)
    shoot(page, "2-emulator-status-lines")

    page.keyboard.press("Control+j")
    debugger = page.locator("#fs-debugger")
    debugger.get_by_role("tab", name="Memory").click()
    expect(debugger.get_by_test_id("llm-totals")).to_contain_text("3 LLM calls: 380 in / 58 out tokens")
    calls = debugger.locator(".fs-dbg-call")
    expect(calls).to_have_count(3)
    assert [calls.nth(i).get_attribute("data-card") for i in range(3)] == [
        f"autonomous:{agent}", task_id, f"autonomous:{agent}"]
    expect(calls.nth(0).locator('tr[data-role="system"] .fs-dbg-content')).to_contain_text(INSTRUCTIONS)
    expect(calls.nth(1).locator('tr[data-role="system"] .fs-dbg-content')).to_contain_text(TASK)
    expect(calls.nth(2).locator('tr[data-role="tool"]')).to_have_count(2)
    shoot(page, "3-memory-tab")
    page.keyboard.press("Control+j")

    # 4. Save as test, then run it with the model unreachable: every request fails, so a
    # replay that asked would fail too, and the server counts what it got.
    page.locator('#fs-emulator summary[aria-label="More emulator actions"]').click()
    page.get_by_role("menuitem", name="Save as test…").click()
    dialog = page.locator("#fs-emu-save")
    dialog.get_by_label("Test name").fill("order status")
    dialog.get_by_label(re.compile(r"workflow\.orderNumber")).check()
    dialog.get_by_role("button", name="Save test").click()
    expect(log).to_contain_text("Saved as test “order status”")
    ed.saved()
    test = next(t for t in Bot.objects.get(pk=bot.pk).draft["tests"] if t["name"] == "order status")
    assert [next(iter(s)) for s in test["steps"][:-1]] == ["user", "llm", "llm", "llm", "bot", "bot"]
    assert [s["llm"]["card"] for s in test["steps"][1:4]] == [f"autonomous:{agent}", task_id, f"autonomous:{agent}"]
    assert test["steps"][-1] == {"variable": "workflow.orderNumber", "equals": "A-123"}

    scripted_llm_server.script([])  # answers 500 to anything from now on
    with page.context.expect_page() as opened:
        log.get_by_role("link", name="open the test runner").click()
    runner = opened.value
    runner.get_by_test_id("run-all").click()
    expect(runner.get_by_test_id("results")).to_contain_text("1 of 1 passed")
    expect(runner.locator('[data-test="order status"]')).to_contain_text("PASS")
    shoot(runner, "4-test-runner")
    assert scripted_llm_server.requests == []

    scripted_llm_server.stop()
    done = run_cli("test", str(bot.pk))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["PASS  order status  (draft, 3 LLM calls replayed)", "1 of 1 test passed"]

    # 5. The model is back; publish, and a visitor on the customer's page asks the widget.
    server = scripted.ScriptedServer().start()
    request.addfinalizer(server.stop)
    # Pointed at it on the workspace's AI page, as a builder would: the server that saved it
    # serves the turns at once (other processes within the provider cache's 10 s).
    editor_url = page.url
    page.goto(f"{studio_url}/w/{workspace.slug}/ai/")
    row = page.locator('[data-testid=provider][data-name="acme"]')
    row.get_by_text("Edit").click()
    page.fill(f"#id_p{provider.pk}-base_url", server.url)
    row.get_by_role("button", name="Save acme").click()
    expect(page.get_by_test_id("providers")).to_contain_text("Provider acme saved.")
    page.goto(editor_url)
    page.wait_for_selector("body[data-editor-ready=true]", state="attached")
    page.locator("#fs-publish").click()
    page.locator("dialog[open] button[value=ok]").click()
    expect(page.locator(".fs-toast").last).to_contain_text("Published version 1")

    page.goto(f"/bots/{bot.pk}/webchat/")
    page.get_by_label("Allowed origins").fill(host_pages.origin)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"saved=1"))
    snippet = page.locator("#embed-snippet").text_content()
    host = host_pages.add(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Shop</title></head>"
                          f"<body><h1>My shop</h1>{snippet}</body></html>")

    server.script([
        first,
        scripted.text('{"orderNumber": "A-123"}'),
        scripted.text(ANSWER, token_delay=0.05),
    ])
    visitor = new_context(viewport=VIEWPORT).new_page()
    visitor.goto(host)
    visitor.locator(".bpFab").click()
    expect(visitor.locator(".bpWebchat")).to_be_visible()
    watch_growing(visitor, ".bpMessageStreaming .bpMessageBlocksTextText")
    visitor.locator(".bpComposerInput").fill("Where is my order A-123?")
    visitor.locator(".bpComposerInput").press("Enter")
    bubbles = visitor.locator(".bpMessageFromBot .bpMessageBlocksBubble")
    expect(bubbles).to_have_text(["Checking order A-123 for you.", ANSWER], timeout=20_000)
    assert partials(visitor, ANSWER), f"no partial answer in the widget; saw {visitor.evaluate('window.__seen')}"
    expect(visitor.locator(".bpMessageStreaming")).to_have_count(0)
    visitor.wait_for_timeout(300)
    assert bubbles.count() == 2  # the stored answer took the growing bubble's place
    assert len(server.requests) == 3
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    visitor.screenshot(path=str(ARTIFACTS / "5-webchat-widget-light.png"))

    # The next visit replays the conversation, the stored answer in its one bubble.
    visitor.reload()
    visitor.locator(".bpFab").click()
    expect(bubbles).to_have_text(["Checking order A-123 for you.", ANSWER])

    # The widget's theme is a setting (config.js is cached for a minute, so a new visitor
    # shows it): dark.
    page.get_by_label("Theme", exact=True).select_option("dark")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(r"saved=1"))
    server.script([first, scripted.text('{"orderNumber": "A-123"}'), scripted.text(ANSWER, token_delay=0.02)])
    other = new_context(viewport=VIEWPORT).new_page()
    other.goto(host)
    other.locator(".bpFab").click()
    expect(other.locator(".bpRoot")).to_have_attribute("data-theme", "dark")
    other.locator(".bpComposerInput").fill("Where is my order A-123?")
    other.locator(".bpComposerInput").press("Enter")
    expect(other.locator(".bpMessageFromBot .bpMessageBlocksBubble")).to_have_text(
        ["Checking order A-123 for you.", ANSWER], timeout=20_000)
    other.screenshot(path=str(ARTIFACTS / "5-webchat-widget-dark.png"))


THOUGHT = "The user asks about an order; I should run the checking card first."
THINKING_BOT = {
    "format": "flowstudio.bot/1", "name": "Thinker",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "agent"},
        {"id": "agent", "kind": "autonomous", "instructions": INSTRUCTIONS, "cards": [
            {"id": "checking", "type": "text", "text": "Checking your order."}], "next": None},
    ]}],
}


def test_a_visitor_never_sees_the_models_thought_as_a_bot_message(
        new_context, make_user, studio_url, host_pages, scripted_llm_server):  # noqa: F811
    from flows import services as flow_services
    from integrations.webchat import services as webchat

    from .webchat.webchat_pages import host_page

    owner = make_user()
    save_provider(owner.workspace, {"name": "acme", "base_url": scripted_llm_server.url, "api_key": "k",
                                    "models": [{"id": "scripted-fast", "label": "Fast"}], "default_model": "Fast",
                                    "max_retries": 0})
    bot = flow_services.import_bot(json.loads(json.dumps(THINKING_BOT)), workspace=owner.workspace, user=owner)
    flow_services.publish(bot)
    webchat.update_settings(bot, {"allowed_origins": [host_pages.origin]})
    scripted_llm_server.script([
        scripted.tool("checking", {}, text=THOUGHT),
        scripted.text(ANSWER, token_delay=0.05),
    ])
    visitor = new_context(viewport=VIEWPORT).new_page()
    visitor.goto(host_pages.add(host_page(studio_url, bot)))
    visitor.locator(".bpFab").click()
    watch_growing(visitor, ".bpMessageFromBot .bpMessageBlocksBubble, .bpMessageStreaming .bpMessageBlocksTextText")
    visitor.locator(".bpComposerInput").fill("Where is my order A-123?")
    visitor.locator(".bpComposerInput").press("Enter")
    expect(visitor.locator(".bpMessageFromBot .bpMessageBlocksBubble")).to_have_text(
        ["Checking your order.", ANSWER], timeout=20_000)
    shown = {text for text in visitor.evaluate("window.__seen") if THOUGHT.startswith(text.strip())}
    assert not shown, f"the model's thought was on screen as a bot message: {max(shown, key=len)!r}"
