"""The turn service: the one path every channel, the emulator, the CLI and tests use to talk
to a bot.

Two steps, kept apart on purpose:

- `receive_event` stores an inbound event (committed) and returns: that is the
  acknowledgement, so a crash afterwards never loses what the user said.
- `process_pending` runs the stored events of one conversation through the engine, one at
  a time in seq order. Each event is one transaction: new state, variables, outgoing
  messages and the event's status commit together or not at all.

Locking, so that acknowledging never waits for a running turn:

- Processing is serialised per conversation by a transaction-scoped advisory lock
  (`pg_advisory_xact_lock`), which holds across processes and touches no row. (On SQLite,
  the embedded default for one process, a per-process lock plays its part.)
- Seqs are allocated by one short `UPDATE ... next_seq = next_seq + n RETURNING` on the
  conversation row. A receiver holds that row lock only for its tiny transaction; a turn
  takes it only at its very end, together with the final state write, so the replies'
  seqs are allocated and committed in one go. Commit order therefore follows seq order,
  and a message sent during a turn is acknowledged at once (and processed right after).
"""
from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from flows import services as flow_services
from flows.models import Bot, ConfigValue
from runtime import analytics, code_http, delivery, llm_gateway, llm_usage, log_context, metrics, table_gateway
from runtime import issues as issue_service
from runtime import live_logs
from runtime.knowledge import gateway as knowledge_gateway
from runtime.engine import CUSTOM_EVENT, DEFAULT_SETTINGS, HITL_STOPPED, MESSAGE_EVENT_TYPES, TurnInput, run_turn
from runtime.engine.events import TARGETED_EVENT_TYPES
from runtime.engine.llm import LLMCancelled
from runtime.models import BotVariable, Conversation, EndUser, Event, Message

logger = logging.getLogger(__name__)

# Events the system raises itself; they do not count as user activity.
SYSTEM_EVENT_TYPES = frozenset({"timeout", "state_expired", HITL_STOPPED, "webhook", "schedule"})
# While a conversation is in one of these handoff states, people answer it: its events are
# stored (and shown in the Inbox) but the bot does not run (runtime/handoff.py).
HANDOFF_ACTIVE = frozenset({Conversation.Handoff.WAITING, Conversation.Handoff.WITH_AGENT})
# Inbound events kept in the transcript (Message rows): what the user said or clicked
# (MESSAGE_EVENT_TYPES, from the engine) and custom events (type "event").
TRANSCRIPT_EVENT_TYPES = MESSAGE_EVENT_TYPES | {CUSTOM_EVENT}


@dataclass
class TurnOutcome:
    """What processing one event produced."""

    event: Event
    messages: list[Message] = field(default_factory=list)
    trace: list[dict] = field(default_factory=list)
    logs: list[dict] = field(default_factory=list)

    @property
    def outputs(self) -> list[dict]:
        return [message.as_output() for message in self.messages]

    @property
    def failed(self) -> bool:
        return self.event.status == Event.Status.FAILED

    @property
    def error(self) -> str:
        return self.event.error


# --- users and conversations ---------------------------------------------------------------

def get_or_create_user(bot, external_id: str | None = None) -> EndUser:
    if external_id is None:
        external_id = uuid.uuid4().hex
    elif not isinstance(external_id, str) or not external_id.strip():
        raise ValueError(f"user external_id must be a non-empty string, got {external_id!r}")
    user, _ = EndUser.objects.get_or_create(bot=bot, external_id=external_id)
    return user


def start_conversation(bot, user: EndUser, *, draft: bool = False, external_id: str | None = None,
                       channel: str | None = None) -> Conversation:
    if user.bot_id != bot.pk:
        raise ValueError(f"user {user.external_id!r} belongs to another bot")
    return Conversation.objects.create(
        bot=bot,
        user=user,
        external_id=external_id or uuid.uuid4().hex,
        is_draft=draft,
        channel=channel or ("emulator" if draft else "api"),
    )


def delete_conversation(conversation: Conversation) -> None:
    """Delete a conversation with its events and messages (nothing is delivered: the
    conversation is gone for every listener)."""
    with turn_transaction(conversation.pk):
        Conversation.objects.filter(pk=conversation.pk).delete()


def delete_messages(conversation: Conversation, messages: list[Message]) -> None:
    """Delete messages of a conversation; subscribers of deletions are told after commit."""
    with transaction.atomic():
        Message.objects.filter(conversation_id=conversation.pk, pk__in=[m.pk for m in messages]).delete()
        transaction.on_commit(lambda: delivery.publish_deleted(conversation, messages))


