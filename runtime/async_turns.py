"""The turn service on a server's event loop, for PostgreSQL: the same two steps as
`runtime.turns` (receive, then process the stored events one at a time in seq order), the
same locks and the same rows, with a handful of prepared statements on an async connection
instead of the ORM on a thread.

It exists for throughput (docs/performance.md, "Chat API"): a turn here is one statement to
acknowledge and two round trips to process (lock and load; write and commit), with no
thread handoff. What a turn computes is not repeated here: the engine input, the new
conversation state, the replies and the event's outcome come from the functions `turns`
uses itself (`turn_input`, `settle_conversation`, `reply_messages`, `settle_event`).
The rare parts (a draft, a build not yet compiled in this process, configuration values,
history) run the sync code on a thread.

Delivery subscribers are called on the loop right after the commit, as `turns` calls them
after its commits; they must not block (runtime/delivery.py).
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone

from channels.db import database_sync_to_async
from psycopg.types.json import Jsonb

from flows import services as flow_services
from flows.models import Bot, BotVersion
from runtime import delivery, log_context, metrics, pg, turns
from runtime.engine import run_turn
from runtime.models import BotVariable, Conversation, EndUser, Event, Message

logger = logging.getLogger(__name__)

_t = {model: model._meta.db_table for model in (Conversation, EndUser, Event, Message, BotVariable, BotVersion)}

_LOCK = "SELECT pg_advisory_xact_lock(%s, %s)"

# The first two waiting events with their conversation, the first event's sender (locked, as
# `turns` locks it), the bot's stored variables and its latest version: one statement.
_EVENT_COLUMNS = ["id", "seq", "type", "payload", "metadata", "user_id", "created_at"]
_CONVERSATION_COLUMNS = ["id", "bot_id", "user_id", "external_id", "channel", "is_draft", "version_id", "state",
                         "timeout_at", "next_seq", "created_at", "updated_at", "last_user_event_at"]
_LOAD = f"""
WITH waiting AS (
    SELECT {", ".join(_EVENT_COLUMNS)} FROM {_t[Event]}
    WHERE conversation_id = %(conversation)s AND status = 'received' ORDER BY seq LIMIT 2
), conv AS (
    SELECT {", ".join(_CONVERSATION_COLUMNS)} FROM {_t[Conversation]} WHERE id = %(conversation)s
), sender AS (
    SELECT id, bot_id, external_id, name, variables FROM {_t[EndUser]}
    WHERE id = (SELECT coalesce(w.user_id, c.user_id) FROM waiting w, conv c ORDER BY w.seq LIMIT 1)
    FOR NO KEY UPDATE
)
SELECT {", ".join("w." + c for c in _EVENT_COLUMNS)}, {", ".join("c." + c for c in _CONVERSATION_COLUMNS)},
       s.id, s.bot_id, s.external_id, s.name, s.variables,
       (SELECT jsonb_object_agg(name, value) FROM {_t[BotVariable]} b
         WHERE b.bot_id = c.bot_id AND b.is_draft = c.is_draft),
       v.id, v.number
FROM waiting w CROSS JOIN conv c LEFT JOIN sender s ON true
LEFT JOIN LATERAL (SELECT id, number FROM {_t[BotVersion]} WHERE bot_id = c.bot_id ORDER BY number DESC LIMIT 1) v
  ON true
ORDER BY w.seq
"""

# The replies, the conversation's new state with their seqs, and the event's outcome: one
# statement. The replies arrive as one JSON array of rows (their `seq` is an offset).
_MESSAGE_COLUMNS = [f.column for f in Message._meta.concrete_fields if not f.primary_key]
_WRITE = f"""
WITH c AS (
    UPDATE {_t[Conversation]} SET next_seq = next_seq + %(count)s, state = %(state)s, version_id = %(version)s,
           timeout_at = %(timeout_at)s, updated_at = %(now)s
    WHERE id = %(conversation)s RETURNING next_seq - %(count)s AS first
), m AS (
    INSERT INTO {_t[Message]} ({", ".join(_MESSAGE_COLUMNS)})
    SELECT {", ".join("c.first + r.seq" if col == "seq" else "r." + col for col in _MESSAGE_COLUMNS)}
    FROM c, jsonb_populate_recordset(NULL::{_t[Message]}, %(replies)s) r
    RETURNING id, seq
), e AS (
    UPDATE {_t[Event]} SET status = 'processed', processed_at = %(now)s, payload = %(payload)s,
           trace = %(trace)s, logs = %(logs)s, duration_ms = %(duration_ms)s
    WHERE id = %(event)s
)
SELECT c.first, (SELECT coalesce(jsonb_agg(jsonb_build_array(id, seq) ORDER BY seq), '[]'::jsonb) FROM m) FROM c
"""
_WRITE_USER = f"UPDATE {_t[EndUser]} SET variables = %s, updated_at = %s WHERE id = %s"
_WRITE_BOT_VARIABLE = (
    f"INSERT INTO {_t[BotVariable]} (bot_id, is_draft, name, value, updated_at) VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (bot_id, is_draft, name) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at"
)
_MASK_INCOMING = f"UPDATE {_t[Message]} SET payload = %s WHERE event_id = %s AND direction = 'incoming'"
_FAIL = (f"UPDATE {_t[Event]} SET status = 'failed', error = %s, processed_at = %s "
         "WHERE id = %s AND status = 'received'")


class NeedsSyncPath(Exception):
    """This conversation is run by `runtime.turns` on a thread (a draft conversation)."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


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

