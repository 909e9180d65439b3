"""Events the system raises (a state expiry) are not the user talking: a waiting capture
keeps waiting, and the inactivity timeout and last activity stay as they were; a
`state_expired` trigger node is how a bot answers one."""
from datetime import timedelta

import pytest
from django.utils import timezone

from runtime import state, tasks, turns
from runtime.models import Conversation, Message, State
from runtime.tests.bots import capture_bot, create_bot

pytestmark = pytest.mark.django_db


def test_a_state_expiry_leaves_a_waiting_capture_and_its_timeout_alone():
    bot = create_bot(capture_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    assert [o["text"] for o in turns.send_user_message(conversation, "retries").outputs] == ["How many pizzas?"]
    before = Conversation.objects.get(pk=conversation.pk)

    expiry = turns.receive_event(conversation, "state_expired", {"state": {"name": "cart", "payload": {}}})
    outcome = turns.process_event_now(expiry)

    assert not outcome.failed and outcome.outputs == []
    after = Conversation.objects.get(pk=conversation.pk)
    assert after.state == before.state
    assert (after.timeout_at, after.last_user_event_at) == (before.timeout_at, before.last_user_event_at)
    assert [o["text"] for o in turns.send_user_message(conversation, "3").outputs] == ["3 pizzas it is."]


def _cart_reminder_bot():
    """Waits after each message; a `state_expired` trigger answers the expiry of `cart`."""
    return {
        "format": "flowstudio.bot/1", "name": "Cart", "settings": {}, "variables": [],
        "flows": [{"name": "main", "variables": [], "nodes": [
            {"id": "start", "kind": "start", "next": "hello"},
            {"id": "hello", "kind": "standard", "cards": [
                {"id": "hi", "type": "text", "text": "Hello"}, {"id": "w", "type": "wait"}], "next": "hello"},
            {"id": "on-expiry", "kind": "trigger",
             "trigger": {"type": "state_expired", "condition": "event.payload.state.name === 'cart'"},
             "next": "expired"},
            {"id": "expired", "kind": "standard", "cards": [
                {"id": "say", "type": "text", "text": "Your cart {{event.payload.state.payload.items}} expired."},
            ], "next": "done"},
            {"id": "done", "kind": "end"},
        ]}],
    }


def test_a_state_expired_trigger_answers_the_expiry_of_a_state():
    bot = create_bot(_cart_reminder_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    turns.send_user_message(conversation, "hi")
    scope = state.resolve_scope(bot, "conversation", conversation.external_id)
    for name in ("cart", "other"):
        written = state.set_state(scope, name, {"items": 3}, expiry=60)
        State.objects.filter(pk=written.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert tasks.fire_due_states() == 2

    texts = [m.payload.get("text") for m in Message.objects.filter(conversation=conversation,
                                                                    direction="outgoing").order_by("seq")]
    # `other` matches no trigger (the condition names `cart`): it is ignored, not answered.
    assert texts == ["Hello", "Your cart 3 expired."]
