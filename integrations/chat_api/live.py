"""Signals in real time: `message_created`, `message_deleted`, `event_created`,
`participant_added`, `participant_removed`.

Whoever commits a change (a turn on the server's loop or a thread, a web request, a Celery
worker) publishes its signals through the hub (hub.py), which hands them to every `listen`
stream of that conversation in whatever process: from memory in this process, through
Redis pub/sub to the others. The same signals go to the bot's outgoing webhook through a
Celery task, so a slow webhook never holds up a turn.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from django.db import transaction

from runtime import json_codec
from runtime.models import Message

from . import conf, services, wire
from .hub import OVERFLOWED, hub

logger = logging.getLogger(__name__)

# A stream opened without Last-Event-ID first replays what the conversation gained this
# long before it opened: clients commonly send a message and open the listener at the
# same moment (the client's own tests do), and must not lose the first signals to that race.
REPLAY_SECONDS = 2.0


# ---- publishing ----------------------------------------------------------------------------


def _publish(bot_id, conversation, signals: list[tuple[dict, int | None]], close_user: str | None = None) -> None:
    hub.publish(conversation.pk, [(signal, seq, close_user) for signal, seq in signals])
    if signals:
        _to_webhook(bot_id, [signal for signal, _ in signals])


def _to_webhook(bot_id, signals: list[dict]) -> None:
    api = services.cached_api_for_bot(bot_id)
    if api is services.NOT_CACHED:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            api = services.api_for_bot(bot_id)
        else:  # on the server's loop: the settings query goes to a thread
            loop.run_in_executor(None, _to_webhook_in_thread, bot_id, signals)
            return
    if api is not None and api.webhook_url:
        from . import tasks

        tasks.send_to_webhook(signals, bot_id=str(bot_id))


def _to_webhook_in_thread(bot_id, signals: list[dict]) -> None:
    from django.db import close_old_connections

    try:
        _to_webhook(bot_id, signals)
    finally:
        close_old_connections()


def message_signal(message: Message, conversation) -> dict:
    data = (services.event_json if message.is_event else services.message_json)(conversation.bot_id, message,
                                                                                 conversation)
    data["isBot"] = message.direction == Message.Direction.OUTGOING
    return wire.signal("event_created" if message.is_event else "message_created", data)


def on_messages(conversation, messages: list[Message]) -> None:
    """Delivery subscriber: committed messages and events of Chat API conversations."""
    if conversation.channel != services.CHANNEL:
        return
    _publish(conversation.bot_id, conversation, [(message_signal(m, conversation), m.seq) for m in messages])


def on_messages_deleted(conversation, messages: list[Message]) -> None:
    if conversation.channel != services.CHANNEL:
        return
    _publish(conversation.bot_id, conversation, [
        (wire.signal("message_deleted", {
            "id": str(m.pk), "conversationId": conversation.external_id,
            "userId": services.sender_id(conversation.bot_id, m, conversation)}), None)
        for m in messages
    ])


def on_participant_commit(api, conversation, kind: str, participant_id: str) -> None:
    """After the current transaction commits: tell listeners; a removed participant's own
    streams close."""
    signal = wire.signal(kind, {"conversationId": conversation.external_id, "participantId": participant_id})
    close_user = participant_id if kind == "participant_removed" else None
    transaction.on_commit(lambda: _publish(api.bot_id, conversation, [(signal, None)], close_user=close_user))


# ---- listening -----------------------------------------------------------------------------

def _sse(signal: dict, seq: int | None) -> str:
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}data: {json_codec.dumps(signal).decode()}\n\n"


def replay(conversation, *, after_seq: int | None, since) -> list[tuple[int, str]]:
    """(seq, SSE text) of the conversation's messages after `after_seq`, or created since
    `since` (sync: runs on a worker thread)."""
    query = Message.objects.filter(conversation=conversation).select_related("user").order_by("seq")
    query = query.filter(seq__gt=after_seq) if after_seq is not None else query.filter(created_at__gte=since)
    return [(m.seq, _sse(message_signal(m, conversation), m.seq)) for m in query[:200]]


async def stream(user, conversation, *, last_event_id: str | None, opened_at, run_db):
    """The body of a `listen` response: replay, then live signals and heartbeats until the
    client goes away (the caller cancels it) or the user stops being a participant."""
    heartbeat = float(conf.get("CHAT_API_HEARTBEAT_SECONDS"))
    queue = await hub.join(conversation.pk)
    try:
        # Subscribed first, then the replay read: nothing committed in between is missed,
        # and what both deliver is sent once (by seq).
        after_seq = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
        since = opened_at - timedelta(seconds=REPLAY_SECONDS)
        sent_seq = after_seq or 0
        yield ": connected\n\n"
        for seq, text in await run_db(replay, conversation, after_seq=after_seq, since=since):
            sent_seq = max(sent_seq, seq)
            yield text
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=heartbeat)
            except asyncio.TimeoutError:
                yield ": ping\n\n"
                continue
            if item is OVERFLOWED:
                logger.info("Chat API listen stream of conversation %s fell behind; closed", conversation.pk)
                return  # the client reconnects with Last-Event-ID and gets the replay
            signal, seq, close_user = item
            if seq is not None:
                if seq <= sent_seq:
                    continue  # already replayed
                sent_seq = seq
            yield _sse(signal, seq)
            if close_user == user.external_id:
                return  # removed from the conversation: this listener ends
    finally:
        await hub.leave(conversation.pk, queue)
