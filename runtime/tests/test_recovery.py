"""The sweep of events a crash left `received` (runtime/recovery.py), on PostgreSQL: older
than the lease and with no turn holding the conversation's lock, they are answered in seq
order, each exactly once; a conversation whose lock a live turn holds is left to that turn.
The crash itself, against a real server, is tests/chaos/test_kill_server.py."""
import threading
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, connections
from django.utils import timezone

from runtime import pg, recovery, tasks, turns
from runtime.models import Event, Message
from runtime.tests.bots import create_bot, echo_bot

pytestmark = pytest.mark.postgres


def _stranded(bot, texts, *, age_seconds=60):
    """A conversation whose events were acknowledged `age_seconds` ago and never processed,
    as a server killed between acknowledging and running the turn leaves them."""
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    for text in texts:
        turns.receive_event(conversation, "text", {"text": text})
    Event.objects.filter(conversation=conversation).update(
        created_at=timezone.now() - timedelta(seconds=age_seconds))
    return conversation


def _replies(conversation):
    return [m.payload.get("text") for m in
            Message.objects.filter(conversation=conversation, direction="outgoing").order_by("seq")]


def _statuses(conversation):
    return list(Event.objects.filter(conversation=conversation).order_by("seq").values_list("status", flat=True))


@pytest.mark.django_db
def test_events_older_than_the_lease_are_answered_in_order_once(settings):
    settings.FLOWSTUDIO_TURN_LEASE_SECONDS = 30
    bot = create_bot(echo_bot())
    stranded = _stranded(bot, ["one", "two", "three"])
    fresh = _stranded(bot, ["just now"], age_seconds=1)  # its turn may well be running

    assert recovery.sweep() == 3

    assert _replies(stranded) == ["got one", "got two", "got three"]
    assert _statuses(stranded) == ["processed"] * 3
    assert _replies(fresh) == [] and _statuses(fresh) == ["received"]
    # Nothing twice: the next sweep (here through the beat task) finds nothing to do.
    assert tasks.sweep_stranded_events.apply().get() == 0
    assert _replies(stranded) == ["got one", "got two", "got three"]


@pytest.mark.django_db
def test_a_conversation_whose_lock_a_live_turn_holds_is_skipped():
    bot = create_bot(echo_bot())
    busy, idle = _stranded(bot, ["busy"]), _stranded(bot, ["idle"])
    # Another process's turn (its own connection) holds the busy conversation's lock.
    with psycopg.connect(pg._conninfo(connection.settings_dict), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", turns.turn_lock_key(busy.pk))

        assert recovery.stranded_conversations() == [idle.pk]
        assert recovery.sweep() == 1
        assert _statuses(busy) == ["received"] and _replies(idle) == ["got idle"]
    # That process died: PostgreSQL released its lock with its connection.
    assert recovery.sweep() == 1
    assert _replies(busy) == ["got busy"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_answer_each_event_once():
    """Every server process sweeps a lease after it starts, and beat ticks may overlap: the
    turn lock and the event's status keep every reply single and in order."""
    bot = create_bot(echo_bot())
    conversations = [_stranded(bot, [f"{c}-{n}" for n in range(5)]) for c in range(3)]
    counts, start = [], threading.Barrier(3)

    def sweeper():
        try:
            start.wait(timeout=10)
            counts.append(recovery.sweep())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(counts) == 15
    for c, conversation in enumerate(conversations):
        assert _replies(conversation) == [f"got {c}-{n}" for n in range(5)]
        assert _statuses(conversation) == ["processed"] * 5
