"""The autonomous node against a scripted model: its cards as tools, the built-in tools,
waiting for the user across turns, its limits and its errors."""
import json

import pytest

from runtime.engine import BuildError, compile_bot
from runtime.engine.autonomous import HOLD_CHARS, TRANSCRIPT_LIMIT_BYTES
from runtime.engine.llm import LLMError, LLMResponse, ScriptedLLM, ToolCall, ToolSpec, tool_call
from runtime.engine.turn import state_size

from .chat import Chat, bot, card, flow, main, node, text

ERROR_FLOW = flow("error", node("entry", kind="entry", next="e"),
                  node("e", text("error: {{event.error.message}}"), kind="standard"))
VARS = [{"name": "total", "type": "number"}, {"name": "email", "type": "string"}]


def auto(id, *cards, instructions="Help the user.", next=None, **fields):
    return {"id": id, "kind": "autonomous", "cards": list(cards), "next": next, "instructions": instructions,
            **fields}


def chat(*nodes, script=(), extra_flows=(), tools=None, variables=VARS):
    llm = ScriptedLLM(list(script))
    definition = bot(main(*nodes, start_next="n", variables=variables), ERROR_FLOW, *extra_flows)
    return Chat(definition, llm=llm, tools=tools), llm


def entries(c, kind):
    return [t for t in c.last.trace if t["type"] == kind]


def tool_messages(request):
    return [json.loads(m["content"]) if m["content"].startswith("{") else m["content"]
            for m in request.messages if m["role"] == "tool"]


# ---- the loop ---------------------------------------------------------------------------------

LONG_ANSWER = ("The total is 42: six times seven, as you asked. I stored it in the workflow, so the next "
               "step can use it.")


def test_tool_calls_run_in_order_then_the_text_answer_is_streamed_and_the_node_waits():
    assert len(LONG_ANSWER) > HOLD_CHARS
    c, llm = chat(auto("n", text("Hello there!", id="greet"), card("code", id="calc", code="workflow.total = 6 * 7"),
                       instructions="Greet, then compute the total."),
                  script=[tool_call("greet"), tool_call("calc", text="Now the total."), LONG_ANSWER])
    assert c.say("hi") == ["Hello there!", LONG_ANSWER]
    first = llm.requests[0]
    assert first.messages[0]["role"] == "system" and first.messages[0]["content"].startswith(
        "Greet, then compute the total.")
    assert first.messages[-1] == {"role": "user", "content": "hi"}
    assert [t.name for t in first.tools] == ["send_message", "wait_for_user_input", "greet", "calc"]
    assert tool_messages(llm.requests[1]) == [{"ok": True}]
    assert tool_messages(llm.requests[2])[-1] == {"ok": True, "wrote": {"workflow.total": 42}}
    # the answer was streamed under the id its message carries, its first HOLD_CHARS in one
    # piece; the short thought was held back, so it was never streamed at all
    stream_id = c.last.outputs[-1]["streamId"]
    pieces = [d for sid, d in c.streamed if sid == stream_id]
    assert "".join(pieces) == LONG_ANSWER and len(pieces) > 1 and len(pieces[0]) >= HOLD_CHARS
    assert [sid for sid, _ in c.streamed if sid != stream_id] == []
    kinds = [t["type"] for t in c.last.trace if t["type"] in ("tool_call", "tool_result", "autonomous_thought")]
    assert kinds == ["tool_call", "tool_result", "autonomous_thought", "tool_call", "tool_result"]
    assert entries(c, "tool_call")[1] == {**entries(c, "tool_call")[1], "node": "n", "card": "calc", "name": "calc"}
    [thought] = entries(c, "autonomous_thought")
    assert thought["text"] == "Now the total." and "streamId" not in thought
    assert c.discarded == []
    assert c.last.waiting and not c.last.ended


