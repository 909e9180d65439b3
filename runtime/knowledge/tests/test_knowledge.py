"""Knowledge bases end to end over real PostgreSQL: the shipped PDF and DOCX are parsed,
chunked, embedded with the local MiniLM model and indexed; hybrid search finds the passage
that answers; a conversation's Query Knowledge Bases card cites the right page (no LLM:
the best passage verbatim); web sources come from a local HTTP server through the outbound
guard, and a private address is refused with the reason on the source."""
from pathlib import Path

import pytest

from flows import knowledge
from flows.models import KnowledgeChunk, KnowledgeSource
from runtime import outbound, turns
from runtime.knowledge import indexing, parsing, search
from runtime.tests.bots import create_bot
from runtime.tests.receiver import receiver

pytestmark = pytest.mark.django_db

FILES = Path(__file__).parent / "files"


def kb_bot(card_extra=None):
    card = {"id": "ask", "type": "query_knowledge", "query": "{{event.preview}}", **(card_extra or {})}
    return {
        "format": "flowstudio.bot/1", "name": "Kettle help",
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "talk"},
            {"id": "talk", "kind": "standard", "next": "talk", "cards": [
                card,
                {"id": "said", "type": "text", "text": (
                    "{{turn.KnowledgeAgent.responded ? turn.KnowledgeAgent.answer : 'No answer'}}"
                    " | {{turn.KnowledgeAgent.citations.map(c => c.sourceName + ' p' + c.page).join(', ')}}")},
                {"id": "listen", "type": "wait"},
            ]},
        ]}],
    }


def handbook_kb(bot, name="Handbook"):
    kb = knowledge.create_knowledge_base(bot, name=name, description="Kettle handbook and warranty",
                                         folder="Support")
    pdf = knowledge.add_document(kb, "handbook.pdf", (FILES / "handbook.pdf").read_bytes())
    docx = knowledge.add_document(kb, "warranty.docx", (FILES / "warranty.docx").read_bytes())
    for source in (pdf, docx):
        assert indexing.index_source(source.pk) == "ready"
    return kb, pdf, docx


def say(conversation, text):
    outcome = turns.send_user_message(conversation, text)
    assert not outcome.failed, outcome.error
    return [o.get("text") for o in outcome.outputs], outcome


def start(bot):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, None))
    return conversation


def test_the_pdf_is_parsed_page_by_page_and_the_docx_whole():
    pages = parsing.parse_document("pdf", (FILES / "handbook.pdf").read_bytes())
    assert [s.page for s in pages] == [1, 2, 3]
    assert "45 days" in pages[1].text
    (docx,) = parsing.parse_document("docx", (FILES / "warranty.docx").read_bytes())
    assert "3 years" in docx.text


def test_a_broken_pdf_fails_with_the_reason_and_keeps_no_chunks():
    bot = create_bot(kb_bot())
    kb = knowledge.create_knowledge_base(bot, name="Broken")
    source = knowledge.add_document(kb, "scan.pdf", b"%PDF-1.4 this is not really a pdf")
    assert indexing.index_source(source.pk) == "failed"
    source.refresh_from_db()
    assert source.status == "failed" and "PDF" in source.error
    assert not KnowledgeChunk.objects.filter(source=source).exists()


def test_indexing_stores_chunks_with_pages_and_compact_vectors():
    bot = create_bot(kb_bot())
    kb, pdf, docx = handbook_kb(bot)
    pdf.refresh_from_db()
    assert pdf.status == "ready" and pdf.chunk_count == 3 and pdf.indexed_at is not None
    chunks = list(KnowledgeChunk.objects.filter(source=pdf).order_by("position"))
    assert [c.page for c in chunks] == [1, 2, 3]
    assert all(len(bytes(c.embedding)) == 384 * 2 for c in chunks)


def test_hybrid_search_finds_the_answering_page_and_stays_in_its_kb():
    bot = create_bot(kb_bot())
    kb, pdf, docx = handbook_kb(bot)
    other = knowledge.create_knowledge_base(bot, name="Other")
    text = knowledge.add_text(other, "Bikes", "Our bikes can be returned within 10 days for a refund.")
    indexing.index_source(text.pk)
    hits = search.search("How many days do I have to return my kettle for a refund?", [kb.pk]).hits
    assert hits[0].source_name == "handbook.pdf" and hits[0].page == 2
    assert hits[0].fts_rank is not None and hits[0].vector_rank is not None
    assert {h.knowledge_base for h in hits} == {"Handbook"}
    # Meaning without shared words: the vectors find it.
    hits = search.search("guarantee period", [kb.pk]).hits
    assert hits[0].source_name == "warranty.docx"
    # Another bot's search never sees these chunks.
    assert search.search("refund", []).hits == []


