"""Indexing one source: parse, chunk, embed, then swap its chunks in one transaction, so
search serves either all the old chunks or all the new ones, never a mix (docs/knowledge.md).

The status a builder watches moves queued -> parsing -> embedding -> ready, or to failed
with the reason. Each step writes only if the source is still at the revision the job was
started for: a re-index asked for meanwhile (flows.knowledge.mark_for_reindex) wins, and the
older job stops without touching the chunks."""
from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from flows import knowledge
from flows.models import KnowledgeChunk, KnowledgeSource
from flows.tables import service as tables
from flows.tables.definition import UnknownTable
from runtime.knowledge import parsing, vectors

logger = logging.getLogger(__name__)
Status = KnowledgeSource.Status


class Superseded(Exception):
    pass


def _set(source: KnowledgeSource, **fields) -> None:
    if not KnowledgeSource.objects.filter(pk=source.pk, revision=source.revision).update(**fields):
        raise Superseded


def table_sections(bot, table_name: str, columns: list[str]) -> list[parsing.Section]:
    """A section per row of the bot's table (its draft's definition): the `columns` read
    (the table's searchable ones when none are given), as "column: value" lines when there
    are several. Rows with none of them filled are left out."""
    try:
        table = tables.get_table(bot, table_name)
    except UnknownTable as exc:
        raise parsing.ParseFailed(str(exc)) from None
    read = list(columns) or list(table.searchable)
    for name in read:
        column = table.column(name)
        if column is None or column.type != "string":
            raise parsing.ParseFailed(f"table {table_name!r} has no string column {name!r}")
    if not read:
        raise parsing.ParseFailed(f"table {table_name!r} has no searchable column: mark one searchable")
    sections = []
    for row_id, data in tables.rows_of(bot.pk, table).values_list("id", "data").iterator(chunk_size=1000):
        values = [(name, data.get(name)) for name in read if isinstance(data.get(name), str) and data[name].strip()]
        if not values:
            continue
        text = values[0][1] if len(read) == 1 else "\n".join(f"{name}: {value}" for name, value in values)
        sections.append(parsing.Section(text, row=row_id))
    return sections


def sections_of(source: KnowledgeSource) -> list[parsing.Section]:
    if source.kind == KnowledgeSource.Kind.DOCUMENT:
        if source.content is None:  # named by a bot file that did not carry it
            raise parsing.ParseFailed(knowledge.NOT_CARRIED.format(size=source.size, name=source.name))
        return parsing.parse_document(source.format, bytes(source.content))
    if source.kind == KnowledgeSource.Kind.TABLE:
        return table_sections(source.knowledge_base.bot, source.table, list(source.columns or ()))
    if source.kind == KnowledgeSource.Kind.TEXT:
        return [parsing.Section(source.text)]
    if source.kind == KnowledgeSource.Kind.URL:
        return parsing.parse_url(source.url)
    if source.kind == KnowledgeSource.Kind.SITEMAP:
        return parsing.parse_sitemap(source.url)
    raise parsing.ParseFailed(f"unknown source kind {source.kind!r}")


def index_source(source_id: int, revision: int | None = None) -> str:
    """Index the source (at `revision`, default its current one); the status it ended in."""
    try:
        source = KnowledgeSource.objects.select_related("knowledge_base__bot").get(pk=source_id)
    except KnowledgeSource.DoesNotExist:
        return "gone"
    if revision is not None and source.revision != revision:
        return "superseded"
    try:
        _set(source, status=Status.PARSING, error="")
        try:
            pieces = parsing.chunk(sections_of(source))
        except parsing.ParseFailed as exc:
            _set(source, status=Status.FAILED, error=str(exc))
            return Status.FAILED
        if not pieces:
            _set(source, status=Status.FAILED,
                 error="no text found in the source (a scanned PDF has only images of text)")
            return Status.FAILED
        _set(source, status=Status.EMBEDDING)
        # A passage that did not change keeps its vector (a table source re-indexed after one
        # row changed embeds that row only): vectors depend on the text alone.
        known = dict(KnowledgeChunk.objects.filter(source=source).values_list("text", "embedding"))
        fresh = list(dict.fromkeys(p.text for p in pieces if p.text not in known))
        known.update(zip(fresh, (vectors.to_bytes(v) for v in vectors.embed(fresh))))
        with transaction.atomic():
            locked = KnowledgeSource.objects.select_for_update().filter(pk=source.pk, revision=source.revision)
            if not locked.exists():
                raise Superseded
            KnowledgeChunk.objects.filter(source=source).delete()
            KnowledgeChunk.objects.bulk_create([
                KnowledgeChunk(knowledge_base_id=source.knowledge_base_id, source=source, position=i,
                               text=p.text, page=p.page, row=p.row, location=p.location[:2000],
                               embedding=known[p.text])
                for i, p in enumerate(pieces)], batch_size=500)
            locked.update(status=Status.READY, error="", chunk_count=len(pieces), indexed_at=timezone.now())
            knowledge.passages_changed(source.knowledge_base_id)
        return Status.READY
    except Superseded:
        return "superseded"
    except Exception as exc:  # the builder sees a reason; the log has the traceback
        logger.exception("indexing knowledge source %s failed", source_id)
        KnowledgeSource.objects.filter(pk=source.pk, revision=source.revision).update(
            status=Status.FAILED, error=f"indexing failed: {type(exc).__name__}")
        return Status.FAILED


def index_waiting(bot_id) -> dict[int, str]:
    """Index, in this process, the bot's sources still waiting for the indexing worker
    (status queued); {source id: the status it ended in}. Conversation tests call it so a
    test of a bot just imported searches its whole knowledge, whatever the worker is doing
    (a worker indexing the same revision meanwhile is harmless: the swap is one transaction)."""
    waiting = KnowledgeSource.objects.filter(knowledge_base__bot_id=bot_id, status=Status.QUEUED)
    return {pk: index_source(pk) for pk in waiting.order_by("id").values_list("pk", flat=True)}
