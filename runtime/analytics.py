"""Daily rollups for the dashboard's Analytics page (docs/dashboard.md, "Analytics").

`roll_up(day)` recomputes one day (the server's time zone) for every bot that had anything
that day: a handful of grouped queries over that day's rows, then the day's `DailyStats`
rows replaced in one transaction, so running it twice, or late, gives the same rows. The
beat task `runtime.tasks.roll_up_analytics` runs it for today and yesterday every 10
minutes (yesterday again so that turns finishing after midnight are counted).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from runtime.models import EVENT_MESSAGE_TYPE, Conversation, DailyStats, Event, LLMUsage, Message

ROLLUP_FIELDS = ["conversations", "users_new", "users_returning", "messages_in", "messages_out", "failed_turns",
                 "llm_tokens", "llm_cost"]


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
                .values(bot=F("conversation__bot_id"), channel=F("conversation__channel"))
                .annotate(incoming=Count("pk", filter=Q(direction=Message.Direction.INCOMING)),
                          outgoing=Count("pk", filter=Q(direction=Message.Direction.OUTGOING)),
                          new=Count("conversation__user", distinct=True,
                                    filter=Q(direction=Message.Direction.INCOMING,
                                             conversation__user__created_at__gte=start)),
                          returning=Count("conversation__user", distinct=True,
                                          filter=Q(direction=Message.Direction.INCOMING,
                                                   conversation__user__created_at__lt=start))))
    for row in messages:
        target = rows[(row["bot"], row["channel"])]
        target.update(messages_in=row["incoming"], messages_out=row["outgoing"], users_new=row["new"],
                      users_returning=row["returning"])
    failed = (Event.objects.filter(conversation__is_draft=False, status=Event.Status.FAILED,
                                   created_at__gte=start, created_at__lt=end)
              .values(bot=F("conversation__bot_id"), channel=F("conversation__channel")).annotate(n=Count("pk")))
    for row in failed:
        rows[(row["bot"], row["channel"])]["failed_turns"] = row["n"]
    usage = (LLMUsage.objects.filter(is_draft=False, created_at__gte=start, created_at__lt=end)
             .values("bot_id", channel=F("conversation__channel"))
             .annotate(tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"), cost=Sum("cost")))
    for row in usage:
        target = rows[(row["bot_id"], row["channel"] or "")]
        target["llm_tokens"] = (row["tokens_in"] or 0) + (row["tokens_out"] or 0)
        target["llm_cost"] = float(row["cost"] or 0)
    with transaction.atomic():
        DailyStats.objects.filter(day=day).delete()
        DailyStats.objects.bulk_create([DailyStats(bot_id=bot_id, day=day, channel=channel, **values)
                                        for (bot_id, channel), values in rows.items()])
    return len(rows)


def roll_up_recent(today: date | None = None) -> int:
    today = today or timezone.localdate()
    return roll_up(today - timedelta(days=1)) + roll_up(today)
