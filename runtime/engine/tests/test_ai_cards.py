"""AI Generate Text, AI Task and AI Transition against a scripted model (the engine's LLM
interface; runtime tests talk to the HTTP test server instead)."""
import json

import pytest

from runtime.engine import BuildError, compile_bot
from runtime.engine.llm import LLMError, ScriptedLLM

from .chat import Chat, bot, card, flow, main, node, text


def chat(*nodes, start_next="n", variables=(), script=(), extra_flows=(), **kw):
    llm = ScriptedLLM(list(script))
    return Chat(bot(main(*nodes, start_next=start_next, variables=variables), *extra_flows), llm=llm, **kw), llm


ERROR_FLOW = flow("error", node("entry", kind="entry", next="e"),
                  node("e", text("error: {{event.error.message}}"), kind="standard"))


# ---- AI Generate Text ----------------------------------------------------------------------

def test_generate_text_sends_the_answer_streams_it_and_stores_it():
    c, llm = chat(node("n", card("ai_generate_text", id="gen", instructions="You are terse.",
                                 prompt="Answer: {{event.preview}}", variable="workflow.answer"),
                       text("stored: {{workflow.answer}}")),
                  variables=[{"name": "answer", "type": "string"}], script=["Paris is the capital."])
    assert c.say("capital of France?") == ["Paris is the capital.", "stored: Paris is the capital."]
    request = llm.requests[0]
    assert request.messages == ({"role": "system", "content": "You are terse."},
                                {"role": "user", "content": "Answer: capital of France?"})
    assert request.stream and request.card == "gen"
    assert "".join(delta for _, delta in c.streamed) == "Paris is the capital."
    assert c.last.outputs[0]["streamId"] == c.streamed[0][0]
    assert c.last.llm_calls[0]["card"] == "gen" and c.last.llm_calls[0]["tokensOut"] > 0
    kinds = c.trace_types()
    assert kinds.index("llm_request") < kinds.index("llm_response")


def test_generate_text_into_a_variable_only_does_not_stream_or_send():
    c, llm = chat(node("n", card("ai_generate_text", prompt="p", variable="workflow.a", sendToUser=False),
                       text("[{{workflow.a}}]")), script=["hidden"])
    assert c.say("x") == ["[hidden]"]
    assert not llm.requests[0].stream and c.streamed == []


def test_generate_text_failure_takes_the_failure_port():
    c, _ = chat(node("n", card("ai_generate_text", prompt="p", onFailure="sorry")),
                node("sorry", text("The assistant is unavailable.")),
                script=[LLMError("rate limited", provider="openai", status=429)])
    assert c.say("x") == ["The assistant is unavailable."]
    failed = [t for t in c.last.trace if t["type"] == "llm_failed"][0]
    assert failed["provider"] == "openai" and failed["status"] == 429


def test_generate_text_failure_without_a_port_runs_the_error_flow_naming_provider_and_status():
    c, _ = chat(node("n", card("ai_generate_text", id="gen", prompt="p")), extra_flows=[ERROR_FLOW],
                script=[LLMError("server error", provider="openai", status=500)])
    [reply] = c.say("x")
    assert reply.startswith("error: ai_generate_text card 'gen': LLM provider 'openai' (HTTP 500): server error")


def test_no_provider_is_a_clear_error():
    c = Chat(bot(main(node("n", card("ai_generate_text", prompt="p")), start_next="n"), ERROR_FLOW))
    [reply] = c.say("x")
    assert "no LLM provider" in reply


def test_memory_sends_the_last_user_messages():
    c, llm = chat(node("n", card("ai_generate_text", prompt="{{event.preview}}", useMemory=True), next="n2"),
                  node("n2", card("capture", capture="raw", variable="workflow.x", prompt="more?"), next="n"),
                  variables=[{"name": "x", "type": "string"}], script=["a1", "a2"])
    c.say("first")
    c.say("second")
    assert [m for m in llm.requests[0].messages if m["role"] == "user"] == [{"role": "user", "content": "first"}]
    assert llm.requests[1].messages == ({"role": "user", "content": "first"}, {"role": "user", "content": "second"})


def test_memory_prefers_the_summary_agent():
    c, llm = chat(node("n", card("ai_generate_text", prompt="now", useMemory=True)), script=["ok"])
    c.state = {"conversation": {"SummaryAgent": {"summary": "Ada ordered tea.", "transcript": [
        {"role": "user", "content": "tea please"}, {"role": "assistant", "content": "done"}]}}}
    c.say("x")
    assert llm.requests[0].messages == (
        {"role": "system", "content": "Summary of the conversation so far: Ada ordered tea."},
        {"role": "user", "content": "tea please"}, {"role": "assistant", "content": "done"},
        {"role": "user", "content": "now"})