# --- receiving -----------------------------------------------------------------------------

def receive_event(conversation: Conversation, event_type: str, payload: dict | None = None, *,
                  user: EndUser | None = None, metadata: dict | None = None) -> Event:
    """Store one inbound event and commit it. Cheap: no engine work happens here.

    `user` is the sender when it is not the conversation's own user (another participant);
    `metadata` is kept beside the payload and shown to the bot as `event.metadata`. The
    transcript row made for a message or custom event is `event.incoming_message` (None
    for other events)."""
    event, message, activity = received_rows(conversation, event_type, payload, user=user, metadata=metadata)
    if connection.vendor == "postgresql":
        sql, params = received_statement(conversation.pk, event, message, activity)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            apply_received(event, message, cursor.fetchone(), connection.alias)
    else:
        with transaction.atomic():
            event.seq = _allocate_seqs(conversation.pk, 1, {"last_user_event_at": activity} if activity else None)
            event.save(force_insert=True)
            if message is not None:
                message.seq, message.event = event.seq, event
                message.save(force_insert=True)
    if message is not None:
        transaction.on_commit(lambda: delivery.publish(conversation, [message]))
    event.incoming_message = message
    return event


def received_rows(conversation: Conversation, event_type: str, payload: dict | None, *,
                  user: EndUser | None = None, metadata: dict | None = None):
    """(event, transcript row or None, activity time or None) of an inbound event, unsaved."""
    payload = _validated_payload(event_type, payload)
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"metadata must be an object, got {type(metadata).__name__}")
    if user is not None and user.bot_id != conversation.bot_id:
        raise ValueError(f"user {user.external_id!r} belongs to another bot")
    sender_id = user.pk if user is not None else conversation.user_id
    now = timezone.now()
    event = Event(conversation_id=conversation.pk, bot_id=conversation.bot_id, type=event_type, payload=payload,
                  user_id=sender_id, metadata=metadata, created_at=now)
    message = None
    if event_type in TRANSCRIPT_EVENT_TYPES:
        # The transcript entry shares the event's seq: one timeline for both tables. The
        # sender object (when given) rides along, so subscribers need no query for it.
        message = Message(conversation_id=conversation.pk, bot_id=conversation.bot_id,
                          direction=Message.Direction.INCOMING, type=event_type, metadata=metadata, created_at=now,
                          payload={"payload": payload} if event_type == CUSTOM_EVENT else payload)
        if user is not None:
            message.user = user
        else:
            message.user_id = sender_id
    activity = None if event_type in SYSTEM_EVENT_TYPES else now
    return event, message, activity


def received_statement(conversation_id, event: Event, message: Message | None, activity, *,
                       guard: tuple[str, list] | None = None) -> tuple[str, list]:
    """PostgreSQL: seq, event and transcript row in ONE statement (atomic by itself), so an
    acknowledgement is a single round trip and the conversation row is locked only for it.
    It answers one row (event id, seq, message id), or none when the conversation is gone,
    or when `guard` (an SQL condition on the conversation row `c`, with its parameters)
    does not hold, e.g. "the sender still takes part in it".

    Every other column comes from the model instances (their Python defaults included), so a
    field added to Event or Message later is written here without touching this SQL."""
    db = connections[DEFAULT_DB_ALIAS]  # resolved once: the proxy costs a lookup per use
    event.status = Event.Status.RECEIVED
    sql = _received_sql(message is not None, activity is not None, guard[0] if guard else None)
    params = [activity] if activity is not None else []
    params.append(conversation_id)
    if guard:
        params += guard[1]
    params += [f.get_db_prep_save(getattr(event, f.attname), db) for f in _received_fields(Event)]
    if message is not None:
        params += [f.get_db_prep_save(getattr(message, f.attname), db) for f in _received_fields(Message)]
    return sql, params


@functools.cache
def _received_fields(model) -> list:
    computed = {"seq", "event_id"}
    return [f for f in model._meta.concrete_fields if not f.primary_key and f.attname not in computed]


