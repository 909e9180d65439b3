"""Reading a bot's conversations for the dashboard (docs/dashboard.md): the filtered list with
cursor paging, its export, and one conversation's transcript with the events between its
messages. Views call these functions; they never query the runtime tables themselves.

Search: on PostgreSQL the words are matched with full-text search over the `text` of the
conversation's messages (`simple` configuration, so every language is treated alike and
nothing is stemmed); on SQLite, the embedded default, a case-insensitive substring match.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from runtime.models import Conversation, Event, Message
from studio.query_params import InvalidFilter, date_param, refuse_nul

PAGE_SIZE = 50
STATUS_CHOICES = list(Conversation.Handoff.choices)
STATUSES = [value for value, _ in STATUS_CHOICES]
# The full-text configuration: no stemming, no stop words; bots speak any language.
SEARCH_CONFIG = "simple"


@dataclass
class Filters:
    channel: str = ""
    status: str = ""
    tag: str = ""  # "key" or "key=value" on the conversation's tags
    q: str = ""  # words the conversation's messages contain
    since: date | None = None  # started on or after this day
    until: date | None = None  # started on or before this day

    @classmethod
    def from_query(cls, query) -> "Filters":
        """From a request's GET parameters; bad ones raise InvalidFilter naming the field."""
        filters = cls(channel=refuse_nul("channel", query.get("channel", "").strip()),
                      status=refuse_nul("status", query.get("status", "").strip()),
                      tag=refuse_nul("tag", query.get("tag", "").strip()),
                      q=refuse_nul("q", query.get("q", "").strip()[:200]))
        if filters.status and filters.status not in STATUSES:
            raise InvalidFilter("status", f"unknown status {filters.status!r}; use one of {', '.join(STATUSES)}")
        filters.since, filters.until = date_param(query, "since"), date_param(query, "until")
        return filters

    def as_query(self) -> dict:
        out = {"channel": self.channel, "status": self.status, "tag": self.tag, "q": self.q,
               "since": self.since.isoformat() if self.since else "",
               "until": self.until.isoformat() if self.until else ""}
        return {key: value for key, value in out.items() if value}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _matching_messages(words: str):
    messages = Message.objects.filter(conversation_id=OuterRef("pk"))
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchVector

        return (messages.annotate(document=SearchVector(KeyTextTransform("text", "payload"), config=SEARCH_CONFIG))
                .filter(document=SearchQuery(words, config=SEARCH_CONFIG, search_type="websearch")))
    return messages.annotate(text=KeyTextTransform("text", "payload")).filter(text__icontains=words)


def filtered(bot, filters: Filters):
    """The bot's conversations matching the filters (a queryset, newest first)."""
    rows = Conversation.objects.filter(bot=bot)
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    if filters.status:
        rows = rows.filter(handoff_status=filters.status)
    if filters.tag:
        key, _, value = filters.tag.partition("=")
        # The key goes into a KeyTransform (the value compared as JSON), never into a lookup name: a tag called
        # "contains" or "a__b" is just a key.
        rows = (rows.annotate(tag_value=KeyTransform(key, "tags")).filter(tag_value=value) if value
                else rows.filter(tags__has_key=key))
    if filters.since:
        rows = rows.filter(created_at__gte=_day_start(filters.since))
    if filters.until:
        rows = rows.filter(created_at__lt=_day_start(filters.until + timedelta(days=1)))
    if filters.q:
        rows = rows.filter(Exists(_matching_messages(filters.q)))
    return rows.order_by("-created_at", "-pk")


def _with_last_message(rows):
    last = Message.objects.filter(conversation_id=OuterRef("pk")).exclude(type="event").order_by("-seq")
    return rows.select_related("user").annotate(
        last_message_at=Subquery(last.values("created_at")[:1]),
        last_message_text=Subquery(last.annotate(text=KeyTextTransform("text", "payload")).values("text")[:1]),
        last_message_type=Subquery(last.values("type")[:1]),
    )


# --- cursor paging ---------------------------------------------------------------------
# The cursor is the (created_at, pk) of the last row shown, base64url-encoded JSON. It is
# opaque to clients and not signed: it only says where to continue, and any value a
# client makes up selects rows it may read anyway.

