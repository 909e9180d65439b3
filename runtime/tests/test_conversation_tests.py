"""Conversation tests: recorded conversations replayed through the turn service, with a
readable expected/received diff per step, and `manage.py bot test` exiting 1 on failure."""
import copy
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from flows import services
from flows.botfile import validate_bot
from runtime import conversation_tests, turns
from runtime.models import BotVariable, Conversation, EndUser, Event, Message
from runtime.tests.bots import create_bot, echo_bot

pytestmark = pytest.mark.django_db

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.bot.json"))


def with_tests(definition, *tests):
    return {**copy.deepcopy(definition), "tests": list(tests)}


def run(bot, **options):
    return conversation_tests.run_tests(bot, **options)


def test_a_matching_conversation_passes_and_leaves_nothing_behind():
    bot = create_bot(with_tests(echo_bot(), {"name": "echo", "steps": [
        {"user": "hello"}, {"bot": "got hello"},
        {"user": "bye"}, {"bot": {"regex": "^got b"}},
        {"variable": "user.count", "equals": 2},
        {"variable": "user.seen", "matches": "hello.*bye"},
    ]}))
    counts = (EndUser.objects.count(), Conversation.objects.count(), Event.objects.count(),
              Message.objects.count(), BotVariable.objects.count())

    [result] = run(bot)

    assert result.passed, conversation_tests.format_results([result])
    assert result.target == "version 1"
    assert (EndUser.objects.count(), Conversation.objects.count(), Event.objects.count(),
            Message.objects.count(), BotVariable.objects.count()) == counts


def test_each_kind_of_mismatch_is_reported_with_expected_and_received():
    bot = create_bot(with_tests(echo_bot(), {"name": "wrong", "steps": [
        {"user": "hello"}, {"bot": "got HELLO"},
        {"user": "two"}, {"bot": {"regex": "^nope"}},
        {"user": "three"}, {"bot": "got three"}, {"bot": "and more"},
        {"variable": "user.count", "equals": 99},
        {"variable": "session.missing", "equals": 1},
        {"user": "four"},
    ]}))

    [result] = run(bot)

    assert not result.passed
    failures = [(s.index, s.expected, s.received, s.message) for s in result.failures]
    assert failures == [
        (1, "got HELLO", "got hello", "the reply's text differs"),
        (3, "/^nope/", "got two", "the reply's text does not match the regular expression"),
        (6, "and more", "(no reply)", "the bot sent no more replies"),
        (7, "user.count = 99", "user.count = 3", "the variable does not hold the expected value"),
        (8, "session.missing = 1", "session.missing = (not set)", "the variable does not hold the expected value"),
        (None, "(no more replies)", "got four", "the bot sent a reply the test does not expect"),
    ]
    report = conversation_tests.format_results([result])
    assert "FAIL  wrong  (version 1)" in report
    assert "step 2: the reply's text differs\n        - expected: got HELLO\n        + received: got hello" in report
    assert report.endswith("0 of 1 test passed")


def test_recording_a_conversation_makes_a_test_that_passes_then_catches_a_change():
    bot = create_bot(echo_bot())
    conversation = turns.start_conversation(bot, turns.get_or_create_user(bot), draft=True)
    turns.send_user_message(conversation, "first")
    turns.send_user_message(conversation, "second")

    steps = conversation_tests.steps_from_transcript(conversation, variables=["user.count"])
    assert steps == [{"user": "first"}, {"bot": "got first"}, {"user": "second"}, {"bot": "got second"},
                     {"variable": "user.count", "equals": 2}]

    services.replace_draft(bot, with_tests(echo_bot(), {"name": "recorded", "steps": steps}), base_revision=None)
    bot.refresh_from_db()
    assert [r.passed for r in run(bot, draft=True)] == [True]

    services.replace_draft(bot, with_tests(echo_bot(reply="heard {{event.preview}}"),
                                           {"name": "recorded", "steps": steps}), base_revision=None)
    bot.refresh_from_db()
    [broken] = run(bot, draft=True)
    assert [(s.expected, s.received) for s in broken.failures] == [
        ("got first", "heard first"), ("got second", "heard second")]


