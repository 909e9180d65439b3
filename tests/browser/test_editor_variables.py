"""Variables in the editor (issue 20, "Guidance"): the variable picker of variable-path fields
with create-on-the-fly, `{{` completion over object fields, the variables dialog's
Input/Output only for workflow variables, flow counts that count every declaration, trigger
nodes made and configured in the editor, and an empty folder that survives a reload."""
import copy

import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage
from flows import services
from flows.models import Bot

pytestmark = pytest.mark.browser
# The only problem of the bot: its custom flow `checkout` (there for the variables dialog) is never called.
NO_ERRORS = "1 warning"

BOT = {
    "format": "flowstudio.bot/1",
    "name": "Greeter",
    "variables": [{"scope": "user", "name": "plan", "type": "string"}],
    "config": [{"name": "API_KEY"}],
    "flows": [
        {"name": "main", "variables": [{"name": "size", "type": "object"}], "nodes": [
            {"id": "start", "kind": "start", "next": "ask"},
            {"id": "ask", "kind": "standard", "name": "Ask", "cards": [
                {"id": "ask-name", "type": "capture", "capture": "person", "variable": "workflow.size",
                 "prompt": "What is your name?"},
                {"id": "greet", "type": "text", "text": "Hello!"},
            ], "next": "end"},
            {"id": "end", "kind": "end"},
        ]},
        {"name": "checkout", "nodes": [{"id": "entry", "kind": "entry", "next": "exit"}, {"id": "exit", "kind": "exit"}]},
    ],
    "layout": {"main": {"start": [0, 0], "ask": [0, 140], "end": [420, 140]}},
}


@pytest.fixture
def editor(new_context, login, make_user, studio_url):
    owner = make_user()
    bot = services.import_bot(copy.deepcopy(BOT), workspace=owner.workspace, user=owner)
    page = new_context(viewport=VIEWPORT).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    yield EditorPage(page).open(studio_url, bot), bot, studio_url
    assert errors == [], f"JavaScript errors on the page: {errors}"


def picker_rows(page):
    return page.locator(".fs-varpicker:not([hidden]) li[data-index]")


def test_the_picker_lists_variables_by_scope_with_types_and_creates_one_in_one_undo_step(editor):
    ed, bot, _ = editor
    page = ed.page
    ed.card("ask", "capture").click()
    field = ed.field("variable")
    field.click()
    rows = picker_rows(page)
    # declared variables of the field's scopes with their types; configuration names are not variables
    expect(rows.filter(has_text="workflow.size")).to_contain_text("object")
    expect(rows.filter(has_text="user.plan")).to_contain_text("string")
    expect(page.locator(".fs-varpicker")).not_to_contain_text("env.API_KEY")
    expect(page.locator(".fs-varpicker .fs-varpicker-group")).to_have_text(["Workflow", "User"])

    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("pla")
    used = page.locator(".fs-varpicker:not([hidden]) li[data-kind=use]")
    expect(used).to_have_count(1)
    expect(used.first).to_have_attribute("data-path", "user.plan")
    # a bare name offers to create it in each scope that declares variables
    expect(page.locator(".fs-varpicker:not([hidden]) li[data-kind=create]")).to_have_text([
        "Create variable workflow.plathis flow only", "Create variable user.plafollows the user across conversations",
        "Create variable bot.plashared by everyone"])

    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("user.name")
    create = rows.filter(has_text="Create variable user.name")
    expect(create).to_have_count(1)
    create.click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("h2")).to_have_text("Create variable user.name")
    # a Person capture stores an object: that is the suggested type
    expect(dialog.locator("select[name=type]")).to_have_value("object")
    expect(dialog).to_contain_text("first, last")
    dialog.locator("button[value=ok]").click()

    expect(field).to_have_value("user.name")
    user_list = page.locator('#fs-explorer [data-scope-list="user"]')
    expect(user_list.locator('[data-variable="name"]')).to_contain_text("object")
    ed.saved()
    draft = Bot.objects.get(pk=bot.pk).draft
    assert {"scope": "user", "name": "name", "type": "object"} in draft["variables"]
    assert draft["flows"][0]["nodes"][1]["cards"][0]["variable"] == "user.name"
    expect(page.locator("#fs-problems-badge")).to_have_text(NO_ERRORS)

    # one undo step takes the declaration back (the typed path stays, as typed)
    page.locator("#fs-undo").click()
    expect(user_list.locator('[data-variable="name"]')).to_have_count(0)
    page.locator("#fs-redo").click()
    expect(user_list.locator('[data-variable="name"]')).to_contain_text("object")
    ed.saved()
    ed.screenshot("variable-picker.png")


