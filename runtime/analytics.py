"""Daily rollups for the dashboard's Analytics page (docs/dashboard.md, "Analytics").

`roll_up(day)` recomputes one day (the server's time zone) for every bot that had anything
that day: a handful of grouped queries over that day's rows, then the day's `DailyStats`
and `DailyCount` rows replaced in one transaction, so running it twice, or late, gives the
same rows. The beat task `runtime.tasks.roll_up_analytics` runs it for today and yesterday
every 10 minutes (yesterday again so that turns finishing after midnight are counted).

What a turn's trace says that the rollup counts (the NLU intent, Track Event cards, capture
card outcomes) is copied into `Event.facts` when the turn is stored (`turn_facts`), so the
rollup reads a few small values per turn instead of whole traces.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import ExtractHour
from django.utils import timezone

from runtime.models import (
    EVENT_MESSAGE_TYPE, Conversation, DailyCount, DailyStats, Event, LLMUsage, Message, WorkflowRun,
)

ROLLUP_FIELDS = ["conversations", "users_new", "users_returning", "messages_in", "messages_out", "failed_turns",
                 "llm_tokens", "llm_cost"]
# DailyCount kinds (their `name`): custom events of Track Event cards (the event name), NLU
# intents of user messages ("none" when none matched), capture cards reached / answered /
# given up (the card id), background workflows finished (the workflow), and the hour of day
# ("00".."23") of incoming messages and of the users who sent them.
COUNT_KINDS = ("event", "intent", "capture_started", "capture_completed", "capture_failed",
               "workflow_completed", "workflow_failed", "hour_messages", "hour_users")
# A turn's facts hold at most this many Track Event and capture entries (a loop of Track
# Event cards is a bot bug; it must not grow the event row without bound).
MAX_FACTS = 50


def turn_facts(trace: list) -> dict | None:
    """What the rollup counts from one turn's trace, or None when there is nothing:
    `{"intent": name, "tracked": [[name, value or null], ...], "captures": [[card, outcome], ...]}`
    with outcome `started` (the card was reached and asked), `completed` (it stored a value)
    or `failed` (it gave up: out of retries, or cancelled by the user). A retry is not an outcome."""
    facts: dict = {}
    tracked, captures = [], []
    for entry in trace or ():
        kind = entry.get("type") if isinstance(entry, dict) else None
        if kind == "nlu" and isinstance(entry.get("intent"), str):
            facts["intent"] = entry["intent"][:128]
        elif kind == "tracked" and len(tracked) < MAX_FACTS:
            tracked.append([str(entry.get("name"))[:128], entry.get("value")])
        elif kind in ("capture_started", "captured", "capture_failed") and len(captures) < MAX_FACTS:
            if kind == "capture_failed" and "retriesLeft" in entry:
                continue  # it asks again
            outcome = {"capture_started": "started", "captured": "completed", "capture_failed": "failed"}[kind]
            captures.append([str(entry.get("card") or "")[:128], outcome])
    if tracked:
        facts["tracked"] = tracked
    if captures:
        facts["captures"] = captures
    return facts or None


def day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), zone)
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), zone)


def roll_up(day: date) -> int:
    """Recompute `day` for every bot; returns how many rows it wrote."""
    start, end = day_bounds(day)
    rows: dict = defaultdict(lambda: dict.fromkeys(ROLLUP_FIELDS, 0))
    conversations = (Conversation.objects.filter(is_draft=False, created_at__gte=start, created_at__lt=end)
                     .values("bot_id", "channel").annotate(n=Count("pk")))
    for row in conversations:
        rows[(row["bot_id"], row["channel"])]["conversations"] = row["n"]
    messages = (Message.objects.filter(conversation__is_draft=False, created_at__gte=start, created_at__lt=end)
                .exclude(type=EVENT_MESSAGE_TYPE)
                .values(of_bot=F("conversation__bot_id"), channel=F("conversation__channel"))
                .annotate(incoming=Count("pk", filter=Q(direction=Message.Direction.INCOMING)),
                          outgoing=Count("pk", filter=Q(direction=Message.Direction.OUTGOING)),
                          new=Count("conversation__user", distinct=True,
                                    filter=Q(direction=Message.Direction.INCOMING,
                                             conversation__user__created_at__gte=start)),
                          returning=Count("conversation__user", distinct=True,
                                          filter=Q(direction=Message.Direction.INCOMING,
                                                   conversation__user__created_at__lt=start))))
    for row in messages:
        target = rows[(row["of_bot"], row["channel"])]
        target.update(messages_in=row["incoming"], messages_out=row["outgoing"], users_new=row["new"],
                      users_returning=row["returning"])
    failed = (Event.objects.filter(conversation__is_draft=False, status=Event.Status.FAILED,
                                   created_at__gte=start, created_at__lt=end)
              .values(of_bot=F("conversation__bot_id"), channel=F("conversation__channel")).annotate(n=Count("pk")))
    for row in failed:
        rows[(row["of_bot"], row["channel"])]["failed_turns"] = row["n"]
    usage = (LLMUsage.objects.filter(is_draft=False, created_at__gte=start, created_at__lt=end)
             .values("bot_id", channel=F("conversation__channel"))
             .annotate(tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"), cost=Sum("cost")))
    for row in usage:
        target = rows[(row["bot_id"], row["channel"] or "")]
        target["llm_tokens"] = (row["tokens_in"] or 0) + (row["tokens_out"] or 0)
        target["llm_cost"] = float(row["cost"] or 0)
    counts = _named_counts(start, end)
    with transaction.atomic():
        DailyStats.objects.filter(day=day).delete()
        DailyStats.objects.bulk_create([DailyStats(bot_id=bot_id, day=day, channel=channel, **values)
                                        for (bot_id, channel), values in rows.items()])
        DailyCount.objects.filter(day=day).delete()
        DailyCount.objects.bulk_create(
            [DailyCount(bot_id=bot_id, day=day, channel=channel, kind=kind, name=name, count=count, total=total)
             for (bot_id, channel, kind, name), (count, total) in counts.items()], batch_size=1000)
    return len(rows)


def _named_counts(start, end) -> dict:
    """{(bot, channel, kind, name): [count, total]} of one day (see COUNT_KINDS)."""
    counts: dict = defaultdict(lambda: [0, 0.0])
    facts = (Event.objects.filter(conversation__is_draft=False, facts__isnull=False,
                                  created_at__gte=start, created_at__lt=end)
             .values_list("conversation__bot_id", "conversation__channel", "facts"))
    for bot_id, channel, fact in facts.iterator(chunk_size=2000):
        if not isinstance(fact, dict):
            continue
        if isinstance(fact.get("intent"), str):
            counts[(bot_id, channel, "intent", fact["intent"])][0] += 1
        for name, value in fact.get("tracked") or ():
            target = counts[(bot_id, channel, "event", name)]
            target[0] += 1
            if isinstance(value, (int, float)):
                target[1] += value
        for card, outcome in fact.get("captures") or ():
            counts[(bot_id, channel, f"capture_{outcome}", card)][0] += 1
    runs = (WorkflowRun.objects.filter(is_draft=False, finished_at__gte=start, finished_at__lt=end,
                                       status__in=[WorkflowRun.Status.COMPLETED, WorkflowRun.Status.FAILED])
            .values("bot_id", "name", "status", channel=F("conversation__channel")).annotate(n=Count("pk")))
    for row in runs:
        counts[(row["bot_id"], row["channel"] or "", f"workflow_{row['status']}", row["name"])][0] += row["n"]
    # Hour of day in the server's time zone (ExtractHour uses the current one).
    hours = (Message.objects.filter(conversation__is_draft=False, direction=Message.Direction.INCOMING,
                                    created_at__gte=start, created_at__lt=end)
             .exclude(type=EVENT_MESSAGE_TYPE)
             .annotate(hour=ExtractHour("created_at"))
             .values("hour", of_bot=F("conversation__bot_id"), channel=F("conversation__channel"))
             .annotate(n=Count("pk"), users=Count("conversation__user", distinct=True)))
    for row in hours:
        name = f"{row['hour']:02d}"
        counts[(row["of_bot"], row["channel"], "hour_messages", name)][0] += row["n"]
        counts[(row["of_bot"], row["channel"], "hour_users", name)][0] += row["users"]
    return counts


def roll_up_recent(today: date | None = None) -> int:
    today = today or timezone.localdate()
    return roll_up(today - timedelta(days=1)) + roll_up(today)
