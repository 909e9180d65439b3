"""Starting indexing jobs: the Celery task `runtime.tasks.index_knowledge_source`, queued
once the transaction that saved the source commits (a worker must find the row)."""
from __future__ import annotations

from django.db import transaction

from flows.models import KnowledgeSource


def queue_indexing(source: KnowledgeSource) -> None:
    from runtime.tasks import index_knowledge_source

    source_id, revision = source.pk, source.revision
    transaction.on_commit(lambda: index_knowledge_source.delay(source_id, revision))
