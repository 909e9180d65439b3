"""Every method of window.botpress from the host page, and every event it announces."""
import pytest
from playwright.sync_api import expect

from integrations.webchat.models import WebchatUser
from runtime.models import Conversation

from .webchat_pages import bot_bubbles, demo_bot, events, host_page, user_bubbles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def wait_for_event(page, name, count=1):
    page.wait_for_function(
        "([name, count]) => window.__events.filter(e => e.name === name).length >= count", arg=[name, count])
    return events(page, name)


def test_every_api_method_and_every_event(page, studio_server, host_pages):
    bot = demo_bot(allowed_origins=[host_pages.origin])
    page.goto(host_pages.add(host_page(studio_server, bot)))

    # init (run by config.js) announces initialized, then ready once connected.
    wait_for_event(page, "webchat:ready")
    names = [e["name"] for e in events(page)]
    assert names.index("webchat:initialized") < names.index("webchat:ready")
    first_conversation = events(page, "conversation")[0]["data"]
    ready = events(page, "webchat:ready")[0]["data"]
    assert ready["conversationId"] == first_conversation
    assert page.evaluate("botpress.initialized") is True
    assert page.evaluate("botpress.version")
    # Calling init again only merges configuration: still one widget.
    page.evaluate("botpress.init(window.botpressConfig)")
    assert page.locator("#bp-web-widget-container").count() == 1

    # open / close / toggle and their events; the first open starts the conversation.
    page.evaluate("botpress.open()")
    expect(page.locator(".bpWebchat")).to_be_visible()
    assert page.evaluate("botpress.state") == "opened"
    expect(bot_bubbles(page)).to_have_text(["Hi! I'm the Flowstudio webchat demo.", "What's your name?"])
    welcome = wait_for_event(page, "message", 2)
    assert [m["data"]["payload"]["text"] for m in welcome] == ["Hi! I'm the Flowstudio webchat demo.", "What's your name?"]
    page.evaluate("botpress.close()")
    expect(page.locator(".bpWebchat")).to_be_hidden()
    page.evaluate("botpress.toggle()")
    expect(page.locator(".bpWebchat")).to_be_visible()
    page.evaluate("botpress.toggle()")
    expect(page.locator(".bpWebchat")).to_be_hidden()
    assert [e["name"] for e in events(page) if e["name"] in ("webchat:opened", "webchat:closed")] == [
        "webchat:opened", "webchat:closed", "webchat:opened", "webchat:closed"]

    # sendMessage resolves once stored and announces messageSent; choices can be typed too.
    sent = page.evaluate("botpress.sendMessage('Ada')")
    assert sent["payload"] == {"type": "text", "text": "Ada"} and sent["seq"] > 0
    assert wait_for_event(page, "messageSent")[0]["data"]["seq"] == sent["seq"]
    wait_for_event(page, "message", 3)
    page.evaluate("botpress.sendMessage('Pro')")

    # The flow's Send Custom Event card reaches the page as customEvent.
    custom = wait_for_event(page, "customEvent")
    assert custom[0]["data"] == {"type": "plan-chosen", "plan": "pro"}

    # getUser / updateUser, read back by the bot's Get User Data card (a custom trigger).
    user = page.evaluate("botpress.getUser()")
    assert user["id"] == ready["userId"]
    updated = page.evaluate("botpress.updateUser({name: 'Ada Lovelace', pictureUrl: 'https://example.com/ada.png', data: {plan: 'pro'}})")
    assert (updated["name"], updated["pictureUrl"], updated["data"]) == ("Ada Lovelace", "https://example.com/ada.png", {"plan": "pro"})
    assert page.evaluate("botpress.getUser()")["name"] == "Ada Lovelace"
    profile = WebchatUser.objects.get(end_user__external_id=user["id"])
    assert profile.data == {"plan": "pro"}
    result = page.evaluate("botpress.sendEvent({type: 'whoami'})")
    assert result["seq"] > 0
    page.evaluate("botpress.open()")
    expect(bot_bubbles(page).last).to_have_text("You are Ada Lovelace on the pro plan.")

    # config changes the widget live.
    page.evaluate("botpress.config({configuration: {botName: 'Shop helper', composerPlaceholder: 'Ask away'}})")
    expect(page.locator(".bpHeaderContentTitle")).to_have_text("Shop helper")
    expect(page.locator(".bpComposerInput")).to_have_attribute("placeholder", "Ask away")

    # The bot drives the widget: Configure Webchat, and Show Webchat from a closed state.
    page.evaluate("botpress.sendEvent({type: 'go-dark'})")
    expect(page.locator(".bpRoot")).to_have_attribute("data-theme", "dark")
    expect(page.locator(".bpComposerInput")).to_have_attribute("placeholder", "Ask me in the dark...")
    page.evaluate("botpress.close()")
    page.evaluate("botpress.sendEvent({type: 'show-pricing'})")
    expect(page.locator(".bpWebchat")).to_be_visible()
    card = page.locator(".bpMessageBlocksCardContainer")
    expect(card.locator(".bpMessageBlocksCardTitle")).to_have_text("Pro plan")
    expect(card.get_by_role("link", name="Compare plans")).to_have_attribute("href", "https://example.com/pricing")
    card.get_by_role("button", name="Choose Pro").click()
    expect(user_bubbles(page).last).to_have_text("Choose Pro")
    expect(bot_bubbles(page).last).to_have_text("Good choice: pro.")

    # error: the server refuses a bad update; the promise rejects and the page is told.
    message = page.evaluate("botpress.updateUser({pictureUrl: 'javascript:alert(1)'}).then(() => 'resolved', e => e.message)")
    assert "pictureUrl must be an http(s) address" in message
    error = wait_for_event(page, "error")[0]["data"]
    assert error["code"] == "bad_request" and "pictureUrl" in error["message"]

    # restartConversation: a new conversation (same user), announced, welcomed again.
    new_id = page.evaluate("botpress.restartConversation()")
    assert new_id != first_conversation
    assert events(page, "conversation")[-1]["data"] == new_id
    expect(bot_bubbles(page)).to_have_text(["Hi! I'm the Flowstudio webchat demo.", "What's your name?"])
    assert page.evaluate("botpress.user.id") == user["id"]
    assert Conversation.objects.filter(bot=bot, user__external_id=user["id"]).count() == 2

    # on() returns an unsubscribe function.
    page.evaluate("window.__off = botpress.on('webchat:opened', () => { window.__late = true; }); window.__off();")
    page.evaluate("botpress.close(); botpress.open()")
    assert page.evaluate("window.__late") is None

    seen = {e["name"] for e in events(page)}
    assert seen == {"webchat:initialized", "webchat:ready", "webchat:opened", "webchat:closed", "message",
                    "messageSent", "customEvent", "conversation", "error"}
