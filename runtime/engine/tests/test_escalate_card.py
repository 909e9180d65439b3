"""The Escalate to a Human card: what it sends, what it asks of the runtime, and where the
dialog goes when a person hands the conversation back (`hitlStopped`)."""
import pytest

from runtime.engine import BuildError, compile_bot

from .chat import Chat, bot, card, flow, main, node, text


def escalating_bot(**extra_flows):
    return bot(main(
        node("ask", text("Hello!"), card("escalate", id="esc", reason="asked for {{event.preview}}", priority="high",
                                         message="A person will be with you shortly."),
             text("Back with the bot. What else?"), next="end"),
        node("end", kind="end"),
        start_next="ask"), *extra_flows.values())


def stopped(reason):
    return {"type": "hitlStopped", "payload": {"reason": reason}}


def test_the_card_sends_its_message_asks_for_a_person_and_waits():
    chat = Chat(escalating_bot())
    assert chat.say("a human") == ["Hello!", "A person will be with you shortly."]
    assert chat.last.escalation == {"reason": "asked for a human", "priority": "high", "card": "esc"}
    assert chat.last.waiting and chat.state["waiting"] == "esc"
    assert "escalated" in chat.trace_types()


def test_handed_back_the_dialog_goes_on_after_the_card():
    chat = Chat(escalating_bot())
    chat.say("a human")
    result = chat.send(stopped("returned"))
    assert [o["text"] for o in result.outputs] == ["Back with the bot. What else?"]
    assert result.escalation is None
    assert "hitl_stopped" in chat.trace_types()
    # The dialog went on to the end node: the next message starts again at main/start.
    assert chat.say("hi again") == ["Hello!", "A person will be with you shortly."]


def test_ended_by_the_agent_the_dialog_ends_as_at_an_end_node():
    chat = Chat(escalating_bot(conversation_end=flow("conversation_end", node(
        "entry", text("Thanks for chatting."), kind="entry", next="x"), node("x", kind="exit"))))
    chat.say("a human")
    result = chat.send(stopped("ended"))
    assert [o["text"] for o in result.outputs] == ["Thanks for chatting."]
    assert result.ended and chat.state["frames"] == []


def test_hitl_stopped_elsewhere_changes_nothing():
    chat = Chat(bot(main(node("n", card("wait"), text("after wait")), start_next="n")))
    chat.say("hi")
    state = chat.state
    result = chat.send(stopped("returned"))
    assert result.outputs == [] and chat.state == state
    assert "event_ignored" in chat.trace_types()


def test_a_message_to_a_dialog_handed_back_without_the_event_goes_on_after_the_card():
    chat = Chat(escalating_bot())
    chat.say("a human")
    assert chat.say("still there?") == ["Back with the bot. What else?"]


def test_empty_message_sends_nothing_and_bad_priority_is_reported():
    chat = Chat(bot(main(node("n", card("escalate")), start_next="n")))
    assert chat.say("help") == []
    assert chat.last.escalation == {"reason": "", "priority": "normal", "card": chat.state["waiting"]}
    with pytest.raises(BuildError) as caught:
        compile_bot(bot(main(node("n", card("escalate", id="e", priority="asap")), start_next="n")))
    problems = {p.path: p.message for p in caught.value.problems}
    assert "'low', 'normal', 'high' or 'urgent'" in problems["$.flows[0].nodes[1].cards[0].priority"]
