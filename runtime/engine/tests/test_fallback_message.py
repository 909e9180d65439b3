"""A failed turn never leaves the visitor in silence: the bot's fallback message goes out
unless the error flow said something itself (docs/engine.md, "Errors")."""
import json

from runtime.engine.llm import ScriptedLLM
from runtime.engine.tests.chat import Chat, bot, card, flow, main, node, text

FALLBACK = "Sorry, something went wrong."


def failing_main(*before):
    return main(node("a", *before, card("code", id="boom", code="throw new Error('kaput')")), start_next="a")


def error_flow(*cards):
    return flow("error", node("entry", kind="entry", next="e"), node("e", *cards))


def test_a_failing_code_card_without_an_error_flow_sends_the_default_fallback():
    chat = Chat(bot(failing_main()))
    assert chat.say("hi") == [FALLBACK]
    assert chat.last.error["card"] == "boom"
    assert [t["text"] for t in chat.last.trace if t["type"] == "fallback_sent"] == [FALLBACK]
    # The dialog ended: the next message starts over (and fails the same way, visibly).
    assert chat.say("again") == [FALLBACK]


def test_the_fallback_message_is_the_bots_setting():
    chat = Chat(bot(failing_main(), settings={"fallbackMessage": "Oops, try again later."}))
    assert chat.say("hi") == ["Oops, try again later."]


def test_an_empty_fallback_message_turns_it_off():
    chat = Chat(bot(failing_main(), settings={"fallbackMessage": ""}))
    assert chat.say("hi") == []
    assert chat.last.error["card"] == "boom"


def test_an_error_flow_that_sends_a_message_replaces_the_fallback():
    chat = Chat(bot(failing_main(), error_flow(text("We hit a snag at {{event.error.card}}."))))
    assert chat.say("hi") == ["We hit a snag at boom."]


def test_an_error_flow_that_sends_nothing_still_runs_and_the_fallback_follows():
    chat = Chat(bot(failing_main(), error_flow(card("code", code="user.failures = (user.failures || 0) + 1"))))
    assert chat.say("hi") == [FALLBACK]
    assert chat.user["failures"] == 1
    assert "entered_flow" in [t["type"] for t in chat.last.trace if t.get("flow") == "error"]


def test_messages_sent_before_the_failure_do_not_stand_in_for_it():
    chat = Chat(bot(failing_main(text("Let me look that up..."))))
    assert chat.say("hi") == ["Let me look that up...", FALLBACK]


def test_a_custom_event_from_the_error_flow_is_not_a_message_for_the_visitor():
    chat = Chat(bot(failing_main(), error_flow(card("sendEvent", payload={"kind": "failed"}))))
    assert chat.say("hi") == ["event", FALLBACK]


def test_an_error_flow_that_fails_after_speaking_sends_no_fallback():
    chat = Chat(bot(failing_main(), error_flow(text("Something broke."), card("code", code="throw new Error('again')"))))
    assert chat.say("hi") == ["Something broke."]


def test_an_error_flow_that_fails_silently_gets_the_fallback():
    chat = Chat(bot(failing_main(), error_flow(card("code", code="throw new Error('again')"))))
    assert chat.say("hi") == [FALLBACK]


def test_a_turn_without_an_error_sends_no_fallback():
    chat = Chat(bot(main(node("a", text("hello")), start_next="a")))
    assert chat.say("hi") == ["hello"]
    assert chat.last.error is None


def test_the_translator_agent_translates_the_fallback_like_any_reply():
    llm = ScriptedLLM(["I would like my order status", json.dumps({"translations": ["Désolé, une erreur est survenue."]})])
    chat = Chat(bot(failing_main(), agents={"translator": {"enabled": True}},
                    settings={"languages": ["en", "fr"], "defaultLanguage": "en"}), llm=llm)
    assert chat.say("Je voudrais le statut de ma commande, s'il vous plaît") == ["Désolé, une erreur est survenue."]
    assert json.loads(llm.requests[1].messages[1]["content"]) == {"messages": [FALLBACK]}
