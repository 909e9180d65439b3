"""The intent model is computed at publish and stored with the version, immutable like it."""
import copy

import pytest
from django.db import connection

from flows.botfile.problems import BotFileInvalid
from flows.models import BotVersion, ImmutableRow
from flows.services import build_cache, get_build, import_bot, publish, replace_draft
from runtime.engine.nlu.intents import IntentModel

pytestmark = pytest.mark.django_db

UTTERANCES = ["where is my order", "track my package", "when will my order arrive", "has my order shipped",
              "order status", "where's my parcel", "is my delivery late", "tracking number please",
              "my package hasn't come", "when does my stuff get here"]


@pytest.fixture
def intent_bot_doc(tiny_bot_doc):
    doc = copy.deepcopy(tiny_bot_doc)
    doc["intents"] = [{"name": "track_order", "utterances": UTTERANCES}]
    hello = doc["flows"][0]["nodes"][1]
    hello["cards"].append({"id": "is-track", "type": "intent", "intent": "track_order", "next": "end"})
    return doc


def test_publish_stores_the_model_of_library_and_inline_intents(workspace, intent_bot_doc):
    intent_bot_doc["flows"][0]["nodes"][1]["cards"].append(
        {"id": "is-gift", "type": "intent", "utterances": [f"gift card {i}" for i in range(10)], "next": "end"})
    version = publish(import_bot(intent_bot_doc, workspace=workspace))
    model = IntentModel.from_bytes(bytes(BotVersion.objects.get(pk=version.pk).intent_model))
    assert model.names == ["track_order", "inline:is-gift"]
    assert model.embeddings.shape == (20, 384)


def test_a_bot_without_intents_stores_no_model(workspace, tiny_bot_doc):
    assert publish(import_bot(tiny_bot_doc, workspace=workspace)).intent_model is None


def test_the_stored_model_is_immutable(workspace, intent_bot_doc):
    version = publish(import_bot(intent_bot_doc, workspace=workspace))
    version.intent_model = b"other"
    with pytest.raises(ImmutableRow):
        version.save()
    with connection.cursor() as cursor, pytest.raises(Exception, match="immutable"):
        cursor.execute("UPDATE flows_botversion SET intent_model = NULL WHERE id = %s", [version.pk])


def test_a_draft_with_a_bad_library_is_not_published(workspace, intent_bot_doc):
    bot = import_bot(intent_bot_doc, workspace=workspace)
    broken = copy.deepcopy(intent_bot_doc)
    broken["intents"][0]["utterances"] = UTTERANCES[:3]
    bot.draft["intents"] = broken["intents"]  # as if saved by an older validator
    type(bot).objects.filter(pk=bot.pk).update(draft=bot.draft)
    with pytest.raises(BotFileInvalid, match=r"\$\.intents\[0\]\.utterances: has 3 utterances"):
        publish(bot)
    assert not BotVersion.objects.filter(bot=bot).exists()


def test_published_builds_use_the_stored_model(workspace, intent_bot_doc):
    bot = import_bot(intent_bot_doc, workspace=workspace)
    version = publish(bot)
    build_cache.clear()
    loaded = get_build(bot, draft=False)
    stored = IntentModel.from_bytes(bytes(version.intent_model))
    assert loaded.build.nlu.model.fingerprint == stored.fingerprint
    assert (loaded.build.nlu.model.embeddings == stored.embeddings).all()
    replace_draft(bot, intent_bot_doc, base_revision=None)
    assert get_build(bot, draft=True).build.nlu.model.fingerprint == stored.fingerprint
