"""Offline extraction of typed values from a user's answer (Capture Information cards).

    extract("phone", "call me at 514 555 0123")  ->  Extraction(value="+15145550123", ok=True, reason=None)

Each family lives in its own module and registers its kinds; `KINDS` lists them all.
Bad card options raise `OptionsError`; an answer that holds no value gives ok=False
with a plain-English reason.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

from . import address, choices, contact, dates, entities, measures, misc, money, numbers, people, schedule  # noqa: F401
from .base import REGISTRY, Context, Extraction, OptionsError
from .entities import mask_sensitive

KINDS: tuple[str, ...] = tuple(sorted(REGISTRY))


def extract(
    kind: str,
    text: str,
    options: Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
    tz: str = "UTC",
) -> Extraction:
    function = REGISTRY.get(kind)
    if function is None:
        raise OptionsError(f"unknown capture kind {kind!r}; expected one of {', '.join(KINDS)}")
    if not isinstance(text, str):
        raise TypeError(f"extract({kind!r}): text must be a string, got {type(text).__name__}")
    context = Context(options=options or {}, now=now or datetime.now(timezone.utc), tz=tz)
    return function(text, context)


__all__ = ["Extraction", "OptionsError", "KINDS", "extract", "mask_sensitive"]
