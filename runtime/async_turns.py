"""The turn service on a server's event loop, for PostgreSQL: the same two steps as
`runtime.turns` (receive, then process the stored events one at a time in seq order) and
the same rows, with a handful of prepared statements on an async connection instead of the
ORM on a thread. Every channel's turns go through it on PostgreSQL (the Chat API, the
webchat, the emulator) and Celery workers' turns (runtime/tasks.py, on a loop thread of
the worker's); the ORM executor serves SQLite.

A turn is three steps, and only the first and last touch the database:

1. load (one statement, no transaction): the first waiting events with their conversation,
   the sender, the bot's variables and its latest version;
2. the engine, on the engine pool (runtime/engine_pool.py: bounded, fair between bots, a
   budget per turn), never on the loop. Nothing is held meanwhile: no connection, no lock;
3. write (one statement, with the conversation's advisory lock, pipelined with BEGIN and
   COMMIT): the new state, the replies with their seqs, the event's outcome, the sender's
   and the bot's variables. The statement writes only if nothing the turn read has changed
   since the load (the conversation's and the sender's `updated_at`, the event still
   `received`); otherwise it writes nothing and the turn runs again on what is there now.
   Receiving does not touch `updated_at`, so messages arriving meanwhile never cause that.

What a turn computes and which fields it writes are not repeated here: the engine input,
the outcome and the rows come from `turns` (`turn_input`, `settle_turn` and its `*_FIELDS`).
The rare parts (a draft's build, a build not yet compiled in this process, configuration
values, history) run the sync code on a thread.

Delivery subscribers are called on the loop right after the commit, as `turns` calls them
after its commits; they must not block (runtime/delivery.py).
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from channels.db import database_sync_to_async
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import JSONField
from psycopg.types.json import Jsonb

from flows import services as flow_services
from flows.models import Bot, BotVersion
from runtime import delivery, engine_pool, llm_usage, log_context, metrics, pg, turns, workflows
from runtime import live_logs
from runtime.engine import run_turn
from runtime.engine.llm import LLMCancelled
from runtime.models import BotVariable, Conversation, EndUser, Event, Message

logger = logging.getLogger(__name__)

_t = {model: model._meta.db_table for model in (Conversation, EndUser, Event, Message, BotVariable, BotVersion)}

_LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"
# A turn whose reads keep changing under it (another process processing the same
# conversation) gives up after this many runs; its events stay stored for the next pass.
_ATTEMPTS = 5

# The first two waiting events with their conversation, the first event's sender, the bot's
# stored variables and its latest version: one statement.
_EVENT_COLUMNS = ["id", "seq", "type", "payload", "metadata", "user_id", "created_at"]
_CONVERSATION_COLUMNS = ["id", "bot_id", "user_id", "external_id", "channel", "is_draft", "version_id", "state",
                         "timeout_at", "next_seq", "created_at", "updated_at", "last_user_event_at",
                         "handoff_status", "handoff_reason", "handoff_priority", "handoff_requested_at"]
_USER_COLUMNS = ["id", "bot_id", "external_id", "name", "variables", "updated_at"]
_LOAD = f"""
WITH waiting AS (
    SELECT {", ".join(_EVENT_COLUMNS)} FROM {_t[Event]}
    WHERE conversation_id = %(conversation)s AND status = 'received' ORDER BY seq LIMIT 2
), conv AS (
    SELECT {", ".join(_CONVERSATION_COLUMNS)} FROM {_t[Conversation]} WHERE id = %(conversation)s
), sender AS (
    SELECT {", ".join(_USER_COLUMNS)} FROM {_t[EndUser]}
    WHERE id = (SELECT coalesce(w.user_id, c.user_id) FROM waiting w, conv c ORDER BY w.seq LIMIT 1)
)
SELECT {", ".join("w." + c for c in _EVENT_COLUMNS)}, {", ".join("c." + c for c in _CONVERSATION_COLUMNS)},
       {", ".join("s." + c for c in _USER_COLUMNS)},
       (SELECT jsonb_object_agg(name, value) FROM {_t[BotVariable]} b
         WHERE b.bot_id = c.bot_id AND b.is_draft = c.is_draft),
       v.id, v.number