@functools.cache
def _received_sql(with_message: bool, with_activity: bool, guard_sql: str | None) -> str:
    quote = connection.ops.quote_name

    def columns(model):
        fields = _received_fields(model)
        return ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields))

    activity_sql = ", last_user_event_at = %s" if with_activity else ""
    guard = f" AND {guard_sql}" if guard_sql else ""
    event_columns, event_marks = columns(Event)
    message_sql = "SELECT NULL::bigint AS id"
    if with_message:
        message_columns, message_marks = columns(Message)
        message_sql = (f"INSERT INTO {quote(Message._meta.db_table)} ({message_columns}, seq, event_id) "
                       f"SELECT {message_marks}, e.seq, e.id FROM e RETURNING id")
    return (
        f"WITH s AS (UPDATE {quote(Conversation._meta.db_table)} c SET next_seq = next_seq + 1{activity_sql} "
        f"WHERE id = %s{guard} RETURNING next_seq - 1 AS seq), "
        f"e AS (INSERT INTO {quote(Event._meta.db_table)} ({event_columns}, seq) "
        f"SELECT {event_marks}, s.seq FROM s RETURNING id, seq), "
        f"m AS ({message_sql}) "
        "SELECT e.id, e.seq, (SELECT id FROM m) FROM e"
    )


def apply_received(event: Event, message: Message | None, row, alias: str = "default") -> None:
    """Give the stored event and transcript row their ids and seq (the statement's answer)."""
    if row is None:
        raise Conversation.DoesNotExist(f"conversation {event.conversation_id} does not exist")
    event.pk, event.seq = row[0], row[1]
    event._state.adding, event._state.db = False, alias
    if message is not None:
        message.pk, message.seq, message.event_id = row[2], row[1], row[0]
        message._state.adding, message._state.db = False, alias


def check_payload(event_type, payload) -> None:
    """ValueError when `receive_event` would refuse this event type and payload: for callers
    that store an event's parts first and make it the event later (the messaging channels)."""
    _validated_payload(event_type, payload)


def _validated_payload(event_type, payload) -> dict:
    if not isinstance(event_type, str) or not event_type:
        raise ValueError(f"event type must be a non-empty string, got {event_type!r}")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ValueError(f"payload of a {event_type!r} event must be an object, got {type(payload).__name__}")
    if event_type == "text" and not isinstance(payload.get("text"), str):
        raise ValueError("payload of a 'text' event needs a string 'text' field")
    return payload


def _allocate_seqs(conversation_id, count: int, columns: dict | None = None) -> int:
    """Reserve `count` consecutive seqs and return the first, writing `columns` (field name
    -> value) in the same statement. The UPDATE takes the row lock until the caller's
    transaction ends, so allocations are serialised and committed in seq order: callers
    keep that transaction short."""
    assignments = ["next_seq = next_seq + %s"]
    params: list = [count]
    for name, value in (columns or {}).items():
        column = Conversation._meta.get_field(name)
        assignments.append(f"{connection.ops.quote_name(column.column)} = %s")
        params.append(column.get_db_prep_save(value, connection))
    params.append(conversation_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(Conversation._meta.db_table)} SET {', '.join(assignments)} "
            "WHERE id = %s RETURNING next_seq",
            params,
        )
        row = cursor.fetchone()
    if row is None:
        raise Conversation.DoesNotExist(f"conversation {conversation_id} does not exist")
    return row[0] - count


# Advisory locks share one key space per database; the class id keeps ours apart.
_TURN_LOCK_CLASS = zlib.crc32(b"flowstudio.turn") & 0x7FFFFFFF
# SQLite has no advisory locks; one process serves it, so striped local locks do the job.
_LOCAL_TURN_LOCKS = [threading.Lock() for _ in range(64)]


def turn_lock_key(conversation_id) -> tuple[int, int]:
    """The two int4 keys of a conversation's advisory lock; conversations whose ids collide
    modulo 2^31 only wait for each other."""
    return _TURN_LOCK_CLASS, int(conversation_id) & 0x7FFFFFFF


@contextmanager
def turn_transaction(conversation_id):
    """A transaction in which no other process or thread processes this conversation."""
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", turn_lock_key(conversation_id))
            yield
    else:
        with _LOCAL_TURN_LOCKS[hash(conversation_id) % len(_LOCAL_TURN_LOCKS)], transaction.atomic():
            yield


