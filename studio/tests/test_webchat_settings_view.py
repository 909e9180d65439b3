"""The Webchat settings page tells a builder why the preview opens silent: nothing greets in
the published version, or the draft greets but is not published yet (flows.greeting). The
share page tells the same to the bot's builders, not to visitors."""
import copy

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from flows.greeting import NO_GREETING_HINT
from integrations.webchat.tests.helpers import create_bot
from runtime.tests.bots import echo_bot
from studio.people.models import Membership, Role

pytestmark = pytest.mark.django_db

GREETING = [{"id": "on-open", "kind": "trigger", "trigger": {"type": "conversation_started"}, "next": "hello"},
            {"id": "hello", "kind": "standard", "cards": [{"id": "hi", "type": "text", "text": "Hi!"}], "next": None}]


def builder(bot) -> Client:
    user = get_user_model().objects.create_user("builder", password="a long enough password")
    Membership.objects.create(workspace=bot.workspace, user=user, role=Role.DEVELOPER)
    client = Client()
    client.force_login(user)
    return client


def settings_page(bot) -> str:
    response = builder(bot).get(f"/bots/{bot.pk}/webchat/")
    assert response.status_code == 200
    return response.content.decode()


def greeter():
    definition = echo_bot()
    definition["flows"][0]["nodes"] += copy.deepcopy(GREETING)
    return definition


def test_a_silent_bot_gets_the_hint_and_a_link_to_the_editor():
    bot = create_bot(echo_bot())
    page = settings_page(bot)
    assert 'id="greeting-hint"' in page and NO_GREETING_HINT in page
    assert f'href="/bots/{bot.pk}/editor/"' in page and "The draft already does" not in page


def test_a_draft_that_greets_but_is_not_published_says_so():
    bot = create_bot(echo_bot())
    bot.draft = {**bot.draft, "flows": greeter()["flows"]}
    bot.save()
    assert "The draft already does: publish it" in settings_page(bot)


def test_a_greeting_bot_has_no_hint():
    page = settings_page(create_bot(greeter()))
    assert 'id="greeting-hint"' not in page and 'id="greeting-status"' in page


def test_the_share_page_tells_the_bots_builders_how_to_greet_and_visitors_how_to_begin():
    bot = create_bot(echo_bot())
    assert "emptyStateText" not in Client().get(f"/s/{bot.pk}").content.decode()
    hint = '"emptyStateText":"This bot says nothing when the chat opens.'
    assert hint in builder(bot).get(f"/s/{bot.pk}").content.decode()
    stranger = get_user_model().objects.create_user("stranger", password="a long enough password")
    client = Client()
    client.force_login(stranger)
    assert "emptyStateText" not in client.get(f"/s/{bot.pk}").content.decode()
