"""Reading a live bot for the dashboard's Logs, Events and Issues pages (docs/dashboard.md).
Views call these functions; they never query the runtime tables themselves.

Everything here is about the *published* bot: conversations of the emulator (draft) are
left out, they are the debugger's. Log lines are not a table of their own: each turn keeps
the lines its code and Log cards wrote in `Event.logs` (with flow, node and card), and a
failed turn its error in `Event.error`; the Logs page reads those, newest turn first.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from flows.models import BotVersion
from runtime import issues as issue_service
from runtime.models import Event, Issue, Message
from studio.query_params import InvalidFilter, refuse_nul

LEVELS = ["debug", "info", "warn", "error"]
PAGE_SIZE = 100
# How many turns one Logs page reads at most looking for matching lines, so a filter that
# matches nothing never reads the whole history in one request ("Older" goes on from there).
SCAN_LIMIT = 5000
SCAN_CHUNK = 500


def event_id_param(query, name: str) -> int | None:
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidFilter(name, f"{raw!r} is not an event id (a whole number)")
    return int(raw)


def _published_events(bot):
    # By the events' own bot column (index event_bot_recent): a small bot's events are an
    # index range however many other bots' events the table holds (docs/dashboard.md).
    return Event.objects.filter(bot=bot, conversation__is_draft=False)


def _published_replies(bot):
    return Message.objects.filter(bot=bot, conversation__is_draft=False, direction=Message.Direction.OUTGOING)


# --- logs ----------------------------------------------------------------------------------

@dataclass
class LogFilters:
    level: str = ""  # this level and the ones above it
    q: str = ""  # words the line contains (case-insensitive substring)

    @classmethod
    def from_query(cls, query) -> "LogFilters":
        filters = cls(level=refuse_nul("level", (query.get("level") or "").strip().lower()),
                      q=refuse_nul("q", (query.get("q") or "").strip()[:200]))
        if filters.level and filters.level not in LEVELS:
            raise InvalidFilter("level", f"unknown level {filters.level!r}; use one of {', '.join(LEVELS)}")
        return filters

    def as_query(self) -> dict:
        return {key: value for key, value in (("level", self.level), ("q", self.q)) if value}

    def matches(self, line: dict) -> bool:
        if self.level and _rank(line["level"]) < _rank(self.level):
            return False
        return not self.q or self.q.lower() in line["message"].lower()


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else 1  # an unknown level counts as info


@dataclass
class LogPage:
    lines: list = field(default_factory=list)
    older: int | None = None  # "Older": go on below this event id
    newest: int = 0  # the live tail asks for lines of turns after this event id


def _lines_of(event) -> list[dict]:
    lines = []
    for index, line in enumerate(event.logs or []):
        if not isinstance(line, dict):
            continue
        lines.append({"key": f"{event.pk}-{index}", "event_id": event.pk, "conversation_id": event.conversation_id,
                      "when": event.processed_at or event.created_at,
                      "level": str(line.get("level") or "info"), "message": str(line.get("message") or ""),
                      "source": str(line.get("source") or ""), "flow": line.get("flow") or "",
                      "node": line.get("node") or "", "card": line.get("card") or ""})
    if event.status == Event.Status.FAILED and event.error:
        lines.append({"key": f"{event.pk}-failed", "event_id": event.pk, "conversation_id": event.conversation_id,
                      "when": event.processed_at or event.created_at, "level": "error", "message": event.error,
                      "source": "runtime (turn failed)", "flow": "", "node": "", "card": ""})
    lines.reverse()  # newest first, like the turns
    return lines


def _settled_up_to(bot) -> int:
    """The highest event id below which every turn has settled: the page reads up to it and
    the live tail goes on after it, so a turn still running (its lines not written yet) is
    read next time rather than skipped. A turn `received` for longer than the grace of
    runtime.issues is stuck, not running, and holds nothing back."""
    events = _published_events(bot)
    running = (events.filter(status=Event.Status.RECEIVED, created_at__gt=timezone.now() - issue_service.RUNNING_GRACE)
               .order_by("pk").values_list("pk", flat=True).first())
    if running is not None:
        return running - 1
    return events.order_by("-pk").values_list("pk", flat=True).first() or 0


def tail_start(bot) -> int:
    """Where a live tail that has shown nothing yet starts: after the newest settled turn."""
    return _settled_up_to(bot)


def log_page(bot, filters: LogFilters, *, before: int | None = None, after: int | None = None,
             size: int | None = None) -> LogPage:
    """Log lines newest first: of turns below `before` (paging) or above `after` (the tail).
    A turn's lines stay together, so a page may hold a few more than `size`."""
    size = size or PAGE_SIZE
    newest = _settled_up_to(bot)
    rows = (_published_events(bot).filter(~Q(logs=[]) | Q(status=Event.Status.FAILED), pk__lte=newest)
            .only("pk", "conversation_id", "status", "error", "logs", "created_at", "processed_at"))
    if after is not None:
        rows = rows.filter(pk__gt=after)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    result = LogPage(newest=max(newest, after or 0))
    scanned, cursor = 0, None  # cursor: the last (lowest) event id read
    while scanned < SCAN_LIMIT and len(result.lines) < size:
        events = list((rows.filter(pk__lt=cursor) if cursor else rows).order_by("-pk")[:SCAN_CHUNK])
        for event in events:
            result.lines.extend(line for line in _lines_of(event) if filters.matches(line))
            cursor, scanned = event.pk, scanned + 1
            if len(result.lines) >= size:
                break
        if len(events) < SCAN_CHUNK:
            break
    if after is None and cursor is not None and rows.filter(pk__lt=cursor).exists():
        result.older = cursor
    return result


