"""Starting indexing jobs: the Celery task `runtime.tasks.index_knowledge_source`, queued
once the transaction that saved the source commits (a worker must find the row). On
FLOWSTUDIO_KNOWLEDGE_CELERY_QUEUE when set (a deployment's indexing workers, or a test's
own worker), else on the default queue; with eager tasks (the embedded default) the job runs
in this process right after the commit.

flows says what wants indexing through two signals (flows never indexes): a bot file's
import adds sources (`flows.knowledge.indexing_wanted`), and a table's rows change
(`flows.tables.service.rows_changed`). A table source is re-indexed
FLOWSTUDIO_KNOWLEDGE_TABLE_DELAY_S seconds after the first change of a burst: changes
meanwhile find it queued already and add no job, since the one job reads the rows as they
are when it runs (eager tasks do not wait: the delay is the worker's)."""
from __future__ import annotations

from django.conf import settings
from django.db import transaction

from flows import knowledge
from flows.models import KnowledgeSource
from flows.tables import service as tables


def table_delay() -> float:
    return float(getattr(settings, "FLOWSTUDIO_KNOWLEDGE_TABLE_DELAY_S", 5.0))


def _send(source_id: int, revision: int, countdown: float) -> None:
    from runtime.tasks import index_knowledge_source

    if settings.CELERY_TASK_ALWAYS_EAGER:
        index_knowledge_source(source_id, revision)
        return
    queue = getattr(settings, "FLOWSTUDIO_KNOWLEDGE_CELERY_QUEUE", "")
    index_knowledge_source.apply_async((source_id, revision), countdown=countdown or None,
                                       **({"queue": queue} if queue else {}))


def queue_indexing(source: KnowledgeSource, *, countdown: float = 0) -> None:
    source_id, revision = source.pk, source.revision
    transaction.on_commit(lambda: _send(source_id, revision, countdown))


def _on_indexing_wanted(sender, sources, **kwargs) -> None:
    for source in sources:
        queue_indexing(source)


def table_changed(bot_id, table: str) -> int:
    """Queue the table sources that read `table` (those not queued already); how many."""
    queued = 0
    with transaction.atomic():
        for source in KnowledgeSource.objects.select_for_update().filter(
                knowledge_base__bot_id=bot_id, kind=KnowledgeSource.Kind.TABLE, table=table):
            if source.status == KnowledgeSource.Status.QUEUED:
                continue  # its job has not read the rows yet: it will read these too
            queue_indexing(knowledge.mark_for_reindex(source), countdown=table_delay())
            queued += 1
    return queued


def _on_rows_changed(sender, bot_id, table, **kwargs) -> None:
    table_changed(bot_id, table)


def subscribe() -> None:
    knowledge.indexing_wanted.connect(_on_indexing_wanted, dispatch_uid="knowledge-indexing-wanted")
    tables.rows_changed.connect(_on_rows_changed, dispatch_uid="knowledge-table-rows-changed")
