"""A failed turn never leaves the visitor in silence: the widget on a customer's page shows
the bot's fallback message, whether the bot's own code failed (the engine's error path) or
the turn failed outside the engine (over its time budget: nothing of it is stored but the
failure and the fallback)."""
import pytest
from playwright.sync_api import expect

from runtime.models import Event
from runtime.tests.bots import busy_bot

from .webchat_pages import bot_bubbles, host_page, publish_bot, user_bubbles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def failing_bot():
    return {"format": "flowstudio.bot/1", "name": "Fragile", "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "work"},
        {"id": "work", "kind": "standard", "cards": [
            {"id": "lookup", "type": "code", "code": "user.name = event.nlu.missing.first"}], "next": "end"},
        {"id": "end", "kind": "end"},
    ]}]}


def say(page, text):
    page.locator(".bpFab").click()
    expect(page.locator(".bpWebchat")).to_be_visible()
    page.locator(".bpComposerInput").fill(text)
    page.locator(".bpComposerInput").press("Enter")
    expect(user_bubbles(page)).to_have_text([text])


def test_a_failing_card_shows_the_default_fallback_in_the_widget(page, studio_server, host_pages):
    bot = publish_bot(failing_bot(), allowed_origins=[host_pages.origin])
    page.goto(host_pages.add(host_page(studio_server, bot)))
    say(page, "My name is Ada")
    expect(bot_bubbles(page)).to_have_text(["Sorry, something went wrong."])


def test_a_turn_over_its_budget_shows_the_bots_own_fallback(page, studio_server, host_pages):
    definition = busy_bot("Slow", busy_ms=800)  # ten passes of 800 ms: past the server's 5 s budget
    definition["settings"]["fallbackMessage"] = "We are a bit slow today, please try again."
    bot = publish_bot(definition, allowed_origins=[host_pages.origin])
    page.goto(host_pages.add(host_page(studio_server, bot)))
    say(page, "hello?")
    expect(bot_bubbles(page)).to_have_text(["We are a bit slow today, please try again."], timeout=20_000)
    event = Event.objects.get(conversation__bot=bot, type="text")
    assert event.status == "failed" and event.error.startswith("TurnBudgetExceeded")
