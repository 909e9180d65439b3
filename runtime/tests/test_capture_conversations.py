"""Capture Information and Intent cards in whole conversations through the turn service
(real PostgreSQL): what a user of a published bot, or of the emulator, would see."""
import json
from pathlib import Path

import pytest

from flows import services
from flows.models import BotVersion
from runtime import turns
from runtime.engine.nlu import encoder
from runtime.engine.nlu.intents import utterance_cache
from runtime.models import EndUser, Message
from runtime.tests.bots import GIFT_CARD_UTTERANCES, capture_bot, create_bot, shop_bot

pytestmark = pytest.mark.django_db

BENCHMARK = Path(__file__).resolve().parents[1] / "engine/nlu/tests/data/intents_benchmark.json"
LIBRARY = [i for i in json.loads(BENCHMARK.read_text())["intents"] if i["name"] in ("track_order", "cancel_order")]


def texts(outcome):
    return [output.get("text") for output in outcome.outputs]


def start(bot, *, draft=False, user_id=None):
    return turns.start_conversation(bot, turns.get_or_create_user(bot, user_id), draft=draft)


def say(conversation, text):
    outcome = turns.send_user_message(conversation, text)
    assert not outcome.failed, outcome.error
    return outcome


def traced(outcome, kind):
    return [t for t in outcome.trace if t["type"] == kind]


@pytest.fixture
def capture_conversation():
    return start(create_bot(capture_bot()))


# ---- Capture Information ------------------------------------------------------------------------
def test_retries_repeat_the_retry_message_then_store_the_answer(capture_conversation):
    conversation = capture_conversation
    assert texts(say(conversation, "retries")) == ["How many pizzas?"]
    assert texts(say(conversation, "lots")) == ["Please give me a number, like 3."]
    conversation.refresh_from_db()
    assert conversation.state["frames"][-1]["mem"] == {"failures": 1}  # the retry count is stored with the dialog
    assert texts(say(conversation, "a few")) == ["Please give me a number, like 3."]
    assert texts(say(conversation, "three please")) == ["3 pizzas it is."]
    conversation.refresh_from_db()
    assert conversation.state["frames"] == []


def test_retries_exhausted_take_the_failure_port(capture_conversation):
    conversation = capture_conversation
    say(conversation, "retries")
    say(conversation, "lots")
    say(conversation, "many")
    outcome = say(conversation, "loads")
    assert texts(outcome) == ["Let's skip the pizzas."]
    assert "reached the limit of retries (2)" in traced(outcome, "capture_failed")[0]["reason"]
    transcript = [m.as_output().get("text") for m in Message.objects.filter(conversation=conversation).order_by("seq")]
    assert transcript == ["retries", "How many pizzas?", "lots", "Please give me a number, like 3.", "many",
                          "Please give me a number, like 3.", "loads", "Let's skip the pizzas."]


def test_validation_refuses_then_accepts_and_the_user_variable_is_stored(capture_conversation):
    conversation = capture_conversation
    assert texts(say(conversation, "age")) == ["How old are you?"]
    assert texts(say(conversation, "I'm 16")) == ["You must be 18 or older."]
    assert texts(say(conversation, "no idea")) == ["A number, please."]
    assert texts(say(conversation, "thirty two")) == ["Age 32 noted."]
    assert EndUser.objects.get(pk=conversation.user_id).variables["age"] == 32


def test_cancellation_is_confirmed_first(capture_conversation):
    conversation = capture_conversation
    assert texts(say(conversation, "cancel test")) == ["Which city?"]
    asked = say(conversation, "cancel")
    assert asked.outputs == [{"type": "choice", "text": "Stop the delivery set-up?",
                              "options": [{"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"}]}]
    assert texts(say(conversation, "no")) == ["Which city?"]  # not cancelled: asked again
    say(conversation, "never mind")
    outcome = say(conversation, "yes")
    assert texts(outcome) == ["Cancelled; nothing was saved."]
    assert traced(outcome, "capture_failed")[0]["reason"] == "cancelled by the user"


def test_cancel_then_answer_normally(capture_conversation):
    conversation = capture_conversation
    say(conversation, "cancel test")
    say(conversation, "stop")
    say(conversation, "nope")
    assert texts(say(conversation, "Montreal")) == ["Delivering to Montreal."]


def test_prompt_chaining_one_message_fills_name_email_and_phone(capture_conversation):
    conversation = capture_conversation
    assert texts(say(conversation, "sign up")) == ["Tell me your name, email and phone."]
    outcome = say(conversation, "I'm Ada Lovelace, ada@example.com, +1 514 555 0123")
    assert texts(outcome) == ["Ada Lovelace / ada@example.com / +15145550123"]
    assert [t["variable"] for t in traced(outcome, "captured")] == ["workflow.name", "workflow.email", "workflow.phone"]


def test_prompt_chaining_asks_only_for_what_is_missing(capture_conversation):
    conversation = capture_conversation
    say(conversation, "sign up")
    assert texts(say(conversation, "Ada Lovelace here, ada@example.com")) == ["Your phone?"]
    assert texts(say(conversation, "514-555-0123")) == ["Ada Lovelace / ada@example.com / +15145550123"]


