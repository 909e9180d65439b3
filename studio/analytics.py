"""The dashboard's Analytics page reads the daily rollups (runtime.analytics), never the
messages themselves (docs/dashboard.md, "Analytics")."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum
from django.utils import timezone
from django.utils.dateparse import parse_date

from runtime.models import DailyStats

DEFAULT_DAYS = 14
MAX_DAYS = 366
# The page's series: rollup field -> the name in the page's data (and the charts').
SERIES = {"conversations": "conversations", "users_new": "usersNew", "users_returning": "usersReturning",
          "messages_in": "messagesIn", "messages_out": "messagesOut", "failed_turns": "failedTurns",
          "llm_tokens": "llmTokens", "llm_cost": "llmCost"}


class InvalidRange(ValueError):
    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.field = name


@dataclass
class Range:
    since: date
    until: date
    channel: str = ""

    @classmethod
    def from_query(cls, query, today: date | None = None) -> "Range":
        today = today or timezone.localdate()
        days = {}
        for name in ("since", "until"):
            raw = (query.get(name) or "").strip()
            if not raw:
                continue
            try:
                day = parse_date(raw) if len(raw) == 10 else None
            except ValueError:
                day = None
            if day is None:
                raise InvalidRange(name, f"{raw!r} is not a date (YYYY-MM-DD)")
            days[name] = day
        until = days.get("until", today)
        since = days.get("since", until - timedelta(days=DEFAULT_DAYS - 1))
        if since > until:
            raise InvalidRange("since", f"{since.isoformat()} is after until ({until.isoformat()})")
        if (until - since).days + 1 > MAX_DAYS:
            raise InvalidRange("since", f"the range is {(until - since).days + 1} days; at most {MAX_DAYS}")
        channel = (query.get("channel") or "").strip()
        if "\x00" in channel:  # PostgreSQL text cannot hold one: a query with it is a database error
            raise InvalidRange("channel", "contains the NUL character (%00), which no channel name can contain")
        return cls(since, until, channel)

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
