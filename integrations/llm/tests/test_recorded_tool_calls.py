"""Conversation tests of a bot whose autonomous node calls an MCP tool, offline: recorded once
against the provider and the MCP server (the scripted LLM server and the SDK's own MCP server,
over real HTTP), then replayed with both servers stopped; a tool call with other arguments
fails naming the call."""
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from flows import services as flow_services
from integrations.llm import scripted_server as s
from integrations.llm.mcp_tools import save_mcp_server
from integrations.llm.services import save_provider
from runtime import conversation_tests
from runtime.tests.bots import create_bot

pytestmark = pytest.mark.django_db(transaction=True)

MODELS = [{"id": "scripted-fast", "label": "Fast"}]
ADDS = {"name": "adds", "steps": [{"user": "what is 20 + 22?"}, {"bot": "20 and 22 make 42."}]}


def calc_bot(tests=()):
    return {
        "format": "flowstudio.bot/1", "name": "Calc", "settings": {},
        "flows": [{"name": "main", "nodes": [
            {"id": "start", "kind": "start", "next": "agent"},
            {"id": "agent", "kind": "autonomous", "instructions": "Add numbers with the calc tools.",
             "mcpServers": ["calc"], "cards": []},
        ]}],
        "tests": list(tests),
    }


def bot_test(*args):
    out = StringIO()
    try:
        call_command("bot", "test", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


@pytest.fixture
def recorded(scripted_llm_server, mcp_test_server):
    """The Calc bot with its test `adds` recorded by `bot test --record`; both servers stopped."""
    workspace = flow_services.default_workspace()
    save_provider(workspace, {"name": "acme", "base_url": scripted_llm_server.url, "api_key": "k",
                              "models": MODELS, "default_model": "Fast", "max_retries": 0})
    save_mcp_server(workspace, {"name": "calc", "url": mcp_test_server.url})
    scripted_llm_server.script([s.tool("calc_add", {"a": 20, "b": 22}), s.text("20 and 22 make 42.")])
    bot = create_bot(calc_bot(tests=[ADDS]))
    output, error = bot_test(bot.name, "--record")
    assert error is None, output
    assert "PASS  adds  (version 1, 2 LLM calls and 1 MCP tool call recorded)" in output
    scripted_llm_server.stop()
    mcp_test_server.stop()
    seen = len(scripted_llm_server.requests), len(mcp_test_server.headers)
    bot.refresh_from_db()
    return bot, scripted_llm_server, mcp_test_server, seen


def test_the_tool_list_and_call_are_recorded_under_the_hosts_names_in_call_order(recorded):
    bot, *_ = recorded
    [test] = flow_services.export_bot(bot)["tests"]
    steps = test["steps"]
    assert [next(iter(step)) for step in steps] == ["user", "tools", "llm", "tool", "llm", "bot"]
    listed = steps[1]["tools"]
    assert listed["servers"] == ["calc"]
    assert "calc.add" in [tool["function"]["name"] for tool in listed["list"]]
    assert list(listed["list"][0]) == ["type", "function"]
    assert list(listed["list"][0]["function"]) == ["name", "description", "parameters"]
    # The model called the wire name; the host ran the tool under its own name.
    assert steps[2]["llm"]["answer"]["toolCalls"][0]["name"] == "calc_add"
    assert steps[3] == {"tool": {"name": "calc.add", "arguments": {"a": 20, "b": 22}, "result": "42"}}


def test_replay_passes_with_both_servers_stopped_and_sends_nothing(recorded):
    bot, llm_server, mcp_server, seen = recorded
    [result] = conversation_tests.run_tests(bot)
    assert result.passed, conversation_tests.format_results([result])
    assert (result.mode, result.llm_calls, result.tool_calls) == ("replay", 2, 1)
    output, error = bot_test(bot.name)
    assert error is None and "PASS  adds  (version 1, 2 LLM calls and 1 MCP tool call replayed)" in output
    assert (len(llm_server.requests), len(mcp_server.headers)) == seen


def test_a_tool_call_with_other_arguments_fails_naming_the_tool_call(recorded):
    bot, llm_server, mcp_server, seen = recorded
    document = flow_services.draft_document(bot)
    steps = document["tests"][0]["steps"]
    # What the model answers is the recording's: it now asks the tool for 20 + 23.
    steps[2]["llm"]["answer"]["toolCalls"][0]["arguments"] = '{"a": 20, "b": 23}'
    flow_services.replace_draft(bot, document, base_revision=None)

    [result] = conversation_tests.run_tests(bot, draft=True)

    assert not result.passed
    # Only the tool call: the model's next request differs because of it alone.
    [first] = result.failures
    assert (first.index, first.kind) == (3, "tool")
    assert first.message == (
        "MCP tool call 'calc.add' {\"a\": 20, \"b\": 23} of step 1 differs from the recorded call 'calc.add' "
        "{\"a\": 20, \"b\": 22} (other arguments); record the test again if the change is intended")
    report = conversation_tests.format_results([result])
    assert "step 4: MCP tool call 'calc.add'" in report
    assert '          -  "b": 22\n          +  "b": 23' in report
    assert (len(llm_server.requests), len(mcp_server.headers)) == seen


def test_a_recording_without_the_tool_steps_never_calls_the_server(recorded):
    """A test recorded before its bot used MCP tools: the tool list is beyond the recording."""
    bot, llm_server, mcp_server, seen = recorded
    document = flow_services.draft_document(bot)
    test = document["tests"][0]
    test["steps"] = [step for step in test["steps"] if "tools" not in step and "tool" not in step]
    flow_services.replace_draft(bot, document, base_revision=None)

    [result] = conversation_tests.run_tests(bot, draft=True)

    [failure] = result.failures
    assert (failure.index, failure.kind) == (0, "tool")
    assert failure.message == ("the MCP tool list of 'calc' is beyond the recording: step 1 recorded 0 tool lists; "
                               "record the test again (bot test --record, or Save as test)")
    assert (len(llm_server.requests), len(mcp_server.headers)) == seen