def test_tests_run_where_they_ask_and_unknown_names_are_refused():
    bot = create_bot(with_tests(echo_bot(),
                                {"name": "on draft", "draft": True, "steps": [{"user": "a"}, {"bot": "got a"}]},
                                {"name": "published", "steps": [{"user": "b"}, {"bot": "got b"}]}))

    assert [(r.name, r.target, r.passed) for r in run(bot)] == [
        ("on draft", "draft", True), ("published", "version 1", True)]
    assert [r.name for r in run(bot, names=["published"])] == ["published"]
    with pytest.raises(LookupError, match="no test named 'nope'"):
        run(bot, names=["nope"])


def test_timeouts_and_non_text_messages_are_inputs_too():
    bot = create_bot(with_tests(echo_bot(), {"name": "timeout", "steps": [
        {"user": "hello"}, {"bot": "got hello"},
        {"timeout": True}, {"bot": "Are you still there? Starting over."},
        {"user": {"type": "choice", "text": "Large", "value": "l"}}, {"bot": "got Large"},
    ]}))

    [result] = run(bot)

    assert result.passed, conversation_tests.format_results([result])


@pytest.mark.parametrize("step, path, message", [
    ({"user": "a", "bot": "b"}, "$.tests[0].steps[0]", "exactly one of"),
    ({}, "$.tests[0].steps[0]", "found: none"),
    ({"user": 3}, "$.tests[0].steps[0].user", "text, or an object"),
    ({"user": {"text": "x"}}, "$.tests[0].steps[0].user.type", "needs a type"),
    ({"bot": {"regex": "("}}, "$.tests[0].steps[0].bot.regex", "invalid regular expression"),
    ({"bot": []}, "$.tests[0].steps[0].bot", "expected reply"),
    ({"variable": "nobody.x", "equals": 1}, "$.tests[0].steps[0].variable", "scope.name"),
    ({"variable": "user.x"}, "$.tests[0].steps[0]", "one of equals or matches"),
    ({"timeout": "yes"}, "$.tests[0].steps[0].timeout", "timeout"),
    ({"event": {"payload": {}}}, "$.tests[0].steps[0].event", "type"),
    ({"bot": "x", "note": 1}, "$.tests[0].steps[0].note", "unknown key 'note'"),
])
def test_a_malformed_step_is_refused_with_its_path(step, path, message):
    definition = with_tests(echo_bot(), {"name": "t", "steps": [{"user": "hi"}, step]})
    definition["tests"][0]["steps"] = [step, {"user": "hi"}]

    problems = validate_bot(definition)

    assert any(p.path == path and message in p.message for p in problems), problems


@pytest.mark.parametrize("step, path, message", [
    ({"llm": []}, "$.tests[0].steps[1].llm", "request and answer"),
    ({"llm": {"answer": {"text": "x"}}}, "$.tests[0].steps[1].llm.request", "needs its request"),
    ({"llm": {"request": {"messages": [{"content": "x"}]}, "answer": {"text": "x"}}},
     "$.tests[0].steps[1].llm.request.messages", "each with a role"),
    ({"llm": {"request": {"messages": [], "prompt": "x"}, "answer": {"text": "x"}}},
     "$.tests[0].steps[1].llm.request.prompt", "unknown key 'prompt'"),
    ({"llm": {"request": {"messages": []}}}, "$.tests[0].steps[1].llm", "exactly one of answer or error"),
    ({"llm": {"request": {"messages": []}, "answer": {"text": 3}}}, "$.tests[0].steps[1].llm.answer", "its text"),
    ({"llm": {"request": {"messages": []}, "answer": {"text": "", "toolCalls": [{}]}}},
     "$.tests[0].steps[1].llm.answer.toolCalls", "each with a name"),
    ({"llm": {"request": {"messages": []}, "error": {}}}, "$.tests[0].steps[1].llm.error", "its message"),
])
def test_a_malformed_recorded_llm_call_is_refused_with_its_path(step, path, message):
    problems = validate_bot(with_tests(echo_bot(), {"name": "t", "steps": [{"user": "hi"}, step]}))
    assert any(p.path == path and message in p.message for p in problems), problems


