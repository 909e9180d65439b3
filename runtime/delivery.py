"""Live delivery: after a transaction commits, tell every subscriber (Chat API listeners,
webhooks, the webchat and emulator websockets) which messages a conversation gained.

The turn service calls `publish` from `transaction.on_commit`, so subscribers only ever see
committed rows, in seq order per conversation. A subscriber that fails is logged and skipped:
delivery is best effort, the stored transcript is the truth and clients resume from it by seq.

Messages of type "event" (`Message.is_event`) are custom events, not things to show: the
user's own (Chat API createEvent, the webchat page's sendEvent) and those a Send Event card
emitted. Deleted messages go to the separate `subscribe_deletions` subscribers.

Signals that are never stored go to `subscribe_signals` subscribers: the pieces of a streamed
answer while the model writes it (`{"type": "delta", ...}`, from the engine's thread, many
per second), a turn the user stopped (`{"type": "cancelled", ...}`, after its commit) and a
handoff that ended (`{"type": "handoff", "status": "bot" | "ended"}`, runtime/handoff.py).
Their subscribers must return at once: they only queue a send.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Callable

logger = logging.getLogger(__name__)

Subscriber = Callable[["object", list], None]
_subscribers: list[Subscriber] = []
_deletion_subscribers: list[Subscriber] = []
_signal_subscribers: list[Callable[["object", dict], None]] = []


def subscribe(callback: Subscriber) -> Subscriber:
    """Register `callback(conversation, messages)`; idempotent, so AppConfig.ready() may call it."""
    if callback not in _subscribers:
        _subscribers.append(callback)
    return callback


def unsubscribe(callback: Subscriber) -> None:
    if callback in _subscribers:
        _subscribers.remove(callback)


def subscribe_deletions(callback: Subscriber) -> Subscriber:
    """Register `callback(conversation, messages)` for messages deleted (after commit; the
    instances keep their `pk`, `seq` and fields)."""
    if callback not in _deletion_subscribers:
        _deletion_subscribers.append(callback)
    return callback


def unsubscribe_deletions(callback: Subscriber) -> None:
    if callback in _deletion_subscribers:
        _deletion_subscribers.remove(callback)


def subscribe_signals(callback: Callable[["object", dict], None]) -> Callable:
    """Register `callback(conversation, signal)` for unstored signals (delta, cancelled)."""
    if callback not in _signal_subscribers:
        _signal_subscribers.append(callback)
    return callback


def unsubscribe_signals(callback) -> None:
    if callback in _signal_subscribers:
        _signal_subscribers.remove(callback)


def publish_signal(conversation, signal: dict) -> None:
    for callback in list(_signal_subscribers):
        try:
            callback(conversation, signal)
        except Exception:
            logger.exception("signal subscriber %r failed for conversation %s",
                             getattr(callback, "__qualname__", callback), conversation.pk)


def publish(conversation, messages: list) -> None:
    _notify(_subscribers, conversation, messages)


def publish_deleted(conversation, messages: list) -> None:
    _notify(_deletion_subscribers, conversation, messages)


def _notify(subscribers: list[Subscriber], conversation, messages: list) -> None:
    if not messages:
        return
    for callback in list(subscribers):
        try:
            callback(conversation, messages)
        except Exception:
            logger.exception("delivery subscriber %r failed for conversation %s",
                             getattr(callback, "__qualname__", callback), conversation.pk)


# ---- sending to Channels layer groups from sync code ---------------------------------------
# Subscribers run in sync code (after a commit, in a request thread, a turn thread or a
# Celery worker). `async_to_sync(layer.group_send)` there makes a new event loop and a new
# Redis connection for every call, which costs more than the rest of a turn; this sends
# through one long-lived loop instead, in submission order, without waiting.

class _GroupSender:
    """Sends layer messages in submission order without making the caller wait.

    They go through one long-lived event loop: a private one in a daemon thread, or, for
    the in-memory layer (whose queues belong to the loop of the consumers reading them), the
    server's loop once a live client has handed it over with `use_server_loop`. With Redis
    the private loop reaches every process and is never swapped, so order is never mixed."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None  # belongs to self._loop
        self._server_loop = False

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        if not _needs_server_loop():
            return
        with self._lock:
            if self._server_loop and self._loop is loop and not loop.is_closed():
                return
            self._start(loop)
            self._server_loop = True

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._queue = loop, asyncio.Queue()
        queue_ = self._queue
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._drain(queue_)))

    def send(self, group: str, message: dict) -> None:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="delivery-group-send", daemon=True).start()
                self._start(loop)
                self._server_loop = False
            # The queue is bound now, with its loop: an item always lands in the queue of the
            # loop that runs the put, even if another loop takes over meanwhile.
            loop, queue_ = self._loop, self._queue
        loop.call_soon_threadsafe(queue_.put_nowait, (group, message))

    @staticmethod
    async def _drain(queue_: asyncio.Queue) -> None:
        from channels.layers import get_channel_layer

        while True:
            group, message = await queue_.get()
            try:
                # Looked up each time: settings (tests) may swap the layer.
                await get_channel_layer().group_send(group, message)
            except Exception:
                logger.exception("sending to channel layer group %s failed", group)


def _needs_server_loop() -> bool:
    from channels.layers import InMemoryChannelLayer, get_channel_layer

    return isinstance(get_channel_layer(), InMemoryChannelLayer)


_sender = _GroupSender()


def send_to_group(group: str, message: dict) -> None:
    """`layer.group_send(group, message)` from sync code: queued, in order, never blocking."""
    _sender.send(group, message)


def use_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called from async code of a server (a websocket or SSE consumer): with the in-memory
    channel layer, group sends then go through the server's loop, as that layer needs (its
    queues belong to one loop). With Redis it changes nothing."""
    _sender.attach(loop)
