"""What a turn's trace tells the emulator and its debugger about a knowledge search
(docs/emulator.md "Knowledge"): the query and where it looked, every passage with its source,
both rankings, the fused score and its tokens, and the answer's citations whole, so the status
line can show them on hover. Over real PostgreSQL, with the shipped handbook."""
import pytest

from runtime.knowledge.tests.test_knowledge import capture_bot, handbook_kb, kb_bot, say, start
from runtime.tests.bots import create_bot

pytestmark = pytest.mark.django_db


def entry(outcome, kind):
    return next(t for t in outcome.trace if t["type"] == kind)


def test_the_trace_holds_the_query_the_ranked_passages_and_the_citations_whole():
    bot = create_bot(kb_bot({"maxPassages": 3}))
    handbook_kb(bot)
    _, outcome = say(start(bot), "How long do I have to return a kettle for a refund?")
    query = entry(outcome, "knowledge_query")
    assert (query["card"], query["query"], query["limit"], query["folder"]) == (
        "ask", "How long do I have to return a kettle for a refund?", 3, "")
    assert query["minSimilarity"] is None and query["ms"] >= 0
    best = query["passages"][0]
    assert (best["knowledgeBase"], best["sourceName"], best["sourceType"], best["page"]) == (
        "Handbook", "handbook.pdf", "document", 2)
    assert isinstance(best["chunkId"], int) and best["tokens"] > 10 and best["score"] > 0
    assert best["ftsRank"] == 1 and best["similarity"] > 0.3
    assert best["preview"].startswith("Returns and refunds You may return any kettle within 45 days")
    scores = [p["score"] for p in query["passages"]]
    assert scores == sorted(scores, reverse=True) and len(scores) <= 3

    answer = entry(outcome, "knowledge_answer")
    assert answer["responded"] is True and answer["citations"] == ["[1] handbook.pdf, page 2"]
    (cited,) = answer["sources"]
    assert (cited["number"], cited["sourceName"], cited["sourceType"], cited["knowledgeBase"], cited["page"]) == (
        1, "handbook.pdf", "document", "Handbook", 2)
    assert cited["preview"] == best["preview"]


def test_nothing_matched_leaves_an_answer_entry_with_no_sources():
    bot = create_bot(kb_bot())
    handbook_kb(bot)
    _, outcome = say(start(bot), "zzzz qqqq")
    assert entry(outcome, "knowledge_query")["passages"] == []
    answer = entry(outcome, "knowledge_answer")
    assert (answer["responded"], answer["citations"], answer["sources"]) == (False, [], [])


def test_the_capture_cards_search_says_how_close_a_passage_had_to_be():
    conversation = start(create_bot(capture_bot()))
    handbook_kb(conversation.bot)
    say(conversation, "hello")  # the card asks for the order number
    _, outcome = say(conversation, "What is the capital of Peru?")
    query = entry(outcome, "knowledge_query")
    assert query["minSimilarity"] == 0.45
    # Passages may come back, the best under the bar: the answer entry says nothing was found.
    assert all((p["similarity"] or 0) < 0.45 for p in query["passages"][:1])
    assert entry(outcome, "knowledge_answer")["responded"] is False
