"""The runtime's side of the engine's LLM interface (runtime/engine/llm.py).

A card calls `TurnInput.llm.complete()` from an engine thread. `BotLLM` finds the bot's
provider through the resolver that `integrations/llm` registers at start-up (the runtime
never imports integrations), then runs the provider's async client on the process's one LLM
loop: a daemon thread with its own asyncio loop, so a hundred turns waiting on a model are a
hundred pending HTTP requests on that loop, never work on the server's loop. Meanwhile the
engine thread is parked (runtime/engine_pool.py): it holds no engine slot, and no database
connection (the resolver's lookup is closed before the wait).

A user's stop (`cancel`) reaches the call wherever it runs: the client call is a task on the
LLM loop, registered under its conversation, and a stop cancels the task, so the engine gets
LLMCancelled (docs/ai.md, "Streaming and cancel"). A stop names the highest event seq it
covers and is remembered for a while, so a call that starts after it (the turn was waiting
behind another one) is cancelled before anything is sent. Across processes the stop goes
through Redis: a key the call checks when it starts, and a pub/sub message the LLM loop of
every process listens to while it has calls of its own.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from django.conf import settings

from runtime import engine_pool, redis_keys
from runtime.loop_thread import LoopThread
from runtime.engine.llm import LLM, LLMCancelled, LLMError, LLMRequest, LLMResponse, ToolHost, ToolSpec

logger = logging.getLogger(__name__)


class AsyncLLM(Protocol):
    def complete(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> Awaitable[LLMResponse]:
        ...


# bot id -> the bot's provider client, or None when it has none. Registered by
# integrations/llm (its AppConfig.ready); None: no provider kind is installed.
_resolver: Callable[[object], AsyncLLM | None] | None = None


def register_resolver(resolver: Callable[[object], AsyncLLM | None] | None) -> None:
    global _resolver
    _resolver = resolver


llm_loop = LoopThread("llm-loop")


def _resolve(bot_id) -> AsyncLLM | None:
    from django.db import connection

    try:
        return _resolver(bot_id) if _resolver is not None else None
    finally:
        # The wait that follows must hold no database connection: drop the one the lookup
        # opened on this thread (never one a caller's transaction is using).
        if not connection.in_atomic_block:
            connection.close()


class BotLLM:
    """The engine's `LLM` for one bot's turn; with its conversation's key (any text naming the
    conversation, `turns.cancel_key`) and the turn's event seq, a stop of that conversation
    (`cancel`) cancels its calls."""

    def __init__(self, bot_id, conversation_key=None, event_seq: int | None = None):
        self.bot_id = bot_id
        self.conversation_key, self.event_seq = conversation_key, event_seq
        self._client: AsyncLLM | None = None

    def complete(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> LLMResponse:
        if self._client is None:
            self._client = _resolve(self.bot_id)
        if self._client is None:
            raise LLMError("this bot has no LLM provider: add one to its workspace (docs/ai.md, \"Providers\")")
        client = self._client
        with engine_pool.parked():
            if self.conversation_key is None or self.event_seq is None:
                return llm_loop.run(lambda: client.complete(request, on_token))
            return llm_loop.run(lambda: _cancellable(self.conversation_key, self.event_seq,
                                                     lambda: client.complete(request, on_token)))


# An LLM that answers instead of the bot's provider for the turns built in this context:
# conversation tests record (wrapping the provider) or replay through it.
_answering: ContextVar[LLM | None] = ContextVar("llm_answering", default=None)


@contextmanager
def answering_with(llm: LLM):
    """Turns whose input is built inside this block (this thread) talk to `llm`."""
    token = _answering.set(llm)
    try:
        yield llm
    finally:
        _answering.reset(token)


def for_bot(bot_id, conversation_key: str | None = None, event_seq: int | None = None) -> LLM | None:
    """The LLM a turn of `bot_id` gets; None when no provider kind is installed."""
    answering = _answering.get()
    if answering is not None:
        return answering
    return BotLLM(bot_id, conversation_key, event_seq) if _resolver is not None else None


# --- Tools from outside the bot (the engine's ToolHost): the workspace's MCP servers ---


class AsyncToolHost(Protocol):
    def list_tools(self, servers: list[str]) -> Awaitable[list[ToolSpec]]:
        ...

    def call_tool(self, name: str, arguments: dict) -> Awaitable[str]:
        ...


# bot id -> the tools of the bot's workspace, or None when it has none. Registered by
# integrations/llm (integrations/llm/mcp_tools.resolve_tools); None: no tool kind is installed.
_tools_resolver: Callable[[object], AsyncToolHost | None] | None = None


def register_tools_resolver(resolver: Callable[[object], AsyncToolHost | None] | None) -> None:
    global _tools_resolver
    _tools_resolver = resolver


class BotTools:
    """The engine's `ToolHost` for one bot's turn: the workspace's servers are looked up on
    first use (not for turns that use no tool), and every call runs on the LLM loop with the
    engine thread parked, like `BotLLM.complete`."""

    def __init__(self, bot_id):
        self.bot_id = bot_id
        self._host: AsyncToolHost | None = None
        self._resolved = False

    def _get_host(self) -> AsyncToolHost | None:
        if not self._resolved:
            from django.db import connection

            try:
                self._host = _tools_resolver(self.bot_id) if _tools_resolver is not None else None
            finally:
                if not connection.in_atomic_block:  # as in _resolve: wait without a connection
                    connection.close()
            self._resolved = True
        return self._host

    def list_tools(self, servers: list[str]) -> list[ToolSpec]:
        if not servers:
            return []
        host = self._get_host()
        if host is None:
            raise LLMError(f"this bot's workspace has no MCP server (asked for {', '.join(map(repr, servers))}); "
                           "add one to the workspace (docs/ai.md, \"MCP tools\")")
        with engine_pool.parked():
            return llm_loop.run(lambda: host.list_tools(list(servers)))

    def call_tool(self, name: str, arguments: dict) -> str:
        host = self._get_host()
        if host is None:
            raise LLMError(f"this bot's workspace has no MCP server for the tool {name!r} "
                           "(docs/ai.md, \"MCP tools\")")
        with engine_pool.parked():
            return llm_loop.run(lambda: host.call_tool(name, arguments))


# A ToolHost that answers instead of the workspace's MCP servers for the turns built in this
# context, as `_answering` for the LLM: conversation tests record (wrapping BotTools) or replay.
_tools_answering: ContextVar[ToolHost | None] = ContextVar("tools_answering", default=None)


@contextmanager
def tools_answering_with(host: ToolHost):
    """Turns whose input is built inside this block (this thread) use `host` as their tools."""
    token = _tools_answering.set(host)
    try:
        yield host
    finally:
        _tools_answering.reset(token)


def tools_for_bot(bot_id) -> ToolHost | None:
    """The ToolHost a turn of `bot_id` gets; None when no tool kind is installed."""
    answering = _tools_answering.get()
    if answering is not None:
        return answering
    return BotTools(bot_id) if _tools_resolver is not None else None


# ---- cancel ----------------------------------------------------------------------------------
# A stop is remembered this long: long enough for a turn waiting behind another one to reach
# its LLM call, short enough that the memory of old stops stays small.
CANCEL_TTL_SECONDS = 600

_stops_lock = threading.Lock()
_stops: dict[str, tuple[int, float]] = {}  # conversation key -> (highest event seq, expiry)


class _Call:
    def __init__(self, event_seq: int, task: asyncio.Task):
        self.event_seq, self.task, self.stopped = event_seq, task, False

    def stop(self) -> None:
        self.stopped = True
        self.task.cancel()


_calls: dict[str, set[_Call]] = {}  # on the LLM loop only
_listener: asyncio.Task | None = None  # on the LLM loop: Redis stops of other processes
_listening: asyncio.Event | None = None  # set once the listener is subscribed


def _prefix() -> str:
    # Conversation ids are unique within one database only (tests run several on one Redis).
    return f"{redis_keys.prefix()}:llm-cancel"


def cancel(conversation_key: str, up_to_event_seq: int) -> None:
    """Stop every LLM call of the conversation's turns for events up to `up_to_event_seq`,
    running now or starting within CANCEL_TTL_SECONDS, in any process. Returns at once."""
    key = conversation_key
    with _stops_lock:
        now = time.monotonic()
        for stale in [k for k, (_, expiry) in _stops.items() if expiry < now]:
            del _stops[stale]
        seq = max(up_to_event_seq, _stops.get(key, (0, 0))[0])
        _stops[key] = (seq, now + CANCEL_TTL_SECONDS)
    llm_loop.loop().call_soon_threadsafe(_stop_calls, key, seq)
    if settings.REDIS_URL:
        try:
            _sync_redis().set(f"{_prefix()}:{key}", seq, ex=CANCEL_TTL_SECONDS)
            _sync_redis().publish(_prefix(), f"{key}:{seq}")
        except Exception:
            logger.exception("telling other processes to cancel conversation %s failed", key)


_redis_clients: dict = {}


def _sync_redis():
    import redis

    with _stops_lock:
        if "sync" not in _redis_clients:
            _redis_clients["sync"] = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
        return _redis_clients["sync"]


def _stop_calls(key: str, up_to: int) -> None:
    for call in list(_calls.get(key, ())):
        if call.event_seq <= up_to and not call.stopped:
            call.stop()


def _stopped_here(key: str, event_seq: int) -> bool:
    with _stops_lock:
        seq, expiry = _stops.get(key, (0, 0))
    return event_seq <= seq and expiry >= time.monotonic()


async def _stopped_elsewhere(key: str, event_seq: int) -> bool:
    if not settings.REDIS_URL:
        return False
    loop = asyncio.get_running_loop()
    reads = _flag_reads.get(loop)
    if reads is None:
        reads = _flag_reads[loop] = _FlagReads()
    value = await reads.read(key)
    return value is not None and event_seq <= int(value)


class _FlagReads:
    """The cancel flags of the calls starting on one loop, read together: one MGET for every
    call that starts in the same loop tick or while the previous MGET is out, never more than
    one out at a time. One GET per call, with 200 turns waiting at once, was 200 commands at
    once on the loop's Redis client, whose pool holds 100 connections: past the 100th the read
    failed ("Too many connections") and the call went on as if no stop had been taken
    (runtime/tests/test_llm_cancel_flags.py)."""

    def __init__(self):
        self._waiting: dict[str, list[asyncio.Future]] = {}
        self._reader: asyncio.Task | None = None

    def read(self, key: str) -> asyncio.Future:
        """A future of the flag's value (bytes, or None: no stop, or the read failed)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.ensure_future(self._read_all())
        return future

    async def _read_all(self) -> None:
        await asyncio.sleep(0)  # the calls starting in this tick join the first read
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            keys = list(batch)
            prefix = _prefix()
            try:
                values = await (await _async_redis()).mget([f"{prefix}:{key}" for key in keys])
            except Exception:
                logger.exception("reading the cancel flags of %d conversations from Redis failed", len(keys))
                values = [None] * len(keys)
            for key, value in zip(keys, values):
                for future in batch[key]:
                    if not future.done():  # its call may have been cancelled meanwhile
                        future.set_result(value)