def test_a_reindex_swaps_the_chunks_at_once():
    bot = create_bot(kb_bot())
    kb = knowledge.create_knowledge_base(bot, name="Notes")
    source = knowledge.add_text(kb, "Opening hours", "The shop opens at 9 in the morning.")
    indexing.index_source(source.pk)
    before = set(KnowledgeChunk.objects.filter(source=source).values_list("pk", flat=True))
    source.text = "The shop opens at 10 in the morning on weekdays."
    source.save()
    source = knowledge.mark_for_reindex(source)
    # Until the new chunks are ready, the old ones are still served.
    assert set(KnowledgeChunk.objects.filter(source=source).values_list("pk", flat=True)) == before
    # A job started for the old revision gives way and changes nothing.
    assert indexing.index_source(source.pk, source.revision - 1) == "superseded"
    assert indexing.index_source(source.pk, source.revision) == "ready"
    (chunk,) = KnowledgeChunk.objects.filter(source=source)
    assert chunk.pk not in before and "10 in the morning" in chunk.text
    assert "10 in the morning" in search.search("when does the shop open", [kb.pk]).hits[0].text


def test_a_conversation_gets_the_best_passage_with_its_page_without_a_model():
    bot = create_bot(kb_bot())
    handbook_kb(bot)
    conversation = start(bot)
    texts, outcome = say(conversation, "How long do I have to return a kettle for a refund?")
    assert texts[0].startswith("Returns and refunds You may return any kettle within 45 days")
    assert texts[0].endswith("| handbook.pdf p2")
    query = next(t for t in outcome.trace if t["type"] == "knowledge_query")
    assert query["query"] == "How long do I have to return a kettle for a refund?"
    assert query["passages"][0]["sourceName"] == "handbook.pdf" and query["passages"][0]["page"] == 2
    texts, _ = say(conversation, "how long is the warranty?")
    assert "3 years" in texts[0] and "warranty.docx" in texts[0]


def test_nothing_matched_is_no_answer():
    bot = create_bot(kb_bot())
    handbook_kb(bot)
    texts, _ = say(start(bot), "zzzz qqqq")
    assert texts == ["No answer | "]


def test_an_unknown_kb_name_is_a_clear_error():
    bot = create_bot(kb_bot({"knowledgeBases": ["Nope"]}))
    texts, outcome = say(start(bot), "refund?")
    assert texts == ["Sorry, something went wrong."]
    (error,) = [t for t in outcome.trace if t["type"] == "error"]
    assert error["card"] == "ask" and "the bot has no knowledge base named 'Nope'" in error["message"]


def test_a_folder_narrows_the_search():
    bot = create_bot(kb_bot({"folder": "Sales"}))
    handbook_kb(bot)  # in Support
    texts, _ = say(start(bot), "refund")
    assert texts == ["No answer | "]


HTML = b"""<html><head><title>Delivery</title></head><body><nav>Home | Shop | Cart</nav>
<main><h1>Delivery times</h1><p>Orders placed before noon are delivered the next working day
anywhere in the country. Orders placed after noon leave our warehouse the day after.</p>
<p>Delivery is free for orders over 30 euros.</p></main></body></html>"""


def test_a_web_page_and_a_sitemap_are_fetched_through_the_guard_from_an_allowed_local_server(settings):
    # The setting that lets the server fetch from a host of its own network (docs/security.md).
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    bot = create_bot(kb_bot())
    kb = knowledge.create_knowledge_base(bot, name="Site")
    with receiver((200, {"Content-Type": "text/html; charset=utf-8"}, HTML)) as server:
        page = knowledge.add_web_source(kb, f"{server.url}/delivery", check_url=outbound.validate_url)
        assert indexing.index_source(page.pk) == "ready", KnowledgeSource.objects.get(pk=page.pk).error
    hits = search.search("when will my order arrive", [kb.pk]).hits
    assert "next working day" in hits[0].text and hits[0].location.endswith("/delivery")
    assert hits[0].source_kind == "url"
    sitemap = (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               b"<url><loc>http://127.0.0.1:{port}/delivery</loc></url></urlset>")
    with receiver((200, {}, b"")) as server:
        server.answers[:] = [(200, {"Content-Type": "application/xml"}, sitemap.replace(b"{port}", str(server.port).encode())),
                             (200, {"Content-Type": "text/html"}, HTML)]
        source = knowledge.add_web_source(kb, f"{server.url}/sitemap.xml", sitemap=True)
        assert indexing.index_source(source.pk) == "ready", KnowledgeSource.objects.get(pk=source.pk).error
    assert [r[1] for r in server.requests] == ["/sitemap.xml", "/delivery"]
    assert KnowledgeChunk.objects.get(source=source).location == f"{server.url}/delivery"


