"""Inbound updates of the messaging channels, in two steps, so the acknowledgement is cheap.

**The acknowledgement** (`views.handle`, on the server): the channel a webhook URL names,
ready to receive (`ready_channel`, kept in memory), then `store`: the parsed updates in ONE
statement, which is the acknowledgement's only round trip to PostgreSQL, then the worker's
task queued. The statement inserts the updates (a redelivered update id is skipped, `ON
CONFLICT`) only while the channel's row still is what the memory holds (enabled, the same
settings and secrets): a channel disabled, changed or removed by another process since is
seen in the same round trip, forgotten, and looked up again, so a disabled or misconfigured
channel still answers 4xx and stores nothing. This process's own saves forget it at once
(a signal).

**Ingestion** (`ingest`, on a Celery worker, or a thread without one): each waiting update
becomes its conversation's event, chat by chat in arrival order: the channel's chat is
found or made (conversation, link, user with its tags and name) and the event stored
through the runtime's one path (`turns.receive_event`); then the conversation's turn runs
(`runtime.tasks.process_pending`). Updates of one chat are taken under their rows' locks, so
two workers never reorder them. A stored update whose task was lost (a crash, the broker
down) is taken by the sweep (`sweep`, on the beat and once after a server starts).
"""
from __future__ import annotations

import json
import logging
import os
import queue
import threading
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from runtime import pg, turns
from runtime.models import Conversation, EndUser

from . import kinds, services
from .kinds import Inbound, Refused
from .models import Channel, ChannelConversation, InboundUpdate

logger = logging.getLogger(__name__)

# Channels kept in memory, at most; past it the memory starts again (a few queries).
MAX_READY_CHANNELS = 1000
# The longest update id and chat key a row takes (the columns' width).
MAX_KEY_LENGTH = 255
# Updates one sweep takes, at most; the rest wait for the next.
SWEEP_BATCH = 500


@dataclass(frozen=True)
class ReadyChannel:
    """What an acknowledgement needs of a channel, read once: its kind, its decrypted and
    validated config, the URL it was given, and the stored values `store` checks are unchanged."""

    pk: int
    kind: kinds.ChannelKind
    config: object
    webhook_url: str
    published: bool
    secret_id: str
    settings_json: str
    encrypted_secrets: str


_ready: dict[tuple[str, str, str], ReadyChannel] = {}


def ready_channel(kind_name: str, bot_id, secret_id: str, *, fresh: bool = False) -> tuple[ReadyChannel, bool]:
    """(the channel the webhook URL names, whether it came from memory). Refused with the
    reason (404, 403, 409) when it cannot receive. Only a channel ready to take updates
    (its bot published) is kept; the others are read again on every request."""
    key = (kind_name, str(bot_id), secret_id)
    if not fresh:
        ready = _ready.get(key)
        if ready is not None:
            return ready, True
    _ready.pop(key, None)  # until read again: a refusal below leaves nothing behind
    channel = services.find_inbound_channel(kind_name, bot_id, secret_id)
    config = services.config_of(channel)
    ready = ReadyChannel(pk=channel.pk, kind=kinds.get(kind_name), config=config,
                         webhook_url=services.webhook_url(channel), published=channel.published,
                         secret_id=channel.secret_id, settings_json=json.dumps(channel.settings),
                         encrypted_secrets=channel.encrypted_secrets)
    if ready.published:
        if len(_ready) >= MAX_READY_CHANNELS:
            _ready.clear()
        _ready[key] = ready
    return ready, False


def in_memory(kind_name: str, bot_id, secret_id: str) -> ReadyChannel | None:
    return _ready.get((kind_name, str(bot_id), secret_id))


def forget(key=None) -> None:
    """Drop the channel(s) from memory: the next update reads them again."""
    if key is None:
        _ready.clear()
    else:
        _ready.pop(key, None)


def _forget_saved(sender, **kwargs) -> None:
    _ready.clear()


post_save.connect(_forget_saved, sender=Channel, dispatch_uid="messaging-inbound-forget-saved")
post_delete.connect(_forget_saved, sender=Channel, dispatch_uid="messaging-inbound-forget-deleted")


class Stale(Exception):
    """The channel's row is no longer what memory holds: read it again."""


def check(updates: list[Inbound]) -> None:
    """Refuse (400) an update that could not become an event, before anything is stored."""
    for update in updates:
        for name in ("update_id", "address_key"):
            if len(getattr(update, name)) > MAX_KEY_LENGTH:
                raise Refused(400, f"the update's {name.replace('_', ' ')} is longer than {MAX_KEY_LENGTH} characters")
        try:
            turns.check_payload(update.event_type, update.payload)
        except ValueError as exc:
            raise Refused(400, f"invalid update: {exc}") from None


