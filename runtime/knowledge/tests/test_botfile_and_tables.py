"""Knowledge bases in the bot file and table sources, over real PostgreSQL: import creates
the KBs and queues their sources, export writes them back (export -> import -> export is the
same file), bad input names its JSON path and stores nothing; a table source makes a passage
of each row, a citation names the table and the row, and a change to the rows queues the
source again."""
import base64
import copy
import hashlib

import pytest

from flows import knowledge, services
from flows.botfile.problems import BotFileInvalid
from flows.models import Bot, KnowledgeChunk, KnowledgeSource
from flows.tables import service as tables
from runtime import turns
from runtime.knowledge import indexing, jobs, search, vectors
from runtime.knowledge.tests.test_knowledge import FILES, kb_bot

pytestmark = pytest.mark.django_db

FAQ = ("Opening hours: the shop is open Monday to Friday from 9:00 to 17:00.\n\n"
       "Shipping: every order leaves the warehouse within 2 working days.")
NOTES = b"# Care notes\n\nDescale the kettle once a month with citric acid."


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def kb_file(**kb_extra) -> dict:
    doc = kb_bot()
    doc["tables"] = [{"name": "Products", "columns": [
        {"name": "title", "type": "string", "searchable": True},
        {"name": "blurb", "type": "string", "searchable": True},
        {"name": "price", "type": "number"}]}]
    doc["knowledgeBases"] = [{
        "name": "Help", "description": "Shop questions", "folder": "Support",
        "sources": [
            {"type": "text", "name": "FAQ", "text": FAQ},
            {"type": "url", "url": "https://shop.example/returns"},
            {"type": "sitemap", "url": "https://shop.example/sitemap.xml"},
            {"type": "table", "table": "Products"},
            {"type": "document", "name": "care.md", "content": b64(NOTES)},
        ], **kb_extra}, {"name": "Empty"}]
    return doc


def imported(doc):
    return services.import_bot(copy.deepcopy(doc), workspace=services.default_workspace())


def test_import_creates_the_kbs_and_queues_their_sources_and_the_draft_keeps_no_copy():
    bot = imported(kb_file())
    help_kb, empty = bot.knowledge_bases.order_by("id")
    assert (help_kb.name, help_kb.description, help_kb.folder) == ("Help", "Shop questions", "Support")
    assert (empty.name, empty.description, empty.folder, empty.sources.count()) == ("Empty", "", "", 0)
    sources = list(help_kb.sources.order_by("id"))
    assert [(s.kind, s.name, s.status) for s in sources] == [
        ("text", "FAQ", "queued"), ("url", "https://shop.example/returns", "queued"),
        ("sitemap", "https://shop.example/sitemap.xml", "queued"), ("table", "Products", "queued"),
        ("document", "care.md", "queued")]
    document = sources[-1]
    assert (bytes(document.content), document.format, document.size) == (NOTES, "md", len(NOTES))
    assert document.sha256 == hashlib.sha256(NOTES).hexdigest()
    assert bot.draft["knowledgeBases"] == []  # the database holds them


