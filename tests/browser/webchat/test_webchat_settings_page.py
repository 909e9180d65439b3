"""The bot's Webchat settings page inside the studio (its frame, navigation, buttons and
theme), and what an empty chat says when the bot does not greet on open: the preview, the
share page and the embedded widget."""
import json
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from flows.greeting import NO_GREETING_HINT
from runtime.models import Event
from studio.people.models import Membership, Role

from .webchat_pages import bot_bubbles, demo_bot, host_page, publish_bot, user_bubbles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# examples/demo.bot.json greets from `start`, on the first message: nothing speaks on open.
SILENT = Path(__file__).resolve().parents[3] / "examples" / "demo.bot.json"
VISITOR_PROMPT = "Send a message to start the conversation."
LIGHT_BG, DARK_BG = "rgb(246, 247, 249)", "rgb(17, 20, 24)"  # --bg of static/studio/studio.css


def silent_bot(**settings):
    return publish_bot(json.loads(SILENT.read_text()), **settings)


def builder_context(browser, studio_server, bot, **options):
    user = get_user_model().objects.create_user("builder", password="a long enough password")
    Membership.objects.create(workspace=bot.workspace, user=user, role=Role.ADMINISTRATOR)
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, **options)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": studio_server}])
    return context


def open_settings(context, studio_server, bot):
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{studio_server}/bots/{bot.pk}/webchat/")
    return page


def opened_and_answered(bot, conversations=1):
    """Wait until the widgets' "conversation started" turns are done: closing a page while the
    server still writes a turn would race the flush that ends the test."""
    deadline = time.monotonic() + 15
    events = Event.objects.filter(conversation__bot=bot)
    while (events.filter(type="conversation_started").count() < conversations
           or events.filter(status=Event.Status.RECEIVED).exists()):
        assert time.monotonic() < deadline, "the widget's conversation-started turn did not finish"
        time.sleep(0.1)


def background(locator):
    return locator.evaluate("e => getComputedStyle(e).backgroundColor")


def test_the_settings_page_is_a_studio_page_with_its_navigation_and_buttons(browser, studio_server):
    bot = demo_bot()
    context = builder_context(browser, studio_server, bot)
    page = open_settings(context, studio_server, bot)
    expect(page).to_have_title(f"Webchat · {bot.name} · Flowstudio")
    nav = page.get_by_role("navigation", name="Workspace")
    expect(nav.get_by_role("link", name="Bots")).to_be_visible()
    expect(nav.get_by_role("link", name="Members")).to_be_visible()
    expect(page.locator(".topbar .brand")).to_have_text("Flowstudio")
    expect(page.locator("[data-theme-toggle]")).to_be_visible()
    # The way back: the workspace's bots and the bot's own page.
    expect(page.get_by_role("link", name=bot.name)).to_have_attribute("href", f"/bots/{bot.pk}/")
    # The studio's buttons: Save is a primary button like the dashboard's "Open in editor".
    save = page.get_by_role("button", name="Save")
    accent = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")
    assert accent == "#4f46e5"
    expect(save).to_have_css("background-color", "rgb(79, 70, 229)")
    expect(page.get_by_role("button", name="Copy")).to_have_css("border-radius", "8px")
    expect(page.locator("section.card#general")).to_have_css("background-color", "rgb(255, 255, 255)")
    opened_and_answered(bot)
    context.close()


