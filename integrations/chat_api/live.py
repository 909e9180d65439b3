"""Signals in real time: `message_created`, `message_deleted`, `event_created`,
`participant_added`, `participant_removed`.

Whoever commits a change (a web request, a turn in a thread, a Celery worker) publishes
its signals to the Channels layer group of the conversation; every `listen` stream of that
conversation, in whatever process, is a member of the group and writes them out as
Server-Sent Events. With Redis as the layer this crosses processes; the in-memory layer of
the embedded default serves one process. The same signals go to the bot's outgoing webhook
through a Celery task, so a slow webhook never holds up a turn.
"""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta

from channels.layers import get_channel_layer
from django.db import transaction

from runtime import delivery
from runtime.models import Message

from . import conf, services, wire

logger = logging.getLogger(__name__)

# A stream opened without Last-Event-ID first replays what the conversation gained this
# long before it opened: clients commonly send a message and open the listener at the
# same moment (the client's own tests do), and must not lose the first signals to that race.
REPLAY_SECONDS = 2.0
SIGNAL = "chat_api.signal"  # the layer message type: {"type", "signal", "seq", "close_user"}


def group_name(conversation_pk) -> str:
    return f"chat_api.{conversation_pk}"


# ---- publishing ----------------------------------------------------------------------------


def _publish(api, conversation, signals: list[tuple[dict, int | None]], close_user: str | None = None) -> None:
    for signal, seq in signals:
        delivery.send_to_group(group_name(conversation.pk), {"type": SIGNAL, "signal": signal, "seq": seq,
                                                             "close_user": close_user})
    if api.webhook_url and signals:
        from . import tasks

        tasks.send_to_webhook([signal for signal, _ in signals], bot_id=str(api.bot_id))


def message_signal(api, message: Message, conversation) -> dict:
    data = (services.event_json if message.is_event else services.message_json)(api, message, conversation)
    data["isBot"] = message.direction == Message.Direction.OUTGOING
    return wire.signal("event_created" if message.is_event else "message_created", data)


def on_messages(conversation, messages: list[Message]) -> None:
    """Delivery subscriber: committed messages and events of Chat API conversations."""
    if conversation.channel != services.CHANNEL:
        return
    api = services.api_for_bot(conversation.bot_id)
    if api is None:
        return
    _publish(api, conversation, [(message_signal(api, m, conversation), m.seq) for m in messages])


def on_messages_deleted(conversation, messages: list[Message]) -> None:
    if conversation.channel != services.CHANNEL:
        return
    api = services.api_for_bot(conversation.bot_id)
    if api is None:
        return
    _publish(api, conversation, [
        (wire.signal("message_deleted", {"id": str(m.pk), "conversationId": conversation.external_id,
                                         "userId": services.sender_id(api, m, conversation)}), None)
        for m in messages
    ])


def on_participant_commit(api, conversation, kind: str, participant_id: str) -> None:
    """After the current transaction commits: tell listeners; a removed participant's own
    streams close."""
    signal = wire.signal(kind, {"conversationId": conversation.external_id, "participantId": participant_id})
    close_user = participant_id if kind == "participant_removed" else None
    transaction.on_commit(lambda: _publish(api, conversation, [(signal, None)], close_user=close_user))


# ---- listening -----------------------------------------------------------------------------

def _sse(signal: dict, seq: int | None) -> str:
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}data: {json.dumps(signal, separators=(',', ':'))}\n\n"


def replay(api, conversation, *, after_seq: int | None, since) -> list[tuple[int, str]]:
    """(seq, SSE text) of the conversation's messages after `after_seq`, or created since
    `since` (sync: runs on a worker thread)."""
    query = Message.objects.filter(conversation=conversation).select_related("user").order_by("seq")
    query = query.filter(seq__gt=after_seq) if after_seq is not None else query.filter(created_at__gte=since)
    return [(m.seq, _sse(message_signal(api, m, conversation), m.seq)) for m in query[:200]]


async def stream(api, user, conversation, *, last_event_id: str | None, opened_at, run_db):
    """The body of a `listen` response: replay, then live signals and heartbeats until the
    client goes away or the user stops being a participant."""
    layer = get_channel_layer()
    delivery.use_server_loop(asyncio.get_running_loop())
    channel = await layer.new_channel("chat_api.listen.")
    group = group_name(conversation.pk)
    await layer.group_add(group, channel)
    receiving = None
    heartbeat = float(conf.get("CHAT_API_HEARTBEAT_SECONDS"))
    try:
        # Subscribed first, then the replay read: nothing committed in between is missed,
        # and what both deliver is sent once (by seq).
        after_seq = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
        since = opened_at - timedelta(seconds=REPLAY_SECONDS)
        sent_seq = after_seq or 0
        yield ": connected\n\n"
        for seq, text in await run_db(replay, api, conversation, after_seq=after_seq, since=since):
            sent_seq = max(sent_seq, seq)
            yield text
        while True:
            if receiving is None:
                receiving = asyncio.ensure_future(layer.receive(channel))
            done, _ = await asyncio.wait({receiving}, timeout=heartbeat)
            if not done:
                yield ": ping\n\n"
                continue
            message, receiving = receiving.result(), None
            seq = message.get("seq")
            if seq is not None:
                if seq <= sent_seq:
                    continue  # already replayed
                sent_seq = seq
            yield _sse(message["signal"], seq)
            if message.get("close_user") == user.external_id:
                return  # removed from the conversation: this listener ends
    finally:
        if receiving is not None:
            receiving.cancel()
        try:
            await layer.group_discard(group, channel)
        except Exception:  # the client is gone either way
            logger.debug("group_discard failed for %s", channel, exc_info=True)

