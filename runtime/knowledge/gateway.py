"""The engine's `KnowledgeHost` (runtime/engine/knowledge.py) over the database: the Query
Knowledge Bases card of one bot's turn searches that bot's knowledge bases, and only them.

As runtime/table_gateway.py: on the engine pool (PostgreSQL) each search is its own short
read and its connection is closed again, so a turn that goes on to wait on a model holds
no connection."""
from __future__ import annotations

from django.db import connection

from flows import knowledge
from flows.models import KnowledgeBase
from runtime.engine.knowledge import KnowledgeFailure
from runtime.knowledge import search as kb_search


class KnowledgeGateway:
    def __init__(self, bot_id):
        self.bot_id = bot_id

    def search(self, query: str, *, knowledge_bases: list[str], folder: str, limit: int) -> list[dict]:
        try:
            if knowledge_bases:
                known = set(KnowledgeBase.objects.filter(bot_id=self.bot_id, name__in=knowledge_bases)
                            .values_list("name", flat=True))
                missing = [name for name in knowledge_bases if name not in known]
                if missing:
                    raise KnowledgeFailure(f"the bot has no knowledge base named {', '.join(map(repr, missing))}")
            kb_ids = knowledge.resolve(self.bot_id, knowledge_bases, folder)
            found = kb_search.search(query, kb_ids, limit=limit)
            # "tokens" is an estimate (4 characters a token) for the debugger, not a model's count.
            return [{**hit.to_dict(), "tokens": max(1, len(hit.text) // 4)} for hit in found.hits]
        finally:
            if not connection.in_atomic_block:
                connection.close()


def for_bot(bot_id) -> KnowledgeGateway:
    return KnowledgeGateway(bot_id)