def test_a_recorded_llm_call_before_any_input_is_refused():
    call = {"llm": {"request": {"messages": []}, "answer": {"text": "x"}}}
    problems = validate_bot(with_tests(echo_bot(), {"name": "t", "steps": [call, {"user": "hi"}]}))
    assert [(p.path, p.message) for p in problems] == [
        ("$.tests[0].steps[0]", "a recorded LLM call belongs to the input before it: "
                                "it cannot come before the first input")]


LISTED = {"servers": ["calc"], "list": [{"type": "function", "function": {"name": "calc.add", "parameters": {}}}]}


@pytest.mark.parametrize("step, path, message", [
    ({"tools": []}, "$.tests[0].steps[1].tools", "servers and list"),
    ({"tools": {"list": []}}, "$.tests[0].steps[1].tools.servers", "the MCP servers asked"),
    ({"tools": {"servers": ["calc"]}}, "$.tests[0].steps[1].tools", "exactly one of list or error"),
    ({"tools": {**LISTED, "cached": True}}, "$.tests[0].steps[1].tools.cached", "unknown key 'cached'"),
    ({"tools": {"servers": ["calc"], "list": [{"function": {}}]}},
     "$.tests[0].steps[1].tools.list[0].function.name", "needs its name"),
    ({"tools": {"servers": ["calc"], "list": [{"function": {"name": "calc.add", "parameters": []}}]}},
     "$.tests[0].steps[1].tools.list[0].function.parameters", "JSON Schema object"),
    ({"tools": {"servers": ["calc"], "error": "down"}}, "$.tests[0].steps[1].tools.error", "its message"),
    ({"tool": "calc.add"}, "$.tests[0].steps[1].tool", "name, arguments and result"),
    ({"tool": {"arguments": {}, "result": "42"}}, "$.tests[0].steps[1].tool.name", "the tool's name"),
    ({"tool": {"name": "calc.add", "arguments": "{}", "result": "42"}},
     "$.tests[0].steps[1].tool.arguments", "an object"),
    ({"tool": {"name": "calc.add", "arguments": {}}}, "$.tests[0].steps[1].tool", "exactly one of result or error"),
    ({"tool": {"name": "calc.add", "arguments": {}, "result": 42}}, "$.tests[0].steps[1].tool.result", "text"),
    ({"tool": {"name": "calc.add", "arguments": {}, "error": {"status": 500}}},
     "$.tests[0].steps[1].tool.error", "its message"),
    ({"tool": {"name": "calc.add", "arguments": {}, "result": "42", "ms": 3}},
     "$.tests[0].steps[1].tool.ms", "unknown key 'ms'"),
    ({"tool": {"name": "calc.add", "arguments": {}, "result": "42"}, "llm": {}}, "$.tests[0].steps[1]",
     "exactly one of user, event, timeout, bot, variable, llm, tools, tool"),
])
def test_a_malformed_recorded_tool_exchange_is_refused_with_its_path(step, path, message):
    problems = validate_bot(with_tests(echo_bot(), {"name": "t", "steps": [{"user": "hi"}, step]}))
    assert any(p.path == path and message in p.message for p in problems), problems


