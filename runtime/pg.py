"""Asynchronous PostgreSQL connections for the paths that run on a server's event loop (the
Chat API's messages and their turns, runtime/async_turns.py), beside Django's sync ones.

A pool belongs to the event loop that opened it, so there is one per loop, opened on first
use from `settings.DATABASES["default"]` (tests therefore get the test database). The
connections are in autocommit mode, and statements are prepared on first use: the hot path
runs the same few statements over and over, and planning them every time would cost
PostgreSQL more than running them.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings

logger = logging.getLogger(__name__)

# Connections per loop (per server process): turns waiting on a conversation's lock hold one
# each, so keep some for everyone else.
POOL_SIZE = int(os.environ.get("FLOWSTUDIO_ASYNC_DB_POOL", "10"))

_pools: dict[asyncio.AbstractEventLoop, object] = {}
_opening: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
_lock = threading.Lock()


def available() -> bool:
    """True when the default database is PostgreSQL (the only one with an async path)."""
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


# Django's own OPTIONS of the PostgreSQL backend; every other option is a libpq parameter
# (sslmode, sslrootcert, connect_timeout, options, target_session_attrs, ...).
_DJANGO_ONLY_OPTIONS = {"isolation_level", "server_side_binding", "pool", "assume_role", "cursor_factory"}


def _conninfo(db: dict | None = None) -> str:
    from django.db import connections
    from psycopg.conninfo import make_conninfo

    db = db or connections["default"].settings_dict  # the test database's name during tests
    parts = {"application_name": "flowstudio-async"}
    parts.update({k: str(v) for k, v in (db.get("OPTIONS") or {}).items() if k not in _DJANGO_ONLY_OPTIONS})
    parts.update({"dbname": db["NAME"], "user": db.get("USER") or None, "password": db.get("PASSWORD") or None,
                  "host": db.get("HOST") or None, "port": str(db["PORT"]) if db.get("PORT") else None})
    return make_conninfo(**{k: v for k, v in parts.items() if v is not None})


async def _configure(connection) -> None:
    from psycopg.types.json import set_json_dumps, set_json_loads

    from runtime import json_codec

    # States, traces and payloads go through jsonb on every turn.
    set_json_dumps(json_codec.dumps, connection)
    set_json_loads(json_codec.loads, connection)


async def pool():
    """This loop's pool, opened on first use."""
    loop = asyncio.get_running_loop()
    found = _pools.get(loop)
    if found is not None:
        return found
    with _lock:
        opening = _opening.setdefault(loop, asyncio.Lock())
    async with opening:
        found = _pools.get(loop)
        if found is None:
            from psycopg_pool import AsyncConnectionPool

            found = AsyncConnectionPool(_conninfo(), min_size=2, max_size=POOL_SIZE, open=False,
                                        kwargs={"autocommit": True, "prepare_threshold": 0},
                                        configure=_configure, name="flowstudio-async")
            await found.open(wait=True, timeout=30)
            with _lock:
                _pools[loop] = found
    return found


async def close() -> None:
    """Close this loop's pool (a server's shutdown)."""
    loop = asyncio.get_running_loop()
    with _lock:
        found = _pools.pop(loop, None)
        _opening.pop(loop, None)
    if found is not None:
        await found.close()


def close_all(timeout: float = 30) -> None:
    """From sync code (tests, before the test database goes): close every loop's pool on
    its own loop. A pool whose loop no longer runs (a test's loop, closed) cannot be closed
    there: its idle connections are closed from here, so none is left open to the database."""
    with _lock:
        pools = list(_pools.items())
        _pools.clear()
        _opening.clear()
    for loop, found in pools:
        if loop.is_closed() or not loop.is_running():
            for connection in list(getattr(found, "_pool", ())):
                connection.pgconn.finish()
            continue
        try:
            asyncio.run_coroutine_threadsafe(found.close(), loop).result(timeout)
        except (FutureTimeout, RuntimeError):
            logger.warning("closing an async database pool timed out")