_STORE = """
WITH fresh AS (
    SELECT id FROM {channel} WHERE id = %s AND secret_id = %s AND enabled
        AND encrypted_secrets = %s AND settings = %s::jsonb
), stored AS (
    INSERT INTO {update} (channel_id, update_id, address_key, inbound, created_at)
    SELECT fresh.id, u.update_id, u.address_key, u.inbound::jsonb, now()
    FROM fresh, (VALUES {rows}) AS u (n, update_id, address_key, inbound)
    ORDER BY u.n
    ON CONFLICT (channel_id, update_id) DO NOTHING
    RETURNING id, address_key
)
SELECT EXISTS (SELECT 1 FROM fresh), ARRAY(SELECT id FROM stored ORDER BY id),
    ARRAY(SELECT address_key FROM stored ORDER BY id)
"""


def store(ready: ReadyChannel, updates: list[Inbound]) -> list[int]:
    """Store the updates (each update id once per channel) and queue their ingestion; the
    ids of the rows that were new. Stale when the channel changed since `ready` was read:
    nothing is stored then."""
    if not updates:
        return []
    if connection.vendor != "postgresql":
        stored = _store_with_orm(ready, updates)
    else:
        with connection.cursor() as cursor:
            cursor.execute(*_store_statement(ready, updates))
            fresh, ids, chats = cursor.fetchone()
        if not fresh:
            raise Stale
        stored = list(zip(ids, chats))
    if stored:
        transaction.on_commit(lambda: schedule(stored))
    return [pk for pk, _ in stored]


async def store_on_loop(ready: ReadyChannel, updates: list[Inbound]) -> list[int]:
    """`store` on the server's loop, through its async PostgreSQL pool (runtime/pg.py): the
    same one statement, prepared once per connection, and no thread hop."""
    if not updates:
        return []
    async with (await pg.pool()).connection() as conn:
        cursor = await conn.execute(*_store_statement(ready, updates))
        fresh, ids, chats = await cursor.fetchone()
    if not fresh:
        raise Stale
    if ids:
        schedule(list(zip(ids, chats)))
    return ids


def _store_statement(ready: ReadyChannel, updates: list[Inbound]) -> tuple[str, list]:
    rows = ", ".join(["(%s::int, %s, %s, %s)"] * len(updates))
    params: list = [ready.pk, ready.secret_id, ready.encrypted_secrets, ready.settings_json]
    for n, update in enumerate(updates):
        params += [n, update.update_id, update.address_key, json.dumps(asdict(update), ensure_ascii=False)]
    return _STORE.format(channel=Channel._meta.db_table, update=InboundUpdate._meta.db_table, rows=rows), params


def _store_with_orm(ready: ReadyChannel, updates: list[Inbound]) -> list[int]:
    # SQLite (the embedded default): the same checks in one transaction, a few statements.
    with transaction.atomic():
        current = Channel.objects.filter(pk=ready.pk, secret_id=ready.secret_id, enabled=True).first()
        if (current is None or current.encrypted_secrets != ready.encrypted_secrets
                or json.dumps(current.settings) != ready.settings_json):
            raise Stale
        stored = []
        for update in updates:
            row, created = InboundUpdate.objects.get_or_create(
                channel_id=ready.pk, update_id=update.update_id,
                defaults={"address_key": update.address_key, "inbound": asdict(update)})
            if created:
                stored.append((row.pk, update.address_key))
        return stored


def schedule(stored: list[tuple[int, str]]) -> None:
    """Queue the ingestion of stored updates, given as (row id, chat key): on a worker, or on
    a thread without one (eager tasks, the embedded default). Never blocks or fails the
    acknowledgement: the updates are stored, and what is not queued the sweep takes."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=_ingest_on_thread, args=([pk for pk, _ in stored],), daemon=True,
                         name="messaging-turn").start()
        return
    _outbox.put(stored)
    _publisher.ensure_running()


# Updates waiting to be queued as Celery tasks, as (row id, chat key).
_outbox: queue.SimpleQueue = queue.SimpleQueue()
# One Celery message carries at most this many updates; a burst is spread over up to
# PUBLISH_SPREAD tasks by chat, so the worker's processes share it.
PUBLISH_BATCH = 200
PUBLISH_SPREAD = 4


class _Publisher:
    """The thread that queues ingestion tasks, off the acknowledgement's path. A Celery
    publish is a Redis round trip and about as much CPU as the rest of the acknowledgement:
    here it runs after the 200 is out, and under a burst one publish carries every update
    the thread finds waiting (a quiet server still sends each at once)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = None

    def ensure_running(self) -> None:
        if self._thread is not None and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid():  # none yet, or a forked child
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="flowstudio-messaging-publish", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = list(_outbox.get())
            while len(batch) < PUBLISH_BATCH:
                try:
                    batch += _outbox.get_nowait()
                except queue.Empty:
                    break
            groups: dict[int, list[int]] = {}
            for pk, chat in batch:
                groups.setdefault(hash(chat) % PUBLISH_SPREAD, []).append(pk)
            for ids in groups.values():
                _publish(ids)


