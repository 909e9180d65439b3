"""The editor and the emulator with language models (issue 15), in Chromium: an autonomous
node made from the context menu and the tray, its fields saved; the AI cards in the tray
and their forms; and a turn that asked a model, as status lines in the chat and in the
debugger's Memory tab. The model is the scripted LLM server, registered as the workspace's
provider, so the turn goes through the real provider client over HTTP."""
import copy
import json
import re

import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage, center
from flows import services
from flows.models import Bot
from integrations.llm import scripted_server as scripted
from integrations.llm.testing import scripted_llm_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

# The live server lets the outbound guard reach 127.0.0.1 (tests/browser/conftest.py).

BOT = {
    "format": "flowstudio.bot/1",
    "name": "Orders",
    "flows": [
        {"name": "main", "variables": [{"name": "orderNumber", "type": "string"}], "nodes": [
            {"id": "start", "kind": "start", "next": "hello"},
            {"id": "hello", "kind": "standard", "name": "Hello", "cards": [
                {"id": "hi", "type": "text", "text": "Hi"},
            ], "next": None},
        ]},
    ],
    "layout": {"main": {"start": [0, 0], "hello": [0, 140]}},
}


def ai_bot(node):
    """A bot whose main flow talks through `node` (which loops back to itself)."""
    return {
        "format": "flowstudio.bot/1", "name": "AI bot",
        "flows": [{"name": "main", "nodes": [{"id": "start", "kind": "start", "next": node["id"]}, node]}],
        "layout": {"main": {"start": [0, 0], node["id"]: [0, 140]}},
    }


def provider(workspace, server):
    from integrations.llm.services import save_provider

    return save_provider(workspace, {
        "name": "acme", "base_url": server.url, "api_key": "k",
        "models": [{"id": "scripted-fast", "label": "Fast"}], "default_model": "Fast", "max_retries": 0,
    })


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def bot(owner):
    return services.import_bot(copy.deepcopy(BOT), workspace=owner.workspace, user=owner)


@pytest.fixture
def open_editor(new_context, login, studio_url):
    """open_editor(user, bot) -> EditorPage; fails the test on JavaScript errors."""
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


def nodes_of(bot) -> dict:
    draft = Bot.objects.get(pk=bot.pk).draft
    return {n["id"]: n for f in draft["flows"] if f["name"] == "main" for n in f["nodes"]}


# ---- the autonomous node ---------------------------------------------------------------------

