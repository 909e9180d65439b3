"""The dashboard's Analytics page reads the daily rollups (runtime.analytics), never the
messages themselves (docs/dashboard.md, "Analytics")."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum
from django.utils import timezone

from runtime.models import DailyStats
from studio.query_params import InvalidFilter, date_param, refuse_nul

DEFAULT_DAYS = 14
MAX_DAYS = 366
# The page's series: rollup field -> the name in the page's data (and the charts').
SERIES = {"conversations": "conversations", "users_new": "usersNew", "users_returning": "usersReturning",
          "messages_in": "messagesIn", "messages_out": "messagesOut", "failed_turns": "failedTurns",
          "llm_tokens": "llmTokens", "llm_cost": "llmCost"}


@dataclass
class Range:
    since: date
    until: date
    channel: str = ""

    @classmethod
    def from_query(cls, query, today: date | None = None) -> "Range":
        today = today or timezone.localdate()
        until = date_param(query, "until") or today
        since = date_param(query, "since") or until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            raise InvalidFilter("since", f"{since.isoformat()} is after until ({until.isoformat()})")
        if (until - since).days + 1 > MAX_DAYS:
            raise InvalidFilter("since", f"the range is {(until - since).days + 1} days; at most {MAX_DAYS}")
        return cls(since, until, refuse_nul("channel", (query.get("channel") or "").strip()))

    def days(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]


def report(bot, chosen: Range) -> dict:
    """Per-day series (every day of the range, zero when nothing happened), totals and the
    totals per channel, as plain JSON-able data for the page and its charts."""
    rows = DailyStats.objects.filter(bot=bot, day__gte=chosen.since, day__lte=chosen.until)
    if chosen.channel:
        rows = rows.filter(channel=chosen.channel)
    days = chosen.days()
    index = {day: n for n, day in enumerate(days)}
    series = {name: [0] * len(days) for name in SERIES.values()}
    per_day = rows.values("day").annotate(**{field: Sum(field) for field in SERIES})
    for row in per_day:
        for field, name in SERIES.items():
            series[name][index[row["day"]]] = row[field] or 0
    series["llmCost"] = [round(value, 6) for value in series["llmCost"]]
    per_channel = {}
    for row in rows.values("channel").annotate(**{field: Sum(field) for field in SERIES}).order_by("channel"):
        per_channel[row["channel"] or "(no conversation)"] = {name: row[field] or 0 for field, name in SERIES.items()}
    totals = {name: (round(sum(values), 6) if name == "llmCost" else sum(values)) for name, values in series.items()}
    last = rows.order_by("-computed_at").values_list("computed_at", flat=True).first()
    return {"days": [day.isoformat() for day in days], "series": series, "totals": totals,
            "channels": per_channel, "computedAt": last.isoformat() if last else None}


def channels(bot) -> list[str]:
    return list(DailyStats.objects.filter(bot=bot).exclude(channel="").order_by("channel")
                .values_list("channel", flat=True).distinct())
