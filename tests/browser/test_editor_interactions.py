"""The flow editor in Chromium: undo/redo, copy/paste, moving cards, conflicts between two
browser contexts, the problems panel, find, variables, read-only viewers and the theme."""
import copy
import re

import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage
from flows import services
from flows.models import Bot
from studio.editor.drafts import save_draft
from studio.people.models import Role

pytestmark = pytest.mark.browser

SMALL_BOT = {
    "format": "flowstudio.bot/1",
    "name": "Small",
    "variables": [{"scope": "user", "name": "plan", "type": "string"}],
    "flows": [
        {"name": "main", "variables": [{"name": "size", "type": "string", "default": "s"}], "nodes": [
            {"id": "start", "kind": "start", "next": "hello"},
            {"id": "hello", "kind": "standard", "name": "Hello", "cards": [
                {"id": "one", "type": "text", "text": "One {{workflow.size}}"},
                {"id": "two", "type": "text", "text": "Two"},
            ], "next": "bye"},
            {"id": "bye", "kind": "standard", "name": "Bye", "cards": [
                {"id": "three", "type": "text", "text": "Three"},
            ], "next": "end"},
            {"id": "end", "kind": "end"},
        ]},
        {"name": "other", "folder": "extras", "nodes": [
            {"id": "entry", "kind": "entry", "next": "n1"},
            {"id": "n1", "kind": "standard", "cards": [{"id": "needle", "type": "text", "text": "The haystack hides a pin"}], "next": "exit"},
            {"id": "exit", "kind": "exit"},
        ]},
    ],
    "layout": {
        "main": {"start": [0, 0], "hello": [0, 140], "bye": [320, 140], "end": [320, 360]},
        "other": {"entry": [0, 0], "n1": [300, 0], "exit": [600, 0]},
    },
}


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def bot(owner):
    return services.import_bot(copy.deepcopy(SMALL_BOT), workspace=owner.workspace, user=owner)


@pytest.fixture
def open_editor(new_context, login, studio_url):
    """open_editor(user, bot, **context options) -> EditorPage; fails the test on page errors."""
    pages = []

    def open_(user, bot, **options):
        context = new_context(viewport=VIEWPORT, **options)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        login(page, user)
        pages.append(page)
        return EditorPage(page).open(studio_url, bot)

    yield open_
    for page in pages:
        assert page.errors == [], f"JavaScript errors on the page: {page.errors}"


def draft_of(bot) -> dict:
    return Bot.objects.get(pk=bot.pk).draft


def nodes_of(bot, flow="main") -> dict:
    return {n["id"]: n for f in draft_of(bot)["flows"] if f["name"] == flow for n in f["nodes"]}


