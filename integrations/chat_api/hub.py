"""Fan-out of Chat API signals to the `listen` streams of every server process.

Streams of this process are served straight from memory. Other processes get the signals
through Redis pub/sub (one channel per conversation, one subscriber connection per process,
subscribed only to the conversations that process has streams for); a process skips the
copies of its own publications. Without Redis (the embedded default: one process) delivery
is local only.

A Channels layer group did this job before, at several times the cost per signal: each
`group_send` is a Lua script and each stream a receive loop on Redis, for what is here one
PUBLISH and a dictionary lookup (docs/performance.md, "Chat API").

`publish` may be called from any thread (a turn on the loop, a request thread, a Celery
worker with no loop at all); streams and the Redis connections live on the server's loop.
`publish_transient` is for the pieces of a streamed answer, published on the LLM loop's
thread (runtime/llm_gateway.py): `publish` there would take the LLM loop for the server's
(a listen stream's queue bound to a loop that never reads it), so it never adopts a loop,
and without a server loop in this process it leaves the Redis PUBLISH to a thread of its
own, so the model's loop never waits on Redis.
"""
from __future__ import annotations

import asyncio
import logging
import queue as queue_module
import threading
import uuid

from django.conf import settings

from runtime import json_codec, redis_keys

logger = logging.getLogger(__name__)

Item = tuple  # (signal dict, seq or None, close_user or None)

# What a stream's queue holds instead of its signals once it fell further behind than
# CHAT_API_STREAM_BUFFER (a client that does not read): the stream then ends, and the
# client's reconnect with Last-Event-ID replays what it missed (docs/chat-api.md, "Limits").
OVERFLOWED = ({"type": "overflowed"}, None, None)


def _prefix() -> str:
    # The database's name keeps installations (and parallel test databases) sharing one
    # Redis apart: conversation ids are only unique within a database. Called for every
    # signal published (a streamed answer's every piece): runtime/redis_keys.py says why it
    # does not look up django.db.connections.
    return f"{redis_keys.prefix()}:chat:"


