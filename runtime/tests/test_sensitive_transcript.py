"""Sensitive answers never reach storage in clear: the transcript and the stored event keep
the starred text, while the bot still got the real value into its variable."""
import pytest

from runtime import turns
from runtime.models import Event, Message
from runtime.tests.bots import _bot, _capture, _flow, _text, create_bot

pytestmark = pytest.mark.django_db


def card_bot():
    return _bot("Cards", [_flow("main", [
        {"id": "start", "kind": "start", "next": "ask"},
        {"id": "ask", "kind": "standard", "cards": [
            _capture("cap-card", "entity_regex", "user.card", "Card number?",
                     options={"pattern": r"\d{4}-\d{4}-\d{4}-\d{4}"}, sensitive=True),
            _text("ok", "Card ending {{user.card.slice(-4)}} saved."),
        ], "next": "end"},
        {"id": "end", "kind": "end"},
    ])], variables=[{"scope": "user", "name": "card", "type": "string"}])


def test_the_transcript_keeps_only_the_starred_answer():
    bot = create_bot(card_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    turns.send_user_message(conversation, "hi")

    outcome = turns.send_user_message(conversation, "it is 4111-1111-1111-1234, thanks")

    assert [o["text"] for o in outcome.outputs] == ["Card ending 1234 saved."]
    stored = Message.objects.get(conversation=conversation, direction="incoming", seq=outcome.event.seq)
    assert stored.payload["text"] == "it is *******************, thanks"
    assert Event.objects.get(pk=outcome.event.pk).payload["text"] == "it is *******************, thanks"
    assert "4111" not in str(list(Message.objects.filter(conversation=conversation).values_list("payload", flat=True)))
    conversation.user.refresh_from_db()
    assert conversation.user.variables["card"] == "4111-1111-1111-1234"


def test_messages_without_sensitive_data_are_kept_as_typed():
    bot = create_bot(card_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))

    outcome = turns.send_user_message(conversation, "hi there 1234")

    assert Message.objects.get(event=outcome.event, direction="incoming").payload["text"] == "hi there 1234"