@pytest.mark.parametrize("how", ["toggle", "system"])
def test_dark_mode_makes_the_settings_page_dark(browser, studio_server, how):
    bot = demo_bot()
    context = builder_context(browser, studio_server, bot, color_scheme="dark" if how == "system" else "light")
    page = open_settings(context, studio_server, bot)
    if how == "toggle":
        assert background(page.locator("body")) == LIGHT_BG
        toggle = page.locator("[data-theme-toggle]")
        toggle.click()  # auto -> light
        toggle.click()  # light -> dark
        expect(toggle).to_have_attribute("data-mode", "dark")
    expect(page.locator("body")).to_have_css("background-color", DARK_BG)
    expect(page.locator("section.card#general")).to_have_css("background-color", "rgb(26, 30, 36)")
    expect(page.locator("#id_bot_name")).to_have_css("color", "rgb(231, 234, 238)")
    expect(page.locator("#embed-snippet")).to_have_css("background-color", "rgb(34, 40, 49)")
    # The page around the preview's widget follows (the widget keeps its own theme setting).
    preview = page.frame_locator("#webchat-preview")
    expect(preview.locator("body")).to_have_css("background-color", "rgb(34, 40, 49)")
    if how == "toggle":
        page.reload()  # the choice is remembered
        expect(page.locator("body")).to_have_css("background-color", DARK_BG)
    opened_and_answered(bot)
    context.close()


def test_the_preview_of_a_bot_that_does_not_greet_says_how_to_greet(browser, studio_server):
    bot = silent_bot()
    context = builder_context(browser, studio_server, bot)
    page = open_settings(context, studio_server, bot)
    preview = page.frame_locator("#webchat-preview")
    expect(preview.locator(".bpWebchat")).to_be_visible()
    expect(preview.locator(".bpEmptyState")).to_have_text(NO_GREETING_HINT)
    expect(preview.locator(".bpEmptyState")).to_contain_text("add a Trigger node of type Conversation started")
    expect(page.locator("#greeting-hint")).to_contain_text(NO_GREETING_HINT)
    expect(page.locator("#greeting-hint").get_by_role("link", name="Open the editor")).to_have_attribute(
        "href", f"/bots/{bot.pk}/editor/")
    expect(preview.locator(".bpMessageFromBot")).to_have_count(0)
    # Once the conversation has begun the hint gives way to it.
    preview.locator(".bpComposerInput").fill("hello")
    preview.locator(".bpComposerInput").press("Enter")
    expect(user_bubbles(preview)).to_have_text(["hello"])
    expect(preview.locator(".bpEmptyState")).to_be_hidden()
    expect(bot_bubbles(preview).first).to_be_visible()
    opened_and_answered(bot)
    context.close()


def test_the_preview_of_a_bot_that_greets_shows_the_greeting(browser, studio_server):
    bot = demo_bot()
    context = builder_context(browser, studio_server, bot)
    page = open_settings(context, studio_server, bot)
    preview = page.frame_locator("#webchat-preview")
    expect(bot_bubbles(preview)).to_have_text(["Hi! I'm the Flowstudio webchat demo.", "What's your name?"])
    expect(preview.locator(".bpEmptyState")).to_be_hidden()
    expect(page.locator("#greeting-hint")).to_have_count(0)
    expect(page.locator("#greeting-status")).to_contain_text("Conversation started")
    opened_and_answered(bot)
    context.close()


def test_the_share_page_and_the_embedded_widget_of_a_silent_bot_are_not_an_empty_chat(browser, studio_server,
                                                                                         host_pages, page):
    bot = silent_bot(allowed_origins=[host_pages.origin])
    # A visitor: how to begin, not the builder's instructions.
    page.goto(f"{studio_server}/s/{bot.pk}")
    expect(page.locator(".bpEmptyState")).to_have_text(VISITOR_PROMPT)
    page.goto(host_pages.add(host_page(studio_server, bot)))
    page.locator(".bpFab").click()
    expect(page.locator(".bpEmptyState")).to_have_text(VISITOR_PROMPT)
    expect(page.locator(".bpEmptyState")).to_have_css("text-align", "center")
    # The bot's builder on the share page reads how to greet on open.
    context = builder_context(browser, studio_server, bot)
    share = context.new_page()
    share.goto(f"{studio_server}/s/{bot.pk}")
    expect(share.locator(".bpEmptyState")).to_have_text(NO_GREETING_HINT)
    opened_and_answered(bot, conversations=3)
    context.close()