FROM waiting w CROSS JOIN conv c LEFT JOIN sender s ON true
LEFT JOIN LATERAL (SELECT id, number FROM {_t[BotVersion]} WHERE bot_id = c.bot_id ORDER BY number DESC LIMIT 1) v
  ON true
ORDER BY w.seq
"""


def _assignments(model, names, prefix: str) -> str:
    return ", ".join(f"{model._meta.get_field(name).column} = %({prefix}{name})s" for name in names)


# Everything a turn writes (`turns.TurnRows`), in one statement, written only when what the
# turn read is unchanged (`g` and the conditions of `c`; every other part depends on `c`).
# The sender is locked first, then the conversation, as the ORM executor locks them. The
# replies arrive as one JSON array of rows (their `seq` an offset).
_MESSAGE_COLUMNS = [f.column for f in Message._meta.concrete_fields if not f.primary_key]
_WRITE = f"""
WITH g AS (
    SELECT id FROM {_t[EndUser]} WHERE id = %(user)s AND updated_at = %(seen_user)s FOR NO KEY UPDATE
), c AS (
    UPDATE {_t[Conversation]} SET next_seq = next_seq + %(count)s,
           {_assignments(Conversation, turns.CONVERSATION_FIELDS, "c_")}
    WHERE id = %(conversation)s AND updated_at = %(seen_conversation)s AND EXISTS (SELECT 1 FROM g)
      AND EXISTS (SELECT 1 FROM {_t[Event]} WHERE id = %(event)s AND status = 'received')
    RETURNING next_seq - %(count)s AS first
), m AS (
    INSERT INTO {_t[Message]} ({", ".join(_MESSAGE_COLUMNS)})
    SELECT {", ".join("c.first + r.seq" if col == "seq" else "r." + col for col in _MESSAGE_COLUMNS)}
    FROM c, jsonb_populate_recordset(NULL::{_t[Message]}, %(replies)s) r
    RETURNING id, seq
), e AS (
    UPDATE {_t[Event]} SET {_assignments(Event, turns.EVENT_FIELDS, "e_")}
    WHERE id = %(event)s AND EXISTS (SELECT 1 FROM c)
), u AS (
    UPDATE {_t[EndUser]} SET {_assignments(EndUser, turns.USER_FIELDS, "u_")}
    WHERE id = %(user)s AND %(user_changed)s AND EXISTS (SELECT 1 FROM c)
), b AS (
    INSERT INTO {_t[BotVariable]} (bot_id, is_draft, name, value, updated_at)
    SELECT %(bot)s, %(draft)s, v.key, v.value, %(now)s FROM jsonb_each(%(bot_variables)s) v
    WHERE EXISTS (SELECT 1 FROM c)
    ON CONFLICT (bot_id, is_draft, name) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
), i AS (
    UPDATE {_t[Message]} SET payload = %(e_payload)s
    WHERE event_id = %(event)s AND direction = 'incoming' AND %(masked)s AND EXISTS (SELECT 1 FROM c)
)
SELECT c.first, (SELECT coalesce(jsonb_agg(jsonb_build_array(id, seq) ORDER BY seq), '[]'::jsonb) FROM m) FROM c
"""
# A failed turn: the event's failure and the fallback reply (none when `count` is 0), written
# only if the event is still waiting (another process may have settled it meanwhile).
_FAIL = f"""
WITH f AS (
    UPDATE {_t[Event]} SET status = 'failed', error = %(error)s, processed_at = %(now)s
    WHERE id = %(event)s AND status = 'received' RETURNING id
), c AS (
    UPDATE {_t[Conversation]} SET next_seq = next_seq + %(count)s
    WHERE id = %(conversation)s AND %(count)s > 0 AND EXISTS (SELECT 1 FROM f)
    RETURNING next_seq - %(count)s AS first
)
INSERT INTO {_t[Message]} ({", ".join(_MESSAGE_COLUMNS)})
SELECT {", ".join("c.first + r.seq" if col == "seq" else "r." + col for col in _MESSAGE_COLUMNS)}
FROM c, jsonb_populate_recordset(NULL::{_t[Message]}, %(replies)s) r
RETURNING id, seq
"""


def _now() -> datetime:
    return datetime.now(UTC)


# --- receiving -----------------------------------------------------------------------------

async def receive_event(conversation: Conversation, event_type: str, payload: dict | None = None, *,
                        user: EndUser | None = None, metadata: dict | None = None,
                        guard: tuple[str, list] | None = None) -> Event:
    """`turns.receive_event`, on the loop: one statement, committed; subscribers are told.
    Conversation.DoesNotExist when the conversation is gone or `guard` fails (see
    `turns.received_statement`): then nothing was stored."""
    event, message, activity = turns.received_rows(conversation, event_type, payload, user=user, metadata=metadata)
    sql, params = turns.received_statement(conversation.pk, event, message, activity, guard=guard)
    async with (await pg.pool()).connection() as conn:
        cursor = await conn.execute(sql, params)
        turns.apply_received(event, message, await cursor.fetchone())
    if message is not None:
        delivery.publish(conversation, [message])
    event.incoming_message = message
    return event


# --- processing ----------------------------------------------------------------------------

async def process_pending(conversation_id, *, after_turns: bool = True) -> list[turns.TurnOutcome]:
    """`turns.process_pending` on the loop: every `received` event, in seq order, one
    transaction each. `after_turns=False`: the sync caller that waits on this runs the
    after-turn work itself (runtime/tasks.py), on its own thread: from here it would queue
    behind that very thread when the caller holds the thread-sensitive executor (an eager
    workflow step inside a socket frame) and deadlock."""
    outcomes = []
    more = True
    with log_context.conversation(conversation_id):
        while more:
            outcome, more = await _process_next(conversation_id)
            if outcome is None:
                break
            outcomes.append(outcome)
            metrics.observe_turn(turns.outcome_channel(outcome), outcome)
            if after_turns and live_logs.has_lines(outcome.event):
                # Database work (folding Issues): on a thread, never on the loop.
                await database_sync_to_async(turns.after_turn_with_lines)(outcome)
    return outcomes


async def _process_next(conversation_id) -> tuple[turns.TurnOutcome | None, bool]:
    for _attempt in range(_ATTEMPTS):
        async with (await pg.pool()).connection() as conn:
            rows = await (await conn.execute(_LOAD, {"conversation": conversation_id})).fetchall()
        if not rows:
            return None, False
        conversation, event, user, bot_vars, latest = _loaded(rows[0])
        if conversation.handoff_status in turns.HANDOFF_ACTIVE:  # people answer it: no bot turn
            await database_sync_to_async(turns.skip_for_handoff)(conversation, event)
            return turns.TurnOutcome(event=event, trace=event.trace), len(rows) > 1
        try:
            outcome = await _run_event(conversation, event, user, bot_vars, latest)
        except LLMCancelled:  # the user stopped it: nothing of the turn was written (turns.store_cancelled)
            await database_sync_to_async(turns.store_cancelled)(conversation, event)
            return turns.TurnOutcome(event=event), True
        except Exception as exc:
            messages = await _fail(conversation, event, exc, latest)
            return turns.TurnOutcome(event=event, messages=messages), True
        if outcome is not None:
            delivery.publish(conversation, outcome.messages)
            return outcome, len(rows) > 1
        # What the turn read changed meanwhile (another process took the event, or the state
        # or the sender's variables moved): nothing was written, run it again on what is there.
    logger.warning("conversation %s changed under %d runs of a turn; its events wait for the next pass",
                   conversation_id, _ATTEMPTS)
    return None, False


async def _fail(conversation: Conversation, event: Event, exc: Exception, latest) -> list[Message]:
    """Nothing of the turn was written; only the failure is kept, and the bot's fallback
    message (as `turns._process_next` does), delivered like any reply. Returns the replies."""
    logger.error("turn failed for event %s of conversation %s", event.pk, conversation.pk,
                 exc_info=(type(exc), exc, exc.__traceback__))
    text = await _fallback_message(conversation, latest)
    event.status, event.error, event.processed_at = Event.Status.FAILED, f"{type(exc).__name__}: {exc}", _now()
    replies = (turns.reply_messages(conversation, event, [{"type": "text", "text": text}], 0, event.processed_at)
               if text else [])
    params = {"error": event.error, "now": event.processed_at, "event": event.pk, "conversation": conversation.pk,
              "count": len(replies), "replies": Jsonb([_reply_row(message) for message in replies])}
    async with (await pg.pool()).connection() as conn:
        async with conn.transaction():
            await conn.execute(_LOCK, turns.turn_lock_key(conversation.pk))
            stored = await (await conn.execute(_FAIL, params)).fetchall()
    for message, (pk, seq) in zip(replies, stored):
        message.pk, message.seq = pk, seq
        message._state.adding = False
    replies = replies[:len(stored)]  # none when another process had settled the event meanwhile
    delivery.publish(conversation, replies)
    return replies


async def _fallback_message(conversation: Conversation, latest) -> str:
    """`turns.fallback_message` without a query for a published bot whose build is cached."""
    try:
        loaded = await _load_build(conversation, latest)
    except Exception:  # loading the bot may be what failed
        return await database_sync_to_async(turns.fallback_message)(conversation)
    text = loaded.build.settings.get("fallbackMessage")
    return text if isinstance(text, str) and text.strip() else ""


def _loaded(row):
    n_event, n_conv, n_user = len(_EVENT_COLUMNS), len(_CONVERSATION_COLUMNS), len(_USER_COLUMNS)
    event_values = dict(zip(_EVENT_COLUMNS, row[:n_event]))
    conv_values = dict(zip(_CONVERSATION_COLUMNS, row[n_event:n_event + n_conv]))
    user_values = dict(zip(_USER_COLUMNS, row[n_event + n_conv:n_event + n_conv + n_user]))
    rest = row[n_event + n_conv + n_user:]
    conversation = Conversation(**conv_values)
    conversation._state.adding = False
    event = Event(conversation_id=conversation.pk, status=Event.Status.RECEIVED, **event_values)
    event.conversation = conversation
    event._state.adding = False
    user = EndUser(**user_values)
    user._state.adding = False
    return conversation, event, user, rest[0] or {}, (rest[1], rest[2])


async def _run_event(conversation: Conversation, event: Event, user: EndUser, bot_vars: dict, latest):
    """The turn's outcome once stored, or None when what it read changed (nothing stored)."""
    loaded = await _load_build(conversation, latest)
    build = loaded.build
    env = await database_sync_to_async(turns._config_env)(conversation, build) if build.config_names else {}
    history = (await database_sync_to_async(turns._earlier_user_texts)(conversation, event, build.history_depth)
               if build.history_depth > 0 else [])
    statuses = (await database_sync_to_async(turns._workflow_statuses)(conversation, build)
                if workflows.has_workflows(build) else {})
    turn_input = turns.turn_input(conversation, user, event, loaded, bot_vars, env=env, history=history,
                                  workflows=statuses)
    seen_conversation, seen_user = conversation.updated_at, user.updated_at
    started = time.monotonic()
    result = await engine_pool.run(conversation.bot_id, run_turn, build, turn_input)
    # The usage rows go in the write's transaction (no transaction of their own): it commits
    # them even when the write finds what it read changed and writes nothing else (the turn
    # runs again and its new calls are billed again). Should the write not commit, or the
    # turn fail before it, they are recorded alone: the provider billed the calls either way.
    calls = result.llm_calls
    try:
        params, rows = _write_params(conversation, loaded, event, user, result, started,
                                     seen_conversation, seen_user)
    except BaseException:
        await _record_usage_alone(conversation, calls)
        raise
    committed = False
    try:
        async with (await pg.pool()).connection() as conn:
            # Pipelined: BEGIN, the lock, the usage, the write and COMMIT go out together: one round trip.
            async with conn.pipeline(), conn.transaction():
                await conn.execute(_LOCK, turns.turn_lock_key(conversation.pk))
                await llm_usage.arecord(conn, conversation, calls)
                written = await conn.execute(_WRITE, params)
            committed = True
            row = await written.fetchone()
    except BaseException:
        if not committed:
            await _record_usage_alone(conversation, calls)
        raise
    if row is None:
        return None
    first, stored = row
    conversation.next_seq = first + len(rows.replies)
    for message, (pk, seq) in zip(rows.replies, stored):
        message.pk, message.seq = pk, seq
        message._state.adding = False
    return turns.TurnOutcome(event=event, messages=rows.replies, trace=event.trace, logs=event.logs)


