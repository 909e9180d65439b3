"""Knowledge search benchmark: quality of full text alone, vectors alone and the hybrid
(reciprocal rank fusion) on a labelled set over the Botpress docs, then search latency as
a knowledge base grows.

    DATABASE_URL=postgres://… .venv/bin/python bench/knowledge.py [--sizes 1000,10000] [--keep]

It makes a throw-away workspace bot in the database DATABASE_URL names (migrated), indexes
every file of ../shared/reference/botpress-docs as a text source (the real indexing: chunking
and MiniLM embedding, which it times as chunks/s on one core), asks each labelled question
(bench/data/knowledge_questions.json) and reports recall@1, recall@5 and MRR for each
ranking. For latency it fills a second KB with copies of the corpus's passages (their real
vectors with a little noise, so no two are equal) up to each size and times 50 searches
(p50, p95). The bot is deleted at the end unless --keep.
"""
import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from flows import knowledge, services  # noqa: E402
from flows.models import Bot, KnowledgeChunk  # noqa: E402
from runtime.knowledge import indexing, search, vectors  # noqa: E402

DOCS = ROOT.parent / "shared" / "reference" / "botpress-docs"
QUESTIONS = ROOT / "bench" / "data" / "knowledge_questions.json"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).lower()


def scores(ranked: list[int], relevant: set[int]) -> tuple[float, float, float]:
    for rank, chunk_id in enumerate(ranked[:10], 1):
        if chunk_id in relevant:
            return float(rank == 1), float(rank <= 5), 1.0 / rank
    return 0.0, 0.0, 0.0


def hybrid(query: str, kb_ids: list[int]) -> list[int]:
    return [h.chunk_id for h in search.search(query, kb_ids, limit=10).hits]


def embedding_peer(texts: list[str]) -> None:
    """The job's embedding (length-sorted batches of a token budget, vectors.py) against its
    peer, fixed batches of 32 in file order (what it did before), on the same passages in
    the same run, in CPU seconds: the ratio holds on a loaded machine, the rates do not."""
    from runtime.engine.nlu.encoder import encode

    def fixed(batch=32):
        for i in range(0, len(texts), batch):
            encode(texts[i:i + batch])

    rates = {}
    for name, run in (("fixed batches of 32", fixed), ("the job's batches", lambda: vectors.embed(texts))) * 2:
        cpu = time.process_time()
        run()
        rates.setdefault(name, []).append(len(texts) / (time.process_time() - cpu))
    best = {name: max(values) for name, values in rates.items()}
    ratio = best["the job's batches"] / best["fixed batches of 32"]
    print(f"embedding {len(texts)} passages: " + ", ".join(f"{name} {rate:.1f}/CPU-s" for name, rate in best.items())
          + f"; ratio {ratio:.1f}x")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    bot = services.import_bot({"format": "flowstudio.bot/1", "name": "knowledge bench", "flows": [
        {"name": "main", "nodes": [{"id": "start", "kind": "start", "next": "end"}, {"id": "end", "kind": "end"}]}]},
        workspace=services.default_workspace())
    try:
        files = sorted(DOCS.glob("*.md"))
        # A KB holds at most 100 sources: the corpus goes into as many KBs as it needs.
        kbs = [knowledge.create_knowledge_base(bot, name=f"Botpress docs {i + 1}")
               for i in range((len(files) + knowledge.MAX_SOURCES - 1) // knowledge.MAX_SOURCES)]
        kb_ids = [kb.pk for kb in kbs]
        sources = [knowledge.add_text(kbs[i // knowledge.MAX_SOURCES], f.name, f.read_text())
                   for i, f in enumerate(files)]
        started, cpu = time.perf_counter(), time.process_time()
        for source in sources:
            assert indexing.index_source(source.pk) == "ready", source.name
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        chunks = KnowledgeChunk.objects.filter(knowledge_base__in=kb_ids).count()
        print(f"indexed {len(files)} files, {chunks} chunks in {seconds:.1f} s: {chunks / seconds:.1f} chunks/s, "
              f"{chunks / cpu:.1f} chunks per CPU-second of this process (parse, chunk, embed, write; one thread)")
        embedding_peer(list(KnowledgeChunk.objects.filter(knowledge_base__in=kb_ids)
                            .order_by("id").values_list("text", flat=True)[:96]))

        labelled = json.loads(QUESTIONS.read_text())["questions"]
        rows = {name: [] for name in ("fts", "vectors", "hybrid")}
        for case in labelled:
            relevant = {pk for pk, text in KnowledgeChunk.objects.filter(
                knowledge_base__in=kb_ids, source__name=case["file"]).values_list("pk", "text")
                if _norm(case["phrase"]) in _norm(text)}
            assert relevant, f"no passage of {case['file']} holds {case['phrase']!r}"
            rows["fts"].append(scores(search.fts_ranking(case["q"], kb_ids), relevant))
            rows["vectors"].append(scores([pk for pk, _ in search.vector_ranking(case["q"], kb_ids)], relevant))
            rows["hybrid"].append(scores(hybrid(case["q"], kb_ids), relevant))
        print(f"\n{len(labelled)} labelled questions   recall@1  recall@5  MRR")
        for name, values in rows.items():
            r1, r5, mrr = (statistics.mean(v[i] for v in values) for i in range(3))
            print(f"  {name:<28} {r1:8.2f}  {r5:8.2f}  {mrr:5.2f}")

        base = list(KnowledgeChunk.objects.filter(knowledge_base__in=kb_ids).values_list("text", "embedding"))
        big = knowledge.create_knowledge_base(bot, name="Scale")
        holder = knowledge.add_text(big, "copies", "x")
        rng = np.random.default_rng(7)
        have = 0
        print("\nchunks in the KB   hybrid p50   p95      full text p50   vectors p50   (50 queries, warm cache)")
        for size in (int(s) for s in args.sizes.split(",")):
            batch = []
            for i in range(have, size):
                text, blob = base[i % len(base)]
                vector = vectors.from_bytes([blob])[0] + rng.normal(0, 0.02, 384).astype(np.float32)
                vector /= np.linalg.norm(vector)
                batch.append(KnowledgeChunk(knowledge_base=big, source=holder, position=i, text=text,
                                            embedding=vectors.to_bytes(vector)))
            KnowledgeChunk.objects.bulk_create(batch, batch_size=2000)
            have = size
            questions = [c["q"] for c in labelled]
            hybrid(questions[0], [big.pk])  # loads the KB's vectors into this process's cache
            timings, fts_ms, vector_ms = [], [], []
            for n in range(50):
                question = questions[n % len(questions)]
                t0 = time.perf_counter()
                hybrid(question, [big.pk])
                t1 = time.perf_counter()
                search.fts_ranking(question, [big.pk])
                t2 = time.perf_counter()
                search.vector_ranking(question, [big.pk])
                t3 = time.perf_counter()
                timings.append((t1 - t0) * 1000)
                fts_ms.append((t2 - t1) * 1000)
                vector_ms.append((t3 - t2) * 1000)
            timings.sort()
            print(f"  {size:>14}   {timings[24]:8.1f} ms {timings[47]:6.1f} ms   {statistics.median(fts_ms):8.1f} ms"
                  f"   {statistics.median(vector_ms):8.1f} ms")
    finally:
        if not args.keep:
            Bot.objects.filter(pk=bot.pk).delete()


if __name__ == "__main__":
    main()
