"""An event loop in a daemon thread, standing in for a server's loop in tests of code that
runs on one (runtime/async_turns.py, the Chat API's ASGI front)."""
from __future__ import annotations

import asyncio
import threading

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def server_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="test-server-loop", daemon=True).start()
        return _loop


def run(coroutine, timeout: float = 30):
    """Run a coroutine on the server loop and wait for its result."""
    return asyncio.run_coroutine_threadsafe(coroutine, server_loop()).result(timeout)


def close_pools() -> None:
    """Close the loop's database pool (before the test database goes)."""
    from runtime import pg

    if _loop is not None:
        pg.close_all()
