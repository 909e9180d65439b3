"""A dashboard page's GET parameters (Conversations, Logs, Events, Analytics, Usage): one
error that names the parameter, and the checks their filters share."""
from __future__ import annotations

from datetime import date

from django.utils.dateparse import parse_date


class InvalidFilter(ValueError):
    """A filter, range or cursor the page cannot use; the message names the parameter."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.field = name


def refuse_nul(name: str, value: str) -> str:
    """PostgreSQL text cannot hold NUL, so nothing stored contains one: refuse it by name
    (it would be a database error, a 500, in a query)."""
    if "\x00" in value:
        raise InvalidFilter(name, "contains the NUL character (%00), which nothing stored can contain")
    return value


def date_param(query, name: str) -> date | None:
    """The day in `query[name]` (YYYY-MM-DD), None when it is empty."""
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = parse_date(raw) if len(raw) == 10 else None
    except ValueError:  # well formed but no such day (2026-02-30)
        day = None
    if day is None:
        raise InvalidFilter(name, f"{raw!r} is not a date (YYYY-MM-DD)")
    return day
