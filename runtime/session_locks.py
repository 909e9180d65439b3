"""Session-scoped locks across processes, for work that must not run twice at once but
must not hold a transaction while it waits on the network (a channel's sender, the help
desk's forwarder): `pg_advisory_lock(class, key)` on PostgreSQL, released when the block ends
(or when a dead process's connection drops); on SQLite, the embedded default's one process,
a lock of this process.

`name` gives the first key (its CRC32), apart from the turn service's transaction-scoped keys
(runtime/turns.py); `key` is the second, an int4 (a row id).
"""
from __future__ import annotations

import threading
import zlib
from contextlib import contextmanager

from django.db import connection

_local_locks: dict[tuple[int, int], threading.Lock] = {}
_local_locks_guard = threading.Lock()


def lock_class(name: bytes) -> int:
    return zlib.crc32(name) & 0x7FFFFFFF


@contextmanager
def session_lock(name: bytes, key: int):
    first = lock_class(name)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [first, key])
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [first, key])
        return
    with _local_locks_guard:
        lock = _local_locks.setdefault((first, key), threading.Lock())
    with lock:
        yield
