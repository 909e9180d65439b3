"""Who may embed the widget, and what neither the bot nor the user can do to the page:
allowed origins, no script injection, isolation from the host's CSS, custom CSS, signed
identities."""
import hashlib
import hmac

import jwt
import pytest
from playwright.sync_api import expect

from integrations.webchat import services as webchat
from runtime.models import Conversation

from .webchat_pages import bot_bubbles, demo_bot, events, host_page, publish_bot, user_bubbles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold?</b>'


def xss_bot():
    return {
        "format": "flowstudio.bot/1",
        "name": "Echo <b>bot</b>",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "loop"},
            {"id": "loop", "kind": "standard", "cards": [
                {"id": "plain", "type": "text", "text": XSS + " you said {{event.preview}}"},
                {"id": "md", "type": "text", "markdown": True,
                 "text": "**hi** " + XSS + " [click](javascript:window.__xss=3) [ok](https://example.com/a?b=1)"},
                {"id": "pic", "type": "image", "url": "javascript:window.__xss=4", "title": "<i>caption</i>"},
                {"id": "pick", "type": "capture", "capture": "raw", "variable": "workflow.x", "prompt": "Pick",
                 "choices": [{"label": "<img src=x onerror=window.__xss=5>", "value": "v"}]},
            ], "next": "loop"},
        ]}],
    }


def test_a_page_on_an_origin_that_is_not_allowed_is_refused(page, studio_server, host_pages):
    bot = demo_bot(allowed_origins=["https://shop.example.com"])
    page.goto(host_pages.add(host_page(studio_server, bot)))
    page.wait_for_function("window.__events.some(e => e.name === 'error')")
    error = events(page, "error")[0]["data"]
    assert error["code"] == "origin_not_allowed"
    assert host_pages.origin in error["message"]
    assert events(page, "webchat:ready") == []
    page.locator(".bpFab").click()
    expect(page.locator(".bpErrorContainer")).to_be_visible()
    expect(page.locator(".bpErrorContainer")).to_contain_text("is not allowed to embed")
    sent = page.evaluate("botpress.sendMessage('hello?').then(() => 'sent', e => e.message)")
    assert "is not allowed to embed" in sent
    assert not Conversation.objects.filter(bot=bot).exists()

    # The same page on an allowed origin works.
    webchat.update_settings(bot, {"allowed_origins": ["https://shop.example.com", host_pages.origin]})
    page.reload()
    page.wait_for_function("window.__events.some(e => e.name === 'webchat:ready')")


def test_bot_and_user_html_is_shown_as_text_never_run(page, studio_server, host_pages):
    bot = publish_bot(xss_bot())
    page.goto(host_pages.add(host_page(studio_server, bot)))
    page.wait_for_function("window.__events.some(e => e.name === 'webchat:ready')")
    page.evaluate("botpress.open()")
    user_text = "<script>window.__xss=6</script><img src=y onerror=window.__xss=7>"
    page.locator(".bpComposerInput").fill(user_text)
    page.locator(".bpComposerInput").press("Enter")

    expect(user_bubbles(page)).to_have_text([user_text])
    plain = page.locator(".bpMessageFromBot[data-type=text] .bpMessageBlocksTextText").first
    expect(plain).to_have_text(XSS + " you said " + user_text)
    markdown = page.locator(".bpMessageFromBot[data-type=markdown]")
    expect(markdown.locator("strong")).to_have_text(["hi"])
    expect(markdown).to_contain_text(XSS)
    # A javascript: link stays text; an https link is a link that opens elsewhere.
    expect(markdown.locator("a")).to_have_count(1)
    expect(markdown.locator("a")).to_have_attribute("href", "https://example.com/a?b=1")
    expect(markdown.locator("a")).to_have_attribute("rel", "noopener noreferrer")
    expect(page.locator(".bpMessageFromBot[data-type=image]")).to_contain_text("<i>caption</i>")
    expect(page.locator(".bpMessageFromBot[data-type=image] img")).to_have_count(0)
    expect(page.locator(".bpMessageBlocksButton")).to_have_text(["<img src=x onerror=window.__xss=5>"])
    expect(page.locator(".bpHeaderContentTitle")).to_have_text("Echo <b>bot</b>")

    page.wait_for_timeout(500)  # any injected onerror handler would have run by now
    assert page.evaluate("window.__xss") is None
    injected = page.evaluate("""() => {
        const root = document.getElementById('bp-web-widget-container').shadowRoot;
        return {scripts: root.querySelectorAll('script').length, handlers: root.querySelectorAll('[onerror]').length,
                bold: root.querySelectorAll('b').length, italic: root.querySelectorAll('i').length};
    }""")
    assert injected == {"scripts": 0, "handlers": 0, "bold": 0, "italic": 0}
    assert page.locator("img[src=x], img[src=y]").count() == 0


