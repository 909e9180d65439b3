"""Query Knowledge Bases card (Knowledge Agent): searches the bot's knowledge bases with a
query and writes what it found to `turn.KnowledgeAgent`; it sends nothing to the user
(Botpress: it "will not send the answer directly to the user") and does not wait.

- `turn.KnowledgeAgent.answer`: with a model, its answer grounded in the passages found,
  with numbered citations [1], [2]; without one (no provider, or the model failed), the best
  passage verbatim. "" when nothing matched.
- `.responded`: whether there is an answer.
- `.citations`: the passages behind it: number, source name and type, page (a PDF's) or row
  (a table's), location and a preview of the passage.
The answer can also go to a workflow variable. docs/knowledge.md."""
from __future__ import annotations

import re
from time import perf_counter

from pydantic import Field

from ..errors import BotRuntimeError
from ..knowledge import KnowledgeFailure
from ..llm import LLMError, LLMRequest
from ..templates import compile_template
from .base import CONTINUE, Card, CardFamily, register
from .ai_prompt import AIConfig
from .capture import VARIABLE_REF
from .fields import RequiredTemplate

PREVIEW_CHARS = 200
# The fields of each passage the trace keeps (the text itself only as a preview).
TRACED = ("chunkId", "knowledgeBase", "sourceName", "sourceType", "page", "row", "location", "score", "ftsRank",
          "vectorRank", "similarity", "tokens")
# The capture card answers a question only when the best passage is at least this close
# (MiniLM cosine): a near miss must not hide the question the card asked.
CONFIDENT_SIMILARITY = 0.45
# The model's answer when the passages do not hold one; matched to set responded=false.
UNKNOWN = "I don't know"
INSTRUCTIONS = (
    "Answer the user's question using only the numbered passages below. Cite the passages you "
    "used with their numbers in square brackets, like [1]. If the passages do not answer the "
    f"question, reply exactly: {UNKNOWN}."
)


def citation(number: int, passage: dict) -> dict:
    text = passage.get("text") or ""
    return {"number": number, "sourceName": passage.get("sourceName", ""), "sourceType": passage.get("sourceType", ""),
            "knowledgeBase": passage.get("knowledgeBase", ""), "page": passage.get("page"),
            "row": passage.get("row"), "location": passage.get("location", ""),
            "preview": text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1].rstrip() + "…"}


def _reference(c: dict) -> str:
    where = f", page {c['page']}" if c.get("page") else f", row {c['row']}" if c.get("row") else ""
    return f"[{c['number']}] {c['sourceName']}{where}"


def ask_knowledge(rt, card_id: str, query: str, *, knowledge_bases=(), folder: str = "", limit: int = 5,
                  generate: bool = True, model: str = "", temperature=None, max_tokens=None,
                  min_similarity: float | None = None) -> dict:
    """Search and answer, as the Query Knowledge Bases card does; also the capture card's
    knowledge option. Writes and returns `turn.KnowledgeAgent`. `min_similarity`: answer
    only when the best passage is at least this close to the query (the capture card answers
    only with confidence)."""
    host = rt.knowledge_host
    if host is None:
        raise BotRuntimeError(f"card {card_id!r}: knowledge bases are not available where this bot runs")
    query = query.strip()
    started = perf_counter()
    try:
        passages = host.search(query, knowledge_bases=list(knowledge_bases), folder=folder, limit=limit) if query else []
    except KnowledgeFailure as exc:
        raise BotRuntimeError(f"card {card_id!r}: {exc}") from None
    # What the debugger shows of the search (docs/emulator.md "Knowledge"): every passage with
    # where it comes from, both rankings, the fused score and its size in tokens.
    rt.add_trace("knowledge_query", query=query, knowledgeBases=list(knowledge_bases), folder=folder, limit=limit,
                 minSimilarity=min_similarity, ms=round((perf_counter() - started) * 1000, 3),
                 passages=[{k: p.get(k) for k in TRACED} | {"preview": citation(0, p)["preview"]} for p in passages])
    if passages and min_similarity is not None and (passages[0].get("similarity") or 0) < min_similarity:
        passages = []
    citations = [citation(i, p) for i, p in enumerate(passages, 1)]
    answer, used, generated = "", [], False
    if passages:
        answer, used, generated = _answer(rt, card_id, query, passages, citations, generate=generate, model=model,
                                          temperature=temperature, max_tokens=max_tokens)
    result = {"answer": answer, "responded": bool(answer), "citations": used, "query": query}
    rt.turn["KnowledgeAgent"] = result
    # `citations` as the answer's References lines; `sources` whole, for the emulator's status
    # line to show on hover.
    rt.add_trace("knowledge_answer", responded=bool(answer), generated=generated,
                 citations=[_reference(x) for x in used], sources=used)
    return result


