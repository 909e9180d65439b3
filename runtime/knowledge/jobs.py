"""Starting indexing jobs: the Celery task `runtime.tasks.index_knowledge_source`, queued
once the transaction that saved the source commits (a worker must find the row). On
FLOWSTUDIO_KNOWLEDGE_CELERY_QUEUE when set (a deployment's indexing workers, or a test's
own worker), else on the default queue; with eager tasks (the embedded default) the job runs
in this process right after the commit."""
from __future__ import annotations

from django.conf import settings
from django.db import transaction

from flows.models import KnowledgeSource


def _send(source_id: int, revision: int) -> None:
    from runtime.tasks import index_knowledge_source

    if settings.CELERY_TASK_ALWAYS_EAGER:
        index_knowledge_source(source_id, revision)
        return
    queue = getattr(settings, "FLOWSTUDIO_KNOWLEDGE_CELERY_QUEUE", "")
    index_knowledge_source.apply_async((source_id, revision), **({"queue": queue} if queue else {}))


def queue_indexing(source: KnowledgeSource) -> None:
    source_id, revision = source.pk, source.revision
    transaction.on_commit(lambda: _send(source_id, revision))
