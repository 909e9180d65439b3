"""An event loop in a daemon thread, standing in for a server's loop in tests of code that
runs on one (runtime/async_turns.py, the Chat API's ASGI front)."""
from __future__ import annotations

import asyncio

from runtime.loop_thread import LoopThread

_thread = LoopThread("test-server-loop")


def server_loop() -> asyncio.AbstractEventLoop:
    return _thread.loop()


def run(coroutine, timeout: float = 30):
    """Run a coroutine on the server loop and wait for its result."""
    return asyncio.run_coroutine_threadsafe(coroutine, server_loop()).result(timeout)


def close_pools() -> None:
    """Close the loop's database pool (before the test database goes)."""
    from runtime import pg

    pg.close_all()