def test_import_queues_indexing_once_it_commits(settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the job runs in this process after the commit
    doc = kb_file()
    doc["knowledgeBases"][0]["sources"] = [s for s in doc["knowledgeBases"][0]["sources"]
                                           if s["type"] in ("text", "document")]
    with django_capture_on_commit_callbacks(execute=True):
        bot = imported(doc)
    assert set(KnowledgeSource.objects.filter(knowledge_base__bot=bot).values_list("status", flat=True)) == {"ready"}
    kb_ids = knowledge.resolve(bot.pk, ["Help"])
    assert "citric acid" in search.search("how do I descale the kettle", kb_ids).hits[0].text
    assert "9:00 to 17:00" in search.search("when are you open", kb_ids).hits[0].text


def test_export_then_import_gives_the_same_file():
    bot = imported(kb_file())
    exported = services.export_bot(bot)
    assert list(exported).index("knowledgeBases") == list(exported).index("tables") + 1
    assert exported["knowledgeBases"] == [
        {"name": "Help", "description": "Shop questions", "folder": "Support",
         "sources": kb_file()["knowledgeBases"][0]["sources"]},
        {"name": "Empty"}]
    again = imported(exported)
    assert services.export_bot(again) == exported
    assert again.draft == bot.draft


def test_a_large_document_travels_by_size_and_digest_and_must_be_uploaded_again_elsewhere():
    bot = imported(kb_file())
    kb = bot.knowledge_bases.get(name="Help")
    big = (FILES / "handbook.pdf").read_bytes() * 2
    big += b"\n" * (knowledge.INLINE_DOCUMENT_BYTES + 1 - len(big))  # one byte over what a file carries
    knowledge.add_document(kb, "big.pdf", big)
    exported = services.export_bot(bot)
    reference = exported["knowledgeBases"][0]["sources"][-1]
    assert reference == {"type": "document", "name": "big.pdf", "size": len(big),
                         "sha256": hashlib.sha256(big).hexdigest()}
    elsewhere = imported(exported)
    placeholder = KnowledgeSource.objects.get(knowledge_base__bot=elsewhere, name="big.pdf")
    assert placeholder.content is None and placeholder.status == "failed"
    assert placeholder.error == (f"not in the bot file ({len(big)} bytes, over what an export carries): "
                                 "upload big.pdf again to index it")
    assert indexing.index_source(placeholder.pk) == "failed"  # a re-index says the same
    assert services.export_bot(elsewhere) == exported  # and the reference travels on unchanged
    # Imported back into the bot that has the bytes, the reference keeps the document.
    kept = KnowledgeSource.objects.get(knowledge_base=kb, name="big.pdf")
    services.replace_draft(bot, exported, base_revision=None)
    assert bytes(KnowledgeSource.objects.get(pk=kept.pk).content) == big


def test_importing_into_a_bot_keeps_unchanged_sources_replaces_changed_ones_and_leaves_other_kbs():
    bot = imported(kb_file())
    other = knowledge.create_knowledge_base(bot, name="Made in the studio")
    knowledge.add_text(other, "Note", "kept as it is")
    help_kb = bot.knowledge_bases.get(name="Help")
    before = {s.kind: s.pk for s in help_kb.sources.all()}
    changed = kb_file(description="Everything about the shop")
    changed["knowledgeBases"][0]["sources"][0]["text"] = FAQ + "\n\nReturns: 30 days."
    del changed["knowledgeBases"][0]["sources"][1]  # the returns page goes
    services.replace_draft(bot, changed, base_revision=None)
    help_kb.refresh_from_db()
    after = {s.kind: s for s in help_kb.sources.all()}
    assert help_kb.description == "Everything about the shop"
    assert sorted(after) == ["document", "sitemap", "table", "text"]
    assert all(after[k].pk == before[k] for k in ("document", "sitemap", "table"))
    assert after["text"].pk != before["text"] and after["text"].text.endswith("Returns: 30 days.")
    assert [s.name for s in other.sources.all()] == ["Note"]
    assert bot.draft["knowledgeBases"] == []


def problems_of(doc) -> list[tuple[str, str]]:
    with pytest.raises(BotFileInvalid) as caught:
        imported(doc)
    return [(p.path, p.message) for p in caught.value.problems]


@pytest.mark.parametrize("change, path, words", [
    (lambda s: s.append({"type": "video", "url": "x"}), "$.knowledgeBases[0].sources[5].type", "text"),
    (lambda s: s[0].pop("text"), "$.knowledgeBases[0].sources[0].text", "required field 'text' is missing"),
    (lambda s: s[0].update(colour="red"), "$.knowledgeBases[0].sources[0].colour",
     "unknown field 'colour'; allowed: type, name, text"),
    (lambda s: s[1].update(url="ftp://shop.example/x"), "$.knowledgeBases[0].sources[1].url",
     "an http or https URL"),
    (lambda s: s[3].update(table="Orders"), "$.knowledgeBases[0].sources[3].table",
     "the bot has no table 'Orders' (its tables: Products)"),
    (lambda s: s[3].update(columns=["price"]), "$.knowledgeBases[0].sources[3].columns[0]",
     "column 'price' is number; a table source reads string columns"),
    (lambda s: s[4].update(content="not base64!"), "$.knowledgeBases[0].sources[4].content", "base64"),
    (lambda s: s[4].update(name="care.exe"), "$.knowledgeBases[0].sources[4].name", "the formats are PDF"),
    (lambda s: s[4].pop("content"), "$.knowledgeBases[0].sources[4]", "`size` and `sha256`"),
    (lambda s: s[4].update(sha256="0" * 64, size=3), "$.knowledgeBases[0].sources[4]", "not both"),
])
def test_bad_sources_are_refused_naming_their_path_and_nothing_is_stored(change, path, words):
    doc = kb_file()
    change(doc["knowledgeBases"][0]["sources"])
    found = problems_of(doc)
    assert any(p == path and words in m for p, m in found), found
    assert not Bot.objects.exists()


def test_bad_knowledge_bases_are_refused_naming_their_path():
    doc = kb_file()
    doc["knowledgeBases"].append({"name": "Help"})
    doc["knowledgeBases"].append({"name": " spaced", "folder": "/Support//"})
    doc["knowledgeBases"][1]["sources"] = [{"type": "text", "name": f"n{i}", "text": "t"} for i in range(101)]
    paths = [p for p, _ in problems_of(doc)]
    assert "$.knowledgeBases[2].name" in paths  # taken
    assert "$.knowledgeBases[3].name" in paths and "$.knowledgeBases[3].folder" in paths
    assert "$.knowledgeBases[1].sources" in paths  # 101 sources
    assert not Bot.objects.exists()


# ---- table sources ---------------------------------------------------------------------------

PRODUCTS = [
    {"title": "Kettle Pro", "blurb": "A 1.7 litre steel kettle that boils water in three minutes.", "price": 49},
    {"title": "Teapot", "blurb": "A porcelain teapot for six cups of loose leaf tea.", "price": 25},
    {"title": "Mug", "price": 8},
]


def table_bot(rows=PRODUCTS):
    doc = kb_file()
    doc["tables"][0]["rows"] = rows
    doc["knowledgeBases"] = [{"name": "Catalogue", "sources": [{"type": "table", "table": "Products"}]}]
    bot = imported(doc)
    services.publish(bot)
    source = KnowledgeSource.objects.get(knowledge_base__bot=bot, kind="table")
    assert indexing.index_source(source.pk) == "ready"
    return bot, source


def test_a_table_source_makes_a_passage_of_each_row_and_cites_the_table_and_the_row():
    bot, source = table_bot()
    chunks = list(KnowledgeChunk.objects.filter(source=source).order_by("position"))
    rows = {r["title"]: r["id"] for r in tables.find_rows(bot.pk, tables.get_table(bot, "Products"))["rows"]}
    assert [(c.row, c.text) for c in chunks] == [
        (rows["Kettle Pro"], "title: Kettle Pro blurb: A 1.7 litre steel kettle that boils water in three minutes."),
        (rows["Teapot"], "title: Teapot blurb: A porcelain teapot for six cups of loose leaf tea."),
        (rows["Mug"], "title: Mug")]
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot, None))
    outcome = turns.send_user_message(conversation, "how fast does the kettle boil water?")
    assert not outcome.failed, outcome.error
    text = outcome.outputs[0]["text"]
    assert text.startswith("title: Kettle Pro blurb: A 1.7 litre steel kettle"), text
    assert text.endswith("| Products pnull"), text
    query = next(t for t in outcome.trace if t["type"] == "knowledge_query")
    assert query["passages"][0]["sourceName"] == "Products" and query["passages"][0]["row"] == rows["Kettle Pro"]
    answer = next(t for t in outcome.trace if t["type"] == "knowledge_answer")
    assert answer["citations"] == [f"[1] Products, row {rows['Kettle Pro']}"]


