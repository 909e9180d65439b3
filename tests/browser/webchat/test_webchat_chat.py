"""A visitor on a customer's site (another origin than the studio) chats with the demo bot:
welcome on open, a capture, a choice; reloads and keeps the conversation; with
sessionStorage gets a fresh one."""
import threading

import pytest
from playwright.sync_api import expect

from runtime.models import Conversation

from .webchat_pages import bot_bubbles, demo_bot, events, host_page, user_bubbles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_widget(page):
    page.locator(".bpFab").click()
    expect(page.locator(".bpWebchat")).to_be_visible()


def say(page, text):
    page.locator(".bpComposerInput").fill(text)
    page.locator(".bpComposerInput").press("Enter")


def test_chat_through_a_capture_and_a_choice_then_reload_keeps_the_conversation(page, studio_server, host_pages):
    bot = demo_bot(allowed_origins=[host_pages.origin])
    url = host_pages.add(host_page(studio_server, bot))
    page.goto(url)
    expect(page.locator(".bpFab")).to_be_visible()
    expect(page.locator(".bpWebchat")).to_be_hidden()

    open_widget(page)
    expect(bot_bubbles(page)).to_have_text(["Hi! I'm the Flowstudio webchat demo.", "What's your name?"])
    expect(page.locator(".bpHeaderContentTitle")).to_have_text("Webchat demo")

    say(page, "Ada")
    expect(user_bubbles(page)).to_have_text(["Ada"])
    question = page.locator(".bpMessageFromBot", has_text="Which plan interests you?")
    expect(question.locator(".bpMessageBlocksTextText")).to_have_text("Nice to meet you, Ada! Which plan interests you?")
    expect(question.locator(".bpMessageBlocksButton")).to_have_text(["Starter", "Pro", "Enterprise"])

    question.get_by_role("button", name="Pro").click()
    # The click is the user's reply, shown as their own message.
    expect(user_bubbles(page)).to_have_text(["Ada", "Pro"])
    summary = page.locator(".bpMessageFromBot[data-type=markdown]")
    expect(summary).to_contain_text("Thanks Ada, you picked the pro plan.")
    expect(summary.locator("strong")).to_have_text("Ada")
    expect(summary.locator("em")).to_have_text("pro")
    expect(question.locator(".bpMessageBlocksButton").first).to_be_disabled()
    conversation_id = page.evaluate("botpress.conversationId")
    stored = page.evaluate(f"JSON.parse(localStorage.getItem('bp-webchat:{bot.pk}'))")
    assert stored["conversationId"] == conversation_id and stored["userKey"]

    page.reload()
    open_widget(page)
    expect(bot_bubbles(page).first).to_have_text("Hi! I'm the Flowstudio webchat demo.")
    expect(user_bubbles(page)).to_have_text(["Ada", "Pro"])
    expect(page.locator(".bpMessageFromBot[data-type=markdown]")).to_contain_text("you picked the pro plan")
    assert page.evaluate("botpress.conversationId") == conversation_id
    # History is shown, not announced again; and no second welcome was sent.
    page.wait_for_timeout(300)
    assert events(page, "message") == []
    assert Conversation.objects.filter(bot=bot).count() == 1
    assert bot_bubbles(page).filter(has_text="Hi! I'm the Flowstudio webchat demo.").count() == 1


def test_session_storage_gives_a_fresh_conversation_per_tab(context, page, studio_server, host_pages):
    bot = demo_bot()
    local_url = host_pages.add(host_page(studio_server, bot))
    page.goto(local_url)
    open_widget(page)
    say(page, "Grace")
    expect(user_bubbles(page)).to_have_text(["Grace"])
    local_conversation = page.evaluate("botpress.conversationId")

    # Same site, same browser, the owner switched the storage to sessionStorage.
    session_url = host_pages.add(host_page(studio_server, bot, settings={"configuration": {"storageLocation": "sessionStorage"}}))
    page.goto(session_url)
    open_widget(page)
    expect(bot_bubbles(page)).to_have_text(["Hi! I'm the Flowstudio webchat demo.", "What's your name?"])
    expect(user_bubbles(page)).to_have_count(0)
    fresh = page.evaluate("botpress.conversationId")
    assert fresh != local_conversation
    say(page, "Linus")
    expect(user_bubbles(page)).to_have_text(["Linus"])

    # sessionStorage survives a reload of the tab...
    page.reload()
    open_widget(page)
    expect(user_bubbles(page)).to_have_text(["Linus"])
    assert page.evaluate("botpress.conversationId") == fresh

    # ...but a new tab starts over as a new user.
    other = context.new_page()
    other.goto(session_url)
    open_widget(other)
    expect(bot_bubbles(other)).to_have_text(["Hi! I'm the Flowstudio webchat demo.", "What's your name?"])
    expect(user_bubbles(other)).to_have_count(0)
    assert other.evaluate("botpress.conversationId") not in (fresh, local_conversation)
    assert other.evaluate("botpress.user.id") != page.evaluate("botpress.user.id")


