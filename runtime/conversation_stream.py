"""The conversation stream: how a live client (the webchat widget now, the emulator later)
follows one conversation without losing or reordering anything.

The stored transcript is the truth. Every message of a conversation has a `seq`, allocated
under the conversation's row lock, so when seq N is committed every seq below N is
committed too. A client remembers the highest seq it has seen and asks for what comes after
it; the same question answers a first load (after 0), a reconnect (after the last seq seen)
and a live update.

Live updates go through a Channels group per conversation. `runtime.delivery` tells
`on_delivery` which messages a transaction committed; it only *pokes* the group with the
highest new seq. Each connected client then reads `seq > cursor` from the database, so two
pokes that cross each other between processes still produce messages in seq order, and a
poke that races a replay produces no duplicate. Ephemeral signals (typing) ride the same
group and are never stored.

The frames are documented in docs/websocket-protocol.md.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from channels.db import database_sync_to_async

from runtime import delivery
from runtime.models import Message

logger = logging.getLogger(__name__)

# Channels group names allow [A-Za-z0-9_.-] and fewer than 100 characters.
GROUP_PREFIX = "conversation."
# A replay is paged so one request never loads a whole huge transcript at once.
REPLAY_PAGE = 200
# Channel-layer message types (handlers on the consumer are the type with "." -> "_").
NEW_MESSAGES = "stream.new"
DELETED = "stream.deleted"
TYPING = "stream.typing"
DELTA = "stream.delta"
CANCELLED = "stream.cancelled"
# The channels whose clients follow conversations through this stream (the webchat widget,
# the emulator). Others have their own live delivery (the Chat API's listen streams) or
# none (the CLI, the REST API): poking a group nobody can be in costs a Redis round trip.
STREAMED_CHANNELS = frozenset({"webchat", "emulator"})
# How many finished streamed answers a connection remembers (a turn streams one or a few).
FINISHED_STREAMS = 32


def group_name(conversation_id) -> str:
    return f"{GROUP_PREFIX}{conversation_id}"


# --- envelopes ------------------------------------------------------------------------------

def message_view(message: Message) -> dict:
    """One transcript entry as clients see it."""
    payload = dict(message.payload or {})
    view = {
        "id": str(message.pk),
        "seq": message.seq,
        "direction": message.direction,
        "type": message.type,
        "payload": payload,
        "createdAt": message.created_at.isoformat() if message.created_at else None,
    }
    if message.metadata:
        view["metadata"] = message.metadata
    return view


def message_frame(conversation_external_id: str, message: Message) -> dict:
    return {
        "type": "message",
        "seq": message.seq,
        "conversationId": conversation_external_id,
        "message": message_view(message),
    }


def control_frame(kind: str, seq: int, **fields) -> dict:
    """A frame that is not a transcript entry (ready, ack, typing, error...). Its `seq` is
    the highest transcript seq the client has been sent so far: it never moves the cursor."""
    return {"type": kind, "seq": seq, **fields}


# --- reading the transcript -----------------------------------------------------------------

def messages_after(conversation_id, after: int, limit: int = REPLAY_PAGE) -> list[Message]:
    return list(
        Message.objects.filter(conversation_id=conversation_id, seq__gt=after).order_by("seq")[:limit]
    )


def last_seq(conversation_id) -> int:
    latest = (Message.objects.filter(conversation_id=conversation_id)
              .order_by("-seq").values_list("seq", flat=True).first())
    return latest or 0


@dataclass
class Cursor:
    """What one client has been sent. `advance` drops anything at or below the cursor, so
    replays and live pokes can overlap freely."""

    conversation_id: int
    conversation_external_id: str
    seq: int = 0
    # (event id, stream id) of the streamed answers whose stored message was sent: their
    # pieces still in the group's queue are dropped (a poke's read can overtake them).
    finished_streams: deque = field(default_factory=lambda: deque(maxlen=FINISHED_STREAMS))

    def take(self, messages: list[Message]) -> list[dict]:
        frames = []
        for message in messages:
            if message.seq <= self.seq:
                continue
            frames.append(message_frame(self.conversation_external_id, message))
            self.seq = message.seq
            stream_id = (message.payload or {}).get("streamId")
            if stream_id is not None and message.direction == Message.Direction.OUTGOING:
                self.finished_streams.append((message.event_id, stream_id))
        return frames

    def is_finished(self, event_id, stream_id) -> bool:
        return (event_id, stream_id) in self.finished_streams

    def read(self) -> list[dict]:
        """Every message after the cursor, in seq order (all pages)."""
        frames = []
        while True:
            page = messages_after(self.conversation_id, self.seq)
            frames.extend(self.take(page))
            if len(page) < REPLAY_PAGE:
                return frames

    async def aread(self) -> list[dict]:
        return await database_sync_to_async(self.read)()


# --- live fan-out ---------------------------------------------------------------------------
# Sent with `delivery.send_to_group`: queued in order on one long-lived loop, never blocking
# the committing thread (a turn thread, a request, a Celery worker).

def on_delivery(conversation, messages: list) -> None:
    """`runtime.delivery` subscriber: poke the conversation's group after a commit."""
    if messages and conversation.channel in STREAMED_CHANNELS:
        up_to = max(message.seq for message in messages)
        delivery.send_to_group(group_name(conversation.pk), {"type": NEW_MESSAGES, "upTo": up_to})


def on_deletion(conversation, messages: list) -> None:
    """`runtime.delivery` deletion subscriber: clients drop these messages if they show them.
    A client that was away learns nothing: a replay simply no longer contains them."""
    if messages and conversation.channel in STREAMED_CHANNELS:
        delivery.send_to_group(group_name(conversation.pk),
                               {"type": DELETED, "seqs": sorted(message.seq for message in messages)})


def on_signal(conversation, signal: dict) -> None:
    """`runtime.delivery` signal subscriber: a piece of a streamed answer, or a stopped turn,
    to the conversation's clients (not stored; a client that is away just sees the result)."""
    if conversation.channel not in STREAMED_CHANNELS:
        return
    if signal.get("type") == "delta":
        delivery.send_to_group(group_name(conversation.pk), {
            "type": DELTA, "eventId": signal["eventId"], "streamId": signal["streamId"], "delta": signal["delta"],
            "offset": signal["offset"], "index": signal["index"], **({"discard": True} if signal.get("discard") else {})})
    elif signal.get("type") == "cancelled":
        delivery.send_to_group(group_name(conversation.pk), {
            "type": CANCELLED, "eventSeq": signal["eventSeq"], "messageSeq": signal.get("messageSeq")})


def delta_frame(conversation_external_id: str, seq: int, event: dict) -> dict:
    extra = {"discard": True} if event.get("discard") else {}
    return control_frame("delta", seq, conversationId=conversation_external_id, streamId=event["streamId"],
                         delta=event["delta"], offset=event["offset"], index=event["index"], **extra)


def cancelled_frame(conversation_external_id: str, seq: int, event: dict) -> dict:
    return control_frame("cancelled", seq, conversationId=conversation_external_id, eventSeq=event["eventSeq"],
                         messageSeq=event.get("messageSeq"))


def send_typing(conversation_id, on: bool) -> None:
    """Tell every client of the conversation that the bot is (or stopped) working on a reply."""
    delivery.send_to_group(group_name(conversation_id), {"type": TYPING, "on": bool(on)})


def serve_from(loop) -> None:
    """Called by live consumers and views from their event loop: group sends then go through
    the server's loop (the in-memory layer needs it; Redis saves a connection pool)."""
    delivery.use_server_loop(loop)
