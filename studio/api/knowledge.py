"""Knowledge bases, their sources and a test search (docs/knowledge.md, docs/rest-api.md
"Knowledge bases"). Reading needs the bot's view permission, every change its change
permission, as for the rest of the bot.

A document is uploaded as multipart/form-data (`file`); URLs, sitemaps, free text and
tables as JSON. Each new or re-indexed source is queued for the indexing job and answered at once
with its status (`queued`); poll the source to watch it go to `ready` or `failed`."""
from __future__ import annotations

from django.db import transaction
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from flows import knowledge
from flows.models import KnowledgeSource
from flows.tables import service as tables
from runtime import outbound
from runtime.knowledge import jobs
from runtime.knowledge import search as kb_search
from studio.api import errors
from studio.api.base import ApiView, operation
from studio.api.parsers import LimitedJSONParser

TAGS = ["knowledge"]


class KnowledgeBaseInSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="1 to 64 letters, digits, spaces, '_', '.' or '-'")
    description = serializers.CharField(required=False, help_text="what the KB holds; at most 2000 characters")
    folder = serializers.CharField(required=False, help_text='a folder path such as "Support/Billing"; "" for none')


class SourceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=KnowledgeSource.Kind.values)
    name = serializers.CharField()
    format = serializers.CharField(help_text="documents: pdf, docx, html, md or txt")
    url = serializers.CharField()
    table = serializers.CharField(help_text="table sources: the table whose rows are read")
    columns = serializers.ListField(child=serializers.CharField(),
                                    help_text="table sources: the columns read; empty: the table's searchable ones")
    size = serializers.IntegerField(help_text="documents: bytes")
    status = serializers.ChoiceField(choices=KnowledgeSource.Status.values)
    error = serializers.CharField(help_text="why indexing failed; empty otherwise")
    chunks = serializers.IntegerField(help_text="passages served by search")
    revision = serializers.IntegerField()
    indexedAt = serializers.DateTimeField(allow_null=True)


class KnowledgeBaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    folder = serializers.CharField()
    sources = SourceSerializer(many=True)


class KnowledgeBaseListSerializer(serializers.Serializer):
    knowledgeBases = KnowledgeBaseSerializer(many=True)
    maxSources = serializers.IntegerField()
    maxDocumentBytes = serializers.IntegerField()
    sourceKinds = serializers.ListField(child=serializers.CharField(),
                                        help_text="the kinds of source this server indexes (the editor offers these)")


class SourceInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["url", "sitemap", "text", "table"])
    url = serializers.CharField(required=False, help_text="url and sitemap: an http or https URL, at most 350 characters")
    name = serializers.CharField(required=False, help_text="text: the source's name")
    text = serializers.CharField(required=False, help_text="text: the content")
    table = serializers.CharField(required=False, help_text="table: one of the bot's tables")
    columns = serializers.ListField(child=serializers.CharField(), required=False,
                                    help_text="table: string columns to read; none: the table's searchable ones")


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PDF, DOCX, HTML, Markdown or TXT; at most 50 MB")


class SearchInSerializer(serializers.Serializer):
    query = serializers.CharField()
    knowledgeBases = serializers.ListField(child=serializers.CharField(), required=False,
                                           help_text="KB names; empty: all of the bot's")
    folder = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False, default=5, min_value=1, max_value=20)


class HitSerializer(serializers.Serializer):
    chunkId = serializers.IntegerField()
    score = serializers.FloatField(help_text="reciprocal rank fusion of the two rankings")
    ftsRank = serializers.IntegerField(allow_null=True, help_text="rank in the full-text list; null: not in it")
    vectorRank = serializers.IntegerField(allow_null=True)
    similarity = serializers.FloatField(allow_null=True, help_text="cosine similarity of the MiniLM vectors")
    text = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    row = serializers.IntegerField(allow_null=True, help_text="table sources: the row's id")
    location = serializers.CharField()
    sourceId = serializers.IntegerField()
    sourceName = serializers.CharField()
    sourceType = serializers.CharField()
    knowledgeBase = serializers.CharField()


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField()
    ms = serializers.FloatField()
    hits = HitSerializer(many=True)


