"""Live delivery: after a transaction commits, tell every subscriber (Chat API listeners,
webhooks, the webchat and emulator websockets) which messages a conversation gained.

The turn service calls `publish` from `transaction.on_commit`, so subscribers only ever see
committed rows, in seq order per conversation. A subscriber that fails is logged and skipped:
delivery is best effort, the stored transcript is the truth and clients resume from it by seq.

Messages of type "event" (`Message.is_event`) are custom events, not things to show: the
user's own (Chat API createEvent, the webchat page's sendEvent) and those a Send Event card
emitted. Deleted messages go to the separate `subscribe_deletions` subscribers.
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Callable

logger = logging.getLogger(__name__)

Subscriber = Callable[["object", list], None]
_subscribers: list[Subscriber] = []
_deletion_subscribers: list[Subscriber] = []


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

    Until a server's async code hands over its event loop (`use_server_loop`), a private
    loop runs in a daemon thread (Celery workers, commands, a server with no live client
    yet). With Redis any loop reaches every process."""

    def __init__(self):
        self._loop: asyncio.AbstractEventLoop | None = None
        self._private = False
        self._queue: asyncio.Queue | None = None
        self._lock = threading.Lock()
        self._pending: queue.SimpleQueue = queue.SimpleQueue()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._loop is None or self._loop.is_closed() or (self._private and loop is not self._loop):
                self._private = False
                self._start(loop)

    def _start(self, loop) -> None:
        self._loop = loop
        loop.call_soon_threadsafe(self._begin)

    def _begin(self) -> None:
        self._queue = asyncio.Queue()
        while not self._pending.empty():
            self._queue.put_nowait(self._pending.get())
        asyncio.ensure_future(self._drain())

    def _ensure_loop(self) -> None:
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                return
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="delivery-group-send", daemon=True).start()
            self._private = True
            self._start(loop)

    def send(self, group: str, message: dict) -> None:
        self._ensure_loop()
        self._loop.call_soon_threadsafe(self._put, (group, message))

    def _put(self, item) -> None:
        if self._queue is None:
            self._pending.put(item)
        else:
            self._queue.put_nowait(item)

    async def _drain(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        while True:
            group, message = await self._queue.get()
            try:
                await layer.group_send(group, message)
            except Exception:
                logger.exception("sending to channel layer group %s failed", group)


_sender = _GroupSender()


def send_to_group(group: str, message: dict) -> None:
    """`layer.group_send(group, message)` from sync code: queued, in order, never blocking."""
    _sender.send(group, message)


def use_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called from async code of a server (a websocket or SSE consumer): group sends go
    through the server's loop, which the in-memory channel layer needs (its queues belong to
    one loop) and which saves a second Redis connection pool."""
    _sender.attach(loop)