def test_braces_complete_the_fields_of_a_captured_object_with_their_types(editor):
    ed, _, _ = editor
    page = ed.page
    ed.card("ask", "capture").click()
    ed.field("variable").click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("user.name")
    picker_rows(page).filter(has_text="Create variable user.name").click()
    page.locator("dialog[open] button[value=ok]").click()

    ed.card("ask", "text").click()
    text = ed.field("text")
    text.click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("Nice to meet you, {{user.name.")
    options = page.locator(".fs-completion:not([hidden]) li")
    expect(options.locator(".fs-completion-path")).to_have_text(["user.name.first", "user.name.last"])
    expect(options.first.locator(".fs-completion-detail")).to_contain_text("string")
    page.keyboard.press("Enter")
    expect(text).to_have_value("Nice to meet you, {{user.name.first}}")

    # every scope is offered, each entry with its type
    page.keyboard.type(" {{")
    paths = page.locator(".fs-completion:not([hidden]) .fs-completion-path")
    expect(paths.first).to_have_text("workflow.size")
    expect(page.locator(".fs-completion:not([hidden])")).to_contain_text("user.plan")
    expect(page.locator(".fs-completion:not([hidden])")).to_contain_text("env.API_KEY")
    page.keyboard.type("ev")
    expect(paths.first).to_have_text("event.preview")
    expect(page.locator(".fs-completion:not([hidden]) .fs-completion-detail").first).to_contain_text("string")
    page.keyboard.press("Escape")


def test_the_variables_dialog_offers_input_and_output_only_for_workflow_variables(editor):
    ed, _, _ = editor
    page = ed.page
    ed.open_flow("checkout")
    page.locator('#fs-explorer [data-action="add-variable"]').click()
    dialog = page.locator("dialog[open]")
    inputs = dialog.locator('[data-dialog-field="input"], [data-dialog-field="output"]')
    expect(inputs.first).to_be_visible()
    expect(inputs.nth(1)).to_be_visible()
    for scope in ("user", "bot"):
        dialog.locator("select[name=scope]").select_option(scope)
        expect(inputs.first).to_be_hidden()
        expect(inputs.nth(1)).to_be_hidden()
    dialog.locator("select[name=scope]").select_option("workflow")
    expect(inputs.first).to_be_visible()
    dialog.locator("button[value=cancel]").click()

    ed.open_flow("main")
    page.locator("#fs-explorer [data-action=add-variable]").click()  # main is not called: no inputs
    expect(page.locator("dialog[open]").locator('[data-dialog-field="input"]')).to_be_hidden()
    page.locator("dialog[open] button[value=cancel]").click()
    # the flow's counts count every declaration it reads
    ed.mouse.click(*ed.canvas_point(700, 500))
    expect(page.locator("#fs-inspector")).to_contain_text("3 nodes, 1 workflow variable, 1 user variable, 0 bot variables")