def test_a_short_answer_is_sent_whole_and_a_long_thought_is_taken_back():
    thought = "I need the total first, so I will run the calculation card, then tell the user what it came to in the end."
    assert len(thought) > HOLD_CHARS
    c, _ = chat(auto("n", card("code", id="calc", code="workflow.total = 6 * 7")),
                script=[tool_call("calc", text=thought), "The total is 42."])
    assert c.say("hi") == ["The total is 42."]
    assert "streamId" not in c.last.outputs[-1]  # under HOLD_CHARS: never streamed
    [entry] = entries(c, "autonomous_thought")
    # the long thought was streamed before it was known to be one, then taken back
    assert "".join(d for sid, d in c.streamed if sid == entry["streamId"]) == thought
    assert c.discarded == [entry["streamId"]]


def test_the_reply_resumes_the_loop_after_wait_for_user_input_even_after_a_restart():
    definition = bot(main(auto("n", next="done"), node("done", text("Bye {{workflow.email}}")),
                          start_next="n", variables=VARS), ERROR_FLOW)
    llm = ScriptedLLM([tool_call("send_message", {"text": "Your email?"}), tool_call("wait_for_user_input"),
                       tool_call("transition", {"node": "done"})])
    c = Chat(definition, llm=llm)
    assert c.say("hi") == ["Your email?"]
    assert c.last.waiting
    c.state = json.loads(json.dumps(c.state))  # stored and loaded
    c.build = compile_bot(definition)  # a server restart compiles the bot again
    assert c.say("ada@example.com") == ["Bye "]
    transcript = llm.requests[2].messages[1:]
    assert [m["role"] for m in transcript] == ["user", "assistant", "tool", "assistant", "tool", "user"]
    assert transcript[-1] == {"role": "user", "content": "ada@example.com"}
    assert "transitioned" in c.trace_types() and c.state["frames"] == []


def test_a_plain_answer_waits_and_the_reply_is_appended():
    c, llm = chat(auto("n"), script=["What can I do for you?", "Sure."])
    assert c.say("hi") == ["What can I do for you?"]
    assert c.say("a pizza") == ["Sure."]
    assert [m["role"] for m in llm.requests[1].messages] == ["system", "user", "assistant", "user"]
    assert llm.requests[1].messages[-1]["content"] == "a pizza"


def test_transition_goes_to_next_or_a_listed_node_and_nowhere_else():
    c, llm = chat(auto("n", next="a", transitions=["b"]), node("a", text("at a")), node("b", text("at b")),
                  script=[tool_call("transition", {"node": "start"}), tool_call("transition", {"node": "b"})])
    assert c.say("go") == ["at b"]
    [spec] = [t for t in llm.requests[0].tools if t.name == "transition"]
    assert spec.parameters["properties"]["node"]["enum"] == ["a", "b"]
    assert "bad arguments for 'transition'" in tool_messages(llm.requests[1])[0]["error"]


# ---- the model's mistakes go back to it ---------------------------------------------------------

def test_an_unknown_tool_is_an_error_result_the_model_can_fix():
    c, llm = chat(auto("n"), script=[tool_call("book_flight", {"to": "Rome"}), "I cannot book flights."])
    assert c.say("fly me") == ["I cannot book flights."]
    [result] = tool_messages(llm.requests[1])
    assert result["error"].startswith("there is no tool 'book_flight'; the tools are: send_message")
    assert entries(c, "tool_result")[0]["error"] is True


def test_arguments_that_fail_the_schema_are_an_error_result():
    c, llm = chat(auto("n"), script=[tool_call("send_message", {"txt": "hi"}), tool_call("send_message", {"text": "hi"}),
                                     "done"])
    assert c.say("x") == ["hi", "done"]
    error = tool_messages(llm.requests[1])[0]["error"]
    assert "'text' is a required property" in error and "'txt' was unexpected" in error


def test_arguments_that_are_not_json_are_an_error_result():
    c, llm = chat(auto("n"), script=[tool_call("send_message", '{"text": "hi'), "sorry"])
    assert c.say("x") == ["sorry"]
    assert "are not JSON" in tool_messages(llm.requests[1])[0]["error"]