def source_data(source: KnowledgeSource) -> dict:
    return {"id": source.pk, "kind": source.kind, "name": source.name, "format": source.format, "url": source.url,
            "table": source.table, "columns": source.columns or [], "size": source.size, "status": source.status, "error": source.error, "chunks": source.chunk_count,
            "revision": source.revision,
            "indexedAt": source.indexed_at.isoformat().replace("+00:00", "Z") if source.indexed_at else None}


def kb_data(kb) -> dict:
    return {"id": kb.pk, "name": kb.name, "description": kb.description, "folder": kb.folder,
            "sources": [source_data(s) for s in kb.sources.defer("content", "text").all()]}


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise errors.invalid("the body is a JSON object", [errors.detail("$", "must be a JSON object")])
    return request.data


class _KnowledgeView(ApiView):
    def kb(self, bot, kb_id):
        try:
            return knowledge.get_knowledge_base(bot, kb_id)
        except knowledge.UnknownKnowledgeBase as exc:
            raise errors.not_found(str(exc)) from None

    def source(self, kb, source_id):
        try:
            return kb.sources.get(pk=source_id)
        except KnowledgeSource.DoesNotExist:
            raise errors.not_found(f"knowledge base {kb.name!r} has no source {source_id}") from None

    def handle_exception(self, exc):
        if isinstance(exc, knowledge.KnowledgeError):
            exc = errors.invalid(str(exc), [errors.detail(f"$.{exc.field}", exc.message)])
        return super().handle_exception(exc)


class KnowledgeBases(_KnowledgeView):
    permissions = {"GET": "flows.view_bot", "POST": "flows.change_bot"}

    @operation(operation_id="listKnowledgeBases", tags=TAGS, responses=KnowledgeBaseListSerializer)
    def get(self, request, bot_id):
        bot = self.bot(bot_id)
        return Response({"knowledgeBases": [kb_data(kb) for kb in knowledge.list_knowledge_bases(bot)],
                         "maxSources": knowledge.MAX_SOURCES, "maxDocumentBytes": knowledge.MAX_DOCUMENT_BYTES,
                         "sourceKinds": list(KnowledgeSource.Kind.values)})

    @operation(operation_id="createKnowledgeBase", tags=TAGS, request=KnowledgeBaseInSerializer,
               responses={201: KnowledgeBaseSerializer})
    def post(self, request, bot_id):
        bot = self.bot(bot_id)
        body = _body(request)
        kb = knowledge.create_knowledge_base(bot, name=body.get("name"), description=body.get("description", ""),
                                             folder=body.get("folder", ""))
        return Response(kb_data(kb), status=status.HTTP_201_CREATED)