async def _record_usage_alone(conversation: Conversation, calls: list[dict]) -> None:
    if not calls:
        return
    try:
        async with (await pg.pool()).connection() as conn, conn.transaction():
            await llm_usage.arecord(conn, conversation, calls)
    except Exception:
        logger.exception("the LLM usage of a failed turn of conversation %s was not recorded", conversation.pk)


def _write_params(conversation, loaded, event, user, result, started, seen_conversation, seen_user):
    rows = turns.settle_turn(conversation, loaded, event, user, result,
                             round((time.monotonic() - started) * 1000), _now())
    params = {
        "conversation": conversation.pk, "seen_conversation": seen_conversation, "count": len(rows.replies),
        "user": user.pk, "seen_user": seen_user, "user_changed": rows.user_changed,
        "event": event.pk, "masked": rows.masked, "now": event.processed_at,
        "bot": conversation.bot_id, "draft": conversation.is_draft,
        "bot_variables": Jsonb(rows.bot_variables),
        "replies": Jsonb([_reply_row(message) for message in rows.replies]),
    }
    for prefix, instance, names in (("c_", conversation, turns.CONVERSATION_FIELDS),
                                    ("e_", event, turns.EVENT_FIELDS), ("u_", user, turns.USER_FIELDS)):
        params.update({prefix + name: _db_value(instance, name, value)
                       for name, value in turns.row_values(instance, names).items()})
    return params, rows


