"""Live delivery sees committed messages only, incoming then outgoing, in seq order."""
import pytest
from django.db import transaction

from runtime import delivery, turns
from runtime.tests.bots import create_bot, echo_bot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def delivered():
    seen = []

    def record(conversation, messages):
        seen.extend((conversation.pk, m.seq, m.direction, m.as_output().get("text")) for m in messages)

    delivery.subscribe(record)
    yield seen
    delivery.unsubscribe(record)


def test_subscribers_receive_the_user_message_and_the_reply_after_commit(delivered):
    bot = create_bot(echo_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))

    turns.send_user_message(conversation, "hello")

    assert delivered == [
        (conversation.pk, 1, "incoming", "hello"),
        (conversation.pk, 2, "outgoing", "got hello"),
    ]


def test_nothing_is_delivered_from_a_rolled_back_transaction(delivered):
    bot = create_bot(echo_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))

    with pytest.raises(RuntimeError), transaction.atomic():
        turns.receive_event(conversation, "text", {"text": "lost"})
        raise RuntimeError("caller failed before commit")

    assert delivered == []


def test_a_failing_subscriber_does_not_stop_the_others(delivered):
    def broken(conversation, messages):
        raise ValueError("listener bug")

    delivery.subscribe(broken)
    try:
        bot = create_bot(echo_bot())
        conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
        outcome = turns.send_user_message(conversation, "hi")
    finally:
        delivery.unsubscribe(broken)

    assert [m.payload["text"] for m in outcome.messages] == ["got hi"]
    assert [row[3] for row in delivered] == ["hi", "got hi"]
