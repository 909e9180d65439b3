"""Human handoff end to end: a visitor in the webchat asks for a person and is escalated by
the Escalate to a Human card; an agent in another browser finds the conversation in the
Inbox, takes it and replies; the visitor sees the reply in the widget and answers; the
agent hands the conversation back and the bot answers again."""
import copy

import pytest
from playwright.sync_api import expect

from flows import services as flow_services
from runtime.models import Conversation
from runtime.tests.bots import handoff_bot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def bot_bubbles(page):
    return page.locator(".bpMessageFromBot .bpMessageBlocksBubble")


def say(page, text):
    page.locator(".bpComposerInput").fill(text)
    page.locator(".bpComposerInput").press("Enter")


def test_a_visitor_is_escalated_an_agent_takes_the_chat_and_hands_it_back(new_context, studio_url, make_user, login):
    agent = make_user(name="Ann")
    bot = flow_services.import_bot(copy.deepcopy(handoff_bot("Helpdesk")), workspace=agent.workspace)
    flow_services.publish(bot)

    visitor = new_context().new_page()
    visitor.goto(f"{studio_url}/s/{bot.pk}")
    say(visitor, "hello")
    expect(bot_bubbles(visitor)).to_have_text(["bot: hello"])
    say(visitor, "I need a human")
    expect(bot_bubbles(visitor)).to_have_text(["bot: hello", "Connecting you with a person."])

    # The agent, at another computer, finds it waiting in the Inbox.
    desk = new_context().new_page()
    login(desk, agent)
    desk.goto(f"/w/{agent.workspace.slug}/")
    desk.get_by_role("link", name="Inbox").click()
    row = desk.locator("[data-testid=inbox] tr[data-status=waiting]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Helpdesk")
    expect(row).to_contain_text("the user asked: I need a human")
    expect(row).to_contain_text("high")
    row.get_by_role("link").click()

    transcript = desk.locator("[data-testid=transcript]")
    expect(transcript.locator(".from-user .inbox-bubble")).to_have_text(["hello", "I need a human"])
    desk.get_by_role("button", name="Assign to me").click()
    expect(desk.locator("[data-testid=handoff-status]")).to_have_text("with agent · Ann")

    desk.get_by_label("Reply").fill("Hi, I am Ann from support. How can I help?")
    desk.get_by_role("button", name="Send").click()
    expect(transcript.locator(".from-agent .inbox-bubble")).to_have_text(["Hi, I am Ann from support. How can I help?"])
    # The visitor sees the agent's message in the widget, like a bot message.
    expect(bot_bubbles(visitor).last).to_have_text("Hi, I am Ann from support. How can I help?")

    # What the visitor writes now reaches the agent (the page refreshes itself), and the bot stays quiet.
    say(visitor, "My order never arrived")
    expect(transcript.locator(".from-user .inbox-bubble").last).to_have_text("My order never arrived")
    visitor.wait_for_timeout(500)
    expect(bot_bubbles(visitor)).to_have_count(3)

    desk.get_by_role("button", name="Hand back to the bot").click()
    expect(desk.locator("[data-testid=handoff-closed]")).to_be_visible()
    expect(bot_bubbles(visitor).last).to_have_text("Back with the bot.")
    say(visitor, "thanks")
    expect(bot_bubbles(visitor).last).to_have_text("bot: thanks")

    conversation = Conversation.objects.get(bot=bot)
    assert conversation.handoff_status == Conversation.Handoff.BOT
    assert conversation.handoff_agent_id == agent.pk
    # Back in the Inbox, nothing waits any more.
    desk.goto(f"/w/{agent.workspace.slug}/inbox/")
    expect(desk.locator("[data-testid=inbox-empty]")).to_be_visible()