def _db_value(instance, name: str, value):
    field = instance._meta.get_field(name)
    if isinstance(field, JSONField):
        return None if value is None else Jsonb(value)  # encoded with the pool's orjson
    return field.get_db_prep_save(value, connections[DEFAULT_DB_ALIAS])


def _reply_row(message: Message) -> dict:
    """A reply as a row for jsonb_populate_recordset: every column, defaults included
    (`seq` is an offset from the first seq the statement allocates)."""
    row = {}
    for field in Message._meta.concrete_fields:
        if not field.primary_key:
            value = getattr(message, field.attname)
            row[field.column] = value.isoformat() if isinstance(value, datetime) else value
    return row


async def _load_build(conversation: Conversation, latest):
    """`turns._load_build`, without a query for a published bot: pinned and latest builds
    come from this process's caches, the latest version's id and number from the load
    statement. A draft (the emulator) is built on a thread."""
    if conversation.is_draft:
        return await database_sync_to_async(turns._load_build)(conversation)
    if conversation.version_id and (conversation.state or {}).get("frames"):
        found = turns.cached_pinned_build(conversation.bot_id, conversation.version_id)
        if found is not None:
            return found
        return await database_sync_to_async(turns._load_build)(conversation)
    version_id, number = latest
    if version_id is None:
        raise flow_services.NotPublished(Bot(pk=conversation.bot_id, name=str(conversation.bot_id)))
    found = flow_services.cached_version_build(BotVersion(pk=version_id, bot_id=conversation.bot_id, number=number))
    if found is not None:
        return found
    return await database_sync_to_async(
        lambda: flow_services.get_version_build(BotVersion.objects.get(pk=version_id)))()


# --- scheduling ------------------------------------------------------------------------------
# At most one task per conversation and loop runs `process_pending`; a request that stored
# an event while it runs asks for one more pass instead of starting a second task that would
# only hold a database connection while waiting for the first one's lock.

class _Run:
    def __init__(self):
        self.again = False
        self.waiters: list = []


_runs: dict[tuple, _Run] = {}


def process_soon(conversation_id):
    """Have the conversation's stored events processed on this loop. Returns a future that
    is done once every event stored before this call has been processed (or has failed)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    key = (loop, conversation_id)
    run = _runs.get(key)
    if run is None:
        run = _runs[key] = _Run()
        loop.create_task(_drain(key, run))
    run.again = True
    run.waiters.append(done)
    return done


async def _drain(key, run: _Run) -> None:
    try:
        while run.again:
            run.again = False
            waiters, run.waiters = run.waiters, []
            try:
                await process_pending(key[1])
            except Exception:
                # The events stay stored; the conversation's next event processes the backlog.
                logger.exception("processing conversation %s failed", key[1])
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
    finally:
        del _runs[key]
        for waiter in run.waiters:
            if not waiter.done():
                waiter.set_result(None)