def test_undo_and_redo_a_node_deletion(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    page = ed.page
    ed.select_node("bye")
    page.keyboard.press("Delete")
    expect(ed.node("bye")).to_have_count(0)
    ed.saved()
    assert "bye" not in nodes_of(bot)
    assert nodes_of(bot)["hello"]["next"] is None  # the transition into it went with it

    page.keyboard.press("ControlOrMeta+z")
    expect(ed.node("bye")).to_be_visible()
    expect(ed.cards("bye")).to_have_text(["TextThree"])
    ed.saved()
    assert nodes_of(bot)["bye"]["cards"][0]["text"] == "Three"
    assert nodes_of(bot)["hello"]["next"] == "bye"

    page.keyboard.press("ControlOrMeta+Shift+z")
    expect(ed.node("bye")).to_have_count(0)
    page.locator("#fs-undo").click()  # the toolbar button does the same as the shortcut
    expect(ed.node("bye")).to_be_visible()
    ed.saved()
    assert "bye" in nodes_of(bot)


def test_undo_reverts_typing_in_the_inspector_as_one_step(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    ed.card("bye", "text").click()
    ed.type_into(ed.field("text"), "Goodbye for now")
    ed.saved()
    assert nodes_of(bot)["bye"]["cards"][0]["text"] == "Goodbye for now"
    ed.mouse.click(*ed.canvas_point(700, 600))  # a blank spot: focus leaves the field
    ed.page.keyboard.press("ControlOrMeta+z")
    expect(ed.card("bye", "text")).to_contain_text("Three")
    ed.saved()
    assert nodes_of(bot)["bye"]["cards"][0]["text"] == "Three"


def test_copy_and_paste_a_node_with_its_cards(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    ed.select_node("hello")
    ed.page.keyboard.press("ControlOrMeta+c")
    ed.page.keyboard.press("ControlOrMeta+v")
    expect(ed.node("hello2")).to_be_visible()
    expect(ed.cards("hello2")).to_have_count(2)
    ed.saved()
    nodes = nodes_of(bot)
    copy_, original = nodes["hello2"], nodes["hello"]
    assert [c["text"] for c in copy_["cards"]] == ["One {{workflow.size}}", "Two"]
    assert {c["id"] for c in copy_["cards"]}.isdisjoint({c["id"] for c in original["cards"]})
    assert copy_["next"] == "bye"  # transitions to nodes outside the copy are kept
    layout = Bot.objects.get(pk=bot.pk).layout["main"]
    assert layout["hello2"] == [layout["hello"][0] + 40, layout["hello"][1] + 40]


def test_reorder_cards_and_move_one_to_another_node(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    two = ed.node("hello").locator('.fs-card[data-card="two"]')
    one = ed.node("hello").locator('.fs-card[data-card="one"]')
    box = one.bounding_box()
    ed.drag(ed_center(two), (box["x"] + box["width"] / 2, box["y"] + 4))
    expect(ed.cards("hello")).to_have_text(["TextTwo", "TextOne {{workflow.size}}"])
    ed.saved()
    assert [c["id"] for c in nodes_of(bot)["hello"]["cards"]] == ["two", "one"]

    target = ed.node("bye").locator(".fs-cards").bounding_box()
    ed.drag(ed_center(ed.node("hello").locator('.fs-card[data-card="one"]')),
            (target["x"] + target["width"] / 2, target["y"] + target["height"] - 4))
    expect(ed.cards("bye")).to_have_count(2)
    expect(ed.cards("hello")).to_have_count(1)
    ed.saved()
    nodes = nodes_of(bot)
    assert [c["id"] for c in nodes["hello"]["cards"]] == ["two"]
    assert [c["id"] for c in nodes["bye"]["cards"]] == ["three", "one"]


def ed_center(locator):
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_two_people_editing_one_flow_see_a_conflict(open_editor, owner, make_user, bot):
    colleague = make_user(role=Role.DEVELOPER, workspace=owner.workspace)
    first = open_editor(owner, bot)
    second = open_editor(colleague, bot)

    first.select_node("bye")
    first.type_into(first.field("name"), "Farewell")
    first.saved()

    second.select_node("hello")
    second.type_into(second.field("name"), "Greeting")
    expect(second.page.locator("#fs-save-state")).to_have_text("Conflict")
    banner = second.page.locator("#fs-conflict")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Someone else saved this bot")
    assert nodes_of(bot)["hello"]["name"] == "Hello"  # nothing overwritten behind their back

    banner.get_by_role("button", name="Reload their version").click()
    expect(banner).to_be_hidden()
    expect(second.node("bye")).to_contain_text("Farewell")
    expect(second.node("hello")).to_contain_text("Hello")

    # Both edit again; this time the second person keeps their version on purpose.
    first.select_node("hello")
    first.type_into(first.field("name"), "Hi")
    first.saved()
    second.select_node("hello")
    second.type_into(second.field("name"), "Welcome")
    expect(banner).to_be_visible()
    banner.get_by_role("button", name="Keep mine (overwrite)").click()
    second.saved()
    assert nodes_of(bot)["hello"]["name"] == "Welcome"
    assert nodes_of(bot)["bye"]["name"] == "Farewell"


def test_problems_panel_click_through_and_publish_refused(open_editor, owner, bot):
    broken = copy.deepcopy(SMALL_BOT)
    broken["flows"][1]["nodes"][1]["cards"][0]["text"] = ""
    save_draft(bot, broken, base_revision=None)  # as the editor stores an unfinished draft
    ed = open_editor(owner, bot)
    page = ed.page
    expect(page.locator("#fs-problems-badge")).to_have_text("1 error")
    problem = page.locator(".fs-problem.error")
    expect(problem).to_contain_text("other › n1 › Text › text")
    expect(problem).to_contain_text("Required")  # the validator's "at least 1 character", in the field's words

    problem.click()
    expect(page.locator("#fs-flow-name")).to_have_text("other")
    expect(ed.card("n1", "text")).to_have_class(has_class("selected"))
    expect(ed.field("text")).to_be_focused()
    # Said once: the field's own check and the server's problem are the same rule.
    expect(page.locator('#fs-inspector [data-field-wrap="text"] .fs-field-error')).to_have_text("Required")
    expect(page.locator('#fs-inspector [data-field-wrap="text"] .fs-field-server')).to_have_text("")
    expect(ed.node("n1")).to_have_class(has_class("has-error"))

    page.locator("#fs-publish").click()
    expect(page.locator(".fs-toast")).to_contain_text("Publishing is blocked")
    assert not bot.versions.exists()

    ed.type_into(ed.field("text"), "Fixed")
    expect(page.locator("#fs-problems-badge")).not_to_contain_text("error")
    ed.saved()


def has_class(name):
    return re.compile(rf"(^|\s){name}(\s|$)")


def test_find_across_flows_jumps_to_the_card(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    page = ed.page
    ed.mouse.click(*ed.canvas_point(650, 600))
    page.keyboard.press("ControlOrMeta+f")
    find_input = page.get_by_role("dialog", name="Find").locator("input")
    expect(find_input).to_be_focused()
    page.keyboard.type("haystack")
    results = page.locator(".fs-find-results li")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("other › n1")
    expect(results.first.locator("mark")).to_have_text("haystack")
    page.keyboard.press("Enter")
    expect(page.locator("#fs-flow-name")).to_have_text("other")
    expect(ed.card("n1", "text")).to_have_class(has_class("selected"))
    expect(ed.card("n1", "text")).to_have_class(has_class("find-hit"))

    find_input.fill("bye")
    expect(results.first).to_contain_text("Bye")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Find")).to_be_hidden()


def test_variables_rename_everywhere_and_delete_with_a_warning(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    page = ed.page
    row = page.locator('#fs-explorer [data-scope="workflow"][data-variable="size"]')
    row.click()
    page.get_by_role("menuitem", name="Edit…").click()
    name = page.get_by_label("Name", exact=True)
    name.click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("cupSize")
    page.get_by_role("button", name="Save").click()
    expect(ed.card("hello", "text", 0)).to_contain_text("{{workflow.cupSize}}")
    ed.saved()
    assert nodes_of(bot)["hello"]["cards"][0]["text"] == "One {{workflow.cupSize}}"

    page.locator('#fs-explorer [data-scope="workflow"][data-variable="cupSize"]').click()
    page.get_by_role("menuitem", name="Delete…").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("is used in 1 place")
    dialog.get_by_role("button", name="Delete variable").click()
    expect(page.locator('#fs-explorer [data-variable="cupSize"]')).to_have_count(0)
    expect(page.locator(".fs-problem.warning", has_text="workflow.cupSize is not declared")).to_contain_text("main › Hello › Text")
    ed.saved()


def test_variable_completion_in_a_text_field(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    page = ed.page
    ed.card("bye", "text").click()
    field = ed.field("text")
    field.click()
    page.keyboard.press("End")
    page.keyboard.type(" {{us")
    menu = page.locator(".fs-completion")
    expect(menu).to_be_visible()
    expect(menu.locator("li")).to_contain_text(["user.plan"])
    page.keyboard.press("Enter")
    expect(field).to_have_value("Three {{user.plan}}")
    page.keyboard.type(" @workflow.s")
    expect(menu.locator("li").first).to_contain_text("workflow.size")
    page.keyboard.press("Tab")
    expect(field).to_have_value("Three {{user.plan}} @workflow.size")
    ed.saved()
    assert nodes_of(bot)["bye"]["cards"][0]["text"] == "Three {{user.plan}} @workflow.size"


def test_flows_add_rename_folder_and_delete(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    page = ed.page
    expect(page.locator("#fs-explorer .fs-folder-name")).to_contain_text("extras")
    page.locator('#fs-explorer [data-flow="other"]').click(button="right")
    page.get_by_role("menuitem", name="Rename…").click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("helpers")
    page.get_by_role("button", name="Rename").click()
    expect(page.locator('#fs-explorer [data-flow="helpers"]')).to_be_visible()
    page.locator('#fs-explorer [data-add-reserved="error"]').click()
    expect(page.locator("#fs-flow-name")).to_have_text("error")
    ed.saved()
    flows = {f["name"]: f for f in draft_of(bot)["flows"]}
    assert set(flows) == {"main", "helpers", "error"}
    assert flows["helpers"]["folder"] == "extras"

    page.locator('#fs-explorer [data-flow="helpers"]').click(button="right")
    page.get_by_role("menuitem", name="Delete…").click()
    page.locator("dialog[open]").get_by_role("button", name="Delete flow").click()
    expect(page.locator('#fs-explorer [data-flow="helpers"]')).to_have_count(0)
    ed.saved()
    assert {f["name"] for f in draft_of(bot)["flows"]} == {"main", "error"}
    assert "helpers" not in Bot.objects.get(pk=bot.pk).layout


def test_a_viewer_sees_the_bot_but_cannot_change_it(open_editor, owner, make_user, bot):
    viewer = make_user(role=Role.VIEWER, workspace=owner.workspace)
    ed = open_editor(viewer, bot)
    page = ed.page
    expect(page.locator("#fs-save-state")).to_have_text("Read only")
    expect(page.locator("#fs-publish")).to_be_disabled()
    ed.select_node("bye")
    expect(ed.field("name")).to_be_disabled()
    page.keyboard.press("Delete")
    expect(ed.node("bye")).to_be_visible()
    revision = Bot.objects.get(pk=bot.pk).draft_revision
    page.wait_for_timeout(1200)
    assert Bot.objects.get(pk=bot.pk).draft_revision == revision


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_theme_follows_the_system_and_screenshots(open_editor, owner, bot, scheme):
    ed = open_editor(owner, bot, color_scheme=scheme)
    page = ed.page
    background = page.evaluate("getComputedStyle(document.querySelector('.fs-left')).backgroundColor")
    brightness = sum(int(c) for c in background[background.index("(") + 1:background.index(")")].split(",")[:3])
    assert (brightness > 600) == (scheme == "light"), background
    ed.select_node("hello")
    ed.screenshot(f"editor-{scheme}.png")

    # Studio preferences: a forced theme wins over the system's.
    page.locator("#fs-menu").click()
    page.get_by_role("menuitem", name="Studio preferences…").click()
    other = "dark" if scheme == "light" else "light"
    page.get_by_label("Studio theme").select_option(other)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("html")).to_have_attribute("data-theme", other)
    page.reload()
    page.wait_for_selector("body[data-editor-ready=true]", state="attached")
    expect(page.locator("html")).to_have_attribute("data-theme", other)


def test_moving_nodes_saves_the_layout_without_a_logic_revision(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    revision = Bot.objects.get(pk=bot.pk).draft_revision
    head = ed.node("bye").locator(".fs-node-head").bounding_box()
    start = (head["x"] + 40, head["y"] + head["height"] / 2)
    ed.drag(start, (start[0] + 103, start[1] + 61))
    ed.saved()
    stored = Bot.objects.get(pk=bot.pk)
    assert stored.draft_revision == revision
    x, y = stored.layout["main"]["bye"]
    assert (x, y) != (320, 140)
    assert x % 20 == 0 and y % 20 == 0  # snap to grid is on by default
    assert abs(x - 420) <= 20 and abs(y - 200) <= 20


def test_select_several_nodes_with_a_box_delete_them_and_undo(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    page = ed.page
    hello = ed.node("hello").bounding_box()
    bye = ed.node("bye").bounding_box()
    page.keyboard.down("Shift")
    ed.drag((hello["x"] - 20, hello["y"] - 20), (bye["x"] + bye["width"] + 20, bye["y"] + bye["height"] + 20))
    page.keyboard.up("Shift")
    expect(page.locator("#fs-inspector h2")).to_have_text("2 nodes selected")
    page.keyboard.press("Delete")
    expect(ed.node("hello")).to_have_count(0)
    expect(ed.node("bye")).to_have_count(0)
    page.keyboard.press("ControlOrMeta+z")
    expect(ed.node("hello")).to_be_visible()
    expect(ed.node("bye")).to_be_visible()
    ed.saved()
    assert set(nodes_of(bot)) == {"start", "hello", "bye", "end"}


def test_delete_a_transition_by_clicking_it(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    ed.mouse.click(*ed.edge_point("e|hello|next"))
    expect(ed.page.locator("#fs-inspector h2")).to_have_text("Transition")
    ed.page.keyboard.press("Delete")
    expect(ed.page.locator('#fs-canvas g[data-cell-id="e|hello|next"]')).to_have_count(0)
    ed.saved()
    assert nodes_of(bot)["hello"]["next"] is None

    # Hovering a transition shows a remove button near its arrow.
    ed.mouse.move(*ed.edge_point("e|bye|next"))
    button = ed.page.locator('#fs-canvas g[data-cell-id="e|bye|next"] .x6-cell-tool-button')
    expect(button).to_be_visible()
    button.click()
    expect(ed.page.locator('#fs-canvas g[data-cell-id="e|bye|next"]')).to_have_count(0)
    ed.saved()
    assert nodes_of(bot)["bye"]["next"] is None


def test_panels_toggle_with_the_shortcuts(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    page = ed.page
    for keys, panel in (("ControlOrMeta+b", ".fs-left"), ("ControlOrMeta+Shift+e", ".fs-right"), ("ControlOrMeta+Shift+j", "#fs-problems")):
        expect(page.locator(panel)).to_be_visible()
        page.keyboard.press(keys)
        expect(page.locator(panel)).to_be_hidden()
        page.keyboard.press(keys)
        expect(page.locator(panel)).to_be_visible()


def publish_from_the_page(page, note):
    page.locator("#fs-publish").click()
    page.get_by_label("Note").fill(note)
    page.locator("dialog[open] button[value=ok]").click()
    expect(page.locator(".fs-toast").last).to_contain_text("Published version")


def test_versions_list_compare_and_restore(open_editor, owner, bot):
    ed = open_editor(owner, bot)
    page = ed.page
    publish_from_the_page(page, "first")
    ed.card("bye", "text").click()
    ed.type_into(ed.field("text"), "Three, reworded")
    ed.saved()
    publish_from_the_page(page, "second")

    page.get_by_role("button", name="Versions").click()
    versions = page.locator("#fs-versions .fs-version")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("v2")
    expect(versions.first).to_contain_text("second")
    expect(versions.first).to_contain_text(owner.email)
    page.get_by_label("Compare version 1").check()
    page.get_by_label("Compare version 2").check()
    page.get_by_role("button", name="Compare selected").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("Changes from v1 to v2")
    expect(dialog.locator(".fs-diff-changed", has_text="card")).to_contain_text("text card three in main › bye")
    dialog.get_by_role("button", name="Close").click()

    versions.nth(1).get_by_role("button", name="Restore").click()
    page.locator("dialog[open]").get_by_role("button", name="Restore").click()
    expect(ed.card("bye", "text")).to_contain_text("Three")
    expect(ed.card("bye", "text")).not_to_contain_text("reworded")
    assert nodes_of(bot)["bye"]["cards"][0]["text"] == "Three"


def test_export_and_import_from_the_menu(open_editor, owner, bot, tmp_path):
    import json

    ed = open_editor(owner, bot)
    page = ed.page
    page.locator("#fs-menu").click()
    with page.expect_download() as download:
        page.get_by_role("menuitem", name="Export bot file").click()
    exported = json.loads(download.value.path().read_text())
    assert exported == services.export_bot(Bot.objects.get(pk=bot.pk))
    assert download.value.suggested_filename.startswith("Small-")

    broken = copy.deepcopy(exported)
    broken["flows"][0]["nodes"][1]["next"] = "nowhere"
    bad_file = tmp_path / "broken.bot.json"
    bad_file.write_text(json.dumps(broken))
    page.locator("#fs-menu").click()
    page.get_by_role("menuitem", name="Import bot file…").click()
    page.get_by_label("Bot file (.json)").set_input_files(bad_file)
    page.get_by_role("button", name="Import and replace").click()
    refused = page.locator("dialog[open]", has_text="Import refused")
    expect(refused).to_contain_text("$.flows[0].nodes[1].next")
    refused.get_by_role("button", name="Close").click()
    assert nodes_of(bot)["hello"]["next"] == "bye"

    exported["flows"][0]["nodes"][1]["name"] = "Imported hello"
    good_file = tmp_path / "good.bot.json"
    good_file.write_text(json.dumps(exported))
    page.locator("#fs-menu").click()
    page.get_by_role("menuitem", name="Import bot file…").click()
    page.get_by_label("Bot file (.json)").set_input_files(good_file)
    page.get_by_role("button", name="Import and replace").click()
    expect(ed.node("hello")).to_contain_text("Imported hello")
    assert nodes_of(bot)["hello"]["name"] == "Imported hello"