def test_an_endless_tool_loop_is_stopped_by_max_iterations():
    c, llm = chat(auto("n", card("code", id="calc", code="workflow.total = 1"), maxIterations=3),
                  script=[tool_call("calc")] * 5)
    [reply] = c.say("x")
    assert reply == ("error: autonomous node 'n' reached its limit of 3 model calls without waiting "
                     "for the user or moving on (maxIterations)")
    assert len(llm.requests) == 3


def test_the_guard_counts_again_after_each_user_message():
    c, llm = chat(auto("n", maxIterations=2), script=[tool_call("send_message", {"text": "1"}), "a?",
                                                       tool_call("send_message", {"text": "2"}), "b?"])
    assert c.say("x") == ["1", "a?"]
    assert c.say("y") == ["2", "b?"]


def test_a_failing_model_runs_the_error_flow_naming_the_node_provider_and_status():
    c, _ = chat(auto("n"), script=[LLMError("server error", provider="openai", status=500)])
    [reply] = c.say("x")
    assert reply == "error: autonomous node 'n': LLM provider 'openai' (HTTP 500): server error"
    assert "'openai' (HTTP 500)" in c.last.error["message"] and c.last.error["node"] == "n"


def test_a_bot_without_provider_is_a_clear_error():
    c = Chat(bot(main(auto("n"), start_next="n"), ERROR_FLOW))
    [reply] = c.say("x")
    assert "autonomous node 'n': this bot has no LLM provider" in reply


# ---- cards as tools -------------------------------------------------------------------------------

def capture(**kw):
    return card("capture", id="ask_email", capture="email", variable="workflow.email",
                prompt="What is your email?", **kw)


def test_a_capture_takes_a_value_the_model_read_checked_by_its_type():
    c, llm = chat(auto("n", capture()), script=[tool_call("ask_email", {"value": "not an email"}),
                                                tool_call("ask_email", {"value": "ada@example.com"}), "Thanks."])
    assert c.say("my email is ada@example.com") == ["Thanks."]
    bad, good = tool_messages(llm.requests[2])
    assert bad["error"].startswith("'not an email' is not a valid Email Address")
    assert good == {"ok": True, "variable": "workflow.email", "value": "ada@example.com"}
    assert c.last.state["frames"][0]["vars"]["email"] == "ada@example.com"


def test_a_capture_without_value_asks_the_user_and_waits_for_the_answer():
    c, llm = chat(auto("n", capture(), next="done"), node("done", text("got {{workflow.email}}")),
                  script=[tool_call("ask_email"), tool_call("transition", {"node": "done"})])
    assert c.say("hi") == ["What is your email?"]
    c.state = json.loads(json.dumps(c.state))
    assert c.say("nope") == ["What is your email?"]  # the capture's own retry
    assert c.say("ada@example.com") == ["got ada@example.com"]
    [result] = tool_messages(llm.requests[1])
    assert result == {"ok": True, "variable": "workflow.email", "value": "ada@example.com",
                      "userSaid": "ada@example.com"}


def test_a_sensitive_capture_never_shows_the_secret_to_the_model():
    pin = card("capture", id="ask_pin", capture="entity_regex", variable="workflow.email", prompt="PIN?",
               options={"pattern": "[0-9]{4}"}, sensitive=True)
    c, llm = chat(auto("n", pin), script=[tool_call("ask_pin"), "Thanks."])
    assert c.say("hi") == ["PIN?"]
    assert c.say("it is 1234") == ["Thanks."]
    [result] = tool_messages(llm.requests[1])
    assert result == {"ok": True, "variable": "workflow.email", "value": "*****", "userSaid": "it is ****"}
    assert "1234" not in json.dumps(c.state["frames"][0]["auto"])


def test_a_card_taking_its_port_leaves_the_node():
    c, llm = chat(auto("n", card("expression", id="vip", condition="true", next="vip_node")),
                  node("vip_node", text("Welcome, VIP.")), script=[tool_call("vip")])
    assert c.say("hi") == ["Welcome, VIP."]
    assert entries(c, "tool_result")[0]["result"] == {"ok": True, "transitioned": "vip_node"}


