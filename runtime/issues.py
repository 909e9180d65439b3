"""A bot's errors grouped into issues (docs/dashboard.md, "Issues").

An occurrence is a failed turn (`Event.error`, the turn rolled back) or an error log line of
a processed turn (`Event.logs`: the engine caught a bot error and ran the error flow, or the
bot's code logged at level error). Occurrences with the same kind, place (flow, node, card)
and message *pattern* (numbers, UUIDs and long hex ids replaced, so "order 1234 not found"
and "order 98 not found" are one issue) are one `Issue` row with a count, first and last seen
and a sample conversation.

Issues are folded when errors are written, never when the page is read (a GET writes
nothing): after a turn that stored an error commits, the process that ran it calls
`fold_after_turn` (`refresh` without waiting: when another process holds the bot's scan row,
that one is folding already and this turn's error is read by the next fold), and the beat
task `runtime.tasks.fold_issues` folds every published bot once a minute, for what a skipped
fold or a turn still running at the time left behind. The turn itself never waits on an
issue row: the fold runs after its commit and skips a locked scan. Only published
conversations count (the emulator's errors are the debugger's business).
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from runtime.models import Event, Issue, IssueScan

logger = logging.getLogger(__name__)

UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
# A run of 8+ hex digits with at least one digit: an id, a hash (not a word like "deadbeef"... nearly).
HEX_ID = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.IGNORECASE)
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)*(?![\w])")
PATTERN_LIMIT = 500
# Read this many events per batch and at most this many batches per refresh, so one page
# view never reads a backlog of millions at once; the next view goes on from there.
BATCH, MAX_BATCHES = 1000, 20
# A turn still `received` this long after it arrived is stuck, not running: read past it.
RUNNING_GRACE = timedelta(minutes=10)


def pattern(message: str) -> str:
    """The message with what varies between occurrences replaced: `<id>` and `<n>`."""
    text = UUID.sub("<id>", message or "")
    text = HEX_ID.sub("<id>", text)
    text = NUMBER.sub("<n>", text)
    return " ".join(text.split())[:PATTERN_LIMIT]


@dataclass(frozen=True)
class Occurrence:
    kind: str
    flow: str
    node: str
    card: str
    message: str

    @property
    def pattern(self) -> str:
        return pattern(self.message)

    @property
    def fingerprint(self) -> str:
        key = "\x1f".join((self.kind, self.flow, self.node, self.card, self.pattern))
        return hashlib.sha256(key.encode()).hexdigest()


_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*): (.*)$", re.DOTALL)


def occurrences(event) -> list[Occurrence]:
    """The errors one event stands for (none for a turn without errors)."""
    found = []
    if event.status == Event.Status.FAILED and event.error:
        match = _EXCEPTION.match(event.error)
        kind, message = (match.group(1), match.group(2)) if match else ("turn failed", event.error)
        found.append(Occurrence(kind[:100], "", "", "", message))
    for line in event.logs or []:
        if not isinstance(line, dict) or line.get("level") != "error":
            continue
        kind = "bot error" if line.get("source") == "engine" else "logged error"
        found.append(Occurrence(kind, str(line.get("flow") or ""), str(line.get("node") or ""),
                                str(line.get("card") or ""), str(line.get("message") or "")))
    return found


def _when(event):
    return event.processed_at or event.created_at


def has_errors(event) -> bool:
    """Whether a settled turn stored anything `occurrences` counts."""
    if event.status == Event.Status.FAILED:
        return True
    return any(isinstance(line, dict) and line.get("level") == "error" for line in event.logs or ())


def fold_after_turn(bot_id) -> None:
    """After a turn that stored an error committed: fold it in now, unless another process is
    folding this bot (then its fold or the beat's next one reads it). Never raises: the turn
    is stored and answered; the beat task reads what a failed fold left."""
    from flows.models import Bot

    try:
        refresh(Bot(pk=bot_id), wait=False)
    except Exception:
        logger.exception("folding the issues of bot %s after a turn failed", bot_id)


def fold_all() -> int:
    """The beat task: fold every bot with a published version; returns the occurrences added."""
    from flows.models import Bot

    added = 0
    for bot_id in Bot.objects.filter(versions__isnull=False).values_list("pk", flat=True).distinct():
        added += refresh(Bot(pk=bot_id), wait=False)
    return added


def refresh(bot, *, wait: bool = True) -> int:
    """Fold the bot's events written since the last refresh into its issues; returns how many
    occurrences were added. Safe to call concurrently (the scan row is locked); with
    `wait=False` it returns 0 at once when another process holds the lock."""
    IssueScan.objects.get_or_create(bot=bot)
    added = 0
    with transaction.atomic():
        scan = IssueScan.objects.select_for_update(skip_locked=not wait).filter(bot=bot).first()
        if scan is None:
            return 0
        stuck_before = timezone.now() - RUNNING_GRACE
        groups: dict[str, tuple[Occurrence, list]] = {}
        position = scan.last_event_id
        for _ in range(MAX_BATCHES):
            batch = list(Event.objects.filter(bot=bot, conversation__is_draft=False, pk__gt=position)
                         .filter(Q(status=Event.Status.RECEIVED) | Q(status=Event.Status.FAILED) | ~Q(logs=[]))
                         .order_by("pk").only("pk", "status", "error", "logs", "created_at", "processed_at",
                                              "conversation_id")[:BATCH])
            waiting = False
            for event in batch:
                if event.status == Event.Status.RECEIVED:
                    if event.created_at > stuck_before:
                        waiting = True  # not settled yet: read it (and what follows) next time
                        break
                    position = event.pk
                    continue
                for occurrence in occurrences(event):
                    groups.setdefault(occurrence.fingerprint, (occurrence, []))[1].append((event, occurrence.message))
                position = event.pk
            if waiting or len(batch) < BATCH:
                break
        for fingerprint, (occurrence, events) in groups.items():
            _fold(bot, fingerprint, occurrence, events)
            added += len(events)
        if position != scan.last_event_id:
            IssueScan.objects.filter(pk=scan.pk).update(last_event_id=position)
    return added


def _fold(bot, fingerprint: str, occurrence: Occurrence, found: list) -> None:
    """Add (event, message) occurrences of one group to its row; the latest is the sample."""
    events = [event for event, _ in found]
    first, last = min(events, key=_when), max(events, key=_when)
    sample = max(found, key=lambda pair: _when(pair[0]))[1][:2000]
    issue = Issue.objects.select_for_update().filter(bot=bot, fingerprint=fingerprint).first()
    if issue is None:
        Issue.objects.create(bot=bot, fingerprint=fingerprint, kind=occurrence.kind, flow=occurrence.flow,
                             node=occurrence.node, card=occurrence.card, pattern=occurrence.pattern,
                             sample_message=sample, sample_conversation_id=last.conversation_id,
                             count=len(events), first_seen=_when(first), last_seen=_when(last))
        return
    issue.count += len(events)
    if _when(last) >= issue.last_seen:
        issue.sample_message, issue.sample_conversation_id = sample, last.conversation_id
    issue.last_seen = max(issue.last_seen, _when(last))
    issue.first_seen = min(issue.first_seen, _when(first))
    if issue.resolved_at and _when(last) > issue.resolved_at:
        # It happened again after someone marked it resolved: it is open again.
        issue.resolved_at, issue.resolved_by = None, None
    issue.save()


def resolve(bot, issue_id, *, user, resolved: bool = True) -> Issue | None:
    """Mark one of the bot's issues resolved (or open again); None when it has no such issue."""
    with transaction.atomic():
        issue = Issue.objects.select_for_update().filter(bot=bot, pk=issue_id).first()
        if issue is None:
            return None
        issue.resolved_at, issue.resolved_by = (timezone.now(), user) if resolved else (None, None)
        issue.save(update_fields=["resolved_at", "resolved_by"])
        return issue
