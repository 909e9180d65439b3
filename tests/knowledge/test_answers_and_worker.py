"""Knowledge answers through the whole runtime with the project's OpenAI-compatible test
server over real HTTP (a grounded answer with numbered citations; "I don't know" is no
answer), and the indexing job run by a real Celery worker process."""
import time

import pytest

from flows import knowledge
from flows.models import KnowledgeSource
from integrations.chat_api.tests.server import celery_worker
from integrations.llm import scripted_server as s
from integrations.llm.tests.test_bots_with_llm import add_provider
from runtime import turns
from runtime.knowledge import jobs
from runtime.knowledge.tests.test_knowledge import FILES, handbook_kb, kb_bot
from runtime.tests.bots import create_bot

pytestmark = pytest.mark.django_db(transaction=True)


def ask(bot, text):
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, "ada"))
    outcome = turns.send_user_message(conversation, text)
    assert not outcome.failed, outcome.error
    return [o.get("text") for o in outcome.outputs], outcome


def test_with_a_model_the_answer_is_grounded_with_numbered_citations(scripted_llm_server):
    add_provider(scripted_llm_server)
    bot = create_bot(kb_bot())
    handbook_kb(bot)
    scripted_llm_server.script([s.text("You have 45 days to return it for a full refund [1].")])
    texts, outcome = ask(bot, "How long do I have to return a kettle for a refund?")
    assert texts == ["You have 45 days to return it for a full refund [1].\n\nReferences:\n[1] handbook.pdf, page 2"
                     " | handbook.pdf p2"]
    sent = scripted_llm_server.requests[0]["messages"]
    assert "Cite the passages you used" in sent[0]["content"] and "reply exactly: I don't know" in sent[0]["content"]
    assert "[1] (handbook.pdf, page 2)\nReturns and refunds You may return any kettle within 45 days" in sent[1]["content"]
    assert sent[1]["content"].endswith("Question: How long do I have to return a kettle for a refund?")
    answer = next(t for t in outcome.trace if t["type"] == "knowledge_answer")
    assert answer["generated"] is True and answer["citations"] == ["[1] handbook.pdf, page 2"]


def test_when_the_model_does_not_know_there_is_no_answer(scripted_llm_server):
    add_provider(scripted_llm_server)
    bot = create_bot(kb_bot())
    handbook_kb(bot)
    scripted_llm_server.script([s.text("I don't know.")])
    texts, _ = ask(bot, "What colour is the descaling vinegar bottle?")
    assert texts == ["No answer | "]


def test_without_a_provider_the_best_passage_is_the_answer():
    bot = create_bot(kb_bot())
    handbook_kb(bot)
    texts, outcome = ask(bot, "how long is the warranty?")
    assert texts[0].startswith("Acme Kettles warranty terms Every Acme kettle carries a warranty of 3 years")
    assert texts[0].endswith("| warranty.docx pnull")
    assert any(t["type"] == "knowledge_llm_unavailable" for t in outcome.trace)


def test_a_celery_worker_indexes_an_uploaded_document(tmp_path, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    bot = create_bot(kb_bot())
    kb = knowledge.create_knowledge_base(bot, name="Handbook")
    with celery_worker(tmp_path) as queue:
        settings.FLOWSTUDIO_KNOWLEDGE_CELERY_QUEUE = queue
        source = knowledge.add_document(kb, "handbook.pdf", (FILES / "handbook.pdf").read_bytes())
        jobs.queue_indexing(source)  # no transaction open: sent at once
        seen, deadline = [], time.monotonic() + 90
        while time.monotonic() < deadline:
            source.refresh_from_db()
            if not seen or seen[-1] != source.status:
                seen.append(source.status)
            if source.status in ("ready", "failed"):
                break
            time.sleep(0.05)
        log = (tmp_path / "worker.log").read_text()
    assert source.status == "ready", (source.error, log[-3000:])
    assert source.chunk_count == 3 and seen[0] in ("queued", "parsing", "embedding", "ready")
    assert "runtime.tasks.index_knowledge_source" in log
    texts, _ = ask(bot, "refund within how many days?")
    assert "45 days" in texts[0] and texts[0].endswith("| handbook.pdf p2")


def test_row_changes_reach_a_celery_worker_after_the_delay_as_one_job(tmp_path, settings):
    from flows import services
    from flows.tables import service as tables
    from runtime.knowledge import search

    settings.CELERY_TASK_ALWAYS_EAGER = True  # the import's own job runs here, at its commit
    settings.FLOWSTUDIO_KNOWLEDGE_TABLE_DELAY_S = 1.0
    doc = kb_bot()
    doc["tables"] = [{"name": "Products", "columns": [{"name": "blurb", "type": "string", "searchable": True}],
                      "rows": [{"blurb": "A steel kettle that boils water in three minutes."}]}]
    doc["knowledgeBases"] = [{"name": "Catalogue", "sources": [{"type": "table", "table": "Products"}]}]
    bot = create_bot(doc)
    source = KnowledgeSource.objects.get(knowledge_base__bot=bot)
    assert (source.status, source.chunk_count) == ("ready", 1)
    table = tables.get_table(services.find_bot(str(bot.pk)), "Products")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with celery_worker(tmp_path) as queue:
        settings.FLOWSTUDIO_KNOWLEDGE_CELERY_QUEUE = queue
        started = time.monotonic()
        for blurb in ("A milk frother that whisks foam for lattes.", "A teapot for six cups of loose leaf tea."):
            tables.insert_row(bot.pk, table, {"blurb": blurb})  # each commits on its own
        source.refresh_from_db()
        assert (source.status, source.revision) == ("queued", 2)  # one job for the burst
        while time.monotonic() - started < 90:
            source.refresh_from_db()
            if source.status in ("ready", "failed"):
                break
            time.sleep(0.05)
        waited = time.monotonic() - started
        log = (tmp_path / "worker.log").read_text()
    assert (source.status, source.revision, source.chunk_count) == ("ready", 2, 3), (source.error, log[-3000:])
    assert waited >= 1.0  # not before the delay
    assert log.count("runtime.tasks.index_knowledge_source") >= 1
    assert "frother" in search.search("foam for a latte", [source.knowledge_base_id]).hits[0].text
