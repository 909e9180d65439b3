"""Hybrid search over a bot's knowledge bases: PostgreSQL full-text search (the stored tsvector
column and GIN index of migration flows 0006) and MiniLM vectors, fused by reciprocal rank fusion (RRF, k=60: a
passage's score is the sum of 1/(60 + its rank) in each list). Filtered to the KBs asked for.

Vectors: only the searched KBs' are read, and kept per process in a small cache keyed by
the KB's `chunks_version`, which every index swap and every source deletion bumps in the
same transaction.
SQLite (the embedded default) has no tsvector: there the word half is its FTS5 table
(migration flows 0007: Porter-stemmed words, bm25 ranking)."""
from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from django.db import connection

from flows.models import KnowledgeBase, KnowledgeChunk
from runtime.knowledge import vectors

RRF_K = 60
CANDIDATES = 50
CACHE_KBS = 64
# Under this cosine similarity a passage is not taken from the vector list alone.
MIN_SIMILARITY = 0.25


@dataclass
class Hit:
    chunk_id: int
    score: float
    fts_rank: int | None = None
    vector_rank: int | None = None
    similarity: float | None = None
    text: str = ""
    page: int | None = None
    row: int | None = None
    location: str = ""
    source_id: int = 0
    source_name: str = ""
    source_kind: str = ""
    knowledge_base: str = ""

    def to_dict(self) -> dict:
        return {"chunkId": self.chunk_id, "score": round(self.score, 6), "ftsRank": self.fts_rank,
                "vectorRank": self.vector_rank,
                "similarity": None if self.similarity is None else round(self.similarity, 4),
                "text": self.text, "page": self.page, "row": self.row, "location": self.location, "sourceId": self.source_id,
                "sourceName": self.source_name, "sourceType": self.source_kind,
                "knowledgeBase": self.knowledge_base}


@dataclass
class Result:
    query: str
    hits: list[Hit] = field(default_factory=list)
    ms: float = 0.0


_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


def _stamps(kb_ids: list[int]) -> dict[int, tuple]:
    """Each KB's `chunks_version` (with its creation time: a rolled-back id can come again on
    SQLite), in one query by primary key: what the cache is keyed by."""
    rows = KnowledgeBase.objects.filter(pk__in=kb_ids).values_list("id", "chunks_version", "created_at")
    return {kb_id: (version, created) for kb_id, version, created in rows}


def _kb_vectors(kb_id: int, key: tuple) -> tuple[np.ndarray, np.ndarray]:
    with _cache_lock:
        cached = _cache.get(kb_id)
        if cached is not None and cached[0] == key:
            _cache.move_to_end(kb_id)
            return cached[1], cached[2]
    rows = list(KnowledgeChunk.objects.filter(knowledge_base_id=kb_id).values_list("id", "embedding"))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    matrix = vectors.from_bytes([r[1] for r in rows])
    with _cache_lock:
        _cache[kb_id] = (key, ids, matrix)
        _cache.move_to_end(kb_id)
        while len(_cache) > CACHE_KBS:
            _cache.popitem(last=False)
    return ids, matrix


def vector_ranking(query: str, kb_ids: list[int], limit: int = CANDIDATES) -> list[tuple[int, float]]:
    q = vectors.embed([query])[0]
    found = []
    for kb_id, key in _stamps(kb_ids).items():
        ids, matrix = _kb_vectors(kb_id, key)
        scores = matrix @ q
        # The best `limit` in any order (linear), then only those sorted.
        top = np.argpartition(-scores, limit - 1)[:limit] if len(scores) > limit else np.arange(len(scores))
        found.extend((int(ids[i]), float(scores[i])) for i in top)
    found.sort(key=lambda pair: -pair[1])
    return found[:limit]


_WORD = re.compile(r"\w+", re.UNICODE)


