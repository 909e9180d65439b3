"""The prefix of every Redis key and channel Flowstudio names itself (cancel flags, Chat API
signals, rate limits, worker heartbeats): `flowstudio:<database name>`. Conversation and bot
ids are unique within one database only, so installations (and the parallel test databases)
sharing one Redis stay apart.

Read from settings.DATABASES rather than `django.db.connections['default']`: the connection
handler is thread- and task-local (asgiref's Local), and looking it up cost several
microseconds a call on the hot path of a streamed answer (a Chat API signal per piece;
docs/performance.md, "Issue 15's second round of cuts"). The test runner writes the test
database's name into both, so the prefix follows it; the string is rebuilt only when the
name changes.
"""
from __future__ import annotations

from django.conf import settings

_built: tuple[str, str] = ("", "")  # (database name, prefix)


def prefix() -> str:
    """`flowstudio:<database name>`, without a trailing colon."""
    global _built
    name = settings.DATABASES["default"]["NAME"]
    if _built[0] != name:
        _built = (name, f"flowstudio:{name}")
    return _built[1]