_flag_reads: dict = {}  # event loop -> its _FlagReads


async def _async_redis():
    loop = asyncio.get_running_loop()
    client = _redis_clients.get(loop)
    if client is None:
        import redis.asyncio

        client = _redis_clients[loop] = redis.asyncio.Redis.from_url(settings.REDIS_URL)
    return client


async def _listen() -> None:
    """Stops published by other processes (and this one: harmless, the call is stopped once)."""
    while True:
        try:
            pubsub = (await _async_redis()).pubsub()
            await pubsub.subscribe(_prefix())
            _listening.set()
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                key, _, seq = message["data"].decode().rpartition(":")
                if seq.isdigit():
                    _stop_calls(key, int(seq))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("listening for LLM cancels on Redis failed; retrying")
            await asyncio.sleep(1)


async def _cancellable(conversation_key, event_seq: int, start: Callable[[], Awaitable]):
    """Run `start()` as a task that a stop of the conversation cancels (then LLMCancelled)."""
    global _listener, _listening
    key = conversation_key
    if settings.REDIS_URL and (_listener is None or _listener.done()):
        _listening = asyncio.Event()
        _listener = asyncio.ensure_future(_listen())
    if _listening is not None and not _listening.is_set():
        # Subscribed before the flag is read, so a stop published meanwhile is not missed.
        try:
            await asyncio.wait_for(_listening.wait(), timeout=2)
        except asyncio.TimeoutError:
            logger.warning("the LLM cancel listener is not subscribed yet; stops from other processes "
                           "reach this call only when it starts")
    task = asyncio.ensure_future(start())
    call = _Call(event_seq, task)
    # Registered before the flags are read: a stop arriving in between finds the call.
    _calls.setdefault(key, set()).add(call)
    try:
        if _stopped_here(key, event_seq) or await _stopped_elsewhere(key, event_seq):
            call.stop()
        try:
            return await task
        except asyncio.CancelledError:
            if call.stopped:
                raise LLMCancelled("the user stopped the answer") from None
            raise
    finally:
        calls = _calls.get(key)
        if calls is not None:
            calls.discard(call)
            if not calls:
                del _calls[key]
