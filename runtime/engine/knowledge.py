"""How the Query Knowledge Bases card reaches a bot's knowledge bases: the `KnowledgeHost`
the runtime gives a turn (`TurnInput.knowledge`; runtime/knowledge/gateway.py over the
database, a fake in engine tests). docs/knowledge.md."""
from __future__ import annotations

from typing import Protocol


class KnowledgeFailure(Exception):
    """The search could not run (an unknown KB name...): the message says what."""


class KnowledgeHost(Protocol):
    def search(self, query: str, *, knowledge_bases: list[str], folder: str, limit: int) -> list[dict]:
        """Passages, best first: {"text", "sourceName", "sourceType", "page", "location",
        "knowledgeBase", "score", ...}; [] when nothing matches."""
        ...
