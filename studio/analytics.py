"""The dashboard's Analytics page reads the daily rollups (runtime.analytics), never the
messages themselves (docs/dashboard.md, "Analytics")."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Sum
from django.utils import timezone

from runtime.models import DailyCount, DailyStats
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
            "channels": per_channel, "computedAt": last.isoformat() if last else None,
            **named_counts(bot, chosen, index)}


HOURS = [f"{hour:02d}" for hour in range(24)]


def named_counts(bot, chosen: Range, index: dict) -> dict:
    """The `DailyCount` figures of the range (runtime.analytics.COUNT_KINDS), as the page's
    `customEvents`, `intents`, `captures`, `workflows` and `hours` (docs/dashboard.md)."""
    rows = DailyCount.objects.filter(bot=bot, day__gte=chosen.since, day__lte=chosen.until)
    if chosen.channel:
        rows = rows.filter(channel=chosen.channel)
    width = len(index)
    events: dict = {}
    intents: dict = {}
    captures: dict = {}
    workflows: dict = {}
    completed_per_day = [0] * width
    failed_per_day = [0] * width
    hours = {"messages": [0] * 24, "users": [0] * 24}
    grouped = rows.values("day", "kind", "name").annotate(n=Sum("count"), sum=Sum("total")).order_by("kind", "name")
    for row in grouped:
        kind, name, n, at = row["kind"], row["name"], row["n"] or 0, index[row["day"]]
        if kind == "event":
            entry = events.setdefault(name, {"perDay": [0] * width, "count": 0, "value": 0.0})
            entry["perDay"][at] += n
            entry["count"] += n
            entry["value"] += row["sum"] or 0
        elif kind == "intent":
            intents[name] = intents.get(name, 0) + n
        elif kind.startswith("capture_"):
            entry = captures.setdefault(name, {"started": 0, "completed": 0, "failed": 0})
            entry[kind.removeprefix("capture_")] += n
        elif kind.startswith("workflow_"):
            entry = workflows.setdefault(name, {"completed": 0, "failed": 0})
            entry[kind.removeprefix("workflow_")] += n
            (completed_per_day if kind == "workflow_completed" else failed_per_day)[at] += n
        elif kind in ("hour_messages", "hour_users") and name in HOURS:
            hours["messages" if kind == "hour_messages" else "users"][int(name)] += n
    for entry in events.values():
        entry["value"] = round(entry["value"], 6)
    for entry in captures.values():
        # Reached and neither answered nor given up: the user left (or has not answered yet).
        entry["droppedOff"] = max(0, entry["started"] - entry["completed"] - entry["failed"])
        entry["completionRate"] = round(entry["completed"] / entry["started"], 4) if entry["started"] else None
    matched = sum(n for name, n in intents.items() if name != "none")
    return {
        "customEvents": dict(sorted(events.items())),
        "intents": {"counts": dict(sorted(intents.items(), key=lambda item: (-item[1], item[0]))),
                    "matched": matched, "none": intents.get("none", 0)},
        "captures": dict(sorted(captures.items())),
        "workflows": {"perWorkflow": dict(sorted(workflows.items())),
                      "completedPerDay": completed_per_day, "failedPerDay": failed_per_day},
        "hours": {"labels": HOURS, **hours},
    }


def channels(bot) -> list[str]:
    return list(DailyStats.objects.filter(bot=bot).exclude(channel="").order_by("channel")
                .values_list("channel", flat=True).distinct())