class KnowledgeBaseDetail(_KnowledgeView):
    permissions = {"GET": "flows.view_bot", "PATCH": "flows.change_bot", "DELETE": "flows.change_bot"}

    @operation(operation_id="getKnowledgeBase", tags=TAGS, responses=KnowledgeBaseSerializer)
    def get(self, request, bot_id, kb_id):
        return Response(kb_data(self.kb(self.bot(bot_id), kb_id)))

    @operation(operation_id="updateKnowledgeBase", tags=TAGS, request=KnowledgeBaseInSerializer(partial=True),
               responses=KnowledgeBaseSerializer)
    def patch(self, request, bot_id, kb_id):
        kb = self.kb(self.bot(bot_id), kb_id)
        body = _body(request)
        changes = {k: body[k] for k in ("name", "description", "folder") if k in body}
        return Response(kb_data(knowledge.update_knowledge_base(kb, **changes)))

    @operation(operation_id="deleteKnowledgeBase", tags=TAGS, responses={204: None})
    def delete(self, request, bot_id, kb_id):
        self.kb(self.bot(bot_id), kb_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class Sources(_KnowledgeView):
    permissions = {"GET": "flows.view_bot", "POST": "flows.change_bot"}
    parser_classes = [LimitedJSONParser, MultiPartParser]

    @operation(operation_id="listKnowledgeSources", tags=TAGS, responses=SourceSerializer(many=True))
    def get(self, request, bot_id, kb_id):
        kb = self.kb(self.bot(bot_id), kb_id)
        return Response([source_data(s) for s in kb.sources.defer("content", "text").all()])

    @operation(operation_id="addKnowledgeSource", tags=TAGS,
               request={"multipart/form-data": UploadSerializer, "application/json": SourceInSerializer},
               description="A document as multipart/form-data (`file`), or a URL, a sitemap, free text or a "
                           "table as JSON. The source is queued for indexing.",
               responses={201: SourceSerializer})
    def post(self, request, bot_id, kb_id):
        kb = self.kb(self.bot(bot_id), kb_id)
        with transaction.atomic():
            if request.content_type.startswith("multipart/"):
                upload = request.FILES.get("file")
                if upload is None:
                    raise knowledge.KnowledgeError("file", "a multipart upload needs a `file` part")
                if upload.size > knowledge.MAX_DOCUMENT_BYTES:
                    raise knowledge.KnowledgeError("file", f"{upload.name!r} is {upload.size} bytes; a document is "
                                                           f"at most {knowledge.MAX_DOCUMENT_BYTES // 2**20} MB")
                source = knowledge.add_document(kb, upload.name, upload.read())
            else:
                body = _body(request)
                kind = body.get("kind")
                if kind in ("url", "sitemap"):
                    source = knowledge.add_web_source(kb, body.get("url"), sitemap=kind == "sitemap",
                                                      check_url=outbound.validate_url)
                elif kind == "text":
                    source = knowledge.add_text(kb, body.get("name"), body.get("text"))
                elif kind == "table":
                    known = {t.name: t for t in tables.list_tables(kb.bot)}
                    source = knowledge.add_table_source(kb, body.get("table"), body.get("columns"),
                                                        known_tables=known)
                else:
                    raise knowledge.KnowledgeError("kind", "one of url, sitemap, text or table (documents are "
                                                           "uploaded as multipart/form-data)")
            jobs.queue_indexing(source)
        source.refresh_from_db()
        return Response(source_data(source), status=status.HTTP_201_CREATED)


class SourceDetail(_KnowledgeView):
    permissions = {"GET": "flows.view_bot", "DELETE": "flows.change_bot"}

    @operation(operation_id="getKnowledgeSource", tags=TAGS, responses=SourceSerializer)
    def get(self, request, bot_id, kb_id, source_id):
        return Response(source_data(self.source(self.kb(self.bot(bot_id), kb_id), source_id)))

    @operation(operation_id="deleteKnowledgeSource", tags=TAGS, responses={204: None},
               description="The source and its passages go at once.")
    def delete(self, request, bot_id, kb_id, source_id):
        self.source(self.kb(self.bot(bot_id), kb_id), source_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class Reindex(_KnowledgeView):
    permissions = {"POST": "flows.change_bot"}

    @operation(operation_id="reindexKnowledgeSource", tags=TAGS, request=None, responses={202: SourceSerializer},
               description="Fetches or parses the source again; its current passages are served until the new "
                           "ones are all ready.")
    def post(self, request, bot_id, kb_id, source_id):
        source = self.source(self.kb(self.bot(bot_id), kb_id), source_id)
        with transaction.atomic():
            source = knowledge.mark_for_reindex(source)
            jobs.queue_indexing(source)
        return Response(source_data(source), status=status.HTTP_202_ACCEPTED)


class Search(_KnowledgeView):
    permissions = {"POST": "flows.view_bot"}

    @operation(operation_id="searchKnowledge", tags=TAGS, request=SearchInSerializer, responses=SearchResultSerializer,
               description="The ranked passages a Query Knowledge Bases card would get, with both rankings.")
    def post(self, request, bot_id):
        bot = self.bot(bot_id)
        body = _body(request)
        query = knowledge.clean_text("query", body.get("query"), 2000)
        folder = knowledge.clean_text("folder", body.get("folder") or "", 200, required=False)
        names = body.get("knowledgeBases") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise knowledge.KnowledgeError("knowledgeBases", "a list of knowledge base names")
        limit = body.get("limit", 5)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 20:
            raise knowledge.KnowledgeError("limit", "a whole number from 1 to 20")
        known = set(bot.knowledge_bases.values_list("name", flat=True))
        for i, name in enumerate(names):
            if name not in known:
                raise knowledge.KnowledgeError(f"knowledgeBases[{i}]", f"the bot has no knowledge base named {name!r}")
        kb_ids = knowledge.resolve(bot.pk, names, folder)
        result = kb_search.search(query, kb_ids, limit=limit)
        return Response({"query": result.query, "ms": round(result.ms, 2), "hits": [h.to_dict() for h in result.hits]})
