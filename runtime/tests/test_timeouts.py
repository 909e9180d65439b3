"""The beat task that fires inactivity timeouts (called in-process here; the worker test
runs it through a real Celery worker)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from runtime import tasks, turns
from runtime.models import Conversation, Message
from runtime.tests.bots import create_bot, echo_bot

pytestmark = pytest.mark.django_db


def _chatting(bot, text="hi"):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    turns.send_user_message(conversation, text)
    conversation.refresh_from_db()
    return conversation


def _bot_texts(conversation):
    return [m.payload.get("text") for m in Message.objects.filter(conversation=conversation, direction="outgoing")]


def test_only_due_timeouts_fire():
    bot = create_bot(echo_bot())
    due, not_yet = _chatting(bot), _chatting(bot)
    Conversation.objects.filter(pk=due.pk).update(timeout_at=timezone.now() - timedelta(seconds=1))

    assert tasks.fire_due_timeouts() == 1

    assert _bot_texts(due) == ["got hi", "Are you still there? Starting over."]
    assert _bot_texts(not_yet) == ["got hi"]
    due.refresh_from_db()
    assert due.timeout_at is None and not due.state.get("frames")
    # Fired once: a second tick finds nothing due.
    assert tasks.fire_due_timeouts() == 0


def test_a_timeout_does_not_count_as_user_activity():
    bot = create_bot(echo_bot())
    conversation = _chatting(bot)
    last_user_event = conversation.last_user_event_at
    Conversation.objects.filter(pk=conversation.pk).update(timeout_at=timezone.now())
    tasks.fire_due_timeouts()
    conversation.refresh_from_db()
    assert conversation.last_user_event_at == last_user_event


def test_process_conversation_task_runs_the_stored_backlog():
    bot = create_bot(echo_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    turns.receive_event(conversation, "text", {"text": "queued"})
    assert tasks.process_conversation.apply(args=(conversation.pk,)).get() == 1
    assert _bot_texts(conversation) == ["got queued"]
