"""The turn service with triggers, custom events, bot-emitted events, metadata and
messages from another participant: what is stored and what subscribers are told."""
import pytest

from runtime import delivery, turns
from runtime.models import Event, Message
from runtime.tests.bots import create_bot

pytestmark = pytest.mark.django_db(transaction=True)


def relay_bot():
    return {
        "format": "flowstudio.bot/1",
        "name": "Relay",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "ask"},
            {"id": "ask", "kind": "standard", "cards": [
                {"id": "q", "type": "text", "text": "Name?", "metadata": "{{event.metadata}}"},
                {"id": "w", "type": "wait"},
                {"id": "a", "type": "text", "text": "Hello {{event.preview}} ({{event.userId}})"},
            ]},
            {"id": "on-event", "kind": "trigger", "trigger": {"type": "event"}, "next": "relay"},
            {"id": "relay", "kind": "standard", "cards": [
                {"id": "send", "type": "sendEvent", "payload": "{{event.payload}}"}]},
        ]}],
    }


@pytest.fixture
def delivered():
    seen = []

    def record(conversation, messages):
        seen.extend((m.seq, m.direction, m.type, m.payload, m.metadata) for m in messages)

    delivery.subscribe(record)
    yield seen
    delivery.unsubscribe(record)


def test_metadata_is_kept_beside_the_payload_both_ways(delivered):
    bot = create_bot(relay_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))

    event = turns.receive_event(conversation, "text", {"text": "hi"}, metadata={"foo": "bar"})
    outcome = turns.process_event_now(event)

    assert outcome.outputs == [{"type": "text", "text": "Name?", "metadata": {"foo": "bar"}}]
    assert delivered == [
        (1, "incoming", "text", {"text": "hi"}, {"foo": "bar"}),
        (2, "outgoing", "text", {"text": "Name?"}, {"foo": "bar"}),
    ]


def test_a_custom_event_goes_through_a_trigger_and_the_bot_emits_an_event(delivered):
    bot = create_bot(relay_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))

    event = turns.receive_event(conversation, "event", {"foo": "bar", "type": "ping"})
    turns.process_event_now(event)

    assert delivered == [
        (1, "incoming", "event", {"payload": {"foo": "bar", "type": "ping"}}, None),
        (2, "outgoing", "event", {"payload": {"foo": "bar", "type": "ping"}}, None),
    ]
    assert all(m.is_event for m in Message.objects.filter(conversation=conversation))


def test_an_unmatched_event_is_recorded_and_leaves_a_waiting_dialog_waiting():
    bot = create_bot(relay_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))
    turns.send_user_message(conversation, "hi")
    waiting = type(conversation).objects.get(pk=conversation.pk).state

    started = turns.receive_event(conversation, "conversation_started", {})
    outcome = turns.process_event_now(started)

    assert outcome.outputs == []
    assert Event.objects.get(pk=started.pk).status == "processed"
    assert not Message.objects.filter(event=started).exists()  # not part of the transcript
    assert type(conversation).objects.get(pk=conversation.pk).state == waiting
    assert [o["text"] for o in turns.send_user_message(conversation, "Ada").outputs] == ["Hello Ada (ada)"]


def test_another_participant_is_the_sender_and_the_user_scope():
    bot = create_bot(relay_bot())
    owner = turns.get_or_create_user(bot, "owner")
    guest = turns.get_or_create_user(bot, "guest")
    conversation = turns.start_conversation(bot, owner)
    turns.send_user_message(conversation, "hi")

    event = turns.receive_event(conversation, "text", {"text": "Bob"}, user=guest)
    outcome = turns.process_event_now(event)

    assert [o["text"] for o in outcome.outputs] == ["Hello Bob (guest)"]
    incoming = Message.objects.get(event=event, direction="incoming")
    assert incoming.user_id == guest.pk


def test_a_sender_of_another_bot_or_bad_metadata_is_refused():
    bot = create_bot(relay_bot())
    other = create_bot({**relay_bot(), "name": "Other"})
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    with pytest.raises(ValueError, match="belongs to another bot"):
        turns.receive_event(conversation, "text", {"text": "x"}, user=turns.get_or_create_user(other, "z"))
    with pytest.raises(ValueError, match="metadata must be an object"):
        turns.receive_event(conversation, "text", {"text": "x"}, metadata=["a"])
    assert not Event.objects.filter(conversation=conversation).exists()