def test_token_budget_stops_further_calls():
    c, llm = chat(node("n", card("ai_generate_text", prompt="p"), card("ai_generate_text", prompt="q")),
                  extra_flows=[ERROR_FLOW], script=["x" * 400, "second"], llm_token_budget=50)
    replies = c.say("go")
    assert replies[0] == "x" * 400
    assert "budget is 50" in replies[-1] and len(llm.requests) == 1


# ---- AI Task -------------------------------------------------------------------------------

TASK_VARS = [{"name": "order", "type": "pattern", "pattern": "[A-Z]{2}[0-9]{4}"},
             {"name": "size", "type": "enum", "values": ["s", "m", "l"]},
             {"name": "qty", "type": "number"}]


def task(**kw):
    return card("ai_task", id="t", instructions="Extract the order.", outputs=[
        {"variable": "workflow.order", "description": "the order number"},
        {"variable": "workflow.size"}, {"variable": "workflow.qty"}], **kw)


def test_task_writes_validated_structured_output():
    c, llm = chat(node("n", task(), text("{{workflow.order}} {{workflow.size}} {{workflow.qty}}")),
                  variables=TASK_VARS, script=[json.dumps({"order": "AB1234", "size": "m", "qty": 2})])
    assert c.say("order AB1234, two medium") == ["AB1234 m 2"]
    schema = llm.requests[0].response_schema
    assert schema["properties"]["size"] == {"type": "string", "enum": ["s", "m", "l"]}
    assert schema["properties"]["order"]["pattern"] == "[A-Z]{2}[0-9]{4}"
    assert schema["required"] == ["order", "size", "qty"]
    assert llm.requests[0].messages[-1] == {"role": "user", "content": "order AB1234, two medium"}


def test_task_retries_once_with_the_error_then_succeeds():
    c, llm = chat(node("n", task(), text("{{workflow.size}}")), variables=TASK_VARS,
                  script=["not json at all", json.dumps({"order": "AB1234", "size": "l", "qty": 1})])
    assert c.say("x") == ["l"]
    assert "not JSON" in llm.requests[1].messages[-1]["content"]
    assert "ai_task_invalid" in c.trace_types()


def test_task_wrong_schema_twice_fails_and_writes_nothing():
    c, llm = chat(node("n", task(onFailure="f"), text("unreachable")),
                  node("f", text("failed; order=[{{workflow.order}}]")), variables=TASK_VARS,
                  script=[json.dumps({"order": "AB1234", "size": "xl", "qty": 1}),
                          json.dumps({"order": "nope", "size": "m", "qty": "two"})])
    assert c.say("x") == ["failed; order=[]"]
    assert len(llm.requests) == 2
    assert "size: expected one of s, m, l" in llm.requests[1].messages[-1]["content"]


def test_task_needs_outputs():
    with pytest.raises(BuildError) as exc:
        compile_bot(bot(main(node("n", card("ai_task", instructions="x", outputs=[])), start_next="n")))
    assert "outputs" in str(exc.value)


# ---- AI Transition -------------------------------------------------------------------------

def transitions():
    return node("n", card("ai_transition", id="human", condition="The user wants a person", next="agent"),
                card("ai_transition", id="refund", condition="The user asks for a refund", next="refund"),
                next="other")


def test_transition_decides_once_for_the_group_and_takes_the_chosen_port():
    c, llm = chat(transitions(), node("agent", text("connecting you")), node("refund", text("refund desk")),
                  node("other", text("anything else?")),
                  script=[json.dumps({"choice": 2, "reason": "mentions money back"})])
    assert c.say("I want my money back") == ["refund desk"]
    assert len(llm.requests) == 1
    assert "2. The user asks for a refund" in llm.requests[0].messages[0]["content"]
    decision = [t for t in c.last.trace if t["type"] == "ai_transition"][0]
    assert decision["chosen"] == "refund" and decision["reason"] == "mentions money back"


def test_transition_none_goes_to_the_else():
    c, _ = chat(transitions(), node("agent", text("connecting you")), node("refund", text("refund desk")),
                node("other", text("anything else?")), script=[json.dumps({"choice": 0, "reason": "small talk"})])
    assert c.say("nice weather") == ["anything else?"]


@pytest.mark.parametrize("answer", ["maybe the second", json.dumps({"choice": 7, "reason": "?"}),
                                    json.dumps({"choice": True, "reason": "?"})])
def test_transition_malformed_decision_is_a_bot_error(answer):
    c, _ = chat(transitions(), node("agent", text("a")), node("refund", text("r")), node("other", text("o")),
                extra_flows=[ERROR_FLOW], script=[answer])
    [reply] = c.say("x")
    assert reply.startswith("error: AI Transition 'human'") and "is not a decision" in reply
