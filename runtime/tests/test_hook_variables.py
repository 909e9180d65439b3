"""Hooks write variables through the runtime (docs/hooks-and-triggers.md): what a hook sets
in `user`, `bot`, `session` and `conversation` is stored with the turn like a card's writes,
on the synchronous and the loop's turn service alike."""
import pytest

from runtime import turns
from runtime.models import BotVariable, EndUser
from runtime.tests.bots import create_bot

pytestmark = pytest.mark.django_db(transaction=True)

BOT = {
    "format": "flowstudio.bot/1", "name": "Hooked",
    "flows": [{"name": "main", "nodes": [
        {"id": "start", "kind": "start", "next": "echo"},
        {"id": "echo", "kind": "standard", "cards": [
            {"id": "say", "type": "text", "text": "visit {{session.visits}} of {{user.name}}"},
            {"id": "w", "type": "wait"}], "next": "echo"}]}],
    "hooks": [
        {"name": "count", "type": "before_incoming",
         "code": "session.visits = (session.visits || 0) + 1; user.name = event.payload.text;"},
        {"name": "stats", "type": "after_turn",
         "code": "bot.turns = (bot.turns || 0) + 1; conversation.lastReplies = outgoing.length;"},
    ],
}


def test_hook_writes_are_stored_with_the_turn():
    bot = create_bot(BOT)
    user = turns.get_or_create_user(bot, "hooked-user")
    conversation = turns.start_conversation(bot, user)
    outcome = turns.send_user_message(conversation, "Ann")
    assert [o["text"] for o in outcome.outputs] == ["visit 1 of Ann"]
    turns.send_user_message(conversation, "Bea")
    conversation.refresh_from_db()
    assert conversation.state["session"]["visits"] == 2
    assert conversation.state["conversation"]["lastReplies"] == 1
    assert EndUser.objects.get(pk=user.pk).variables["name"] == "Bea"
    assert BotVariable.objects.get(bot=bot, name="turns").value == 2
