"""Dates and times relative to "now", in the bot's time zone (dateparser)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dateparser
from dateparser.search import search_dates

from .base import Context, Extraction, OptionsError, extractor, found, refused

# dateparser reads "morning" etc. only in some phrasings; spell the customary hours out.
PARTS_OF_DAY = [
    (r"\b(this|tomorrow|\w+day)\s+morning\b", r"\1 9am"),
    (r"\b(this|tomorrow|\w+day)\s+afternoon\b", r"\1 3pm"),
    (r"\b(this|tomorrow|\w+day)\s+evening\b", r"\1 7pm"),
    (r"\b(tomorrow|\w+day)\s+night\b", r"\1 8pm"),
    (r"\bthis (\d)", r"today \1"),
    (r"\bday after tomorrow\b", "in 2 days"),
    (r"\bnoon\b", "12pm"),
    (r"\bmidnight\b", "12am"),
    (r"\bat (\d{1,2})(?![\d:apm])", r"at \1:00"),
    (r"\b(\d{1,2})\s*o'?clock\b", r"\1:00"),
    (r"\b(\d+)(st|nd|rd|th)\b", r"\1"),
    (r"\ba week from (today|now)\b", "in 1 week"),
    (r"\bnext week\b", "in 1 week"),
    (r"\bnext month\b", "in 1 month"),
    (r"\bnext year\b", "in 1 year"),
    (r"\bin a (day|week|month|year|fortnight|couple of days)\b", r"in 1 \1"),
    (r"\bin a couple of (\w+)", r"in 2 \1"),
    (r"\bin a few (\w+)", r"in 3 \1"),
    (r"\bfortnight\b", "2 weeks"),
    (r"\btmrw\b|\btmr\b|\btomorow\b|\btommorow\b|\btommorrow\b", "tomorrow"),
    (r"\b(\d{1,2})\s*(am|pm)\b", r"\1\2"),
]
FILLER = re.compile(
    r"^(?:(?:how about|what about|maybe|let'?s (?:say|do)|can we do|could we do|i'?d like|i would like|"
    r"i want|i prefer|book (?:it|me)? ?(?:for)?|schedule (?:it|me)? ?(?:for)?|please|ok|okay|sure|"
    r"(?:it'?s|it is)|on|for|at)\s+)+",
    re.IGNORECASE,
)
TIME_SAID = re.compile(r"\d\s*(?:am|pm)\b|\d:\d\d|\b(?:noon|midnight|morning|afternoon|evening|tonight|night)\b"
                       r"|\b(?:in|after)\s+(?:\d+|an?|one|two|three)\s+(?:hours?|minutes?|mins?|seconds?)\b"
                       r"|\bnow\b", re.IGNORECASE)


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise OptionsError(f"datetime: bot time zone {tz!r} is not an IANA time zone name") from error


def _prepare(text: str) -> str:
    cleaned = text.strip().rstrip("?!.").strip()
    cleaned = FILLER.sub("", cleaned)
    for pattern, replacement in PARTS_OF_DAY:
        cleaned = re.sub(pattern, replacement, cleaned, flags=re.IGNORECASE)
    return cleaned


@extractor("datetime")
def datetime_(text: str, ctx: Context) -> Extraction:
    place = zone(ctx.tz)
    now = ctx.now if ctx.now.tzinfo else ctx.now.replace(tzinfo=timezone.utc)
    local_now = now.astimezone(place)
    settings = {
        "RELATIVE_BASE": local_now.replace(tzinfo=None),
        "TIMEZONE": ctx.tz,
        "TO_TIMEZONE": ctx.tz,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
    }
    prepared = _prepare(text)
    if not prepared:
        return refused("no date or time in the answer")
    when = dateparser.parse(prepared, languages=["en"], settings=settings)
    if when is None:
        hits = search_dates(prepared, languages=["en"], settings=settings) or []
        # search_dates also reads stray words ("we", "may") as dates; keep phrases with
        # a digit or a calendar word, and take the longest.
        hits = [h for h in hits if re.search(r"\d|day|week|month|year|tomorrow|tonight|now|"
                                             r"jan|feb|mar|apr|may |jun|jul|aug|sep|oct|nov|dec", h[0], re.I)]
        if not hits:
            return refused("no date or time recognised in the answer")
        phrase, when = max(hits, key=lambda h: len(h[0]))
        prepared = phrase
    when = when.astimezone(place)
    if not TIME_SAID.search(text) and not TIME_SAID.search(prepared) and not re.search(r"\d:\d", prepared):
        # A day without a time means the start of that day, not "now" on that day.
        when = when.replace(hour=0, minute=0)
    when = when.replace(second=0, microsecond=0)
    return found(when.isoformat())