def test_a_flow_call_card_returns_the_flows_outputs_to_the_node():
    callee = flow("lookup", node("entry", kind="entry", next="ask"),
                  node("ask", card("capture", capture="raw", variable="workflow.city", prompt="Which city?"),
                       next="out"),
                  node("out", kind="exit"),
                  variables=[{"name": "city", "type": "string", "output": True}])
    c, llm = chat(auto("n", card("call", id="find", flow="lookup", name="found")),
                  extra_flows=[callee], script=[tool_call("find"), "Paris it is."])
    assert c.say("hi") == ["Which city?"]
    assert c.say("Paris") == ["Paris it is."]
    assert tool_messages(llm.requests[1]) == [{"outputs": {"city": "Paris"}}]
    assert c.last.state["frames"][0]["vars"]["found"] == {"city": "Paris"}


def test_a_card_that_fails_reports_the_error_to_the_model():
    c, llm = chat(auto("n", card("code", id="boom", code="throw new Error('no stock')")),
                  script=[tool_call("boom"), "Out of stock, sorry."])
    assert c.say("buy") == ["Out of stock, sorry."]
    assert "no stock" in tool_messages(llm.requests[1])[0]["error"]
    assert any("no stock" in log["message"] for log in c.last.logs)


def test_calls_after_a_wait_in_the_same_answer_are_not_run_and_say_so():
    both = LLMResponse(text="", tool_calls=(ToolCall("1", "wait_for_user_input", "{}"),
                                            ToolCall("2", "send_message", '{"text": "late"}')))
    c, llm = chat(auto("n"), script=[both, "ok"])
    assert c.say("x") == []
    assert c.say("y") == ["ok"]
    waited, skipped = tool_messages(llm.requests[1])
    assert waited["ok"] and skipped["error"].startswith("not run")


# ---- MCP tools ---------------------------------------------------------------------------------------