def encode_cursor(conversation) -> str:
    raw = json.dumps([conversation.created_at.isoformat(), conversation.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str):
    try:
        created, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when = parse_datetime(created)
        if when is None or not isinstance(pk, int):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidFilter("cursor", "not a cursor this page made; start again from the first page") from None
    return when, pk


@dataclass
class Page:
    rows: list
    next_cursor: str = ""


def page(bot, filters: Filters, cursor: str = "", size: int = PAGE_SIZE) -> Page:
    rows = filtered(bot, filters)
    if cursor:
        when, pk = _decode_cursor(cursor)
        rows = rows.filter(Q(created_at__lt=when) | Q(created_at=when, pk__lt=pk))
    found = list(_with_last_message(rows)[:size + 1])
    more = len(found) > size
    found = found[:size]
    return Page(found, encode_cursor(found[-1]) if more and found else "")


# The channels a bot's conversations came through, for the filter's choices. DISTINCT reads
# every conversation of the bot (170 ms at 100,000 on the bench machine); this walks the
# (bot, channel) index from one channel to the next, a handful of index probes.
_CHANNELS_SKIP_SCAN = """
WITH RECURSIVE found(channel) AS (
    (SELECT channel FROM runtime_conversation WHERE bot_id = %(bot)s ORDER BY channel LIMIT 1)
    UNION ALL
    SELECT (SELECT c.channel FROM runtime_conversation c WHERE c.bot_id = %(bot)s AND c.channel > found.channel
            ORDER BY c.channel LIMIT 1)
    FROM found WHERE found.channel IS NOT NULL
)
SELECT channel FROM found WHERE channel IS NOT NULL
"""


def channels(bot) -> list[str]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_CHANNELS_SKIP_SCAN, {"bot": bot.pk})
            return [row[0] for row in cursor.fetchall()]
    return list(Conversation.objects.filter(bot=bot).order_by("channel").values_list("channel", flat=True).distinct())


# --- export ------------------------------------------------------------------------------

EXPORT_FIELDS = ["id", "externalId", "channel", "userId", "userName", "status", "startedAt",
                 "lastMessageAt", "lastMessage", "tags", "messages"]


def export_rows(bot, filters: Filters, chunk: int = 500):
    """Every conversation matching the filters as a dict of EXPORT_FIELDS, newest first,
    read in keyset chunks so a large export never holds all rows at once."""
    cursor = ""
    while True:
        batch = page(bot, filters, cursor, size=chunk)
        counts = _message_counts(batch.rows)
        for c in batch.rows:
            yield {
                "id": c.pk, "externalId": c.external_id, "channel": c.channel,
                "userId": c.user.external_id, "userName": c.user.name, "status": c.handoff_status,
                "startedAt": c.created_at.isoformat(),
                "lastMessageAt": c.last_message_at.isoformat() if c.last_message_at else None,
                "lastMessage": message_text_of(c.last_message_type, c.last_message_text),
                "tags": c.tags or {}, "messages": counts.get(c.pk, 0),
            }
        if not batch.next_cursor:
            return
        cursor = batch.next_cursor


def _message_counts(conversations) -> dict:
    return dict(Message.objects.filter(conversation_id__in=[c.pk for c in conversations]).exclude(type="event")
                .values("conversation_id").annotate(n=Count("pk")).values_list("conversation_id", "n"))


def message_text_of(message_type, text) -> str:
    if isinstance(text, str) and text:
        return text
    return f"[{message_type}]" if message_type else ""


# --- one conversation --------------------------------------------------------------------

def find(bot, conversation_id) -> Conversation | None:
    try:
        pk = int(conversation_id)
    except (TypeError, ValueError):
        return None
    return Conversation.objects.filter(bot=bot, pk=pk).select_related("user", "handoff_agent").first()


def _text(payload) -> str:
    payload = payload if isinstance(payload, dict) else {}
    for key in ("text", "markdown", "title", "label", "value"):
        if isinstance(payload.get(key), str):
            return payload[key]
    return ""


TRANSCRIPT_LIMIT = 2000


def transcript(conversation: Conversation) -> list[dict]:
    """Messages and events in seq order. An incoming message and the event that carried it
    share a seq: they make one row, the message with its turn. Trace and logs are not read
    here (they can be large); `turn_detail` reads one event's on demand."""
    events = list(Event.objects.filter(conversation=conversation).order_by("seq")
                  .defer("trace", "logs")[:TRANSCRIPT_LIMIT])
    messages = list(Message.objects.filter(conversation=conversation).order_by("seq")[:TRANSCRIPT_LIMIT])
    rows = [{"seq": event.seq, "kind": "event", "event": event, "message": None} for event in events]
    event_rows = {row["seq"]: row for row in rows}
    for message in messages:
        if message.direction == Message.Direction.INCOMING and message.seq in event_rows:
            row = event_rows[message.seq]
            row["message"] = message
            row["text"] = _text(message.payload) or f"[{message.type}]"
            continue
        agent = isinstance(message.metadata, dict) and isinstance(message.metadata.get("agent"), dict)
        rows.append({"seq": message.seq, "kind": "message", "message": message, "event": None,
                     "who": "user" if message.direction == "incoming" else ("agent" if agent else "bot"),
                     "agent": message.metadata["agent"].get("name", "") if agent else "",
                     "text": _text(message.payload) or f"[{message.type}]"})
    rows.sort(key=lambda r: r["seq"])
    return rows


def turn_detail(conversation: Conversation, event_id) -> Event | None:
    try:
        pk = int(event_id)
    except (TypeError, ValueError):
        return None
    return Event.objects.filter(conversation=conversation, pk=pk).first()
