"""Recovering turns a crash left behind (docs/deploy.md, "Crashes and recovery").

An acknowledged event is committed before its turn runs (`turns.receive_event`), so when a
server dies between the two the event stays `received` until something processes that
conversation again. The sweep is that something: for conversations with events `received`
for longer than the lease (`FLOWSTUDIO_TURN_LEASE_SECONDS`) and no turn holding the
conversation's advisory lock (PostgreSQL releases a dead process's locks when its connection
drops), it runs the ordinary `turns.process_pending`. Ordering and exactly-once come from
that path, not from here: one turn at a time per conversation under the lock, events taken
in seq order, and each event written only while it is still `received` (a turn of another
process that finishes first makes this one write nothing).

The sweep runs from the beat schedule (a Celery beat process, or the embedded beat of the
default) and once in every server process a lease after it starts, so a restarted server
answers what its predecessor acknowledged even where no beat runs.
"""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from runtime import turns
from runtime.models import Event

logger = logging.getLogger(__name__)

# Conversations one sweep looks at, at most; the rest wait for the next one.
SWEEP_BATCH = 100


def stranded_conversations(lease_seconds: float | None = None) -> list:
    """Ids of conversations with an event `received` longer than the lease ago and no turn
    running, the longest-waiting first."""
    lease = settings.FLOWSTUDIO_TURN_LEASE_SECONDS if lease_seconds is None else lease_seconds
    cutoff = timezone.now() - timedelta(seconds=lease)
    waiting = (Event.objects.filter(status=Event.Status.RECEIVED, created_at__lt=cutoff)
               .order_by("created_at").values_list("conversation_id", flat=True))
    candidates = list(dict.fromkeys(waiting[:SWEEP_BATCH * 10]))[:SWEEP_BATCH]
    free = []
    for conversation_id in candidates:
        # Tried and released at once: a turn that starts meanwhile is harmless (see above).
        with transaction.atomic():
            if turns.try_lock_for_turn(conversation_id):
                free.append(conversation_id)
    return free


def sweep(lease_seconds: float | None = None) -> int:
    """Process the stranded events; returns how many events were processed (or failed)."""
    done = 0
    for conversation_id in stranded_conversations(lease_seconds):
        try:
            outcomes = turns.process_pending(conversation_id)
        except Exception:
            # One broken conversation must not keep the others unanswered.
            logger.exception("recovering conversation %s failed", conversation_id)
            continue
        if outcomes:
            logger.warning("recovered %d stranded event(s) of conversation %s", len(outcomes), conversation_id)
        done += len(outcomes)
    return done


def sweep_after_start(*others) -> threading.Thread:
    """A daemon thread that sweeps once, a lease after this process started: by then every
    event a dead predecessor acknowledged is older than the lease. `others` are sweeps of
    the layers above (a channel's stored updates), run first, each on its own."""
    def run():
        threading.Event().wait(settings.FLOWSTUDIO_TURN_LEASE_SECONDS)
        try:
            for other in (*others, sweep):
                try:
                    other()
                except Exception:
                    logger.exception("the start-up sweep %s failed", getattr(other, "__qualname__", other))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="flowstudio-startup-sweep", daemon=True)
    thread.start()
    return thread