class FakeToolHost:
    def __init__(self):
        self.calls = []

    def list_tools(self, servers):
        assert servers == ["weather"]
        return [ToolSpec("weather.forecast", "The forecast for a city.", {
            "type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}})]

    def call_tool(self, name, arguments):
        self.calls.append((name, arguments))
        if arguments["city"] == "Atlantis":
            raise LLMError("no such city", provider="mcp:weather")
        return f"sunny in {arguments['city']}"


def test_mcp_tools_are_offered_and_called_through_the_tool_host():
    host = FakeToolHost()
    c, llm = chat(auto("n", mcpServers=["weather"]), tools=host,
                  script=[tool_call("weather_forecast", {"city": "Atlantis"}),
                          tool_call("weather_forecast", {"city": "Paris"}), "Sunny in Paris."])
    assert c.say("weather?") == ["Sunny in Paris."]
    # The model sees a valid function name; the host gets the tool's own "<server>.<tool>".
    assert "weather_forecast" in [t.name for t in llm.requests[0].tools]
    assert host.calls == [("weather.forecast", {"city": "Atlantis"}), ("weather.forecast", {"city": "Paris"})]
    failed, ok = tool_messages(llm.requests[2])
    assert "no such city" in failed["error"] and ok == "sunny in Paris"


def test_an_unreachable_mcp_server_is_a_bot_error_naming_the_node():
    class Down(FakeToolHost):
        def list_tools(self, servers):
            raise LLMError("connection refused", provider="mcp:weather")

    c, _ = chat(auto("n", mcpServers=["weather"]), tools=Down(), script=["unused"])
    [reply] = c.say("x")
    assert reply == "error: autonomous node 'n': LLM provider 'mcp:weather': connection refused"


def test_mcp_servers_without_a_tool_host_is_a_clear_error():
    c, _ = chat(auto("n", mcpServers=["weather"]), script=["unused"])
    [reply] = c.say("x")
    assert "names MCP servers (weather) but this bot has no tool host" in reply


# ---- limits ---------------------------------------------------------------------------------------

def test_the_transcript_in_the_state_stays_bounded():
    c, llm = chat(auto("n"), script=["a" * 3000 for _ in range(40)])
    for i in range(40):
        c.say(f"message {i} " + "b" * 3000)
    assert state_size(c.state) < TRANSCRIPT_LIMIT_BYTES + 4096
    last = llm.requests[-1].messages
    assert last[-1]["content"].startswith("message 39 ")
    assert last[1]["role"] == "user"  # cut at an exchange, never in the middle of one
    assert "older messages of this node were dropped" in last[0]["content"]


def test_a_long_tool_result_is_cut():
    c, llm = chat(auto("n", card("code", id="big", code="workflow.email = 'x'.repeat(10000)")),
                  script=[tool_call("big"), "ok"])
    c.say("x")
    content = [m for m in llm.requests[1].messages if m["role"] == "tool"][0]["content"]
    assert len(content) < 4100 and "[cut:" in content


# ---- the bot file ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, path, phrase", [
    ({"instructions": ""}, "instructions", "an autonomous node needs instructions"),
    ({"maxIterations": 51}, "maxIterations", "less than or equal to 50"),
    ({"transitions": ["nowhere"]}, "transitions[0]", "transition to missing node 'nowhere'"),
])
def test_bad_autonomous_fields_are_build_problems(fields, path, phrase):
    with pytest.raises(BuildError) as info:
        compile_bot(bot(main({**auto("n"), **fields}, start_next="n")))
    [problem] = info.value.problems
    assert problem.path == f"$.flows[0].nodes[1].{path}" and phrase in problem.message


def test_a_card_may_not_be_named_like_a_built_in_tool():
    with pytest.raises(BuildError) as info:
        compile_bot(bot(main(auto("n", text("x", id="transition")), start_next="n")))
    assert "is a built-in tool" in info.value.problems[0].message


def test_standard_nodes_have_no_autonomous_fields():
    with pytest.raises(BuildError) as info:
        compile_bot(bot(main(node("n", text("x")) | {"instructions": "x"}, start_next="n")))
    assert info.value.problems[0].message == "only autonomous nodes have instructions; this is a standard node"


def test_one_long_exchange_is_bounded_at_a_tool_call_never_at_its_result():
    long = "z" * 3000
    c, llm = chat(auto("n", maxIterations=30), script=[tool_call("send_message", {"text": long}, id=f"call{i}") for i in range(25)] + ["done"])
    c.say("go")
    assert state_size(c.state) < TRANSCRIPT_LIMIT_BYTES + 4096
    sent = llm.requests[-1].messages[1:]
    assert sent[0]["role"] == "assistant" and sent[0]["tool_calls"]
    calls = {call["id"] for m in sent if m["role"] == "assistant" for call in m.get("tool_calls") or ()}
    assert all(m["tool_call_id"] in calls for m in sent if m["role"] == "tool")


def test_an_escalate_card_is_the_nodes_escalate_tool():
    c, llm = chat(auto("n", card("escalate", id="to_person", reason="the model asked", priority="urgent",
                                 message="A person will take over.")),
                  script=[tool_call("to_person"), "How else can I help?"])
    assert c.say("I want to talk to a person") == ["A person will take over."]
    spec = next(t for t in llm.requests[0].tools if t.name == "to_person")
    assert "human agent" in spec.description
    # The runtime hands the conversation to people; the node waits meanwhile.
    assert c.last.escalation == {"reason": "the model asked", "priority": "urgent", "card": "to_person"}
    assert c.last.waiting
    # Back with the bot (hitlStopped does not move the node), the next message resumes the loop.
    c.send({"type": "hitlStopped", "payload": {"reason": "returned"}})
    assert c.say("thanks") == ["How else can I help?"]
    assert tool_messages(llm.requests[1])[-1] == {"ok": True}