def _publish(update_ids: list[int]) -> None:
    from .tasks import ingest_updates, queue_option

    try:
        ingest_updates.apply_async((update_ids,), **queue_option())
    except Exception:
        logger.exception("queueing the ingestion of updates %s failed; the sweep takes them", update_ids)


_publisher = _Publisher()


def _ingest_on_thread(update_ids) -> None:
    try:
        ingest_and_process(update_ids)
    except Exception:
        # The updates stay stored; the sweep takes them.
        logger.exception("ingesting channel updates %s failed", update_ids)
    finally:
        close_old_connections()


# --- ingestion (on a worker) ---------------------------------------------------------------

def ingest_and_process(update_ids) -> int:
    """Make the stored updates events, then run their conversations' turns; how many
    conversations had new events."""
    from runtime import tasks as runtime_tasks

    conversations = ingest(update_ids)
    for conversation_pk in conversations:
        try:
            runtime_tasks.process_pending(conversation_pk)
        except Exception:
            # The events stay stored; the conversation's next event (or the runtime's sweep)
            # processes them.
            logger.exception("processing conversation %s after its channel update failed", conversation_pk)
    return len(conversations)


def ingest(update_ids) -> list:
    """Make each still-waiting update of `update_ids` its conversation's event, with every
    earlier waiting update of the same chat first; the conversations that got events."""
    chats = list(dict.fromkeys(InboundUpdate.objects.filter(pk__in=list(update_ids), inbound__isnull=False)
                               .order_by("pk").values_list("channel_id", "address_key")))
    conversations = []
    for channel_id, address_key in chats:
        conversation_pk = _ingest_chat(channel_id, address_key)
        if conversation_pk is not None and conversation_pk not in conversations:
            conversations.append(conversation_pk)
    return conversations


def _ingest_chat(channel_id, address_key):
    with transaction.atomic():
        # Locked in arrival order: a second worker on the same chat waits here, then finds
        # what this one took no longer waiting.
        waiting = list(InboundUpdate.objects.select_for_update().filter(
            channel_id=channel_id, address_key=address_key, inbound__isnull=False).order_by("pk"))
        if not waiting:
            return None
        channel = Channel.objects.select_related("bot").get(pk=channel_id)
        conversation_pk = None
        for row in waiting:
            event_pk = None
            try:
                with transaction.atomic():
                    update = Inbound(**row.inbound)
                    link, user = _conversation_for(channel, update)
                    event = turns.receive_event(link.conversation, update.event_type, update.payload,
                                                user=user if user.pk != link.conversation.user_id else None)
                event_pk, conversation_pk = event.pk, link.conversation.pk
            except Exception:
                # Checked before it was stored, so this is a bug or a database error: the
                # update is logged and dropped rather than holding its chat up for ever.
                logger.exception("channel update %s (%s) could not become an event", row.pk, row.update_id)
            InboundUpdate.objects.filter(pk=row.pk).update(inbound=None, event_id=event_pk)
        return conversation_pk


def _conversation_for(channel: Channel, update: Inbound) -> tuple[ChannelConversation, EndUser]:
    bot = channel.bot
    external_id = f"{channel.kind}:{update.user_id}"
    link = ChannelConversation.objects.filter(channel=channel, address_key=update.address_key) \
        .select_related("conversation__user").first()
    if link is not None and link.conversation.user.external_id == external_id:
        user = link.conversation.user  # the chat's own user: no query
    else:
        user = turns.get_or_create_user(bot, external_id)
    tags_changed = any(user.tags.get(k) != v for k, v in update.user_tags.items())
    if tags_changed or (update.user_name and user.name != update.user_name):
        user.tags = {**user.tags, **update.user_tags}
        user.name = update.user_name or user.name
        EndUser.objects.filter(pk=user.pk).update(tags=user.tags, name=user.name)
    if link is not None:
        return link, user
    conversation_id = f"{channel.kind}:{channel.pk}:{update.address_key}"[:255]
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(bot=bot, user=user, external_id=conversation_id,
                                                       channel=channel.kind, tags=update.conversation_tags)
            link = ChannelConversation.objects.create(channel=channel, conversation=conversation,
                                                      address_key=update.address_key, address=update.address)
    except IntegrityError:  # another delivery of the same chat made it meanwhile
        link = ChannelConversation.objects.select_related("conversation").get(channel=channel,
                                                                               address_key=update.address_key)
    return link, user


def sweep(lease_seconds: float | None = None) -> int:
    """Ingest and process updates stored longer than the lease ago and still waiting (their
    task was lost); how many conversations got events."""
    lease = settings.FLOWSTUDIO_TURN_LEASE_SECONDS if lease_seconds is None else lease_seconds
    cutoff = timezone.now() - timedelta(seconds=lease)
    waiting = list(InboundUpdate.objects.filter(inbound__isnull=False, created_at__lt=cutoff)
                   .order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH])
    if not waiting:
        return 0
    logger.warning("ingesting %d channel update(s) stored but never ingested", len(waiting))
    return ingest_and_process(waiting)
