"""Acceptance test for ordering: 50 users' worth of messages hit ONE conversation at the same
moment from 50 threads, each with its own PostgreSQL connection. Every message must be
stored, processed exactly once, in seq order, and the final state must reflect all of them."""
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from runtime import tasks, turns
from runtime.models import BotVariable, Conversation, EndUser, Event, Message
from runtime.tests.bots import create_bot, echo_bot

SENDERS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_messages_into_one_conversation_are_processed_in_order():
    assert connection.vendor == "postgresql", "the ordering guarantee is tested on PostgreSQL"
    bot = create_bot(echo_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "crowd"))

    start_together = threading.Barrier(SENDERS)
    replies, errors = {}, []

    def send(i):
        try:
            start_together.wait()
            outcome = turns.send_user_message(conversation, f"m{i}")
            replies[i] = (outcome.event.status, [o["text"] for o in outcome.outputs])
        except Exception as exc:  # surfaced by the assertion below
            errors.append(f"sender {i}: {exc!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    # Each sender got the answer to ITS message, whichever thread happened to process it.
    assert replies == {i: ("processed", [f"got m{i}"]) for i in range(SENDERS)}

    events = list(Event.objects.filter(conversation=conversation).order_by("seq"))
    assert len(events) == SENDERS
    assert all(event.status == "processed" for event in events)
    arrival_order = [event.payload["text"] for event in events]
    assert sorted(arrival_order) == sorted(f"m{i}" for i in range(SENDERS))
    # Processed one at a time in seq order: processing finished in the same order.
    assert [e.seq for e in sorted(events, key=lambda e: e.processed_at)] == [e.seq for e in events]

    messages = list(Message.objects.filter(conversation=conversation).order_by("seq"))
    seqs = [m.seq for m in messages]
    assert seqs == sorted(set(seqs))
    incoming = [m.payload["text"] for m in messages if m.direction == "incoming"]
    outgoing = [m for m in messages if m.direction == "outgoing"]
    assert incoming == arrival_order
    assert [m.payload["text"] for m in outgoing] == [f"got {text}" for text in arrival_order]
    assert all(reply.seq > reply.event.seq for reply in outgoing)

    user = EndUser.objects.get(pk=conversation.user_id)
    assert user.variables["count"] == SENDERS
    assert user.variables["seen"] == arrival_order
    assert BotVariable.objects.get(bot=bot, is_draft=False, name="total").value == SENDERS


@pytest.mark.django_db(transaction=True)
def test_concurrent_timeout_ticks_fire_each_due_timeout_exactly_once():
    bot = create_bot(echo_bot())
    conversations = []
    for _ in range(6):
        conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
        turns.send_user_message(conversation, "hi")
        conversations.append(conversation)
    Conversation.objects.filter(bot=bot).update(timeout_at=timezone.now() - timedelta(seconds=1))

    start_together = threading.Barrier(4)
    fired, errors = [], []

    def tick():
        try:
            start_together.wait()
            fired.append(tasks.fire_due_timeouts())
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(fired) == len(conversations)
    for conversation in conversations:
        assert Event.objects.filter(conversation=conversation, type="timeout").count() == 1
        assert Message.objects.filter(conversation=conversation, direction="outgoing").count() == 2