def test_extract_from_history_reads_earlier_messages_of_the_conversation(capture_conversation):
    conversation = capture_conversation
    assert texts(say(conversation, "later")) == ["Tell me about yourself."]
    assert texts(say(conversation, "I'm Ada, you can reach me at ada@example.com")) == ["Anything else?"]
    # The capture is reached on this message, which holds no email: the turn service passes
    # the conversation's earlier messages and the card finds it two messages back.
    outcome = say(conversation, "no, that's all")
    assert texts(outcome) == ["Got ada@example.com."]
    assert traced(outcome, "captured")[0]["source"] == "history"


def test_skip_if_filled_does_not_ask_a_returning_user_again():
    bot = create_bot(capture_bot())
    first = start(bot, user_id="ada")
    assert texts(say(first, "email")) == ["Your email?"]
    assert texts(say(first, "ada@example.com")) == ["We will write to ada@example.com."]

    second = start(bot, user_id="ada")
    outcome = say(second, "email")
    assert texts(outcome) == ["We will write to ada@example.com."]
    assert traced(outcome, "capture_skipped")
    assert texts(say(start(bot, user_id="grace"), "email")) == ["Your email?"]


# ---- Intent cards -------------------------------------------------------------------------------
@pytest.fixture
def shop():
    return create_bot(shop_bot(LIBRARY))


def test_a_library_intent_routes_and_event_nlu_holds_it_with_entities(shop):
    conversation = start(shop)
    assert texts(say(conversation, "hi")) == ["How can I help?"]
    outcome = say(conversation, "where is my parcel? the order number is AB-1234")
    assert texts(outcome) == ["Tracking (track_order) order AB-1234.", "How can I help?"]
    fired = [t for t in traced(outcome, "intent_checked") if t["fired"]]
    assert [(t["card"], t["intent"]) for t in fired] == [("is-track", "track_order")]
    assert traced(outcome, "nlu")[0]["confidence"] >= 0.6


def test_an_inline_intent_routes_and_is_not_a_library_intent(shop):
    conversation = start(shop)
    say(conversation, "hi")
    outcome = say(conversation, "can I buy a gift card for my mum?")
    assert texts(outcome) == ["Gift cards: library intent was none.", "How can I help?"]


def test_no_matching_intent_takes_the_default_transition(shop):
    conversation = start(shop)
    say(conversation, "hi")
    outcome = say(conversation, "what's the capital of France?")
    assert texts(outcome) == ["Sorry, I did not get that (none).", "How can I help?"]
    assert not any(t["fired"] for t in traced(outcome, "intent_checked"))


def test_entities_of_every_kind_reach_event_nlu(shop):
    conversation = start(shop)
    say(conversation, "hi")
    outcome = say(conversation, "please cancel order XY-9876, the 2 macbooks, I'll email bob@example.com")
    assert texts(outcome)[0] == "Cancelling: " + json.dumps(
        [["order_number", "XY-9876"], ["number", 2], ["product", "laptop"], ["email", "bob@example.com"]],
        separators=(",", ":"))


def test_publish_stores_the_intent_model_and_a_turn_encodes_only_the_message(shop, monkeypatch):
    version = BotVersion.objects.get(bot=shop, number=1)
    assert version.intent_model  # computed at publish, stored with the version
    # A fresh process: no compiled build, no cached utterance embeddings.
    services.build_cache.clear()
    utterance_cache.clear()
    encoded = []
    real_encode = encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda texts: encoded.append(list(texts)) or real_encode(texts))

    conversation = start(shop)
    say(conversation, "hello")
    say(conversation, "where is my order")

    assert encoded == [["hello"], ["where is my order"]]


def test_a_bot_without_intents_or_entities_never_runs_the_encoder(capture_conversation, monkeypatch):
    assert BotVersion.objects.get(bot=capture_conversation.bot).intent_model is None
    monkeypatch.setattr(encoder, "encode", lambda texts: pytest.fail(f"encoder called with {texts}"))
    outcome = say(capture_conversation, "retries")
    assert texts(outcome) == ["How many pizzas?"] and not traced(outcome, "nlu")


def test_the_emulator_trains_the_draft_once_per_revision(shop, monkeypatch):
    services.build_cache.clear()
    utterance_cache.clear()
    encoded = []
    real_encode = encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda texts: encoded.append(list(texts)) or real_encode(texts))
    conversation = start(shop, draft=True)

    say(conversation, "hi")
    utterances = sum(len(i["utterances"]) for i in LIBRARY) + len(GIFT_CARD_UTTERANCES)
    assert len(encoded) == 2 and len(encoded[0]) == utterances and encoded[1] == ["hi"]
    say(conversation, "I want to cancel my order")
    assert encoded[2:] == [["I want to cancel my order"]]  # the draft build, model included, is cached

    edited = services.export_bot(shop)
    edited["flows"][0]["nodes"][1]["cards"][3]["utterances"][0] = "gift certificates"
    services.replace_draft(shop, edited, base_revision=None)
    say(conversation, "hello again")
    # The new revision is trained again, but only the changed utterance is encoded.
    assert encoded[3:] == [["gift certificates"], ["hello again"]]