def test_custom_css_is_applied_and_the_host_css_does_not_leak_in(page, studio_server, host_pages):
    bot = demo_bot(custom_css=".bpHeaderContainer { background: rgb(1, 2, 3); }\n"
                              ".bpComposerSendButton { border-radius: 0px; }",
                   primary_color="#112233", bot_name="Styled bot")
    page.goto(host_pages.add(host_page(studio_server, bot)))
    page.locator(".bpFab").click()
    header = page.locator(".bpHeaderContainer")
    expect(header).to_have_css("background-color", "rgb(1, 2, 3)")
    expect(page.locator(".bpComposerSendButton")).to_have_css("border-radius", "0px")
    expect(page.locator(".bpComposerSendButton")).to_have_css("background-color", "rgb(17, 34, 51)")
    expect(page.locator(".bpHeaderContentTitle")).to_have_text("Styled bot")
    # The page styles body text, every button and every div; none of it reaches the widget.
    expect(page.locator(".bpHeaderContentTitle")).not_to_have_css("font-family", '"Comic Sans MS", cursive')
    expect(page.locator(".bpMessageListContainer")).to_have_css("border-top-width", "0px")
    expect(page.locator(".bpHeaderCloseButton")).not_to_have_css("background-color", "rgb(255, 255, 0)")
    expect(bot_bubbles(page).first).not_to_have_css("color", "rgb(255, 0, 0)")


def test_a_signed_identity_is_recognised_in_another_browser(browser, studio_server, host_pages):
    bot = demo_bot()
    secret = webchat.generate_identity_secret(bot)
    user_hash = hmac.new(secret.encode(), b"customer-42", hashlib.sha256).hexdigest()
    signed = host_pages.add(host_page(studio_server, bot, settings={"identity": {"userId": "customer-42", "userHash": user_hash}}))

    laptop = browser.new_context()
    page = laptop.new_page()
    page.goto(signed)
    page.locator(".bpFab").click()
    page.locator(".bpComposerInput").fill("Ada")
    page.locator(".bpComposerInput").press("Enter")
    expect(bot_bubbles(page).last).to_contain_text("Which plan interests you?")
    assert page.evaluate("botpress.user.id") == "verified:customer-42"
    assert page.evaluate("botpress.user.verified") is True
    laptop.close()

    # Another browser (nothing in its storage), the same signed user: the same conversation.
    phone = browser.new_context()
    page = phone.new_page()
    token = jwt.encode({"sub": "customer-42", "name": "Ada L."}, secret, algorithm="HS256")
    page.goto(host_pages.add(host_page(studio_server, bot, settings={"identity": {"token": token}})))
    page.locator(".bpFab").click()
    expect(user_bubbles(page)).to_have_text(["Ada"])
    expect(bot_bubbles(page).last).to_contain_text("Which plan interests you?")
    assert page.evaluate("botpress.user.name") == "Ada L."

    # A forged hash is refused, and the page hears why.
    forged = host_pages.add(host_page(studio_server, bot, settings={"identity": {"userId": "customer-42", "userHash": "0" * 64}}))
    page.goto(forged)
    page.wait_for_function("window.__events.some(e => e.name === 'error')")
    assert events(page, "error")[0]["data"]["code"] == "identity_invalid"
    phone.close()
    assert Conversation.objects.filter(bot=bot).count() == 1