def try_lock_for_turn(conversation_id) -> bool:
    """Inside a transaction: take the conversation's turn lock if free (PostgreSQL), so a
    sweep can skip conversations with a turn running. Always True elsewhere."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", turn_lock_key(conversation_id))
        return bool(cursor.fetchone()[0])


# --- processing ----------------------------------------------------------------------------

def process_pending(conversation_id) -> list[TurnOutcome]:
    """Run every `received` event of the conversation, in seq order, one per transaction.

    It stops when no other event was waiting as it took the last one: an event stored after
    that is processed by whoever stored it (every receiver calls this), which waits for the
    turn lock and then finds it."""
    outcomes = []
    more = True
    with log_context.conversation(conversation_id):
        while more:
            outcome, more = _process_next(conversation_id)
            if outcome is None:
                break
            outcomes.append(outcome)
            metrics.observe_turn(outcome_channel(outcome), outcome)
            if live_logs.has_lines(outcome.event):
                after_turn_with_lines(outcome)
    return outcomes


def after_turn_with_lines(outcome: TurnOutcome) -> None:
    """After the commit of a turn that wrote log lines or failed, for the published bot (the
    emulator's lines and errors are the debugger's): the Logs page's live tail hears of them
    and its errors are folded into Issues (runtime/issues.py). The turn waited on neither."""
    event = outcome.event
    if Event.conversation.is_cached(event):
        bot_id, draft = event.conversation.bot_id, event.conversation.is_draft
    else:  # a failed turn's event was read again after the rollback
        bot_id, draft = Conversation.objects.filter(pk=event.conversation_id).values_list("bot_id", "is_draft").get()
    if draft:
        return
    live_logs.announce(bot_id, event.pk)
    if issue_service.has_errors(event):
        issue_service.fold_after_turn(bot_id)


def outcome_channel(outcome: TurnOutcome) -> str:
    """The channel of the outcome's conversation, when it was loaded with the event."""
    event = outcome.event
    return event.conversation.channel if Event.conversation.is_cached(event) else "unknown"


def send_user_message(conversation: Conversation, text: str, *, payload: dict | None = None) -> TurnOutcome:
    """Store a text message and process it now (synchronous; for the CLI, emulator and tests)."""
    event = receive_event(conversation, "text", {**(payload or {}), "text": text})
    return process_event_now(event)


def fire_timeout(conversation: Conversation) -> TurnOutcome:
    """Fire the inactivity timeout now (the emulator's button; the beat task for due ones)."""
    event = receive_event(conversation, "timeout", {})
    return process_event_now(event)


def process_event_now(event: Event) -> TurnOutcome:
    for outcome in process_pending(event.conversation_id):
        if outcome.event.pk == event.pk:
            return outcome
    # Another worker processed it first; what it produced is stored, its trace too.
    event.refresh_from_db()
    messages = list(event.messages.filter(direction=Message.Direction.OUTGOING).order_by("seq"))
    return TurnOutcome(event=event, messages=messages, trace=list(event.trace or []), logs=list(event.logs or []))


def _process_next(conversation_id) -> tuple[TurnOutcome | None, bool]:
    """Process the first waiting event: (its outcome or None, whether another one waited)."""
    event = None
    try:
        with turn_transaction(conversation_id):
            # The next two waiting events with their conversation, in one query. No row lock:
            # only turn holders write the state, and receivers must not wait.
            waiting = list(Event.objects.filter(conversation_id=conversation_id, status=Event.Status.RECEIVED)
                           .select_related("conversation").order_by("seq")[:2])
            if not waiting:
                return None, False
            event = waiting[0]
            return _run_event(event.conversation, event), len(waiting) > 1
    except LLMCancelled:
        # The user stopped the answer: the transaction rolled back every write of the turn
        # (state, variables, the partial answer); the message is kept, marked cancelled.
        store_cancelled(event.conversation, event)
        event.refresh_from_db()
        return TurnOutcome(event=event), True
    except Exception as exc:
        if event is None:
            raise
        # The transaction rolled back every write of this turn; only the failure is kept, and
        # the bot's fallback message, so the visitor is not left in silence.
        logger.exception("turn failed for event %s of conversation %s", event.pk, conversation_id)
        conversation = event.conversation
        text = fallback_message(conversation)
        replies: list[Message] = []
        with turn_transaction(conversation_id):
            failed = Event.objects.filter(pk=event.pk, status=Event.Status.RECEIVED).update(
                status=Event.Status.FAILED, error=f"{type(exc).__name__}: {exc}", processed_at=timezone.now())
            if failed and text:
                replies = reply_messages(conversation, event, [{"type": "text", "text": text}],
                                         _allocate_seqs(conversation_id, 1), timezone.now())
                Message.objects.bulk_create(replies)
                transaction.on_commit(lambda: delivery.publish(conversation, replies))
        event.refresh_from_db()
        return TurnOutcome(event=event, messages=replies), True


