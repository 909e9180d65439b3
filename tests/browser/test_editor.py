"""Acceptance of the flow editor (issue 5): from an empty bot, with the mouse and the keyboard
only, build a two-flow bot (main calls a sub-flow with an input and an output variable, an
expression branch, a code card), publish it, and the published bot answers through the turn
service."""
import pytest
from playwright.sync_api import expect

from .editor_page import VIEWPORT, EditorPage
from flows import services
from flows.models import BotVersion
from runtime import turns

pytestmark = pytest.mark.browser


@pytest.fixture
def owner(make_user):
    return make_user()


@pytest.fixture
def editor(new_context, login, owner, studio_url):
    context = new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, owner)
    yield EditorPage(page), errors
    assert errors == [], f"JavaScript errors on the page: {errors}"


def replies(bot, text: str) -> list[str]:
    user = turns.get_or_create_user(bot)
    conversation = turns.start_conversation(bot, user)
    outcome = turns.send_user_message(conversation, text)
    assert not outcome.failed, outcome.error
    return [output.get("text") for output in outcome.outputs]


def test_build_a_two_flow_bot_from_empty_publish_it_and_talk_to_it(editor, owner, studio_url):
    ed, _ = editor
    page = ed.page
    bot = services.create_bot(owner.workspace, name="Greeter", user=owner)
    ed.open(studio_url, bot)
    expect(ed.node("start")).to_be_visible()

    # -- the sub-flow: greet(name) -> greeting ------------------------------------------------
    page.get_by_role("button", name="+ Flow").click()
    page.keyboard.type("greet")
    page.keyboard.press("Enter")
    expect(page.locator("#fs-flow-name")).to_have_text("greet")
    expect(ed.node("entry")).to_be_visible()

    page.get_by_role("button", name="+ Variable").click()
    page.get_by_label("Name", exact=True).click()
    page.keyboard.type("name")
    page.get_by_role("button", name="Add", exact=True).click()

    page.get_by_role("button", name="+ Variable").click()
    page.get_by_label("Name", exact=True).click()
    page.keyboard.type("greeting")
    page.get_by_label("Output (callers can read it)").check()
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator('#fs-explorer [data-scope="workflow"][data-variable="greeting"]')).to_contain_text("out")

    # Botpress's way to mark an input: select the Entry node, click the variable.
    ed.select_node("entry")
    page.locator('#fs-inspector .fs-chip[data-variable="name"]').click()
    expect(ed.node("entry")).to_contain_text("name")

    make = ed.add_node(300, 320)
    ed.drop_card("Execute Code", make)
    ed.type_into(ed.field("code"), "workflow.greeting = 'Hello, ' + workflow.name + '!'")
    ed.connect(ed.port("entry", "next"), make)
    ed.connect(ed.port(make, "next"), "exit")
    ed.saved()

    # -- main: call greet, say the greeting, branch on its length -----------------------------
    ed.open_flow("main")
    ask = ed.add_node(200, 330)
    ed.drop_card("greet", ask)  # the tray lists each custom flow as a Workflow card
    expect(ed.field("flow")).to_have_value("greet")
    ed.type_into(page.locator("#fs-input-name"), "{{event.preview}}")
    ed.drop_card("Text", ask)
    ed.type_into(ed.field("text"), "{{workflow.greet.greeting}}")
    ed.drop_card("Expression", ask)
    ed.type_into(ed.field("condition"), "workflow.greet.greeting.length > 12")

    long_node = ed.add_node(600, 280)
    ed.drop_card("Text", long_node)
    ed.type_into(ed.field("text"), "That is a long name")
    short_node = ed.add_node(600, 520)
    ed.drop_card("Text", short_node)
    ed.type_into(ed.field("text"), "Short and sweet")

    ed.connect(ed.port("start", "next"), ask)
    ed.connect(ed.card_port(ask, "expression"), long_node)
    ed.connect(ed.port(ask, "next"), short_node)
    ed.saved()
    expect(page.locator("#fs-problems-badge")).not_to_contain_text("error")

    # -- publish ----------------------------------------------------------------------------
    page.locator("#fs-publish").click()
    page.get_by_label("Note").click()
    page.keyboard.type("greeter, first cut")
    page.locator("dialog[open] button[value=ok]").click()
    expect(page.locator(".fs-toast")).to_contain_text("Published version 1")
    ed.screenshot("editor-acceptance.png")

    version = BotVersion.objects.get(bot=bot, number=1)
    assert version.note == "greeter, first cut"
    assert version.author == owner

    # -- the published bot answers through the turn service ------------------------------------
    assert replies(bot, "Bob") == ["Hello, Bob!", "Short and sweet"]
    assert replies(bot, "Maximilian") == ["Hello, Maximilian!", "That is a long name"]