def test_the_one_script_embed_with_a_data_attribute(page, studio_server, host_pages):
    bot = demo_bot(bot_name="One script")
    page.goto(host_pages.add(f"""<!DOCTYPE html><html><body><p>Shop</p>
<script src="{studio_server}/webchat/inject.js" data-bot-id="{bot.pk}"></script></body></html>"""))
    page.locator(".bpFab").click()
    expect(page.locator(".bpHeaderContentTitle")).to_have_text("One script")
    expect(bot_bubbles(page)).to_have_text(["Hi! I'm the Flowstudio webchat demo.", "What's your name?"])
    # Escape closes the window.
    page.keyboard.press("Escape")
    expect(page.locator(".bpWebchat")).to_be_hidden()


def test_a_dropped_connection_resumes_with_what_was_missed(page, studio_server, host_pages):
    from integrations.webchat import services as webchat

    bot = demo_bot()
    sockets = []

    def route(ws):
        sockets.append(ws)
        if len(sockets) != 2:
            ws.connect_to_server()
        # The second connection goes nowhere: the widget is cut off from the studio.

    page.route_web_socket(f"{studio_server.replace('http', 'ws')}/ws/webchat/**", route)
    page.goto(host_pages.add(host_page(studio_server, bot)))
    open_widget(page)
    say(page, "Ada")
    expect(page.locator(".bpMessageBlocksButton")).to_have_text(["Starter", "Pro", "Enterprise"])
    seen_before = len(events(page, "message"))

    sockets[0].close(code=1012, reason="restart")
    expect(page.locator(".bpErrorContainer")).to_have_text("Connection lost. Reconnecting...")
    for _ in range(50):  # the widget reconnects after half a second
        if len(sockets) == 2:
            break
        page.wait_for_timeout(100)
    assert len(sockets) == 2

    # Meanwhile the conversation goes on (the user answered from another tab). In a thread
    # of its own: this one runs Playwright's event loop, and delivery needs a thread without.
    user_key = page.evaluate(f"JSON.parse(localStorage.getItem('bp-webchat:{bot.pk}')).userKey")
    conversation_id = page.evaluate("botpress.conversationId")

    def another_tab():
        session = webchat.resume_session(bot.pk, origin=host_pages.origin, host="x",
                                         user_key=user_key, conversation_id=conversation_id)
        webchat.post_message(session, {"type": "choice", "value": "pro", "label": "Pro"})
        webchat.process(session.conversation.pk)

    tab = threading.Thread(target=another_tab)
    tab.start()
    tab.join()

    sockets[1].close(code=1012, reason="restart")
    expect(page.locator(".bpMessageFromBot[data-type=markdown]")).to_contain_text("you picked the pro plan")
    expect(page.locator(".bpErrorContainer")).to_be_hidden()
    expect(user_bubbles(page)).to_have_text(["Ada", "Pro"])
    expect(bot_bubbles(page)).to_have_count(4)
    seqs = page.evaluate("[...document.getElementById('bp-web-widget-container').shadowRoot"
                         ".querySelectorAll('.bpMessageContainer')].map(r => Number(r.dataset.seq))")
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # What was missed is announced like anything live; the page's customEvent too.
    missed = [e["data"] for e in events(page, "message")[seen_before:]]
    assert [m["type"] for m in missed] == ["markdown"]
    page.wait_for_function("window.__events.some(e => e.name === 'customEvent')")
