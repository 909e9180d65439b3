"""The Intent card and event.nlu, driven through conversations with no database."""
from datetime import datetime, timezone

import pytest

from runtime.engine import BuildError, TurnInput, compile_bot, run_turn

from .chat import Chat, bot, card, main, node, text

GREET = ["hi", "hello", "hey there", "good morning", "good evening", "hiya", "howdy", "greetings", "hey bot",
         "hello, anyone there?"]
ORDER = ["I want to order a pizza", "can I get a pizza", "one large pepperoni please", "I'd like to place an order",
         "order food", "get me a margherita", "I want to buy a pizza", "pizza please", "I'm hungry, order something",
         "can you take my order"]
YES = ["yes", "yes please", "sure", "absolutely", "of course", "yep", "that's right", "correct", "ok do it",
       "sounds good"]
NO = ["no", "no thanks", "nope", "not really", "no way", "nah", "don't", "I'd rather not", "cancel that",
      "definitely not"]
LIBRARY = [{"name": "greet", "utterances": GREET}, {"name": "order", "utterances": ORDER}]


def intent(id, next, **fields):
    return card("intent", id=id, next=next, **fields)


def routing_bot(*intent_cards, library=LIBRARY, settings=None, entities=()):
    return bot(main(
        node("ask", text("What now?"), card("wait", id="w"), *intent_cards, next="other"),
        node("a", text("A {{event.nlu.intent}}"), next="ask"),
        node("b", text("B"), next="ask"),
        node("other", text("other ({{event.nlu.intent}})"), next="ask"),
        start_next="ask",
    ), intents=list(library), entities=list(entities), settings=settings)


def test_a_library_intent_fires_and_event_nlu_names_it():
    chat = Chat(routing_bot(intent("i1", "a", intent="greet"), intent("i2", "b", intent="order")))
    assert chat.say("start") == ["What now?"]
    assert chat.say("hey, good morning!") == ["A greet", "What now?"]
    assert chat.say("a pepperoni pizza please") == ["B", "What now?"]
    nlu = [t for t in chat.last.trace if t["type"] == "nlu"][0]
    assert nlu["intent"] == "order" and nlu["confidence"] >= 0.6


def test_nothing_matching_takes_the_node_default_transition():
    chat = Chat(routing_bot(intent("i1", "a", intent="greet"), intent("i2", "b", intent="order")))
    chat.say("start")
    assert chat.say("what is the boiling point of water") == ["other (none)", "What now?"]


def test_the_none_card_fires_when_nothing_matches():
    chat = Chat(routing_bot(intent("i1", "a", intent="greet"), intent("i0", "b", intent="none")))
    chat.say("start")
    assert chat.say("explain quantum physics to me") == ["B", "What now?"]
    assert chat.say("hello there") == ["A greet", "What now?"]


def test_inline_intents_of_one_node_are_told_apart():
    chat = Chat(routing_bot(intent("yes", "a", utterances=YES), intent("no", "b", utterances=NO), library=[]))
    chat.say("start")
    assert chat.say("nope, not at all") == ["B", "What now?"]
    assert chat.say("yes, go ahead") == ["A none", "What now?"]  # inline intents never become event.nlu.intent


def test_the_first_card_that_holds_fires_and_the_rest_is_skipped():
    chat = Chat(routing_bot(intent("i1", "a", intent="greet"), intent("i2", "b", intent="greet")))
    chat.say("start")
    assert chat.say("hello!") == ["A greet", "What now?"]
    checked = [t["card"] for t in chat.last.trace if t["type"] == "intent_checked"]
    assert checked == ["i1"]


def test_an_unconnected_intent_card_is_skipped():
    chat = Chat(routing_bot(intent("i1", None, intent="greet"), intent("i2", "b", intent="order")))
    chat.say("start")
    assert chat.say("hello") == ["other (greet)", "What now?"]


def test_the_bot_threshold_decides_what_is_sure_enough():
    strict = Chat(routing_bot(intent("i1", "a", intent="greet"), settings={"intentConfidence": 0.9999}))
    strict.say("start")
    assert strict.say("hey how are things") == ["other (none)", "What now?"]
    lenient = Chat(routing_bot(intent("i1", "a", intent="greet"), settings={"intentConfidence": 0.05}))
    lenient.say("start")
    assert lenient.say("hey how are things") == ["A greet", "What now?"]


def test_an_event_without_text_matches_no_intent():
    chat = Chat(routing_bot(intent("i1", "a", intent="greet"), intent("i0", "b", intent="none")))
    chat.say("start")
    chat.send({"type": "image", "payload": {"url": "https://example.org/cat.png"}})
    assert [o["text"] for o in chat.last.outputs] == ["B", "What now?"]
    assert "nlu" not in [t["type"] for t in chat.last.trace]


def test_event_nlu_lists_runners_up_and_entities():
    chat = Chat(routing_bot(
        intent("i1", "a", intent="greet"),
        entities=[{"name": "size", "type": "list", "values": [{"name": "large", "synonyms": ["big", "xl"]}]},
                  {"name": "code", "type": "pattern", "pattern": r"[a-z]{2}\d{2}", "ignoreCase": True,
                   "sensitive": True}],
    ))
    chat.say("start")
    result = run_turn(chat.build, TurnInput(chat.state, {"type": "text", "payload": {"text": "a lareg pizza, code AB12"}}))
    nlu = [t for t in result.trace if t["type"] == "nlu"][0]
    assert nlu["entities"] == ["size", "code"]  # types only: values stay out of the trace
    value = chat.build.nlu.analyse("a lareg pizza, code AB12", now=datetime.now(timezone.utc), tz="UTC").event_value()
    assert [i["name"] for i in value["intents"]] == ["order", "greet"]
    assert value["entities"] == [
        {"type": "size", "source": "list", "value": "large", "start": 2, "end": 7, "text": "lareg", "typos": 1},
        {"type": "code", "source": "pattern", "value": "AB12", "start": 20, "end": 24, "text": "AB12",
         "sensitive": True},
    ]