def test_an_autonomous_node_from_the_context_menu_keeps_its_fields_after_a_reload(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    page = ed.page
    node_id = ed.add_node(700, 240, kind="Autonomous node")
    assert node_id == "autonomous1"
    expect(ed.node(node_id)).to_contain_text("Drop cards here: they are its tools")
    expect(page.locator("#fs-inspector")).to_contain_text("Autonomous node")

    # Instructions: a multi-line template field with variable completion, like a card's text.
    instructions = ed.field("instructions")
    assert instructions.evaluate("el => el.tagName") == "TEXTAREA"
    instructions.click()
    page.keyboard.type("You help with orders.")
    page.keyboard.press("Enter")
    page.keyboard.type("The order is {{work")
    menu = page.locator(".fs-completion")
    expect(menu).to_be_visible()
    expect(menu.locator("li").first).to_contain_text("workflow.orderNumber")
    page.keyboard.press("Enter")
    expect(instructions).to_have_value("You help with orders.\nThe order is {{workflow.orderNumber}}")

    expect(ed.field("maxIterations")).to_have_attribute("placeholder", "10")
    ed.type_into(ed.field("maxIterations"), "60")
    expect(page.locator('[data-field-wrap="maxIterations"] .fs-field-error')).to_have_text("At most 50")
    ed.type_into(ed.field("maxIterations"), "5")
    expect(page.locator('[data-field-wrap="maxIterations"] .fs-field-error')).to_have_text("")
    ed.type_into(ed.field("model"), "Fast")
    ed.type_into(ed.field("temperature"), "0.3")
    ed.field("useMemory").check()
    ed.type_into(ed.field("mcpServers"), "orders")
    ed.saved()
    ed.screenshot("editor-autonomous-node.png")

    node = nodes_of(bot)[node_id]
    assert node["kind"] == "autonomous"
    assert node["instructions"] == "You help with orders.\nThe order is {{workflow.orderNumber}}"
    assert (node["maxIterations"], node["model"], node["temperature"], node["useMemory"], node["mcpServers"]) == (
        5, "Fast", 0.3, True, ["orders"])
    # The bot file accepts the node as it is: no problem names its fields.
    page.locator("#fs-problems-badge").click()
    expect(page.locator("#fs-problems")).not_to_contain_text("instructions")
    expect(page.locator("#fs-problems")).not_to_contain_text("maxIterations")

    page.reload()
    page.wait_for_selector("body[data-editor-ready=true]", state="attached")
    ed.select_node(node_id)
    expect(ed.field("instructions")).to_have_value("You help with orders.\nThe order is {{workflow.orderNumber}}")
    expect(ed.field("maxIterations")).to_have_value("5")
    expect(ed.field("model")).to_have_value("Fast")
    expect(ed.field("temperature")).to_have_value("0.3")
    expect(ed.field("useMemory")).to_be_checked()

    # Emptying a field leaves the engine's default: the key goes.
    ed.field("model").fill("")
    ed.saved()
    assert "model" not in nodes_of(bot)[node_id]

    # Renaming a variable rewrites the instructions too; Find finds them.
    page.locator('#fs-explorer [data-scope="workflow"][data-variable="orderNumber"]').click()
    page.get_by_role("menuitem", name="Edit…").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Name", exact=True).click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("order")
    dialog.get_by_role("button", name="Save").click()
    ed.saved()
    assert nodes_of(bot)[node_id]["instructions"] == "You help with orders.\nThe order is {{workflow.order}}"
    ed.mouse.click(*ed.canvas_point(650, 600))
    page.keyboard.press("ControlOrMeta+f")
    page.keyboard.type("{{workflow.order}}")
    results = page.locator(".fs-find-results li")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(node_id)
    page.keyboard.press("Enter")
    expect(ed.field("instructions")).to_be_focused()


def test_an_autonomous_node_dragged_from_the_tray_and_given_a_tool(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    nodes_group = ed.page.locator(".fs-tray-group", has=ed.page.locator(".fs-tray-category", has_text=re.compile("^Nodes$")))
    item = nodes_group.locator(".fs-tray-item", has_text="Autonomous node")
    expect(item).to_have_attribute("title", "A language model follows its instructions, calling the node's cards as tools, "
                                             "until it is done or transitions.")
    ed.drag(center(item.bounding_box()), ed.canvas_point(650, 420))
    expect(ed.node("autonomous1")).to_be_visible()
    expect(ed.field("instructions")).to_be_visible()  # the new node comes selected
    # Dropped onto a node, it makes nothing: nodes do not nest.
    ed.drag(center(item.bounding_box()), center(ed.node("hello").locator(".fs-cards").bounding_box()))
    expect(ed.page.locator("#fs-canvas .fs-node.kind-autonomous")).to_have_count(1)
    ed.drop_card("AI Task", "autonomous1")
    ed.saved()
    saved = nodes_of(bot)["autonomous1"]
    assert saved["kind"] == "autonomous" and [c["type"] for c in saved["cards"]] == ["ai_task"]


# ---- the AI cards ------------------------------------------------------------------------------

def test_the_ai_cards_are_in_the_tray_with_their_own_icons_and_ai_task_form_saves(open_editor, owner, bot):
    from integrations.llm.services import save_provider

    save_provider(owner.workspace, {"name": "acme", "base_url": "https://llm.example/v1", "is_default": True,
                                    "models": [{"id": "gpt-small", "label": "Fast"}]})
    ed = open_editor(owner, bot)
    page = ed.page
    group = page.locator(".fs-tray-group", has=page.locator(".fs-tray-category", has_text=re.compile("^AI$")))
    items = group.locator(".fs-tray-item")
    expect(items).to_have_text(["AI Generate Text", "AI Task", "AI Transition", "Query Knowledge Bases"])
    icons = set()
    for i in range(4):
        assert items.nth(i).get_attribute("title"), "every AI card has a tooltip"
        icons.add(items.nth(i).locator("svg path").get_attribute("d"))
    icons.add(page.locator('.fs-tray-item[data-key="text"] svg path').get_attribute("d"))
    assert len(icons) == 5, "each AI card has an icon of its own"

    row = ed.drop_card("AI Task", "hello")
    expect(row).to_contain_text("AI Task")
    form = page.locator("#fs-inspector")
    expect(form).to_contain_text("AI ·")  # the category under the title
    ed.type_into(ed.field("instructions"), "Extract the order number")
    assert ed.field("instructions").evaluate("el => el.tagName") == "TEXTAREA"
    ed.type_into(ed.field("input"), "{{event.preview}}")
    # The card's own fields first, then the model settings, then where a failure goes.
    fields = form.locator("[data-field-wrap]").evaluate_all("els => els.map(el => el.dataset.fieldWrap)")
    assert fields == ["instructions", "input", "outputs", "model", "temperature", "maxTokens", "useMemory", "onFailure"]
    # The model field offers the workspace's models; any other id may still be typed.
    picker = ed.field("model").get_attribute("list")
    assert page.locator(f"datalist#{picker} option").evaluate_all("os => os.map(o => o.value)") == ["Fast"]
    ed.type_into(ed.field("model"), "Fast")
    ed.type_into(ed.field("temperature"), "0")
    ed.type_into(ed.field("maxTokens"), "200")
    ed.field("useMemory").check()
    form.get_by_role("button", name="Add output").click()
    ed.type_into(form.get_by_label("Outputs 1 variable"), "workflow.orderNumber")
    ed.type_into(form.get_by_label("Outputs 1 description"), "The order number, like A-123")
    ed.saved()
    ed.screenshot("editor-ai-task.png")
    expect(row).to_contain_text("workflow.orderNumber")  # its summary on the canvas

    card = nodes_of(bot)["hello"]["cards"][1]
    assert card["type"] == "ai_task"
    assert (card["instructions"], card["input"], card["model"], card["temperature"], card["maxTokens"], card["useMemory"]) == (
        "Extract the order number", "{{event.preview}}", "Fast", 0, 200, True)
    assert card["outputs"] == [{"variable": "workflow.orderNumber", "description": "The order number, like A-123"}]
    # A temperature out of range is caught in the form, before the server sees it.
    ed.type_into(ed.field("temperature"), "3")
    expect(page.locator('[data-field-wrap="temperature"] .fs-field-error')).to_have_text("At most 2")

    for title in ("AI Generate Text", "AI Transition"):
        ed.drop_card(title, "hello").click()
        expect(ed.field("model")).to_be_visible()
        expect(ed.field("useMemory")).to_be_visible()
    expect(ed.field("condition")).to_be_visible()  # AI Transition's own field


# ---- the emulator --------------------------------------------------------------------------------

def open_emulator(ed):
    page = ed.page
    page.keyboard.press("Control+e")
    expect(page.locator("#fs-emulator")).to_be_visible()
    return page.get_by_label("Message to the bot"), page.locator("#fs-emu-log")


def test_a_turn_that_asked_the_model_shows_status_lines_and_the_memory_tab(
        open_editor, owner, scripted_llm_server):  # noqa: F811
    provider(owner.workspace, scripted_llm_server)
    scripted_llm_server.script([scripted.text("Your order A-1 ships tomorrow.", tokens_in=42, tokens_out=7)])
    bot = services.import_bot(ai_bot({"id": "talk", "kind": "standard", "cards": [
        {"id": "answer", "type": "ai_generate_text", "instructions": "You are the order desk.",
         "prompt": "{{event.preview}}", "stream": False},
        {"id": "again", "type": "wait"},
    ], "next": "talk"}), workspace=owner.workspace, user=owner)
    ed = open_editor(owner, bot)
    page = ed.page
    box, log = open_emulator(ed)
    box.fill("where is my order?")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text("Your order A-1 ships tomorrow.")
    sent = scripted_llm_server.requests[0]
    assert sent["messages"] == [{"role": "system", "content": "You are the order desk."},
                                {"role": "user", "content": "where is my order?"}]

    # The model call as two lines, folded: what was asked, and what it answered.
    asked = log.locator('details[data-status="Asked the default model (answer)"]')
    expect(asked).to_have_count(1)
    answered = log.locator("details.fs-emu-expand", has_text="Model answered (42 in / 7 out tokens,")
    expect(answered).to_have_count(1)
    expect(asked.locator(".fs-emu-detail")).to_be_hidden()
    asked.locator("summary").click()
    expect(asked.locator(".fs-emu-detail")).to_be_visible()
    expect(asked.locator(".fs-emu-detail")).to_contain_text("system: You are the order desk.")
    expect(asked.locator(".fs-emu-detail")).to_contain_text("user: where is my order?")
    answered.locator("summary").click()
    expect(answered.locator(".fs-emu-detail")).to_have_text("Your order A-1 ships tomorrow.")

    # The debugger's Memory tab: each message the model got, role and content, and the cost.
    page.keyboard.press("Control+j")
    debugger = page.locator("#fs-debugger")
    debugger.get_by_role("tab", name="Memory").click()
    call = debugger.locator('.fs-dbg-call[data-card="answer"]')
    expect(call.locator("tr")).to_have_count(2)
    expect(call.locator('tr[data-role="system"] .fs-dbg-content')).to_have_text("You are the order desk.")
    expect(call.locator('tr[data-role="user"] .fs-dbg-content')).to_have_text("where is my order?")
    expect(call.get_by_test_id("llm-usage")).to_contain_text("42 in / 7 out tokens")
    expect(debugger.get_by_test_id("llm-totals")).to_contain_text("1 LLM call: 42 in / 7 out tokens")
    ed.screenshot("emulator-llm-turn.png")
    # The tab follows the newest turn.
    box.fill("again")
    scripted_llm_server.script([scripted.text("Still tomorrow.", tokens_in=50, tokens_out=3)])
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text("Still tomorrow.")
    expect(debugger.get_by_test_id("llm-totals")).to_contain_text("1 LLM call: 50 in / 3 out tokens")
    expect(debugger.locator('.fs-dbg-call tr[data-role="user"] .fs-dbg-content')).to_have_text("again")


def test_a_stored_autonomous_turn_reads_as_folded_thought_tool_call_and_result_lines(open_editor, owner):
    """The trace entries the autonomous node writes (docs/ai.md), from a stored turn: the
    emulator shows a conversation's past turns from what is stored, whoever ran them."""
    from runtime import turns
    from runtime.models import Event
    from studio.emulator import sessions

    bot = services.import_bot(ai_bot(copy.deepcopy(AGENT)), workspace=owner.workspace, user=owner)
    conversation = sessions.open_session(owner, bot).conversation
    event = turns.receive_event(conversation, "text", {"type": "text", "text": "where is A-1?"})
    where = {"flow": "main", "node": "agent"}
    ask = [{"role": "system", "content": "You are the order desk; look orders up."},
           {"role": "user", "content": "where is A-1?"}]
    Event.objects.filter(pk=event.pk).update(status=Event.Status.PROCESSED, duration_ms=40, trace=[
        {"type": "transitioned", "t": 1, **where},
        {"type": "llm_request", "t": 2, "card": None, "purpose": "autonomous", "model": "", "messages": ask,
         "tools": ["lookup_order"], **where},
        {"type": "llm_response", "t": 12, "card": None, "model": "scripted-fast", "text": "I should look the order up.",
         "toolCalls": [{"id": "c1", "name": "lookup_order", "arguments": '{"orderNumber": "A-1"}'}],
         "tokensIn": 30, "tokensOut": 9, "ms": 10.2, **where},
        {"type": "autonomous_thought", "t": 12, "text": "I should look the order up.", **where},
        {"type": "tool_call", "t": 13, "name": "lookup_order", "arguments": {"orderNumber": "A-1"}, **where},
        {"type": "tool_result", "t": 14, "name": "lookup_order", "result": {"status": "shipped"}, **where},
        {"type": "tool_call", "t": 15, "name": "refund", "arguments": {}, **where},
        {"type": "tool_result", "t": 16, "name": "refund", "error": "no such tool", **where},
        {"type": "llm_request", "t": 17, "card": None, "purpose": "autonomous", "model": "", "tools": ["lookup_order"],
         "messages": ask + [
             {"role": "assistant", "content": None, "tool_calls": [
                 {"id": "c1", "type": "function", "function": {"name": "lookup_order", "arguments": '{"orderNumber": "A-1"}'}}]},
             {"role": "tool", "tool_call_id": "c1", "content": '{"status": "shipped"}'}], **where},
        {"type": "llm_response", "t": 30, "card": None, "model": "scripted-fast", "text": "Order A-1 has shipped.",
         "toolCalls": [], "tokensIn": 60, "tokensOut": 6, "ms": 12.6, **where},
    ])
    ed = open_editor(owner, bot)
    page = ed.page
    box, log = open_emulator(ed)
    turn = log.locator(".fs-emu-turn")
    expect(turn.locator("details.fs-emu-expand")).to_have_count(9)
    # Folded: one line each until clicked.
    expect(turn.locator(".fs-emu-detail:visible")).to_have_count(0)
    thought = turn.locator('details[data-status="Thought"]')
    thought.locator("summary").click()
    expect(thought.locator(".fs-emu-detail")).to_have_text("I should look the order up.")
    called = turn.locator('details[data-status="Called tool lookup_order"]')
    called.locator("summary").click()
    expect(called.locator(".fs-emu-detail")).to_have_text(json.dumps({"orderNumber": "A-1"}, indent=2))
    returned = turn.locator('details[data-status="Tool lookup_order returned"]')
    returned.locator("summary").click()
    expect(returned.locator(".fs-emu-detail")).to_have_text(json.dumps({"status": "shipped"}, indent=2))
    failed = turn.locator('details[data-status="Tool refund failed"]')
    expect(failed).to_have_class("fs-emu-line error fs-emu-expand")
    failed.locator("summary").click()
    expect(failed.locator(".fs-emu-detail")).to_have_text("no such tool")

    page.keyboard.press("Control+j")
    debugger = page.locator("#fs-debugger")
    debugger.get_by_role("tab", name="Memory").click()
    expect(debugger.get_by_test_id("llm-totals")).to_have_text("2 LLM calls: 90 in / 15 out tokens, 23 ms")
    second = debugger.locator(".fs-dbg-call").nth(1)
    expect(second.locator("tr")).to_have_count(4)
    expect(second.locator('tr[data-role="assistant"] .fs-dbg-content')).to_have_text('→ lookup_order({"orderNumber": "A-1"})')
    expect(second.locator('tr[data-role="tool"] .fs-dbg-content')).to_have_text('{"status": "shipped"}')
    expect(second.get_by_test_id("llm-usage")).to_have_text("Answer: 60 in / 6 out tokens, 13 ms")
    ed.screenshot("emulator-autonomous-turn.png")


AGENT = {"id": "agent", "kind": "autonomous", "instructions": "You are the order desk; look orders up.",
         "maxIterations": 4, "cards": [{"id": "lookup_order", "type": "code", "code": "workflow.status = 'shipped'"}],
         "next": None}


def _agent_tools() -> list[str] | None:
    """The tool names the engine offers the model for AGENT's card, or None while the engine
    does not run autonomous nodes yet (branch `auto`; until then it asks no model)."""
    from runtime.engine.llm import ScriptedLLM
    from runtime.engine.tests.chat import Chat

    llm = ScriptedLLM(["done"])
    try:
        Chat(ai_bot(copy.deepcopy(AGENT)), llm=llm).say("hi")
    except Exception:  # noqa: BLE001 (an engine that refuses the node does not run it)
        return None
    return [tool.name for tool in llm.requests[0].tools] if llm.requests else None


AGENT_TOOLS = _agent_tools()


@pytest.mark.skipif(AGENT_TOOLS is None, reason="the engine does not run autonomous nodes yet (branch auto)")
def test_an_autonomous_turn_shows_its_thought_tool_call_and_result(open_editor, owner, scripted_llm_server):  # noqa: F811
    provider(owner.workspace, scripted_llm_server)
    tool = AGENT_TOOLS[0]  # the Execute Code card, as the model sees it
    scripted_llm_server.script([
        scripted.tool(tool, {"orderNumber": "A-1"}, text="I should look the order up.", tokens_in=30, tokens_out=9),
        scripted.text("Order A-1 has shipped.", tokens_in=60, tokens_out=6),
    ])
    bot = services.import_bot(ai_bot(copy.deepcopy(AGENT)), workspace=owner.workspace, user=owner)
    ed = open_editor(owner, bot)
    box, log = open_emulator(ed)
    box.fill("where is A-1?")
    box.press("Enter")
    expect(log.locator(".fs-emu-msg.bot").last).to_have_text("Order A-1 has shipped.")
    thought = log.locator('details[data-status="Thought"]')
    expect(thought).to_have_count(1)
    expect(thought.locator(".fs-emu-detail")).to_be_hidden()
    thought.locator("summary").click()
    expect(thought.locator(".fs-emu-detail")).to_have_text("I should look the order up.")
    called = log.locator(f'details[data-status="Called tool {tool}"]')
    expect(called.locator(".fs-emu-detail")).to_be_hidden()
    called.locator("summary").click()
    expect(called.locator(".fs-emu-detail")).to_have_text(json.dumps({"orderNumber": "A-1"}, indent=2))
    expect(log.locator(f'details[data-status="Tool {tool} returned"], details[data-status="Tool {tool} failed"]')).to_have_count(1)
    ed.page.keyboard.press("Control+j")
    debugger = ed.page.locator("#fs-debugger")
    debugger.get_by_role("tab", name="Memory").click()
    expect(debugger.get_by_test_id("llm-totals")).to_contain_text("2 LLM calls: 90 in / 15 out tokens")
    # The second call carries the tool's result back to the model.
    expect(debugger.locator(".fs-dbg-call").nth(1).locator('tr[data-role="tool"]')).to_have_count(1)
