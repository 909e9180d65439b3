"""The full-text half of knowledge search on both databases: PostgreSQL's tsvector column and
SQLite's FTS5 table (the embedded default; scripts/test.sh runs this file there too). Words
are stemmed, rarer words weigh more, only the KBs asked for are searched, a passage gone from
the table is gone from the word index, and a query's punctuation is never query syntax."""
import pytest
from django.db import connection

from flows import knowledge
from flows.models import KnowledgeChunk
from runtime.knowledge import indexing, search
from runtime.knowledge.tests.test_knowledge import kb_bot
from runtime.tests.bots import create_bot

pytestmark = pytest.mark.django_db

PASSAGES = {
    "returns": "Returning an item: parcels sent back within 30 days are refunded in full.",
    "shipping": "Our warehouse ships every parcel within two working days of the order.",
    "payment": "We accept cards and bank transfers; the card is charged when the order ships.",
}


def kb_with(bot, name, passages):
    kb = knowledge.create_knowledge_base(bot, name=name)
    ids = {}
    for key, text in passages.items():
        source = knowledge.add_text(kb, key, text)
        assert indexing.index_source(source.pk) == "ready"
        ids[key] = KnowledgeChunk.objects.get(source=source).pk
    return kb, ids


def test_the_word_index_is_the_databases_own():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'flows_knowledgechunk_fts'")
            assert "fts5" in cursor.fetchone()[0].lower()
        else:
            cursor.execute("SELECT 1 FROM information_schema.columns WHERE table_name = 'flows_knowledgechunk' "
                           "AND column_name = 'search_vector'")
            assert cursor.fetchone() == (1,)


def test_words_are_stemmed_and_the_rarer_word_ranks_first():
    bot = create_bot(kb_bot())
    kb, ids = kb_with(bot, "Shop", PASSAGES)
    # "returned" finds "Returning"; "refunds" finds "refunded".
    assert search.fts_ranking("were my returned goods refunds", [kb.pk]) == [ids["returns"]]
    # "order" is in two passages, "charged" in one: that one comes first.
    assert search.fts_ranking("when is the order charged", [kb.pk]) == [ids["payment"], ids["shipping"]]


def test_only_the_kbs_asked_for_are_searched_and_a_removed_passage_is_gone():
    bot = create_bot(kb_bot())
    shop, ids = kb_with(bot, "Shop", PASSAGES)
    other, other_ids = kb_with(bot, "Other", {"returns": "Returning a rental car: leave it at the airport."})
    assert search.fts_ranking("returning", [other.pk]) == [other_ids["returns"]]
    assert sorted(search.fts_ranking("returning", [shop.pk, other.pk])) == sorted(
        [ids["returns"], other_ids["returns"]])
    shop.sources.get(name="returns").delete()
    assert search.fts_ranking("returning", [shop.pk, other.pk]) == [other_ids["returns"]]


def test_a_reindexed_passage_is_found_by_its_new_words_only():
    bot = create_bot(kb_bot())
    kb = knowledge.create_knowledge_base(bot, name="Hours")
    source = knowledge.add_text(kb, "Hours", "The shop opens at nine.")
    indexing.index_source(source.pk)
    source.text = "The shop opens at ten, on weekdays only."
    source.save()
    indexing.index_source(knowledge.mark_for_reindex(source).pk)
    assert search.fts_ranking("nine", [kb.pk]) == []
    assert search.fts_ranking("weekdays", [kb.pk]) == list(KnowledgeChunk.objects.filter(source=source)
                                                           .values_list("pk", flat=True))


@pytest.mark.parametrize("query", ['"', 'NEAR(parcel order) OR AND NOT *', "parcel\" OR \"x", "col:parcel",
                                   "^parcel", "parcel-order", "l'ordre d'achat"])
def test_query_syntax_in_a_question_is_just_words(query):
    bot = create_bot(kb_bot())
    kb, ids = kb_with(bot, "Shop", PASSAGES)
    found = search.fts_ranking(query, [kb.pk])  # never a syntax error
    if "parcel" in query:
        assert ids["shipping"] in found


def test_a_question_of_stop_words_only_finds_nothing_by_words():
    bot = create_bot(kb_bot())
    kb, _ = kb_with(bot, "Shop", PASSAGES)
    assert search.fts_ranking("what is it that you are", [kb.pk]) == []


def test_the_vector_cache_follows_every_change_of_a_kbs_passages():
    bot = create_bot(kb_bot())
    kb, ids = kb_with(bot, "Shop", PASSAGES)
    assert ids["returns"] in [pk for pk, _ in search.vector_ranking("sending parcels back", [kb.pk])]  # cached now
    kb.sources.get(name="returns").delete()
    assert ids["returns"] not in [pk for pk, _ in search.vector_ranking("sending parcels back", [kb.pk])]
    source = knowledge.add_text(kb, "returns", PASSAGES["returns"])
    indexing.index_source(source.pk)
    new = KnowledgeChunk.objects.get(source=source).pk
    assert new in [pk for pk, _ in search.vector_ranking("sending parcels back", [kb.pk])]
