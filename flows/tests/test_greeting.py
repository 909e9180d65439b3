"""flows.greeting.greets_on_open: does opening the chat make the bot say something?"""
import json
from pathlib import Path

import pytest

from flows.greeting import greets_on_open

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def bot(*flows):
    return {"format": 1, "name": "b", "flows": list(flows)}


def main(*nodes):
    return {"name": "main", "nodes": [{"id": "start", "kind": "start", "next": "hello"}, *nodes]}


def on_open(next_id="hello", **trigger):
    return {"id": "on-open", "kind": "trigger", "trigger": {"type": "conversation_started", **trigger}, "next": next_id}


def node(node_id, *cards, next_id=None, kind="standard"):
    return {"id": node_id, "kind": kind, "cards": list(cards), "next": next_id}


def text(card_id="t", value="Hi!"):
    return {"id": card_id, "type": "text", "text": value}


def test_a_trigger_on_conversation_started_that_leads_to_a_message_greets():
    assert greets_on_open(bot(main(on_open(), node("hello", text()))))


def test_no_trigger_no_greeting_even_when_start_says_hello():
    # main's start runs on the first user message, not when the chat opens.
    assert not greets_on_open(bot(main(node("hello", text()))))


def test_a_trigger_for_another_event_does_not_greet():
    other = {"id": "on-buy", "kind": "trigger", "trigger": {"type": "event", "eventType": "buy"}, "next": "hello"}
    assert not greets_on_open(bot(main(other, node("hello", text()))))


def test_a_trigger_to_nothing_or_to_silent_cards_does_not_greet():
    assert not greets_on_open(bot(main(on_open(next_id=None), node("hello", text()))))
    silent = node("quiet", {"id": "c", "type": "code", "code": "1"}, {"id": "l", "type": "log", "message": "x"})
    assert not greets_on_open(bot(main(on_open("quiet"), silent, node("hello", text()))))


def test_a_message_after_a_wait_is_an_answer_not_a_greeting():
    waits = node("hello", {"id": "w", "type": "wait"}, text())
    assert not greets_on_open(bot(main(on_open(), waits)))


def test_the_greeting_may_be_some_nodes_away_or_behind_a_branch():
    chain = [on_open("a"), node("a", {"id": "c", "type": "code", "code": "1"}, next_id="b"),
             node("b", {"id": "x", "type": "expression", "condition": "user.vip", "next": "vip"}),
             node("vip", text())]
    assert greets_on_open(bot(main(*chain)))


def test_a_capture_prompt_and_an_autonomous_node_speak():
    capture = {"id": "ask", "type": "capture", "capture": "name", "variable": "user.name", "prompt": "Your name?"}
    assert greets_on_open(bot(main(on_open(), node("hello", capture))))
    assert greets_on_open(bot(main(on_open(), node("hello", kind="autonomous"))))


def test_an_ai_text_greets_unless_it_only_stores_the_answer():
    generate = {"id": "g", "type": "ai_generate_text", "prompt": "Say hi"}
    assert greets_on_open(bot(main(on_open(), node("hello", generate))))
    stored = {**generate, "sendToUser": False, "variable": "workflow.hi"}
    assert not greets_on_open(bot(main(on_open(), node("hello", stored))))


def test_a_called_flow_that_speaks_greets():
    welcome = {"name": "welcome", "nodes": [{"id": "entry", "kind": "entry", "next": "say"}, node("say", text("w")),
                                            {"id": "exit", "kind": "exit"}]}
    call = {"id": "call", "type": "call", "flow": "welcome", "name": "welcome", "inputs": {}}
    assert greets_on_open(bot(main(on_open(), node("hello", call)), welcome))


def test_a_trigger_in_another_flow_counts():
    other = {"name": "intro", "nodes": [{"id": "entry", "kind": "entry", "next": "exit"}, on_open("say"),
                                        node("say", text()), {"id": "exit", "kind": "exit"}]}
    assert greets_on_open(bot(main(node("hello", text())), other))


def test_the_first_unconditional_trigger_wins_a_later_one_never_runs():
    silent_first = on_open(next_id="quiet")
    speaking_second = {**on_open(), "id": "on-open-2"}
    assert not greets_on_open(bot(main(silent_first, speaking_second, node("quiet"), node("hello", text()))))
    # With a condition the first may not match, so the second may greet.
    conditional = on_open(next_id="quiet", condition="user.returning")
    assert greets_on_open(bot(main(conditional, speaking_second, node("quiet"), node("hello", text()))))


def test_loops_end_and_broken_files_answer_without_raising():
    loop = [on_open("a"), node("a", next_id="b"), node("b", next_id="a")]
    assert not greets_on_open(bot(main(*loop)))
    for broken in (None, [], {}, {"flows": "x"}, {"flows": [1, {"name": "main", "nodes": [None, {"kind": "trigger"}]}]},
                   bot(main(on_open("missing")))):
        assert greets_on_open(broken) is False


@pytest.mark.parametrize("name, expected", [("webchat-demo.bot.json", True), ("demo.bot.json", False),
                                            ("hello.bot.json", False)])
def test_the_examples(name, expected):
    assert greets_on_open(json.loads((EXAMPLES / name).read_text())) is expected
