"""The hosted share page, and the bot's Webchat settings page: live preview, save, errors,
the embed snippet and its copy button, the identity secret."""
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from playwright.sync_api import expect

from integrations.webchat import services as webchat
from integrations.webchat.models import WebchatSettings
from studio.people.models import Membership, Role

from .webchat_pages import bot_bubbles, demo_bot, user_bubbles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def logged_in(context, studio_server, bot):
    """A member who may configure the bot (the settings page is for its editors only)."""
    user = get_user_model().objects.create_user("owner", password="a long enough password")
    Membership.objects.create(workspace=bot.workspace, user=user, role=Role.ADMINISTRATOR)
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": studio_server}])


def test_the_share_page_opens_the_bot_full_screen(page, studio_server):
    bot = demo_bot(bot_name="Shop helper", allowed_origins=["https://shop.example.com"])
    page.goto(f"{studio_server}/s/{bot.pk}")
    expect(page).to_have_title("Shop helper")
    window = page.locator(".bpWebchat")
    expect(window).to_be_visible()
    box = window.bounding_box()
    viewport = page.viewport_size
    assert (box["width"], box["height"]) == (viewport["width"], viewport["height"])
    expect(page.locator(".bpFab")).to_be_hidden()
    expect(page.locator(".bpHeaderCloseButton")).to_be_hidden()
    # The studio's own page is always allowed, whatever the allowed origins say.
    expect(bot_bubbles(page)).to_have_text(["Hi! I'm the Flowstudio webchat demo.", "What's your name?"])
    page.locator(".bpComposerInput").fill("Ada")
    page.locator(".bpComposerInput").press("Enter")
    expect(user_bubbles(page)).to_have_text(["Ada"])
    expect(page.locator(".bpMessageBlocksButton")).to_have_text(["Starter", "Pro", "Enterprise"])


def test_the_settings_page_previews_live_saves_and_copies_the_snippet(browser, studio_server):
    bot = demo_bot()
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    logged_in(context, studio_server, bot)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{studio_server}/bots/{bot.pk}/webchat/")
    preview = page.frame_locator("#webchat-preview")
    expect(preview.locator(".bpWebchat")).to_be_visible()
    expect(preview.locator(".bpHeaderContentTitle")).to_have_text("Webchat demo")
    expect(preview.locator(".bpMessageFromBot").first).to_contain_text("Hi! I'm the Flowstudio webchat demo.")

    # Unsaved changes show in the preview as they are typed.
    page.fill("#id_bot_name", "Shop helper")
    page.fill("#id_primary_color", "#AA0000")
    page.select_option("#id_theme", "dark")
    page.fill("#id_custom_css", ".bpHeaderContentTitle { text-transform: uppercase; }")
    expect(preview.locator(".bpHeaderContentTitle")).to_have_text("Shop helper")
    expect(preview.locator(".bpHeaderContainer")).to_have_css("background-color", "rgb(170, 0, 0)")
    expect(preview.locator(".bpRoot")).to_have_attribute("data-theme", "dark")
    expect(preview.locator(".bpHeaderContentTitle")).to_have_css("text-transform", "uppercase")
    assert WebchatSettings.objects.get(bot=bot).bot_name == ""

    page.fill("#id_allowed_origins", "https://shop.example.com\nhttps://*.example.org")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Settings saved.")).to_be_visible()
    saved = WebchatSettings.objects.get(bot=bot)
    assert (saved.bot_name, saved.primary_color, saved.theme) == ("Shop helper", "#AA0000", "dark")
    assert saved.allowed_origins == ["https://shop.example.com", "https://*.example.org"]
    config = page.request.get(f"{studio_server}/webchat/{bot.pk}/config.js").text()
    assert '"botName":"Shop helper"' in config and "example.org" not in config

    # A bad value saves nothing and says which field and why.
    page.fill("#id_primary_color", "red")
    page.fill("#id_allowed_origins", "shop.example.com/path")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.locator("#general ~ section .error, .error")).to_contain_text(
        ["'red' must be a hex colour like #3276EA", "'shop.example.com/path' must start with http:// or https://"])
    assert WebchatSettings.objects.get(bot=bot).primary_color == "#AA0000"

    # The embed snippet and its copy button.
    snippet = page.locator("#embed-snippet").inner_text()
    assert snippet == (f'<script src="{studio_server}/webchat/inject.js"></script>\n'
                       f'<script src="{studio_server}/webchat/{bot.pk}/config.js" defer></script>')
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == snippet
    expect(page.locator("#share-link")).to_have_attribute("href", f"{studio_server}/s/{bot.pk}")

    # The identity secret: generated on demand, shown to the owner, stored encrypted.
    page.get_by_role("button", name="Generate a secret").click()
    secret = page.locator("#identity-secret").inner_text()
    stored = WebchatSettings.objects.get(bot=bot)
    assert stored.identity_secret == secret and secret not in stored.encrypted_identity_secret
    context.close()


def test_the_settings_page_is_for_the_bots_editors_only(browser, studio_server):
    bot = demo_bot()
    context = browser.new_context()
    user = get_user_model().objects.create_user("stranger", password="a long enough password")
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": studio_server}])
    page = context.new_page()
    assert page.goto(f"{studio_server}/bots/{bot.pk}/webchat/").status == 404  # not a member: no such bot
    Membership.objects.create(workspace=bot.workspace, user=user, role=Role.VIEWER)
    assert page.goto(f"{studio_server}/bots/{bot.pk}/webchat/").status == 403  # a viewer cannot see the secret
    context.close()


def test_the_settings_page_needs_a_login(page, studio_server):
    bot = demo_bot()
    response = page.request.get(f"{studio_server}/bots/{bot.pk}/webchat/", max_redirects=0)
    assert response.status == 302 and "login" in response.headers["location"]
    assert webchat.get_settings(bot).identity_secret == ""