def test_well_formed_tool_steps_pass_and_export_in_their_canonical_order():
    call = {"result": ["4", "2"], "arguments": {"b": 2, "a": 1}, "name": "calc.add"}
    listed = {"list": [{"function": {"parameters": {}, "description": "Add.", "name": "calc.add"},
                        "type": "function"}], "servers": ["calc"]}
    failed = {"error": {"status": 500, "message": "down"}, "arguments": {}, "name": "calc.boom"}
    definition = with_tests(echo_bot(), {"name": "t", "steps": [
        {"user": "hi"}, {"tools": listed}, {"tool": call}, {"tool": failed}, {"bot": "got hi"}]})
    assert validate_bot(definition) == []
    steps = services.export_bot(create_bot(definition))["tests"][0]["steps"]
    assert list(steps[1]["tools"]) == ["servers", "list"]
    assert list(steps[1]["tools"]["list"][0]) == ["type", "function"]
    assert list(steps[1]["tools"]["list"][0]["function"]) == ["name", "description", "parameters"]
    assert list(steps[2]["tool"]) == ["name", "arguments", "result"]
    assert list(steps[3]["tool"]) == ["name", "arguments", "error"]
    assert list(steps[3]["tool"]["error"]) == ["message", "status"]


def test_a_recorded_tool_exchange_before_any_input_is_refused():
    step = {"tool": {"name": "calc.add", "arguments": {}, "result": "42"}}
    problems = validate_bot(with_tests(echo_bot(), {"name": "t", "steps": [step, {"user": "hi"}]}))
    assert [(p.path, p.message) for p in problems] == [
        ("$.tests[0].steps[0]", "a recorded MCP tool exchange belongs to the input before it: "
                                "it cannot come before the first input")]


def test_a_recorded_tool_call_the_bot_no_longer_makes_fails_the_test():
    """The echo bot calls no tool: its recorded tool call is reported, nothing is sent."""
    step = {"tool": {"name": "calc.add", "arguments": {"a": 1}, "result": "1"}}
    bot = create_bot(with_tests(echo_bot(), {"name": "t", "steps": [{"user": "hello"}, step, {"bot": "got hello"}]}))
    [result] = run(bot)
    assert result.mode == "replay"
    assert [(s.index, s.kind, s.expected, s.received, s.message) for s in result.failures] == [
        (1, "tool", "MCP tool call 'calc.add' {\"a\": 1}", "(not made)",
         "the bot no longer makes this recorded MCP tool exchange")]


def test_a_recorded_call_the_bot_no_longer_makes_fails_the_test():
    """The echo bot calls no model: its recorded call is reported, nothing is sent."""
    call = {"card": "gen", "request": {"messages": [{"role": "user", "content": "hello"}]}, "answer": {"text": "x"}}
    bot = create_bot(with_tests(echo_bot(), {"name": "t", "steps": [
        {"user": "hello"}, {"llm": call}, {"bot": "got hello"}]}))
    [result] = run(bot)
    assert result.mode == "replay"
    assert [(s.index, s.kind, s.expected, s.received, s.message) for s in result.failures] == [
        (1, "llm", "LLM call 1 (card 'gen')", "(not made)", "the bot no longer makes this recorded LLM call")]


def test_a_test_without_any_input_is_refused():
    problems = validate_bot(with_tests(echo_bot(), {"name": "t", "steps": [{"bot": "hi"}]}))
    assert [(p.path, p.message) for p in problems] == [
        ("$.tests[0].steps", "a test needs at least one user message, event or timeout step")]


def test_the_command_prints_the_report_and_fails_on_a_failing_test():
    bot = create_bot(with_tests(echo_bot(name="Cmd"), {"name": "bad", "steps": [{"user": "x"}, {"bot": "nope"}]}))
    out = StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("bot", "test", str(bot.pk), stdout=out)

    assert failed.value.returncode == 1
    assert "FAIL  bad  (version 1)" in out.getvalue()
    assert "+ received: got x" in out.getvalue()


@pytest.mark.parametrize("path", [p for p in EXAMPLES if json.loads(p.read_text()).get("tests")],
                         ids=lambda p: p.name)
def test_the_example_bots_pass_their_own_tests(path):
    bot = services.import_bot(path.read_text(), workspace=services.default_workspace())
    services.publish(bot)
    out = StringIO()

    call_command("bot", "test", str(bot.pk), stdout=out)

    assert "FAIL" not in out.getvalue()
