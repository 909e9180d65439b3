"""A workspace's usage for its Usage page (the Billing manager's page, docs/dashboard.md
"Usage"): what its bots did over a range of days, from the analytics rollups (runtime.analytics;
never a scan of the messages), and what they store now."""
from __future__ import annotations

from datetime import date

from django.db.models import Count, Sum
from django.utils import timezone

from flows.models import Bot, KnowledgeChunk, TableRow
from runtime.models import Conversation, DailyStats, Message
from studio.analytics import Range

# The page's columns: rollup field -> the name in the page's data.
ACTIVITY = {"conversations": "conversations", "messages_in": "messagesIn", "messages_out": "messagesOut",
            "llm_tokens": "llmTokens", "llm_cost": "llmCost"}
STORED = ("conversations", "messages", "tableRows", "knowledgePassages")


def range_from_query(query, today: date | None = None) -> Range:
    """The chosen days: `since` and `until` (YYYY-MM-DD); by default the month of `until`
    (today) up to it. Raises studio.query_params.InvalidFilter naming the field."""
    today = today or timezone.localdate()
    chosen = Range.from_query({"until": query.get("until"), "since": query.get("since")}, today=today)
    if not (query.get("since") or "").strip():
        chosen.since = chosen.until.replace(day=1)
    chosen.channel = ""  # usage is every channel's
    return chosen


def _counts(queryset, key: str) -> dict:
    return dict(queryset.values(key).annotate(n=Count("pk")).values_list(key, "n"))


def report(workspace, chosen: Range) -> dict:
    """One row per bot (activity over the range, and what it stores now) and the totals."""
    bots = list(Bot.objects.filter(workspace=workspace).order_by("name").values_list("pk", "name"))
    ids = [pk for pk, _ in bots]
    activity = {row["bot"]: row for row in DailyStats.objects.filter(
        bot__in=ids, day__gte=chosen.since, day__lte=chosen.until).values("bot").annotate(
        **{field: Sum(field) for field in ACTIVITY})}
    stored = {
        "conversations": _counts(Conversation.objects.filter(bot__in=ids), "bot"),
        "messages": _counts(Message.objects.filter(conversation__bot__in=ids), "conversation__bot"),
        "tableRows": _counts(TableRow.objects.filter(bot__in=ids), "bot"),
        "knowledgePassages": _counts(KnowledgeChunk.objects.filter(knowledge_base__bot__in=ids),
                                     "knowledge_base__bot"),
    }
    rows = []
    for pk, name in bots:
        done = activity.get(pk, {})
        row = {"bot": str(pk), "name": name,
               **{out: (done.get(field) or 0) for field, out in ACTIVITY.items()},
               "stored": {kind: stored[kind].get(pk, 0) for kind in STORED}}
        row["llmCost"] = round(row["llmCost"], 6)
        rows.append(row)
    totals = {out: sum(row[out] for row in rows) for out in ACTIVITY.values()}
    totals["llmCost"] = round(totals["llmCost"], 6)
    totals["stored"] = {kind: sum(row["stored"][kind] for row in rows) for kind in STORED}
    last = DailyStats.objects.filter(bot__in=ids).order_by("-computed_at").values_list("computed_at", flat=True).first()
    return {"since": chosen.since.isoformat(), "until": chosen.until.isoformat(), "bots": rows, "totals": totals,
            "computedAt": last.isoformat() if last else None}