def fallback_message(conversation: Conversation) -> str:
    """The bot's fallback message for a turn that failed outside the engine (nothing of it is
    stored), or "" when the bot turned it off. Loading the bot may be what failed (a build
    error, no published version): then it is the default one."""
    try:
        text = _load_build(conversation).build.settings.get("fallbackMessage")
    except Exception:
        text = DEFAULT_SETTINGS["fallbackMessage"]
    return text if isinstance(text, str) and text.strip() else ""


def _run_event(conversation: Conversation, event: Event) -> TurnOutcome:
    if conversation.handoff_status in HANDOFF_ACTIVE:
        skip_for_handoff(conversation, event)
        return TurnOutcome(event=event, trace=event.trace)
    loaded = _load_build(conversation)
    # The sender's variables are the `user` scope. Locked after the conversation (always in
    # that order) so two conversations of one user cannot overwrite each other's variables.
    user = EndUser.objects.select_for_update(no_key=True).get(pk=event.user_id or conversation.user_id)
    stored_bot_vars = BotVariable.objects.filter(bot_id=conversation.bot_id, is_draft=conversation.is_draft)
    started = time.monotonic()
    result = run_turn(loaded.build, turn_input(
        conversation, user, event, loaded, dict(stored_bot_vars.values_list("name", "value")),
        env=_config_env(conversation, loaded.build),
        history=_earlier_user_texts(conversation, event, loaded.build.history_depth),
        workflows=_workflow_statuses(conversation, loaded.build)))
    llm_usage.record(conversation, result.llm_calls)
    rows = settle_turn(conversation, loaded, event, user, result, round((time.monotonic() - started) * 1000),
                       timezone.now())

    if rows.user_changed:
        EndUser.objects.filter(pk=user.pk).update(**row_values(user, USER_FIELDS))
    _write_bot_variables(conversation, rows.bot_variables)
    # Last, so the conversation row is locked only from here to the commit (see the module doc).
    first_seq = _allocate_seqs(conversation.pk, len(rows.replies), row_values(conversation, CONVERSATION_FIELDS))
    conversation.next_seq = first_seq + len(rows.replies)
    for message in rows.replies:
        message.seq += first_seq
    Message.objects.bulk_create(rows.replies)
    if rows.masked:
        Message.objects.filter(event=event, direction=Message.Direction.INCOMING).update(payload=event.payload)
    Event.objects.filter(pk=event.pk).update(**row_values(event, EVENT_FIELDS))

    transaction.on_commit(lambda: delivery.publish(conversation, rows.replies))
    return TurnOutcome(event=event, messages=rows.replies, trace=event.trace, logs=event.logs)


# --- what a turn computes and writes, whoever stores it ----------------------------------------
# Shared by this module's ORM executor and the asynchronous PostgreSQL one
# (runtime/async_turns.py): both run the same turn, and both store `settle_turn`'s rows, by
# the field names below. A column a turn writes is added here, once, for both.

# The fields of each row a processed turn writes (replies are whole rows: every column).
CONVERSATION_FIELDS = ("state", "version", "timeout_at", "updated_at",  # and the seqs it allocates
                       "handoff_status", "handoff_reason", "handoff_priority", "handoff_requested_at")
EVENT_FIELDS = ("status", "processed_at", "payload", "trace", "logs", "duration_ms", "facts")
USER_FIELDS = ("variables", "updated_at")


@dataclass
class TurnRows:
    """What storing one processed event writes: the conversation's and the event's
    `*_FIELDS`, the sender's `USER_FIELDS` when their variables changed, the replies (their
    `seq` an offset from the first seq allocated for them), the bot variables that changed
    (upserted by name) and, when the event was masked, its payload in its transcript row."""

    conversation: Conversation
    event: Event
    user: EndUser
    user_changed: bool
    replies: list[Message]
    bot_variables: dict
    masked: bool


def settle_turn(conversation: Conversation, loaded, event: Event, user: EndUser, result, duration_ms: int,
                now) -> TurnRows:
    user_changed = result.user != user.variables
    if user_changed:
        user.variables, user.updated_at = result.user, now
    settle_conversation(conversation, loaded, event, result, now)
    masked = settle_event(event, result, duration_ms, now)
    return TurnRows(conversation=conversation, event=event, user=user, user_changed=user_changed,
                    replies=reply_messages(conversation, event, result.outputs, 0, now),
                    bot_variables=dict(result.bot_changes or {}), masked=masked)


def row_values(instance, names) -> dict:
    """{field name: value} of `instance` for the field `names` (foreign keys by their id)."""
    meta = instance._meta
    return {name: getattr(instance, meta.get_field(name).attname) for name in names}

