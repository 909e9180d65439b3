"""What every extractor returns, and the registry that maps a capture kind to its extractor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Extraction:
    value: Any | None
    ok: bool
    reason: str | None  # plain English, shown in logs: why nothing was extracted
    # Only set by entity_regex with sensitive=True: the text with every match starred out,
    # for whatever gets persisted (transcripts, logs) instead of the raw answer.
    masked: str | None = None


def found(value: Any, *, masked: str | None = None) -> Extraction:
    return Extraction(value=value, ok=True, reason=None, masked=masked)


def refused(reason: str) -> Extraction:
    return Extraction(value=None, ok=False, reason=reason)


class OptionsError(ValueError):
    """The card's options are wrong (a bot-author mistake, not a user-answer problem)."""


@dataclass(frozen=True)
class Context:
    options: Mapping[str, Any]
    now: datetime
    tz: str


Extractor = Callable[[str, Context], Extraction]
REGISTRY: dict[str, Extractor] = {}


def extractor(*kinds: str) -> Callable[[Extractor], Extractor]:
    def register(function: Extractor) -> Extractor:
        for kind in kinds:
            if kind in REGISTRY:
                raise RuntimeError(f"extractor kind {kind!r} registered twice")
            REGISTRY[kind] = function
        return function

    return register