def _answer(rt, card_id, query: str, passages: list[dict], citations: list[dict], *, generate, model, temperature,
            max_tokens):
    if generate:
        numbered = "\n\n".join(f"[{i}] ({_reference(x)[len(f'[{i}] '):]})\n{p['text']}"
                                for i, (p, x) in enumerate(zip(passages, citations), 1))
        request = LLMRequest(messages=({"role": "system", "content": INSTRUCTIONS},
                                       {"role": "user", "content": f"Passages:\n\n{numbered}\n\nQuestion: {query}"}),
                             model=model, temperature=temperature, max_tokens=max_tokens,
                             card=card_id, purpose="knowledge_answer")
        try:
            text = rt.call_llm(request).text.strip()
        except LLMError as exc:
            # No provider, or it failed: the offline answer below still answers.
            rt.add_trace("knowledge_llm_unavailable", message=str(exc))
        else:
            if not text or text.rstrip(".").lower().startswith(UNKNOWN.lower()):
                return "", [], True
            cited = sorted({int(n) for n in re.findall(r"\[(\d+)\]", text) if 1 <= int(n) <= len(citations)})
            used = [citations[n - 1] for n in cited] or citations[:1]
            references = "\n".join(_reference(x) for x in used)
            return f"{text}\n\nReferences:\n{references}", used, True
    return passages[0]["text"], [citations[0]], False


class _QueryKnowledge(Card):
    __slots__ = ("query", "config")

    def __init__(self, query, config):
        self.query, self.config = query, config

    def run(self, rt):
        c = self.config
        result = ask_knowledge(rt, self.id, rt.render(self.query), knowledge_bases=c.knowledge_bases, folder=c.folder,
                               limit=c.max_passages, generate=c.generate, model=c.model, temperature=c.temperature,
                               max_tokens=c.max_tokens)
        if c.variable:
            rt.set_variable(c.variable, result["answer"])
        return CONTINUE


@register
class QueryKnowledgeCard(CardFamily):
    types = ("query_knowledge",)
    label = "Query Knowledge Bases"
    category = "AI"

    class Config(AIConfig):
        query: RequiredTemplate = Field(default="{{event.preview}}", max_length=2000, title="Query",
                           description="What to search for, e.g. {{event.preview}} or {{workflow.question}}.")
        knowledge_bases: list[str] = Field(default_factory=list, max_length=50, title="Included knowledge bases",
                                           description="KB names to search; empty: all of the bot's.",
                                           json_schema_extra={"x-options": "knowledgeBases"})
        folder: str = Field(default="", max_length=200, title="Folder",
                            description="Only the KBs in this folder (and the folders under it); empty: any.")
        max_passages: int = Field(default=5, ge=1, le=20, title="Passages",
                                  description="How many passages to retrieve and cite at most.")
        generate: bool = Field(default=True, title="Write the answer with the model",
                               description="With a provider, a grounded answer with citations; otherwise "
                                           "(or off) the best passage verbatim.")
        variable: str | None = Field(default=None, pattern=VARIABLE_REF, title="Store the answer in",
                                     description="A variable that also receives the answer.")

    def compile(self, card_type, config, ctx):
        return _QueryKnowledge(compile_template(config.query), config)
