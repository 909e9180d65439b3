"""An asyncio event loop of its own in a daemon thread, for sync code that must run async
code without blocking a server's loop: the process's LLM calls (runtime/llm_gateway.py) and
a Celery worker's turns on PostgreSQL (runtime/tasks.py)."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable


class LoopThread:
    def __init__(self, name: str):
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, started on first use (and again after it was closed)."""
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name=self.name, daemon=True).start()
                self._loop = loop
            return self._loop

    def run(self, coroutine_fn: Callable[[], Awaitable]):
        """Run `coroutine_fn()` on the loop and wait for its result on this thread."""
        async def call():
            return await coroutine_fn()

        return asyncio.run_coroutine_threadsafe(call(), self.loop()).result()
