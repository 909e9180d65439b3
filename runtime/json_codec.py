"""JSON for the paths that run per message (the Chat API's answers, signals and the turn's
jsonb columns on the loop): orjson, several times faster than the standard library, with the
standard library as the fallback for what orjson refuses (integers beyond 64 bits)."""
from __future__ import annotations

import json

import orjson


def dumps(value) -> bytes:
    """Compact UTF-8 JSON, non-ASCII characters as they are."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def loads(data):
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)  # the standard library's message, and what orjson refuses