def turn_input(conversation: Conversation, user: EndUser, event: Event, loaded, stored_bot_vars: dict, *,
               env: dict, history: list[str], workflows: dict | None = None) -> TurnInput:
    signals = StreamSignals(conversation, event)
    return TurnInput(
        on_stream=signals.piece,
        on_stream_discard=signals.discard,
        state=conversation.state or {},
        event=_engine_event(conversation, user, event),
        user={**loaded.build.user_defaults(), **(user.variables or {})},
        bot={**loaded.build.bot_defaults(), **stored_bot_vars},
        env=env,
        history=history,
        workflows=workflows or {},
        budget_ms=settings.FLOWSTUDIO_TURN_BUDGET_MS or None,
        llm=llm_gateway.for_bot(conversation.bot_id, cancel_key(conversation), event.seq),
        tools=llm_gateway.tools_for_bot(conversation.bot_id),
        tables=table_gateway.for_bot(conversation.bot_id),
        http=code_http.host(),
        knowledge=knowledge_gateway.for_bot(conversation.bot_id),
        llm_token_budget=settings.FLOWSTUDIO_LLM_TURN_TOKENS or None,
    )


class StreamSignals:
    """The turn's `on_stream` (`piece`) and `on_stream_discard` (`discard`): each piece of a
    streamed answer goes to the conversation's live clients as a `delta` signal, never to the
    database. `offset` is where the piece starts in the whole answer and `index` its number,
    so a client can tell a piece it already has (an answer streamed again restarts at 0).

    Called on the LLM loop's thread. The pieces of one stream that come in the same tick of
    that loop (the model's chunks read together: the loop was busy with other answers) are
    published as one signal, in the next tick: every signal costs a hand-over to the server's
    loop, a Redis PUBLISH or group_send and a write to each client, whatever its length
    (docs/performance.md, "Issue 15's second round of cuts"). Off a loop (a replayed
    recording calls from the engine's thread) each piece goes at once. The subscribers only
    queue a send, so a slow client never holds up the model or the engine."""

    def __init__(self, conversation: Conversation, event: Event):
        self.conversation, self.event = conversation, event
        self._sent: dict[str, tuple[int, int]] = {}  # stream id -> (characters sent, pieces sent)
        self._held: dict[str, list[str]] = {}  # stream id -> pieces of this tick, not sent yet
        self._flush_scheduled = False

    def piece(self, stream_id: str, delta: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            self.flush()
            self._publish(stream_id, delta)
            return
        self._held.setdefault(stream_id, []).append(delta)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self.flush)

    def discard(self, stream_id: str) -> None:
        """A `delta` signal with `discard: true` (and no text) tells clients to take away what
        they showed of that stream (a thought, not an answer); after the pieces it covers."""
        self.flush()
        delivery.publish_signal(self.conversation, {
            "type": "delta", "eventId": self.event.pk, "streamId": stream_id,
            "delta": "", "offset": 0, "index": -1, "discard": True})

    def flush(self) -> None:
        self._flush_scheduled = False
        if self._held:
            held, self._held = self._held, {}
            for stream_id, pieces in held.items():
                self._publish(stream_id, pieces[0] if len(pieces) == 1 else "".join(pieces))

    def _publish(self, stream_id: str, delta: str) -> None:
        offset, index = self._sent.get(stream_id, (0, 0))
        self._sent[stream_id] = (offset + len(delta), index + 1)
        delivery.publish_signal(self.conversation, {"type": "delta", "eventId": self.event.pk, "streamId": stream_id,
                                                    "delta": delta, "offset": offset, "index": index})


# --- cancel --------------------------------------------------------------------------------

def cancel(conversation: Conversation) -> int:
    """The user's stop: cancel the LLM call of every turn for what the conversation has
    received so far (running now, or reaching its call later; docs/ai.md, "Streaming and
    cancel"). Returns the highest event seq the stop covers. A stop while no call runs
    changes nothing: the answers already given stay."""
    up_to = (Conversation.objects.filter(pk=conversation.pk).values_list("next_seq", flat=True).first() or 1) - 1
    llm_gateway.cancel(cancel_key(conversation), up_to)
    return up_to


def cancel_key(conversation: Conversation) -> str:
    """Names the conversation's stops: its id and its creation time, because a database may
    give a deleted conversation's id to a new one (and a remembered stop must not cover it)."""
    created = conversation.created_at
    return f"{conversation.pk}.{round(created.timestamp() * 1_000_000) if created else 0}"