def test_a_private_address_is_refused_when_saved_and_when_fetched():
    bot = create_bot(kb_bot())
    kb = knowledge.create_knowledge_base(bot, name="Site")
    with pytest.raises(knowledge.KnowledgeError) as refused:
        knowledge.add_web_source(kb, "http://169.254.169.254/latest/meta-data/", check_url=outbound.validate_url)
    assert refused.value.field == "url" and "link-local" in refused.value.message
    # Saved without the save-time check (or a name that resolved elsewhere then): the fetch refuses.
    with receiver((200, {"Content-Type": "text/html"}, HTML)) as server:
        source = knowledge.add_web_source(kb, f"{server.url}/delivery")
        assert indexing.index_source(source.pk) == "failed"
    source.refresh_from_db()
    assert "loopback" in source.error and server.requests == []


def test_the_limits_of_a_kb_name_the_field():
    bot = create_bot(kb_bot())
    kb = knowledge.create_knowledge_base(bot, name="Docs")
    with pytest.raises(knowledge.KnowledgeError, match="file: 'slides.pptx'"):
        knowledge.add_document(kb, "slides.pptx", b"x")
    with pytest.raises(knowledge.KnowledgeError, match="at most 50 MB"):
        knowledge.add_document(kb, "big.txt", b"x" * (knowledge.MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(knowledge.KnowledgeError, match="name: .*already has"):
        knowledge.create_knowledge_base(bot, name="Docs")
    KnowledgeSource.objects.bulk_create([KnowledgeSource(knowledge_base=kb, kind="text", name=f"t{i}", text="x")
                                         for i in range(knowledge.MAX_SOURCES)])
    with pytest.raises(knowledge.KnowledgeError, match="at most 100 sources"):
        knowledge.add_text(kb, "one more", "text")


def capture_bot(knowledge_on=True):
    return {
        "format": "flowstudio.bot/1", "name": "Orders",
        "flows": [{"name": "main", "variables": [{"name": "order", "type": "number"}], "nodes": [
            {"id": "start", "kind": "start", "next": "ask"},
            {"id": "ask", "kind": "standard", "next": "done", "cards": [
                {"id": "number", "type": "capture", "capture": "number", "variable": "workflow.order",
                 "prompt": "What is your order number?", "retries": 1, "knowledge": knowledge_on,
                 "retryMessage": "Please give a number."}]},
            {"id": "done", "kind": "standard", "next": "end", "cards": [
                {"id": "thanks", "type": "text", "text": "Order {{workflow.order}} noted."}]},
            {"id": "end", "kind": "end"},
        ]}],
    }


def test_a_capture_with_the_kb_option_answers_a_question_and_keeps_waiting_without_using_a_retry():
    bot = create_bot(capture_bot())
    handbook_kb(bot)
    conversation = start(bot)
    texts, _ = say(conversation, "hello")
    assert texts == ["What is your order number?"]
    texts, outcome = say(conversation, "How long is the warranty on a kettle?")
    assert len(texts) == 1 and "warranty of 3 years" in texts[0]
    assert any(t["type"] == "capture_answered_question" for t in outcome.trace)
    # Not a question and not a number: the one retry is still there.
    texts, _ = say(conversation, "no idea")
    assert texts == ["Please give a number."]
    texts, _ = say(conversation, "4521")
    assert texts == ["Order 4521 noted."]


def test_a_question_the_kbs_do_not_answer_with_confidence_is_an_answer_attempt():
    bot = create_bot(capture_bot())
    handbook_kb(bot)
    conversation = start(bot)
    say(conversation, "hello")
    texts, outcome = say(conversation, "What is the capital of Peru?")
    assert texts == ["Please give a number."]
    assert not any(t["type"] == "capture_answered_question" for t in outcome.trace)


def test_without_the_kb_option_a_question_is_just_a_wrong_answer():
    bot = create_bot(capture_bot(knowledge_on=False))
    handbook_kb(bot)
    conversation = start(bot)
    say(conversation, "hello")
    texts, outcome = say(conversation, "How long is the warranty on a kettle?")
    assert texts == ["Please give a number."]
    assert not any(t["type"] == "knowledge_query" for t in outcome.trace)


def test_control_characters_and_lone_surrogates_of_a_text_layer_do_not_reach_the_database():
    (passage,) = parsing.chunk([parsing.Section("Refunds\x00 take \udc80 five\x07 days.")])
    assert passage.text == "Refunds take \ufffd five days."
