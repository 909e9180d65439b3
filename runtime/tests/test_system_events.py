"""Events the system raises (a state expiry) are not the user talking: a waiting capture
keeps waiting, and the inactivity timeout and last activity stay as they were."""
import pytest

from runtime import turns
from runtime.models import Conversation
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
