"""A message that arrives while a turn of its conversation is running is acknowledged (stored
and committed) at once, not when the turn ends; it is processed right after, in seq order."""
import threading
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from runtime import turns
from runtime.models import Event, Message
from runtime.tests.bots import create_bot

# Well under the 2 s code time limit, so the slow turn finishes normally.
TURN_SECONDS = 1.0


def slow_bot():
    busy = f"const t = Date.now(); while (Date.now() - t < {int(TURN_SECONDS * 1000)}) {{}}"
    return {
        "format": "flowstudio.bot/1",
        "name": "Slow",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "work"},
            {"id": "work", "kind": "standard", "cards": [
                {"id": "busy", "type": "code", "code": f"if (event.preview === 'slow') {{ {busy} }}"},
                {"id": "reply", "type": "text", "text": "done {{event.preview}}"},
            ]},
        ]}],
    }


def _turn_is_running(conversation_id) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND objid = %s",
            list(turns.turn_lock_key(conversation_id)),
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_message_is_acknowledged_while_a_turn_is_running():
    assert connection.vendor == "postgresql"
    bot = create_bot(slow_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot))
    slow_outcome = {}

    def slow_turn():
        try:
            slow_outcome["result"] = turns.send_user_message(conversation, "slow")
        finally:
            connections.close_all()

    worker = threading.Thread(target=slow_turn)
    worker.start()
    deadline = time.monotonic() + 10
    while not _turn_is_running(conversation.pk):
        assert time.monotonic() < deadline, "the slow turn never started"
        time.sleep(0.01)

    started = time.monotonic()
    quick = turns.receive_event(conversation, "text", {"text": "quick"})
    acknowledged_at, acknowledged_in = timezone.now(), time.monotonic() - started

    assert acknowledged_in < TURN_SECONDS, f"acknowledging took {acknowledged_in:.2f}s: it waited for the turn"
    # Committed: another connection sees it while the turn still runs.
    seen = {}

    def look():
        try:
            seen["status"] = Event.objects.get(pk=quick.pk).status
        finally:
            connections.close_all()

    observer = threading.Thread(target=look)
    observer.start()
    observer.join()
    assert seen["status"] == "received"

    worker.join(timeout=30)
    assert [o["text"] for o in slow_outcome["result"].outputs] == ["done slow"]
    # The slow turn finished its work after the quick message was already committed.
    slow_event = slow_outcome["result"].event
    assert slow_event.processed_at > acknowledged_at
    # Whoever stores an event has it processed (as every channel does): after the slow turn.
    outcomes = turns.process_pending(conversation.pk)
    assert [[o["text"] for o in outcome.outputs] for outcome in outcomes] == [["done quick"]]
    assert Event.objects.get(pk=quick.pk).status == "processed"
    # The slow turn's reply took its seq when it committed, after the quick message's.
    transcript = [(m.seq, m.direction, m.payload["text"])
                  for m in Message.objects.filter(conversation=conversation).order_by("seq")]
    assert transcript == [(1, "incoming", "slow"), (2, "incoming", "quick"),
                          (3, "outgoing", "done slow"), (4, "outgoing", "done quick")]
