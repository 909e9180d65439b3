"""Threads for the Chat API's database work, off the server's event loop.

Under ASGI, Django runs sync code in one shared thread and opens a new database connection
per request (CONN_MAX_AGE=0); for an API that does a little database work per request that
is the bottleneck. Here two small pools do the work instead, and each thread keeps its
connection: one for requests (acknowledge, read), one for turns, so turns waiting on a
conversation's lock never hold up acknowledgements. A connection that saw an error is
checked and replaced if broken, as Django does between requests.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

from runtime import turns

from . import conf

logger = logging.getLogger(__name__)

REQUEST_THREADS = int(conf.get("CHAT_API_REQUEST_THREADS"))
TURN_THREADS = int(conf.get("CHAT_API_TURN_THREADS"))


def _pools() -> tuple[ThreadPoolExecutor, ThreadPoolExecutor]:
    return (ThreadPoolExecutor(max_workers=REQUEST_THREADS, thread_name_prefix="chat-api-request"),
            ThreadPoolExecutor(max_workers=TURN_THREADS, thread_name_prefix="chat-api-turn"))


_requests, _turns = _pools()


def close_all() -> None:
    """Close every pool thread's connections and start fresh pools (tests call this before
    the test database goes away)."""
    global _requests, _turns
    for pool in (_requests, _turns):
        threads = len(pool._threads)
        if threads:
            # One job per thread, held at a barrier, so every thread closes its own.
            barrier = threading.Barrier(threads)
            jobs = [pool.submit(_close_in_thread, barrier) for _ in range(threads)]
            for job in jobs:
                job.result(timeout=30)
        pool.shutdown(wait=True)
    _requests, _turns = _pools()


def _close_in_thread(barrier: threading.Barrier) -> None:
    connections.close_all()
    barrier.wait(timeout=30)


def _tidy_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and connection.errors_occurred:
            if connection.is_usable():
                connection.errors_occurred = False
            else:
                connection.close()


def _call(fn, args, kwargs):
    try:
        return fn(*args, **kwargs)
    finally:
        _tidy_connections()


async def run(fn, *args, **kwargs):
    """Run sync `fn` on a request thread and await its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_requests, functools.partial(_call, fn, args, kwargs))




async def process(conversation_id) -> None:
    """Have the conversation's stored events processed: on a turn thread of this process
    (default), or by a Celery worker when CHAT_API_TURNS is "celery".

    On a turn thread the caller waits for the turn up to CHAT_API_TURN_WAIT_SECONDS, so for a bot
    that answers quickly the replies' signals are out before the request's answer (clients
    such as the @botpress/chat tests rely on that order); a slower turn goes on alone."""
    if conf.get("CHAT_API_TURNS") == "celery":
        from runtime.tasks import process_conversation

        from .tasks import queue_option

        await run(process_conversation.apply_async, (conversation_id,), **queue_option())
        return
    turn = asyncio.get_running_loop().run_in_executor(_turns, _call, _process, (conversation_id,), {})
    await asyncio.wait({turn}, timeout=float(conf.get("CHAT_API_TURN_WAIT_SECONDS")))


def _process(conversation_id) -> None:
    try:
        turns.process_pending(conversation_id)
    except Exception:
        # The events stay stored; the conversation's next event processes the backlog.
        logger.exception("processing conversation %s failed", conversation_id)