def test_named_columns_are_read_instead_of_the_searchable_ones():
    doc = kb_file()
    doc["tables"][0]["rows"] = PRODUCTS
    doc["knowledgeBases"] = [{"name": "Titles", "sources": [{"type": "table", "table": "Products",
                                                              "columns": ["title"]}]}]
    bot = imported(doc)
    source = KnowledgeSource.objects.get(knowledge_base__bot=bot)
    assert indexing.index_source(source.pk) == "ready"
    assert list(KnowledgeChunk.objects.filter(source=source).values_list("text", flat=True)) == [
        "Kettle Pro", "Teapot", "Mug"]


def test_a_row_change_queues_the_source_once_and_the_new_index_embeds_only_what_changed(monkeypatch):
    bot, source = table_bot()
    table = tables.get_table(bot, "Products")
    mug = next(r for r in tables.find_rows(bot.pk, table)["rows"] if r["title"] == "Mug")
    assert jobs.table_changed(bot.pk, "Products") == 1
    source.refresh_from_db()
    assert source.status == "queued" and source.revision == 2
    assert jobs.table_changed(bot.pk, "Products") == 0  # already queued: its job reads the rows when it runs
    tables.update_row(bot.pk, table, mug["id"], {"blurb": "A stoneware mug that keeps coffee hot."})
    embedded = []
    real_embed = vectors.embed
    monkeypatch.setattr(vectors, "embed", lambda texts: embedded.append(list(texts)) or real_embed(texts))
    assert indexing.index_source(source.pk, source.revision) == "ready"
    assert embedded == [["title: Mug blurb: A stoneware mug that keeps coffee hot."]]
    hit = search.search("which mug keeps coffee hot", [source.knowledge_base_id]).hits[0]
    assert (hit.source_kind, hit.source_name, hit.row) == ("table", "Products", mug["id"])


def test_row_changes_reach_the_indexing_job_once_they_commit(settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    bot, source = table_bot()
    table = tables.get_table(bot, "Products")
    with django_capture_on_commit_callbacks(execute=True):
        tables.insert_row(bot.pk, table, {"title": "Milk frother", "blurb": "Whisks milk into foam for lattes."})
    source.refresh_from_db()
    assert (source.status, source.revision, source.chunk_count) == ("ready", 2, 4)
    assert "Milk frother" in search.search("foam for a latte", [source.knowledge_base_id]).hits[0].text
    with django_capture_on_commit_callbacks(execute=True):
        tables.delete_rows(bot.pk, table, filter={"title": "Milk frother"})
    source.refresh_from_db()
    assert (source.revision, source.chunk_count) == (3, 3)


def test_a_table_source_whose_table_went_fails_with_the_reason():
    bot, source = table_bot()
    tables.delete_table(bot, "Products")
    source = knowledge.mark_for_reindex(source)
    assert indexing.index_source(source.pk) == "failed"
    source.refresh_from_db()
    assert source.error == "the bot has no table 'Products' (its tables: none)"
    assert source.chunk_count == 3  # the last good passages are still served