async def process_pending(conversation_id) -> list[turns.TurnOutcome]:
    """`turns.process_pending` on the loop: every `received` event, in seq order, one
    transaction each; draft conversations go to the sync executor on a thread."""
    outcomes = []
    more = True
    with log_context.conversation(conversation_id):
        while more:
            try:
                outcome, more = await _process_next(conversation_id)
            except NeedsSyncPath:
                return outcomes + await database_sync_to_async(turns.process_pending)(conversation_id)
            if outcome is None:
                break
            outcomes.append(outcome)
            metrics.observe_turn(turns.outcome_channel(outcome), outcome)
    return outcomes


async def _process_next(conversation_id) -> tuple[turns.TurnOutcome | None, bool]:
    event = None
    async with (await pg.pool()).connection() as conn:
        try:
            # Pipelined: BEGIN, the lock and the load go out together, and so do the writes
            # and COMMIT, so a turn is two round trips.
            async with conn.pipeline(), conn.transaction():
                await conn.execute(_LOCK, turns.turn_lock_key(conversation_id))
                rows = await (await conn.execute(_LOAD, {"conversation": conversation_id})).fetchall()
                if not rows:
                    return None, False
                conversation, event, user, bot_vars, latest = _loaded(rows[0])
                if conversation.is_draft:
                    raise NeedsSyncPath(conversation_id)
                outcome, written = await _run_event(conn, conversation, event, user, bot_vars, latest)
            _stored(outcome, conversation, await written.fetchone())
        except NeedsSyncPath:
            raise
        except Exception as exc:
            if event is None:
                raise
            # The transaction rolled back every write of this turn; only the failure is kept.
            logger.exception("turn failed for event %s of conversation %s", event.pk, conversation_id)
            event.status, event.error, event.processed_at = Event.Status.FAILED, f"{type(exc).__name__}: {exc}", _now()
            async with conn.transaction():
                await conn.execute(_LOCK, turns.turn_lock_key(conversation_id))
                await conn.execute(_FAIL, (event.error, event.processed_at, event.pk))
            return turns.TurnOutcome(event=event), True
    delivery.publish(conversation, outcome.messages)
    return outcome, len(rows) > 1


def _loaded(row):
    n_event, n_conv = len(_EVENT_COLUMNS), len(_CONVERSATION_COLUMNS)
    event_values = dict(zip(_EVENT_COLUMNS, row[:n_event]))
    conv_values = dict(zip(_CONVERSATION_COLUMNS, row[n_event:n_event + n_conv]))
    rest = row[n_event + n_conv:]
    conversation = Conversation(**conv_values)
    conversation._state.adding = False
    event = Event(conversation_id=conversation.pk, status=Event.Status.RECEIVED, **event_values)
    event.conversation = conversation
    event._state.adding = False
    user = EndUser(id=rest[0], bot_id=rest[1], external_id=rest[2], name=rest[3], variables=rest[4])
    user._state.adding = False
    return conversation, event, user, rest[5] or {}, (rest[6], rest[7])


async def _run_event(conn, conversation: Conversation, event: Event, user: EndUser, bot_vars: dict,
                     latest):
    loaded = await _load_build(conversation, latest)
    build = loaded.build
    env = await database_sync_to_async(turns._config_env)(conversation, build) if build.config_names else {}
    history = (await database_sync_to_async(turns._earlier_user_texts)(conversation, event, build.history_depth)
               if build.history_depth > 0 else [])
    started = time.monotonic()
    result = run_turn(build, turns.turn_input(conversation, user, event, loaded, bot_vars, env=env, history=history))
    duration_ms = round((time.monotonic() - started) * 1000)

    now = _now()
    if result.user != user.variables:
        user.variables = result.user
        await conn.execute(_WRITE_USER, (Jsonb(result.user), now, user.pk))
    for name, value in (result.bot_changes or {}).items():
        await conn.execute(_WRITE_BOT_VARIABLE, (conversation.bot_id, conversation.is_draft, name, Jsonb(value), now))
    turns.settle_conversation(conversation, loaded, event, result, now)
    if turns.settle_event(event, result, duration_ms, now):
        await conn.execute(_MASK_INCOMING, (Jsonb(event.payload), event.pk))
    messages = turns.reply_messages(conversation, event, result.outputs, 0, now)
    cursor = await conn.execute(_WRITE, {
        "conversation": conversation.pk, "count": len(messages), "state": Jsonb(conversation.state),
        "version": conversation.version_id, "timeout_at": conversation.timeout_at, "now": now,
        "replies": Jsonb([_reply_row(message, now) for message in messages]),
        "event": event.pk, "payload": Jsonb(event.payload), "trace": Jsonb(event.trace), "logs": Jsonb(event.logs),
        "duration_ms": duration_ms,
    })
    # The cursor's row (first seq, the replies' ids) is read after the commit: `_stored`.
    return turns.TurnOutcome(event=event, messages=messages, trace=event.trace, logs=event.logs), cursor


def _stored(outcome: turns.TurnOutcome, conversation: Conversation, row) -> None:
    first, stored = row
    conversation.next_seq = first + len(outcome.messages)
    for message, (pk, seq) in zip(outcome.messages, stored):
        message.pk, message.seq = pk, seq
        message._state.adding = False


def _reply_row(message: Message, now: datetime) -> dict:
    """A reply as a row for jsonb_populate_recordset: every column, defaults included."""
    row = {}
    for field in Message._meta.concrete_fields:
        if field.primary_key:
            continue
        value = getattr(message, field.attname)
        if field.attname == "created_at":
            value = now.isoformat()
        row[field.column] = value  # (`seq` is an offset from the first seq the statement allocates)
    return row


async def _load_build(conversation: Conversation, latest):
    """`turns._load_build` without a query: pinned and latest builds come from this
    process's caches, the latest version's id and number from the load statement."""
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