def fts_ranking(query: str, kb_ids: list[int], limit: int = CANDIDATES) -> list[int]:
    if not kb_ids or not _WORD.search(query):
        return []
    if connection.vendor == "postgresql":
        # plainto_tsquery ANDs the words (stemmed, stop words gone); a question rarely has all
        # its words in one passage, so they are ORed (cast back, not parsed again: the lexemes
        # are stemmed already) and ts_rank_cd orders by how many match. A question of stop
        # words only is an empty tsquery, which matches nothing.
        sql = """
            SELECT c.id FROM flows_knowledgechunk c,
                 (SELECT replace(plainto_tsquery('english', %s)::text, ' & ', ' | ')::tsquery AS q) AS query
            WHERE c.knowledge_base_id = ANY(%s) AND c.search_vector @@ query.q
            ORDER BY ts_rank_cd(c.search_vector, query.q) DESC, c.id
            LIMIT %s"""
        with connection.cursor() as cursor:
            cursor.execute(sql, [query, list(kb_ids), limit])
            return [row[0] for row in cursor.fetchall()]
    return _fts5_ranking(query, kb_ids, limit)


# FTS5 has no stop-word list; these (PostgreSQL's 'english' ones that questions are made of)
# would match nearly every passage and only slow the ranking down.
_STOP_WORDS = frozenset(
    "a an and are as at be but by can could do does for from had has have how i if in into is it its me my "
    "no not of on or our should so than that the their them then there these they this to was we were what "
    "when where which who whom why will with would you your".split())


def _fts5_ranking(query: str, kb_ids: list[int], limit: int) -> list[int]:
    # Each word is a quoted string (FTS5's syntax for "this text, nothing special"), ORed as
    # PostgreSQL's half does; bm25 (smaller is better) weighs rare words more.
    words = [w for w in dict.fromkeys(w.lower() for w in _WORD.findall(query)) if w not in _STOP_WORDS]
    if not words:
        return []
    match = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
    marks = ", ".join("%s" for _ in kb_ids)
    sql = f"""
        SELECT c.id FROM flows_knowledgechunk_fts f JOIN flows_knowledgechunk c ON c.id = f.rowid
        WHERE flows_knowledgechunk_fts MATCH %s AND c.knowledge_base_id IN ({marks})
        ORDER BY bm25(flows_knowledgechunk_fts), c.id
        LIMIT %s"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [match, *kb_ids, limit])
        return [row[0] for row in cursor.fetchall()]


def search(query: str, kb_ids: list[int], limit: int = 5) -> Result:
    started = time.perf_counter()
    query = (query or "").strip()
    result = Result(query=query)
    if not query or not kb_ids:
        return result
    fts = fts_ranking(query, kb_ids)
    dense = vector_ranking(query, kb_ids)
    hits: dict[int, Hit] = {}
    for rank, chunk_id in enumerate(fts, 1):
        hit = hits.setdefault(chunk_id, Hit(chunk_id, 0.0))
        hit.fts_rank, hit.score = rank, hit.score + 1 / (RRF_K + rank)
    for rank, (chunk_id, similarity) in enumerate(dense, 1):
        if chunk_id not in hits and similarity < MIN_SIMILARITY:
            continue
        hit = hits.setdefault(chunk_id, Hit(chunk_id, 0.0))
        hit.vector_rank, hit.similarity, hit.score = rank, similarity, hit.score + 1 / (RRF_K + rank)
    best = sorted(hits.values(), key=lambda h: (-h.score, h.chunk_id))[:limit]
    rows = KnowledgeChunk.objects.filter(pk__in=[h.chunk_id for h in best]).values(
        "id", "text", "page", "row", "location", "source_id", "source__name", "source__kind", "knowledge_base__name")
    by_id = {row["id"]: row for row in rows}
    for hit in best:
        row = by_id.get(hit.chunk_id)
        if row is None:  # swapped out by a re-index between the two queries
            continue
        hit.text, hit.page, hit.row, hit.location = row["text"], row["page"], row["row"], row["location"]
        hit.source_id, hit.source_name, hit.source_kind = row["source_id"], row["source__name"], row["source__kind"]
        hit.knowledge_base = row["knowledge_base__name"]
        result.hits.append(hit)
    result.ms = (time.perf_counter() - started) * 1000
    return result
