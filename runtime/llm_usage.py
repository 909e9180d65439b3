"""What every LLM call of a turn cost, stored as `LLMUsage` rows, and the totals the REST
API and `bot info` show. On PostgreSQL (runtime/async_turns.py) the rows go with the turn's write, or on their
own when that write does not commit, so a call the provider billed stays counted even when
the turn's write is retried or fails; the ORM executor records them inside the turn's
transaction (a turn that fails there loses them). One INSERT, and only for turns that called a model."""
from __future__ import annotations

from django.db.models import Count, Sum
from django.utils import timezone

from runtime.models import LLMUsage

_COLUMNS = ("bot_id", "conversation_id", "is_draft", "card", "purpose", "provider", "model", "tokens_in",
            "tokens_out", "ms", "cost", "created_at")


def _values(conversation, call: dict, now) -> tuple:
    return (conversation.bot_id, conversation.pk, conversation.is_draft, str(call.get("card") or "")[:255],
            str(call.get("purpose") or "")[:64], str(call.get("provider") or "")[:64],
            str(call.get("model") or "")[:200], max(0, int(call.get("tokensIn") or 0)),
            max(0, int(call.get("tokensOut") or 0)), float(call.get("ms") or 0), float(call.get("cost") or 0), now)


def record(conversation, calls: list[dict]) -> None:
    if not calls:
        return
    now = timezone.now()
    LLMUsage.objects.bulk_create([LLMUsage(**dict(zip(_COLUMNS, _values(conversation, call, now))))
                                  for call in calls])


_INSERT = (f"INSERT INTO {LLMUsage._meta.db_table} ({', '.join(c for c in _COLUMNS)}) "
           f"VALUES ({', '.join(['%s'] * len(_COLUMNS))})")


async def arecord(conn, conversation, calls: list[dict]) -> None:
    """`record` on the async executor's psycopg connection (runtime/async_turns.py)."""
    if not calls:
        return
    now = timezone.now()
    async with conn.cursor() as cursor:
        await cursor.executemany(_INSERT, [_values(conversation, call, now) for call in calls])


def totals(bot, *, since=None, draft: bool | None = None) -> dict:
    """Calls, tokens in/out and cost of `bot`, in all and per model."""
    rows = LLMUsage.objects.filter(bot=bot)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if draft is not None:
        rows = rows.filter(is_draft=draft)
    sums = dict(calls=Count("id"), tokensIn=Sum("tokens_in"), tokensOut=Sum("tokens_out"), cost=Sum("cost"))
    whole = rows.aggregate(**sums)
    per_model = rows.values("provider", "model").annotate(**sums).order_by("provider", "model")
    clean = lambda d: {"calls": d["calls"] or 0, "tokensIn": d["tokensIn"] or 0,  # noqa: E731
                       "tokensOut": d["tokensOut"] or 0, "cost": round(d["cost"] or 0.0, 6)}
    return {**clean(whole), "models": [{"provider": r["provider"], "model": r["model"], **clean(r)}
                                       for r in per_model]}