def test_a_trigger_node_is_made_from_the_context_menu_and_the_tray_and_configured(editor):
    ed, bot, _ = editor
    page = ed.page
    expect(page.locator(".fs-tray-item", has_text="Trigger node")).to_have_count(1)
    node_id = ed.add_node(80, 420, "Trigger node")
    node = ed.node(node_id)
    expect(node).to_contain_text("On conversation started")
    expect(node.locator(".fs-cards")).to_have_count(0)  # trigger nodes hold no cards

    kind = ed.field("trigger.type")
    expect(kind).to_have_value("conversation_started")
    kind.select_option("event")
    ed.type_into(ed.field("trigger.eventType"), "buy")
    ed.type_into(ed.field("trigger.condition"), "event.payload.amount > 100")
    ed.field("next").select_option("ask")
    expect(node).to_contain_text("On custom event buy")
    ed.saved()
    saved = next(n for n in Bot.objects.get(pk=bot.pk).draft["flows"][0]["nodes"] if n["id"] == node_id)
    assert saved["kind"] == "trigger"
    assert saved["trigger"] == {"type": "event", "eventType": "buy", "condition": "event.payload.amount > 100"}
    assert saved["next"] == "ask"
    expect(page.locator("#fs-problems-badge")).to_have_text(NO_ERRORS)

    # back to conversation_started: the event type goes with it
    ed.select_node(node_id)
    ed.field("trigger.type").select_option("conversation_started")
    expect(ed.field("trigger.eventType")).to_have_count(0)
    ed.saved()
    saved = next(n for n in Bot.objects.get(pk=bot.pk).draft["flows"][0]["nodes"] if n["id"] == node_id)
    assert saved["trigger"] == {"type": "conversation_started", "condition": "event.payload.amount > 100"}

    # the tray's Trigger node, clicked, lands in view
    page.locator(".fs-tray-item", has_text="Trigger node").click()
    expect(page.locator("#fs-canvas .fs-node.kind-trigger")).to_have_count(2)

    # the tray offers every node kind the open flow may hold: End in main, Exit in a custom flow
    nodes_group = page.locator(".fs-tray-group", has=page.locator(".fs-tray-category", has_text="Nodes"))
    expect(nodes_group.locator(".fs-tray-item")).to_have_text(["Standard node", "Autonomous node", "Trigger node", "End node"])
    ed.open_flow("checkout")
    expect(nodes_group.locator(".fs-tray-item")).to_have_text(["Standard node", "Autonomous node", "Trigger node", "Exit node"])
    nodes_group.locator(".fs-tray-item", has_text="Exit node").click()
    expect(page.locator("#fs-canvas .fs-node.kind-exit")).to_have_count(2)


def test_an_empty_new_folder_survives_a_reload(editor):
    ed, bot, studio_url = editor
    page = ed.page
    page.locator("#fs-explorer [data-action=add-folder]").click()
    page.locator("dialog[open] input[name=name]").fill("shop")
    page.locator("dialog[open] button[value=ok]").click()
    folder = page.locator('#fs-explorer [data-folder="shop"]')
    expect(folder).to_be_visible()
    ed.saved()
    assert Bot.objects.get(pk=bot.pk).draft["folders"] == ["shop"]

    ed.open(studio_url, bot)
    folder = page.locator('#fs-explorer [data-folder="shop"]')
    expect(folder).to_be_visible()
    expect(folder.locator("xpath=..")).to_contain_text("Empty folder")
    # it is offered when moving a flow, and can be deleted while empty
    folder.click(button="right")
    page.get_by_role("menuitem", name="Delete folder").click()
    expect(page.locator('#fs-explorer [data-folder="shop"]')).to_have_count(0)
    ed.saved()
    assert Bot.objects.get(pk=bot.pk).draft["folders"] == []


def test_an_ai_task_output_picks_and_creates_its_variable_too(editor):
    ed, bot, _ = editor
    page = ed.page
    ed.drop_card("AI Task", "ask")
    form = page.locator("#fs-inspector")
    form.get_by_role("button", name="Add output").click()
    output = form.get_by_label("Outputs 1 variable")
    output.click()
    page.keyboard.type("workflow.order")
    picker_rows(page).filter(has_text="Create variable workflow.order").click()
    dialog = page.locator("dialog[open]")
    expect(dialog.locator("select[name=type]")).to_have_value("string")
    dialog.locator("select[name=type]").select_option("number")
    dialog.locator("button[value=ok]").click()
    expect(output).to_have_value("workflow.order")
    expect(page.locator('#fs-explorer [data-scope-list="workflow"] [data-variable="order"]')).to_contain_text("number")
    ed.saved()
    draft = Bot.objects.get(pk=bot.pk).draft
    assert {"name": "order", "type": "number", "input": False, "output": False} in draft["flows"][0]["variables"]
    assert [o["variable"] for o in draft["flows"][0]["nodes"][1]["cards"][2]["outputs"]] == ["workflow.order"]