# --- the live tail over a websocket (studio/log_tail.py) -----------------------------------------

class TailRefused(Exception):
    """Why a tail socket is refused, with the close code it ends with (4401, 4403, 4404)."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


def authorize_tail(studio_user, bot_id):
    """The bot if the studio user may read its logs (the Logs page's own permission);
    TailRefused otherwise. Checked on connect and again before every push."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from studio.permissions import get_bot_for

    if studio_user is None or not studio_user.is_authenticated:
        raise TailRefused(4401, "log in to the studio to follow the logs")
    try:
        return get_bot_for(studio_user, bot_id, LOGS_PERMISSION)
    except Http404:
        raise TailRefused(4404, f"no bot with id {bot_id}") from None
    except PermissionDenied:
        raise TailRefused(4403, f"your role in this workspace does not allow reading this bot's logs "
                                f"({LOGS_PERMISSION})") from None


LOGS_PERMISSION = "flows.view_conversations"


# --- events --------------------------------------------------------------------------------

DIRECTIONS = [("incoming", "Incoming (events the bot received)"), ("outgoing", "Outgoing (what the bot sent)")]


@dataclass
class EventFilters:
    direction: str = "incoming"
    type: str = ""

    @classmethod
    def from_query(cls, query) -> "EventFilters":
        filters = cls(direction=refuse_nul("direction", (query.get("direction") or "incoming").strip()),
                      type=refuse_nul("type", (query.get("type") or "").strip()))
        if filters.direction not in dict(DIRECTIONS):
            raise InvalidFilter("direction", f"unknown direction {filters.direction!r}; use incoming or outgoing")
        return filters

    def as_query(self) -> dict:
        return {key: value for key, value in (("direction", self.direction), ("type", self.type)) if value}


@dataclass
class EventRow:
    pk: int
    conversation_id: int
    seq: int
    type: str
    when: object
    status: str
    json: str


# The type select lists the types of the newest this many rows: a bounded read however long
# the bot's history (a type seen only before them can still be asked for with `type=`).
TYPES_WINDOW = 10_000


# The window costs a read of 10,000 rows (100-300 ms on a large bot), so the list is kept in
# the cache this long: paging and filtering the Events page reads it once, and a type that
# appears later shows in the select within a minute (typed into `type=` at once).
TYPES_CACHE_SECONDS = 60


def event_types(bot, direction: str) -> list[str]:
    key = f"studio:event-types:{bot.pk}:{direction}"
    types = cache.get(key)
    if types is None:
        rows = _published_replies(bot) if direction == "outgoing" else _published_events(bot)
        newest = rows.order_by("-pk").values("pk")[:TYPES_WINDOW]
        # order_by(): without it the model's ordering would join the DISTINCT.
        types = list(rows.model.objects.filter(pk__in=newest).order_by("type").values_list("type", flat=True)
                     .distinct())
        cache.set(key, types, TYPES_CACHE_SECONDS)
    return types


def _pretty(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def event_page(bot, filters: EventFilters, *, before: int | None = None, size: int = 50):
    """Incoming events (`Event`: type, payload, metadata) or outgoing messages (`Message`),
    newest first, paged by id. Returns (rows, the id "Older" goes on below, or None)."""
    if filters.direction == "outgoing":
        rows = _published_replies(bot)
    else:
        rows = _published_events(bot).defer("trace", "logs")
    if filters.type:
        rows = rows.filter(type=filters.type)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    found = list(rows.order_by("-pk")[:size + 1])
    more = len(found) > size
    found = found[:size]
    out = []
    for row in found:
        body = {"type": row.type, "payload": row.payload}
        if row.metadata is not None:
            body["metadata"] = row.metadata
        out.append(EventRow(row.pk, row.conversation_id, row.seq, row.type, row.created_at,
                            getattr(row, "status", "sent"), _pretty(body)))
    return out, (found[-1].pk if more and found else None)


# --- issues --------------------------------------------------------------------------------

ISSUE_STATES = ["open", "resolved", "all"]


def issue_list(bot, state: str = "open", limit: int = 200) -> tuple[list[Issue], object]:
    """The bot's issues (folded when the errors were written, runtime/issues.py; reading
    writes nothing): kinds first seen since the latest publish on top (a publish that broke
    something shows at once), then by last seen. Returns (issues, the latest version or None)."""
    if state not in ISSUE_STATES:
        raise InvalidFilter("state", f"unknown state {state!r}; use one of {', '.join(ISSUE_STATES)}")
    latest = BotVersion.objects.filter(bot=bot).order_by("-number").only("number", "created_at").first()
    rows = Issue.objects.filter(bot=bot)
    if state == "open":
        rows = rows.filter(resolved_at__isnull=True)
    elif state == "resolved":
        rows = rows.filter(resolved_at__isnull=False)
    since_publish = (When(first_seen__gte=latest.created_at, then=Value(1)) if latest
                     else When(pk__isnull=True, then=Value(1)))
    rows = rows.annotate(new=Case(since_publish, default=Value(0), output_field=IntegerField()))
    issues = list(rows.select_related("resolved_by").order_by("-new", "-last_seen", "-pk")[:limit])
    return issues, latest


def resolve_issue(bot, issue_id, *, user, resolved: bool = True):
    return issue_service.resolve(bot, issue_id, user=user, resolved=resolved)