def store_cancelled(conversation: Conversation, event: Event) -> None:
    """What a stopped turn leaves: nothing of the turn itself (its transaction rolled back, so
    the state, the variables and the partial answer are as before it), the event processed
    with a `cancelled` trace entry, and the user's message with `cancelled: true` in its
    metadata. Its clients then get a `cancelled` signal."""
    with turn_transaction(conversation.pk):
        updated = Event.objects.filter(pk=event.pk, status=Event.Status.RECEIVED).update(
            status=Event.Status.PROCESSED, processed_at=timezone.now(),
            trace=[{"type": "cancelled", "t": 0, "message": "the user stopped the answer; the turn's changes "
                                                            "were dropped"}])
        if not updated:
            return
        message = Message.objects.filter(event_id=event.pk, direction=Message.Direction.INCOMING).first()
        if message is not None:
            message.metadata = {**(message.metadata or {}), "cancelled": True}
            message.save(update_fields=["metadata"])
        signal = {"type": "cancelled", "eventSeq": event.seq, "messageSeq": message.seq if message else None,
                  "messageId": message.pk if message else None, "eventId": event.pk}
        transaction.on_commit(lambda: delivery.publish_signal(conversation, signal))


def settle_conversation(conversation: Conversation, loaded, event: Event, result, now) -> None:
    """The conversation's new state, pinned version and inactivity timeout after a turn, and
    its handoff when an Escalate card ran."""
    active = bool((result.state or {}).get("frames")) and not result.ended
    conversation.state = result.state
    conversation.version = loaded.version if active else None
    if not active or event.type == "timeout":
        conversation.timeout_at = None
    elif event.type not in SYSTEM_EVENT_TYPES:
        conversation.timeout_at = _next_timeout(loaded, now)
    # else: a state expiry is not user activity; the pending inactivity timeout stays as it was.
    escalation = getattr(result, "escalation", None)
    if escalation:
        # People answer from now on; the bot's inactivity timeout must not cut them off.
        conversation.handoff_status = Conversation.Handoff.WAITING
        conversation.handoff_reason = str(escalation.get("reason") or "")[:2000]
        conversation.handoff_priority = escalation.get("priority") or "normal"
        conversation.handoff_requested_at = now
        conversation.timeout_at = None
    elif conversation.handoff_status == Conversation.Handoff.ENDED and event.type not in SYSTEM_EVENT_TYPES:
        conversation.handoff_status = Conversation.Handoff.BOT  # the user came back: the bot answers
    conversation.updated_at = now


def skip_for_handoff(conversation: Conversation, event: Event) -> None:
    """Settle an event of a conversation people are handling without running the bot: it is
    processed, with a trace entry that says why (its transcript row is already in the Inbox)."""
    now = timezone.now()
    event.status, event.processed_at, event.duration_ms = Event.Status.PROCESSED, now, 0
    event.trace = [{"type": "handoff", "t": 0, "status": conversation.handoff_status,
                    "message": "a person is handling this conversation; the bot did not run"}]
    with turn_transaction(conversation.pk):
        Event.objects.filter(pk=event.pk, status=Event.Status.RECEIVED).update(
            status=event.status, processed_at=now, duration_ms=0, trace=event.trace)


def reply_messages(conversation: Conversation, event: Event, outputs: list[dict], first_seq: int, now) -> list[Message]:
    messages = []
    for offset, output in enumerate(outputs):
        output = dict(output)
        metadata = output.pop("metadata", None)
        messages.append(Message(
            conversation=conversation, bot_id=conversation.bot_id, seq=first_seq + offset,
            direction=Message.Direction.OUTGOING,
            event=event, type=output.pop("type", "text"), payload=output, metadata=metadata, created_at=now,
        ))
    return messages


def settle_event(event: Event, result, duration_ms: int, now) -> bool:
    """The event's outcome. True when its text was masked: sensitive answers (a sensitive
    capture, a sensitive pattern entity) are starred out in what is kept, so the caller
    stores `event.payload` in the transcript row too. The engine has already used the real
    value; it lives on only in the variable the bot stored it in."""
    event.status = Event.Status.PROCESSED
    event.processed_at = now
    event.trace, event.logs, event.duration_ms = list(result.trace), list(result.logs), duration_ms
    event.facts = analytics.turn_facts(event.trace)
    if result.masked_text is None or not isinstance(event.payload.get("text"), str):
        return False
    event.payload = {**event.payload, "text": result.masked_text}
    return True