class Hub:
    def __init__(self):
        self.origin = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._streams: dict[object, set[asyncio.Queue]] = {}
        self._redis = None  # async client on the loop, for PUBLISH
        self._pubsub = None
        self._commands: asyncio.Lock | None = None
        self._reader: asyncio.Task | None = None
        self._subscribed: dict[str, asyncio.Event] = {}
        self._outbox: asyncio.Queue | None = None
        self._sync_redis = None  # for processes without a loop (Celery workers)
        self._transient: queue_module.SimpleQueue | None = None  # to the transient publisher thread
        # Caller's loop -> what its current tick published for the server's loop (_hand_over).
        self._handing_over: dict[asyncio.AbstractEventLoop, list] = {}

    # ---- streams (on the loop) ---------------------------------------------------------------

    async def join(self, conversation_pk) -> asyncio.Queue:
        """A queue that receives the conversation's signals from now on (subscribed, on Redis
        too, before this returns, so a replay read afterwards misses nothing)."""
        self._bind(asyncio.get_running_loop())
        from . import conf

        queue: asyncio.Queue = asyncio.Queue(maxsize=int(conf.get("CHAT_API_STREAM_BUFFER")))
        self._streams.setdefault(conversation_pk, set()).add(queue)
        if settings.REDIS_URL:
            await self._subscribe(self._channel(conversation_pk))
        return queue

    async def leave(self, conversation_pk, queue: asyncio.Queue) -> None:
        streams = self._streams.get(conversation_pk)
        if streams is None:
            return
        streams.discard(queue)
        if not streams:
            del self._streams[conversation_pk]
            if self._pubsub is not None:
                channel = self._channel(conversation_pk)
                self._subscribed.pop(channel, None)
                try:
                    async with self._commands:
                        await self._pubsub.unsubscribe(channel)
                except Exception:  # the connection is being replaced; nothing to undo
                    logger.debug("unsubscribe of %s failed", channel, exc_info=True)

    # ---- publishing (any thread) -------------------------------------------------------------

    def publish(self, conversation_pk, items: list[Item]) -> None:
        if not items:
            return
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and (loop is None or running is loop):
            self._bind(running)
            self._publish_on_loop(conversation_pk, items)
        elif loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._publish_on_loop, conversation_pk, items)
        elif settings.REDIS_URL:
            self._publish_sync(conversation_pk, items)
        # else: no server loop and no Redis in this process, so no stream anywhere to reach.

    def publish_transient(self, conversation_pk, items: list[Item]) -> None:
        """Like `publish`, for signals that are never stored and come many per second from
        a loop that is not the server's (the LLM loop): handed to the server's loop
        thread-safely, never binding the hub to the caller's loop. Never waits."""
        if not items:
            return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                self._publish_on_loop(conversation_pk, items)
            elif running is not None:
                # Everything published in this tick of the caller's loop (the pieces of many
                # answers read together) crosses to the server's loop in one hand-over: each
                # call_soon_threadsafe is a wake-up write and a lock.
                self._hand_over(running, loop, conversation_pk, items)
            else:
                loop.call_soon_threadsafe(self._publish_on_loop, conversation_pk, items)
        elif settings.REDIS_URL:
            # No stream in this process (it never served one): the listeners are elsewhere.
            with self._lock:
                if self._transient is None:
                    self._transient = queue_module.SimpleQueue()
                    threading.Thread(target=self._publish_transient_forever, args=(self._transient,),
                                     name="chat-api-transient", daemon=True).start()
            self._transient.put((conversation_pk, items))

    def _hand_over(self, running, loop, conversation_pk, items) -> None:
        batch = self._handing_over.get(running)
        if batch is None:
            batch = self._handing_over[running] = []

            def send():
                del self._handing_over[running]
                if not loop.is_closed():
                    loop.call_soon_threadsafe(self._publish_batch_on_loop, batch)

            running.call_soon(send)
        batch.append((conversation_pk, items))

    def _publish_batch_on_loop(self, batch) -> None:
        for conversation_pk, items in batch:
            self._publish_on_loop(conversation_pk, items)

    def _publish_transient_forever(self, pending: queue_module.SimpleQueue) -> None:
        # One thread, so the pieces leave in the order they were published.
        while True:
            conversation_pk, items = pending.get()
            self._publish_sync(conversation_pk, items)

    def _publish_on_loop(self, conversation_pk, items: list[Item]) -> None:
        self._deliver(conversation_pk, items)
        if settings.REDIS_URL:
            if self._outbox is None:
                self._outbox = asyncio.Queue()
                asyncio.ensure_future(self._drain_outbox(self._outbox))
            self._outbox.put_nowait((self._channel(conversation_pk), self._encode(items)))

    def _deliver(self, conversation_pk, items) -> None:
        streams = self._streams.get(conversation_pk, ())
        for queue in list(streams):
            try:
                for item in items:
                    queue.put_nowait(item)
            except asyncio.QueueFull:
                # Its memory is freed now and nothing more is queued for it.
                streams.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(OVERFLOWED)

    def _publish_sync(self, conversation_pk, items) -> None:
        with self._lock:
            if self._sync_redis is None:
                import redis

                self._sync_redis = redis.Redis.from_url(settings.REDIS_URL)
        try:
            self._sync_redis.publish(self._channel(conversation_pk), self._encode(items))
        except Exception:
            logger.exception("publishing Chat API signals to Redis failed")

    # ---- Redis (on the loop) -----------------------------------------------------------------

    def _channel(self, conversation_pk) -> str:
        return f"{_prefix()}{conversation_pk}"

    def _encode(self, items) -> bytes:
        return json_codec.dumps({"origin": self.origin, "items": items})

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:
            return
        # A new loop (tests start servers one after another): what belonged to the old one is gone.
        self._loop, self._streams, self._subscribed = loop, {}, {}
        self._redis = self._pubsub = self._reader = self._outbox = None

    async def _client(self):
        if self._redis is None:
            import redis.asyncio

            self._redis = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        return self._redis

    async def _drain_outbox(self, outbox: asyncio.Queue) -> None:
        # One sender, so signals leave in the order they were published. What was queued
        # meanwhile (the pieces of many answers at once) goes in one pipeline: one write and
        # one read for all of them instead of a round trip each.
        while True:
            batch = [await outbox.get()]
            while not outbox.empty():
                batch.append(outbox.get_nowait())
            try:
                client = await self._client()
                if len(batch) == 1:
                    await client.publish(*batch[0])
                else:
                    pipe = client.pipeline(transaction=False)
                    for channel, data in batch:
                        pipe.publish(channel, data)
                    await pipe.execute()
            except Exception:
                logger.exception("publishing Chat API signals to Redis failed")

    async def _subscribe(self, channel: str) -> None:
        if channel in self._subscribed:
            await self._subscribed[channel].wait()
            return
        confirmed = self._subscribed[channel] = asyncio.Event()
        if self._pubsub is None:
            self._pubsub = (await self._client()).pubsub()
            self._commands = asyncio.Lock()
        # One command at a time: two first subscribes at once would each open a connection.
        async with self._commands:
            await self._pubsub.subscribe(channel)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.ensure_future(self._read(self._pubsub))
        await asyncio.wait_for(confirmed.wait(), timeout=10)

    async def _read(self, pubsub) -> None:
        prefix = _prefix().encode()
        while True:
            try:
                message = await pubsub.get_message(timeout=None)
            except Exception:
                logger.exception("reading Chat API signals from Redis failed")
                await asyncio.sleep(1)
                continue
            if message is None:
                continue
            channel = message["channel"]
            if message["type"] == "subscribe":
                confirmed = self._subscribed.get(channel.decode())
                if confirmed is not None:
                    confirmed.set()
            elif message["type"] == "message" and channel.startswith(prefix):
                data = json_codec.loads(message["data"])
                if data["origin"] != self.origin:
                    pk = channel[len(prefix):].decode()
                    self._deliver(int(pk) if pk.isdigit() else pk, [tuple(item) for item in data["items"]])


hub = Hub()