def test_a_bot_with_entities_but_no_intents_still_gets_event_nlu():
    chat = Chat(bot(main(node("n", text("{{event.nlu.intent}} {{event.nlu.entities[0].value}}")), start_next="n"),
                    entities=[{"name": "city", "type": "list", "values": [{"name": "Paris"}]}]))
    assert chat.say("fly me to paris") == ["none Paris"]


def test_a_bot_without_intents_or_entities_has_no_event_nlu():
    chat = Chat(bot(main(node("n", text("[{{typeof event.nlu}}]")), start_next="n")))
    assert chat.build.nlu is None
    assert chat.say("hello") == ["[undefined]"]


@pytest.mark.parametrize("fields, path, phrase", [
    ({"intent": "greet", "utterances": YES}, "cards[1]", "not both and not neither"),
    ({}, "cards[1]", "not both and not neither"),
    ({"utterances": YES[:4]}, "cards[1].utterances", "has 4 utterances; an intent needs at least 10"),
    ({"utterances": YES[:9] + ["x" * 281]}, "cards[1].utterances[9]", "at most 280"),
    ({"intent": "refund"}, "cards[1].intent", "no intent 'refund' in the library (intents: greet, order)"),
])
def test_bad_intent_cards_are_named(fields, path, phrase):
    with pytest.raises(BuildError) as err:
        compile_bot(bot(main(node("n", text("x"), card("intent", id="bad", next="n", **fields)), start_next="n"),
                        intents=LIBRARY))
    problems = {p.path: p.message for p in err.value.problems}
    assert any(p.endswith(path) and phrase in m for p, m in problems.items()), problems


def test_a_stored_model_is_used_only_for_the_intents_it_was_trained_on():
    definition = routing_bot(intent("i1", "a", intent="greet"))
    stored = compile_bot(definition).nlu.model.to_bytes()
    assert compile_bot(definition, intent_model=stored).nlu.model.fingerprint == \
        compile_bot(definition).nlu.model.fingerprint
    changed = routing_bot(intent("i1", "a", intent="greet"),
                          library=[LIBRARY[0], {"name": "order", "utterances": ORDER[:-1] + ["a calzone please"]}])
    rebuilt = compile_bot(changed, intent_model=stored).nlu.model
    assert rebuilt.fingerprint != compile_bot(definition).nlu.model.fingerprint
    assert compile_bot(changed, intent_model=b"garbage").nlu.model.fingerprint == rebuilt.fingerprint


def test_capture_cards_can_use_library_entities():
    chat = Chat(bot(main(node(
        "n",
        card("capture", id="c1", capture="entity_list", variable="workflow.size", prompt="Size?", entity="size"),
        card("capture", id="c2", capture="entity_regex", variable="workflow.card", prompt="Card?", entity="card"),
        text("{{size}} / {{card.slice(-4)}}"),
    ), start_next="n"), entities=[
        {"name": "size", "type": "list", "fuzzy": "loose", "values": [{"name": "large", "synonyms": ["big"]}]},
        {"name": "card", "type": "pattern", "pattern": r"(\d{4} ?){4}", "sensitive": True},
    ]))
    chat.say("hi")
    assert chat.say("a lrgae one") == ["Card?"]
    assert chat.say("4111 1111 1111 1234") == ["large / 1234"]
    assert "4111" not in str(chat.last.trace)


@pytest.mark.parametrize("fields, phrase", [
    ({"capture": "entity_list", "entity": "nope"}, "no entity 'nope' in the library (list entities: size)"),
    ({"capture": "entity_regex", "entity": "size"}, "entity 'size' is a list entity; an entity_regex capture needs"),
    ({"capture": "entity_list"}, "needs either entity (a library entity) or options.entities"),
    ({"capture": "number", "entity": "size"}, "entity only applies to entity_list and entity_regex"),
    ({"capture": "weight", "options": {"unit": "parsec"}}, "options.unit 'parsec' is not one of"),
    ({"capture": "number", "options": {"unit": "kg"}}, "options.unit is not an option of a number capture"),
    ({"capture": "price", "options": {"currency": "DOLLARS"}}, "not an ISO 4217 currency code"),
])
def test_bad_capture_entity_and_options_are_refused_at_build(fields, phrase):
    with pytest.raises(BuildError) as err:
        compile_bot(bot(main(node("n", card("capture", id="c", variable="workflow.v", prompt="?", **fields)),
                             start_next="n"),
                        entities=[{"name": "size", "type": "list", "values": [{"name": "large"}]}]))
    assert phrase in str(err.value)


def test_a_sensitive_pattern_entity_is_starred_in_the_text_to_store():
    chat = Chat(bot(main(node("n", text("{{event.nlu.entities.length}}")), start_next="n"),
                    entities=[{"name": "iban", "type": "pattern", "pattern": r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}",
                               "sensitive": True},
                              {"name": "city", "type": "list", "values": [{"name": "Paris"}]}]))
    assert chat.say("send it to FR7630006000011234567890189 in Paris") == ["2"]
    assert chat.last.masked_text == "send it to *************************** in Paris"
    chat.say("nothing secret in Paris")
    assert chat.last.masked_text is None
