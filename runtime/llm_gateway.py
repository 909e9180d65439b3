"""The runtime's side of the engine's LLM interface (runtime/engine/llm.py).

A card calls `TurnInput.llm.complete()` from an engine thread. `BotLLM` finds the bot's
provider through the resolver that `integrations/llm` registers at start-up (the runtime
never imports integrations), then runs the provider's async client on the process's one LLM
loop: a daemon thread with its own asyncio loop, so a hundred turns waiting on a model are a
hundred pending HTTP requests on that loop, never work on the server's loop. Meanwhile the
engine thread is parked (runtime/engine_pool.py): it holds no engine slot, and no database
connection (the resolver's lookup is closed before the wait).
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from runtime import engine_pool
from runtime.engine.llm import LLM, LLMError, LLMRequest, LLMResponse, ToolHost, ToolSpec


class AsyncLLM(Protocol):
    def complete(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> Awaitable[LLMResponse]:
        ...


# bot id -> the bot's provider client, or None when it has none. Registered by
# integrations/llm (its AppConfig.ready); None: no provider kind is installed.
_resolver: Callable[[object], AsyncLLM | None] | None = None


def register_resolver(resolver: Callable[[object], AsyncLLM | None] | None) -> None:
    global _resolver
    _resolver = resolver


class _LoopThread:
    def __init__(self):
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="llm-loop", daemon=True)
                thread.start()
                self._loop = loop
            return self._loop

    def run(self, coroutine_fn: Callable[[], Awaitable]):
        """Run `coroutine_fn()` on the LLM loop and wait for its result on this thread."""
        async def call():
            return await coroutine_fn()

        return asyncio.run_coroutine_threadsafe(call(), self.loop()).result()


llm_loop = _LoopThread()


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
    """The engine's `LLM` for one bot's turn."""

    def __init__(self, bot_id):
        self.bot_id = bot_id
        self._client: AsyncLLM | None = None

    def complete(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> LLMResponse:
        if self._client is None:
            self._client = _resolve(self.bot_id)
        if self._client is None:
            raise LLMError("this bot has no LLM provider: add one to its workspace (docs/ai.md, \"Providers\")")
        client = self._client
        with engine_pool.parked():
            return llm_loop.run(lambda: client.complete(request, on_token))


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


def for_bot(bot_id) -> LLM | None:
    """The LLM a turn of `bot_id` gets; None when no provider kind is installed."""
    answering = _answering.get()
    if answering is not None:
        return answering
    return BotLLM(bot_id) if _resolver is not None else None


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