# Published versions never change, so a pinned dialog's build is found by the bot's id and
# the version's id alone, without reading the version row (and its whole definition) on
# every turn. (The bot's UUID is in the key because a database may reuse a deleted row's id.)
_PINNED_BUILDS_SIZE = 256
_pinned_builds: OrderedDict = OrderedDict()
_pinned_lock = threading.Lock()


def cached_pinned_build(bot_id, version_id):
    """The build of a pinned version if this process has it (no query), else None."""
    with _pinned_lock:
        return _pinned_builds.get((bot_id, version_id))


def _load_build(conversation: Conversation):
    # Only the bot's id is used: no need to load the bot row (and its draft) here.
    bot = Bot(pk=conversation.bot_id)
    if conversation.is_draft:
        return flow_services.get_build(bot, draft=True)
    # A dialog stays on the version it started on; a new dialog takes the latest.
    if conversation.version_id and (conversation.state or {}).get("frames"):
        key = (conversation.bot_id, conversation.version_id)
        loaded = cached_pinned_build(*key)
        if loaded is None:
            loaded = flow_services.get_version_build(conversation.version)
            with _pinned_lock:
                _pinned_builds[key] = loaded
                while len(_pinned_builds) > _PINNED_BUILDS_SIZE:
                    _pinned_builds.popitem(last=False)
        return loaded
    return flow_services.get_build(bot, draft=False)


def _earlier_user_texts(conversation: Conversation, event: Event, depth: int) -> list[str]:
    """The user's last `depth` text messages before this event, oldest first, for capture
    cards' "extract from history". `depth` is the most any card of the bot asks for, so a bot
    that never looks back costs no query."""
    if depth <= 0:
        return []
    payloads = (Message.objects
                .filter(conversation_id=conversation.pk, direction=Message.Direction.INCOMING,
                        seq__lt=event.seq, payload__has_key="text")
                .order_by("-seq").values_list("payload", flat=True)[:depth])
    return [p["text"] for p in reversed(payloads) if isinstance(p.get("text"), str)]


def _workflow_statuses(conversation: Conversation, build) -> dict:
    from runtime import workflows  # it stores its progress through this module

    return workflows.statuses(conversation, build)


def _config_env(conversation: Conversation, build) -> dict[str, str]:
    """The values of the configuration variables the bot declares (none declared: no query)."""
    if not build.config_names:
        return {}
    environment = ConfigValue.DRAFT if conversation.is_draft else ConfigValue.PRODUCTION
    return {value.name: value.value
            for value in ConfigValue.objects.filter(bot_id=conversation.bot_id, environment=environment,
                                                    name__in=build.config_names)}


def _engine_event(conversation: Conversation, user: EndUser, event: Event) -> dict:
    # A message's payload carries its type (as in Botpress); a custom event's payload is
    # exactly what was sent, so a Send Event card can pass it through unchanged.
    is_message = event.type in MESSAGE_EVENT_TYPES
    engine_event = {
        "id": str(event.pk),
        "type": event.type,
        "payload": {"type": event.type, **event.payload} if is_message else dict(event.payload),
        "preview": _preview(event.payload) if is_message else "",
        "userId": user.external_id,
        "conversationId": conversation.external_id,
        "channel": conversation.channel,
        "createdOn": event.created_at.isoformat(),
    }
    if event.metadata is not None:
        engine_event["metadata"] = event.metadata
        if event.type in TARGETED_EVENT_TYPES:
            # Webhook and schedule events name their trigger node (runtime/triggers.py).
            engine_event["trigger"] = event.metadata.get("trigger")
    return engine_event


def _preview(payload: dict) -> str:
    for key in ("text", "title", "label", "value"):
        if isinstance(payload.get(key), str):
            return payload[key]
    return ""


def _write_bot_variables(conversation: Conversation, changes: dict) -> None:
    # One upsert row per changed name: concurrent turns never clobber names they did not write.
    if not changes:
        return
    BotVariable.objects.bulk_create(
        [BotVariable(bot_id=conversation.bot_id, is_draft=conversation.is_draft, name=name, value=value)
         for name, value in changes.items()],
        update_conflicts=True,
        unique_fields=["bot", "is_draft", "name"],
        update_fields=["value", "updated_at"],
    )


def _next_timeout(loaded, now):
    minutes = loaded.build.inactivity_timeout_minutes
    return now + timedelta(minutes=minutes) if minutes > 0 else None
