"""Record and replay of an autonomous node's MCP tool exchanges (runtime/engine/tool_replay.py),
beside its LLM calls: a recording, once through JSON, answers the same turn again with no
model and no tool host; a call with other arguments, or beyond the recording, fails naming
the call; a stored turn's trace rebuilds the same steps."""
import json

import pytest

from runtime.engine import TurnInput, run_turn
from runtime.engine.llm import LLMError, ScriptedLLM, ToolSpec, tool_call
from runtime.engine.llm_replay import RecordingLLM, ReplayLLM
from runtime.engine.tool_replay import (RecordingTools, ReplayTools, ToolReplayMismatch,
                                        recorded_steps_from_trace)

from .chat import Chat, bot, flow, main, node, text

ERROR_FLOW = flow("error", node("entry", kind="entry", next="e"),
                  node("e", text("error: {{event.error.message}}"), kind="standard"))
FORECAST = ToolSpec("weather.forecast", "The forecast for a city.", {
    "type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}})


class WeatherHost:
    """A tool host with one MCP tool; Atlantis fails, Oslo answers two lines."""

    def __init__(self):
        self.asked = []

    def list_tools(self, servers):
        self.asked.append(("list", servers))
        return [FORECAST]

    def call_tool(self, name, arguments):
        self.asked.append((name, arguments))
        if arguments["city"] == "Atlantis":
            raise LLMError("no such city", provider="mcp:weather", status=404)
        if arguments["city"] == "Oslo":
            return "rain\n8 °C"
        return f"sunny in {arguments['city']}"


class ToolChat(Chat):
    """Chat with a ToolHost (TurnInput.tools), which the shared helper does not pass."""

    def __init__(self, definition, *, tools=None, **kw):
        super().__init__(definition, **kw)
        self.tools = tools

    def send(self, event):
        result = run_turn(self.build, TurnInput(self.state, event, self.user, self.bot, self.env,
                                                llm=self.llm, tools=self.tools, history=list(self.history)))
        if event.get("type") == "text":
            self.history.append(event["preview"])
        self.state, self.user, self.last = result.state, result.user, result
        return result


def weather_bot():
    agent = {"id": "n", "kind": "autonomous", "cards": [], "next": None, "instructions": "Tell the weather.",
             "mcpServers": ["weather"]}
    return bot(main(agent, start_next="n"), ERROR_FLOW)


SCRIPT = [tool_call("weather_forecast", {"city": "Atlantis"}, id="c1"),
          tool_call("weather_forecast", {"city": "Paris"}, id="c2"), "Sunny in Paris.",
          tool_call("weather_forecast", {"city": "Oslo"}, id="c3"), "Rainy in Oslo."]


def through_json(value):
    return json.loads(json.dumps(value))


def record():
    """Two turns of the weather bot against the host and model, recorded:
    (chat, host, what it said, the steps of each turn through JSON)."""
    host, model, said, turns = WeatherHost(), ScriptedLLM(list(SCRIPT)), [], []
    live = ToolChat(weather_bot())
    for message in ("weather in Paris?", "and Oslo?"):
        steps = []
        live.llm, live.tools = RecordingLLM(model, steps=steps), RecordingTools(host, steps=steps)
        said.append(live.say(message))
        turns.append(through_json(steps))
    return live, host, said, turns


def replay(turns, **changes):
    """The same two turns answered from the recording: (chat, what it said, problems)."""
    chat = ToolChat(weather_bot())
    said, problems = [], []
    for number, (message, steps) in enumerate(zip(("weather in Paris?", "and Oslo?"), turns), start=1):
        chat.llm = ReplayLLM([s["llm"] for s in steps if "llm" in s], where=f"turn {number}", problems=problems)
        chat.tools = ReplayTools([s for s in steps if "tools" in s or "tool" in s], where=f"turn {number}",
                                 problems=problems)
        said.append(chat.say(message))
    return chat, said, problems


def test_the_tool_exchanges_are_recorded_in_call_order_with_the_llm_calls():
    _, host, said, turns = record()
    assert said == [["Sunny in Paris."], ["Rainy in Oslo."]]
    assert [next(iter(step)) for step in turns[0]] == ["tools", "llm", "tool", "llm", "tool", "llm"]
    assert [next(iter(step)) for step in turns[1]] == ["tools", "llm", "tool", "llm"]
    listed, failed, paris = turns[0][0]["tools"], turns[0][2]["tool"], turns[0][4]["tool"]
    # The host's names ("<server>.<tool>"); the model's request has the wire names.
    assert listed == {"servers": ["weather"], "list": [FORECAST.wire()]}
    assert [t["function"]["name"] for t in turns[0][1]["llm"]["request"]["tools"]][-1] == "weather_forecast"
    assert failed == {"name": "weather.forecast", "arguments": {"city": "Atlantis"},
                      "error": {"message": "LLM provider 'mcp:weather' (HTTP 404): no such city",
                                "provider": "mcp:weather", "status": 404}}
    assert paris == {"name": "weather.forecast", "arguments": {"city": "Paris"}, "result": "sunny in Paris"}
    # A result that spans lines is the list of its lines.
    assert turns[1][2]["tool"]["result"] == ["rain", "8 °C"]
    assert host.asked[:2] == [("list", ["weather"]), ("weather.forecast", {"city": "Atlantis"})]


def test_a_recording_replays_the_same_turns_with_no_model_and_no_tool_host():
    live, host, said, turns = record()
    asked = len(host.asked)
    chat, again, problems = replay(turns)
    assert again == said and problems == []
    assert json.dumps(chat.state, sort_keys=True) == json.dumps(live.state, sort_keys=True)
    # No problem: every request matched, so the failing tool failed again with the text the model read.
    assert len(host.asked) == asked


def test_a_tool_call_with_other_arguments_fails_naming_the_call_with_its_diff():
    _, _, _, turns = record()
    turns[0][3]["llm"]["answer"]["toolCalls"][0]["arguments"] = '{"city": "Lyon"}'
    _, said, problems = replay(turns)
    first = problems[0]
    assert isinstance(first, ToolReplayMismatch) and first.call == 3
    assert first.message == (
        "MCP tool call 'weather.forecast' {\"city\": \"Lyon\"} of turn 1 differs from the recorded call "
        "'weather.forecast' {\"city\": \"Paris\"} (other arguments); record the test again if the change is intended")
    assert '-  "city": "Paris"' in first.diff.splitlines() and '+  "city": "Lyon"' in first.diff.splitlines()
    assert (first.expected, first.received) == ("MCP tool call 'weather.forecast' {\"city\": \"Paris\"}",
                                                "MCP tool call 'weather.forecast' {\"city\": \"Lyon\"}")


def test_tool_exchanges_beyond_the_recording_fail_and_send_nothing():
    replaying = ReplayTools([], where="step 4")
    with pytest.raises(ToolReplayMismatch) as raised:
        replaying.list_tools(["weather"])
    assert str(raised.value) == ("the MCP tool list of 'weather' is beyond the recording: step 4 recorded "
                                 "0 tool lists; record the test again (bot test --record, or Save as test)")
    listed = {"tools": {"servers": ["weather"], "list": [FORECAST.wire()]}}
    replaying = ReplayTools([listed], where="step 2")
    assert replaying.list_tools(["weather"]) == [FORECAST]
    with pytest.raises(ToolReplayMismatch) as raised:
        replaying.call_tool("weather.forecast", {"city": "Paris"})
    assert raised.value.message.startswith("MCP tool call 'weather.forecast' {\"city\": \"Paris\"} is beyond the "
                                           "recording: step 2 recorded 0 tool calls")
    assert replaying.problems == [raised.value] and replaying.unused == []


def test_a_tool_list_of_other_servers_or_out_of_order_is_a_mismatch():
    listed = {"tools": {"servers": ["weather"], "list": []}}
    with pytest.raises(ToolReplayMismatch, match=r"asks for the servers \['weather', 'maps'\], the recorded one "
                                                 r"for \['weather'\]"):
        ReplayTools([listed]).list_tools(["weather", "maps"])
    with pytest.raises(ToolReplayMismatch, match="was not recorded: the recording has the MCP tool list of 'weather'"):
        ReplayTools([listed]).call_tool("weather.forecast", {})


def test_a_failed_tool_list_replays_as_the_same_bot_error():
    class Down(WeatherHost):
        def list_tools(self, servers):
            raise LLMError("connection refused", provider="mcp:weather")

    steps = []
    live = ToolChat(weather_bot(), llm=ScriptedLLM(["unused"]), tools=RecordingTools(Down(), steps=steps))
    said = live.say("x")
    assert said == ["error: autonomous node 'n': LLM provider 'mcp:weather': connection refused"]
    [step] = through_json(steps)
    assert step["tools"]["error"] == {"message": "LLM provider 'mcp:weather': connection refused",
                                      "provider": "mcp:weather"}
    again = ToolChat(weather_bot(), llm=ReplayLLM([]), tools=ReplayTools([step]))
    assert again.say("x") == said


def test_a_turns_trace_rebuilds_its_recorded_steps():
    steps = []
    live = ToolChat(weather_bot(), llm=RecordingLLM(ScriptedLLM(list(SCRIPT)), steps=steps),
                    tools=RecordingTools(WeatherHost(), steps=steps))
    live.say("weather in Paris?")
    rebuilt = through_json(recorded_steps_from_trace(through_json(live.last.trace)))
    recorded = through_json(steps)
    # The trace keeps the text the model read of a failing tool: the host's message, without
    # its provider and status (which only a failing tool list shows, in the error flow).
    recorded[2]["tool"]["error"] = {"message": recorded[2]["tool"]["error"]["message"]}
    assert rebuilt == recorded
    _, again, problems = replay([rebuilt])
    assert (again, problems) == ([["Sunny in Paris."]], [])


def test_a_multi_line_result_rebuilds_from_the_trace_as_its_lines():
    live, _, _, turns = record()
    assert through_json(recorded_steps_from_trace(through_json(live.last.trace))) == turns[1]
