"""Record and replay of LLM calls (runtime/engine/llm_replay.py): a recording, once through
JSON, answers the same turn again with no model; a changed request fails with its diff; a
call beyond the recording fails naming it; a stored turn's trace rebuilds the recording."""
import json

import pytest

from runtime.engine.llm import LLMError, LLMRequest, ScriptedLLM, ToolSpec, tool_call
from runtime.engine.llm_replay import (RecordingLLM, ReplayLLM, ReplayMismatch, exchanges_from_trace,
                                       record_request)

from .chat import Chat, bot, card, flow, main, node, text

LOOKUP = ToolSpec("lookup", "Find an order", {"type": "object", "properties": {"id": {"type": "string"}}})


def through_json(value):
    return json.loads(json.dumps(value))


def support_bot():
    return bot(main(node("n", card("ai_task", id="classify", instructions="Find the topic.",
                                   outputs=[{"variable": "workflow.topic", "description": "the topic"}]),
                         card("ai_generate_text", id="gen", instructions="Be terse.\nOne sentence.",
                                   prompt="{{workflow.topic}}: {{event.preview}}", onFailure="sorry"),
                         text("({{workflow.topic}})")),
                    node("sorry", text("The assistant is unavailable.")),
                    start_next="n", variables=[{"name": "topic", "type": "string"}]))


def test_a_recorded_conversation_replays_to_the_same_outputs_and_state():
    recording = RecordingLLM(ScriptedLLM(['{"topic": "billing"}', "Your invoice is attached.",
                                          '{"topic": "refund"}',
                                          LLMError("rate limited", provider="acme", status=429)]))
    live = Chat(support_bot(), llm=recording)
    said = [live.say("my invoice?"), live.say("my money back")]
    assert said == [["Your invoice is attached.", "(billing)"], ["The assistant is unavailable."]]
    exchanges = through_json(recording.exchanges)
    assert [e.get("card") for e in exchanges] == ["classify", "gen", "classify", "gen"]
    assert exchanges[3]["error"] == {"message": "rate limited", "provider": "acme", "status": 429}

    replay = ReplayLLM(exchanges)
    again = Chat(support_bot(), llm=replay)
    assert [again.say("my invoice?"), again.say("my money back")] == said
    assert json.dumps(again.state, sort_keys=True) == json.dumps(live.state, sort_keys=True)
    assert (replay.problems, replay.calls, replay.unused) == ([], 4, [])


def test_tool_calls_and_the_whole_request_are_recorded_and_replayed():
    request = LLMRequest(messages=({"role": "user", "content": "where is order 7?"},), model="Best",
                         tools=(LOOKUP,), tool_choice="auto", temperature=0.2, max_tokens=50, card="agent")
    recording = RecordingLLM(ScriptedLLM([tool_call("lookup", {"id": "7"}, id="c1")]))
    answered = recording.complete(request)
    [exchange] = through_json(recording.exchanges)
    assert exchange["request"] == {
        "model": "Best", "messages": [{"role": "user", "content": "where is order 7?"}],
        "tools": [LOOKUP.wire()], "toolChoice": "auto", "temperature": 0.2, "maxTokens": 50}
    assert exchange["answer"]["toolCalls"] == [{"id": "c1", "name": "lookup", "arguments": '{"id": "7"}'}]
    assert exchange["answer"]["finishReason"] == "tool_calls"

    replayed = ReplayLLM([exchange]).complete(request)
    assert (replayed.text, replayed.tool_calls, replayed.finish_reason) == (
        answered.text, answered.tool_calls, answered.finish_reason)


def test_a_changed_tool_is_a_different_request_with_its_diff():
    request = LLMRequest(messages=({"role": "user", "content": "hi"},), tools=(LOOKUP,))
    recorded = {"request": record_request(request), "answer": {"text": "ok"}}
    changed = LLMRequest(messages=request.messages,
                         tools=(ToolSpec("lookup", "Find an order by its number", LOOKUP.parameters),))
    replay = ReplayLLM(through_json([recorded]), where="step 1")
    with pytest.raises(ReplayMismatch) as raised:
        replay.complete(changed)
    assert '-      "description": "Find an order",' in raised.value.diff.splitlines()
    assert '+      "description": "Find an order by its number",' in raised.value.diff.splitlines()
    assert replay.problems == [raised.value] and raised.value.provider == "replay"


def test_a_call_beyond_the_recording_names_it_and_sends_nothing():
    replay = ReplayLLM([], where="step 4")
    with pytest.raises(ReplayMismatch) as raised:
        replay.complete(LLMRequest(messages=({"role": "user", "content": "hi"},), card="gen"))
    assert str(raised.value) == ("LLM provider 'replay': LLM call 1 (card 'gen') is beyond the recording: "
                                 "step 4 recorded 0 calls; record the test again (bot test --record, or Save as test)")


def test_a_streamed_answer_is_replayed_as_a_stream():
    request = LLMRequest(messages=({"role": "user", "content": "hi"},), stream=True)
    pieces = []
    ReplayLLM([{"request": record_request(request), "answer": {"text": "Hello there"}}]).complete(
        request, pieces.append)
    assert "".join(pieces) == "Hello there"


def test_a_turns_trace_rebuilds_its_recording():
    recording = RecordingLLM(ScriptedLLM(['{"topic": "billing"}',
                                          LLMError("server error", provider="acme", status=500)]))
    c = Chat(support_bot(), llm=recording)
    c.say("my invoice?")
    assert exchanges_from_trace(through_json(c.last.trace)) == through_json(recording.exchanges)
