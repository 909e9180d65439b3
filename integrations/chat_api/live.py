"""Signals in real time: `message_created`, `message_deleted`, `event_created`,
`participant_added`, `participant_removed`, and two of Flowstudio's own that Botpress
clients ignore (docs/chat-api.md, "Streamed answers and stop"): `message_delta`, a piece of
a streamed answer, and `message_cancelled`, an answer the user stopped.

Whoever commits a change (a turn on the server's loop or a thread, a web request, a Celery
worker) publishes its signals through the hub (hub.py), which hands them to every `listen`
stream of that conversation in whatever process: from memory in this process, through
Redis pub/sub to the others. The same signals go to the bot's outgoing webhook through a
Celery task, so a slow webhook never holds up a turn; `message_delta` does not (one POST
per piece would be a flood, and the stored message follows anyway).
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

# Flowstudio's own signal types (Botpress's client parses neither and ignores them).
DELTA = "message_delta"
CANCELLED = "message_cancelled"
TURN = "turn"


# ---- publishing ----------------------------------------------------------------------------


def _publish(bot_id, conversation, signals: list[tuple[dict, int | None]], close_user: str | None = None) -> None:
    hub.publish(conversation.pk, [(signal, seq, close_user) for signal, seq in signals])
    if signals:
        _to_webhook(bot_id, [_public(signal) for signal, _ in signals])


def _public(signal: dict) -> dict:
    """What clients get of a signal: its type and data. Between the hub and the streams a
    signal may also carry `turn` (the event a streamed answer belongs to), for `stream`."""
    return {"type": signal["type"], "data": signal["data"]} if TURN in signal else signal


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
    _publish(conversation.bot_id, conversation, [(_with_turn(message_signal(m, conversation), m), m.seq)
                                                 for m in messages])


def _with_turn(signal: dict, message: Message) -> dict:
    if message.event_id is not None and _stream_id(signal):
        signal[TURN] = str(message.event_id)
    return signal


def on_messages_deleted(conversation, messages: list[Message]) -> None:
    if conversation.channel != services.CHANNEL:
        return
    _publish(conversation.bot_id, conversation, [
        (wire.signal("message_deleted", {
            "id": str(m.pk), "conversationId": conversation.external_id,
            "userId": services.sender_id(conversation.bot_id, m, conversation)}), None)
        for m in messages
    ])


def on_signal(conversation, signal: dict) -> None:
    """`runtime.delivery` signal subscriber: a piece of a streamed answer (on the LLM loop's
    thread, many per second: only queued) or a stopped answer (after its commit)."""
    if conversation.channel != services.CHANNEL:
        return
    kind = signal.get("type")
    if kind == "delta":
        hub.publish_transient(conversation.pk, [(wire.signal(DELTA, {
            "conversationId": conversation.external_id, "userId": wire.bot_user_id(conversation.bot_id),
            "streamId": signal["streamId"], "delta": signal["delta"], "offset": signal["offset"],
            "index": signal["index"], **({"discard": True} if signal.get("discard") else {})}) | {TURN: str(signal.get("eventId"))}, None, None)])
    elif kind == "cancelled":
        data = {"conversationId": conversation.external_id}
        if signal.get("messageId") is not None:
            data["messageId"] = str(signal["messageId"])
        _publish(conversation.bot_id, conversation, [(wire.signal(CANCELLED, data) | {TURN: str(signal.get("eventId"))},
                                                      None)])


def on_participant_commit(api, conversation, kind: str, participant_id: str) -> None:
    """After the current transaction commits: tell listeners; a removed participant's own
    streams close."""
    signal = wire.signal(kind, {"conversationId": conversation.external_id, "participantId": participant_id})
    close_user = participant_id if kind == "participant_removed" else None
    transaction.on_commit(lambda: _publish(api.bot_id, conversation, [(signal, None)], close_user=close_user))


# ---- listening -----------------------------------------------------------------------------

def _finished_key(signal: dict):
    """(turn, streamId) of a bot message that replaces a streamed answer's pieces."""
    stream_id = _stream_id(signal)
    return (signal.get(TURN), stream_id) if stream_id else None


def _stream_id(signal: dict) -> str | None:
    """The streamId of a bot message that replaces a streamed answer's pieces."""
    if signal.get("type") != "message_created":
        return None
    payload = signal["data"].get("payload")
    return payload.get("streamId") if isinstance(payload, dict) else None


def _sse(signal: dict, seq: int | None) -> str:
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}data: {json_codec.dumps(_public(signal)).decode()}\n\n"


def replay(conversation, *, after_seq: int | None, since) -> list[tuple[int, str, tuple | None]]:
    """(seq, SSE text, finished stream key) of the conversation's messages after
    `after_seq`, or created since `since` (sync: runs on a worker thread)."""
    query = Message.objects.filter(conversation=conversation).select_related("user").order_by("seq")
    query = query.filter(seq__gt=after_seq) if after_seq is not None else query.filter(created_at__gte=since)
    out = []
    for m in query[:200]:
        signal = _with_turn(message_signal(m, conversation), m)
        out.append((m.seq, _sse(signal, m.seq), _finished_key(signal)))
    return out


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
        # Streamed answers whose stored message this stream has sent, and stopped turns: a
        # piece of one that comes later (the message's signal can overtake the pieces still
        # queued) is dropped.
        finished: set[tuple] = set()
        stopped: set[str] = set()
        yield ": connected\n\n"
        for seq, text, key in await run_db(replay, conversation, after_seq=after_seq, since=since):
            sent_seq = max(sent_seq, seq)
            if key:
                finished.add(key)
            yield text
        while True:
            if queue.empty():
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=heartbeat)
                except asyncio.TimeoutError:
                    yield ": ping\n\n"
                    continue
            else:
                item = queue.get_nowait()  # no timer and no task for a signal already here
            # Every signal already queued goes in one write (the events stay separate).
            texts, ended = [], False
            while True:
                if item is OVERFLOWED:
                    logger.info("Chat API listen stream of conversation %s fell behind; closed", conversation.pk)
                    ended = True  # the client reconnects with Last-Event-ID and gets the replay
                    break
                signal, seq, close_user = item
                if seq is None or seq > sent_seq:  # else already replayed
                    if seq is not None:
                        sent_seq = seq
                    if signal["type"] == DELTA:
                        skip = ((signal.get(TURN), signal["data"]["streamId"]) in finished
                                or signal.get(TURN) in stopped)
                    else:
                        skip = False
                        if signal["type"] == CANCELLED:
                            stopped.add(signal.get(TURN))
                        else:
                            key = _finished_key(signal)
                            if key:
                                finished.add(key)
                    if not skip:
                        texts.append(_sse(signal, seq))
                        if close_user == user.external_id:
                            ended = True  # removed from the conversation: this listener ends
                            break
                if queue.empty():
                    break
                item = queue.get_nowait()
            if texts:
                yield texts[0] if len(texts) == 1 else "".join(texts)
            if ended:
                return
    finally:
        await hub.leave(conversation.pk, queue)
