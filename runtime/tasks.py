"""Celery tasks of the runtime. Bodies stay thin: the work is in `runtime.turns`, which the
tests exercise directly; one integration test runs these through a real worker."""
import logging

from celery import shared_task
from django.db import connection, transaction
from django.utils import timezone

from runtime import analytics, async_turns, issues, live_logs, pg, recovery, state, triggers, turns, workflows
from runtime.loop_thread import LoopThread
from runtime.models import Conversation, Event

logger = logging.getLogger(__name__)

# A worker's turns on PostgreSQL run on the loop's executor, as the servers' do: a turn
# waiting on a model or an HTTP call then holds no database connection or transaction.
_turn_loop = LoopThread("worker-turns")


def process_pending(conversation_id) -> list:
    """Run the conversation's stored events: on PostgreSQL through runtime.async_turns on this
    process's turn loop, else (SQLite) with the ORM executor. Inside a caller's transaction
    the ORM executor too: the async connection could not see the caller's uncommitted rows."""
    if pg.available() and not connection.in_atomic_block:
        outcomes = _turn_loop.run(lambda: async_turns.process_pending(conversation_id, after_turns=False))
        for outcome in outcomes:
            if live_logs.has_lines(outcome.event):
                turns.after_turn_with_lines(outcome)
        return outcomes
    return turns.process_pending(conversation_id)


# Bounded so one beat tick cannot run for ever; the rest wait for the next tick.
TIMEOUT_BATCH = 200


@shared_task(name="runtime.tasks.fire_due_timeouts")
def fire_due_timeouts() -> int:
    """Store a timeout event for every conversation whose inactivity timeout is due, then
    process it. Conversations another tick holds, with a turn running or with user events
    waiting to be processed are skipped: their turn resets the timeout anyway, and the next
    tick sees whatever is left."""
    fired = []
    with transaction.atomic():
        due = list(
            Conversation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(timeout_at__lte=timezone.now())
            .exclude(events__status=Event.Status.RECEIVED)
            .order_by("timeout_at")[:TIMEOUT_BATCH]
        )
        for conversation in due:
            if not turns.try_lock_for_turn(conversation.pk):
                continue
            # Cleared while the row is locked, so a concurrent tick cannot fire it twice.
            Conversation.objects.filter(pk=conversation.pk).update(timeout_at=None)
            turns.receive_event(conversation, "timeout", {})
            fired.append(conversation.pk)
    for conversation_id in fired:
        try:
            process_pending(conversation_id)
        except Exception:
            # One broken conversation must not stop the others from timing out.
            logger.exception("processing the timeout of conversation %s failed", conversation_id)
    return len(fired)


@shared_task(name="runtime.tasks.process_conversation")
def process_conversation(conversation_id) -> int:
    """Process the stored events of one conversation (channels that acknowledge first)."""
    return len(process_pending(conversation_id))


@shared_task(name="runtime.tasks.fire_due_states")
def fire_due_states() -> int:
    """Expire due states: each sends `state_expired` into its conversation (runtime.state)."""
    return state.fire_due_states()


@shared_task(name="runtime.tasks.sweep_stranded_events")
def sweep_stranded_events() -> int:
    """Answer events a crash left `received` (runtime.recovery)."""
    return recovery.sweep()


@shared_task(name="runtime.tasks.fire_due_schedules")
def fire_due_schedules() -> int:
    """Run the schedule triggers that are due, each due time once across processes
    (runtime.triggers)."""
    return len(triggers.fire_due_schedules())


@shared_task(name="runtime.tasks.index_knowledge_source")
def index_knowledge_source(source_id: int, revision: int) -> str:
    """Parse, embed and swap in one knowledge source's chunks (runtime/knowledge/indexing.py)."""
    from runtime.knowledge import indexing

    return indexing.index_source(source_id, revision)


# acks_late (the project's default, repeated here because the recovery depends on it): a
# worker killed mid-step never acknowledged the task. The run's lease, not the broker, decides
# when the step runs again (runtime/workflows.py); a redelivered duplicate finds nothing to do.
@shared_task(name="runtime.tasks.run_workflow_step", acks_late=True, reject_on_worker_lost=True)
def run_workflow_step(run_id) -> str:
    """Run the current step of one background workflow run."""
    return workflows.execute(run_id)


@shared_task(name="runtime.tasks.recover_workflows")
def recover_workflows() -> int:
    """Enqueue again the steps whose worker died (expired lease) or whose task was lost."""
    return workflows.recover()


@shared_task(name="runtime.tasks.fold_issues")
def fold_issues() -> int:
    """Fold what the turns' own folds left (runtime/issues.py) into every published bot's
    issues, on the beat."""
    return issues.fold_all()


@shared_task(name="runtime.tasks.roll_up_analytics")
def roll_up_analytics() -> int:
    """Today's and yesterday's analytics rollups (runtime/analytics.py), on the beat."""
    return analytics.roll_up_recent()
