"""A workspace's MCP servers as stored settings (validated, secrets encrypted) and as the tools
a bot's turn gets (runtime/llm_gateway.tools_for_bot, TurnInput.tools), over real HTTP."""
import logging
import threading
import time

import pytest
from django.db import connection, connections

from flows import encryption
from flows import services as flow_services
from integrations.llm.mcp_testing import mcp_test_server  # noqa: F401
from integrations.llm.mcp_tools import (MCPServerInvalid, MCPToolError, describe_mcp_server, save_mcp_server,
                                        server_tools)
from integrations.llm.models import MCPServer
from runtime import llm_gateway, turns
from runtime.engine.llm import LLMError
from runtime.tests.bots import create_bot

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "mcp-live-token-2468"
BOT = {"format": "flowstudio.bot/1", "name": "Tools", "flows": [{"name": "main", "nodes": [
    {"id": "start", "kind": "start", "next": "talk"},
    {"id": "talk", "kind": "standard", "cards": [{"id": "hi", "type": "text", "text": "hi"}], "next": "end"},
    {"id": "end", "kind": "end"}]}]}


def add_server(server, name="tools", **extra):
    data = {"name": name, "url": server.url, "token": TOKEN, "timeout_seconds": 5, **extra}
    return save_mcp_server(flow_services.default_workspace(), data)


def test_token_and_headers_are_stored_encrypted_and_never_shown(mcp_test_server):
    server = add_server(mcp_test_server, headers={"X-Team": "team-secret-77"})
    stored = MCPServer.objects.get(pk=server.pk)
    assert TOKEN not in stored.encrypted_token and "team-secret-77" not in stored.encrypted_headers
    assert (stored.token, stored.headers) == (TOKEN, {"X-Team": "team-secret-77"})
    shown = describe_mcp_server(stored)
    assert shown["has_token"] is True and shown["header_names"] == ["X-Team"]
    for text in (repr(stored), str(shown)):
        assert TOKEN not in text and "team-secret-77" not in text
    # `manage.py rotate_secrets` re-encrypts both.
    assert {(MCPServer, "encrypted_token"), (MCPServer, "encrypted_headers")} <= set(encryption.encrypted_columns())


def test_an_update_keeps_secrets_it_does_not_name_and_empty_removes_them(mcp_test_server):
    workspace = flow_services.default_workspace()
    server = add_server(mcp_test_server, headers={"X-Team": "a"})
    server = save_mcp_server(workspace, {"timeout_seconds": 7}, server)
    assert (server.token, server.headers, server.timeout_seconds) == (TOKEN, {"X-Team": "a"}, 7.0)
    server = save_mcp_server(workspace, {"token": "", "headers": {}}, server)
    assert (server.encrypted_token, server.encrypted_headers) == ("", "")


@pytest.mark.parametrize("data, field, message", [
    ({"name": "with.dot"}, "name", "1 to 64 letters, digits, - or _"),
    ({"name": ""}, "name", "1 to 64 letters"),
    ({"url": "ftp://example.com/mcp"}, "url", "must be an http or https URL"),
    ({"url": "https://user:pw@example.com/mcp"}, "url", "must not carry a user name or password"),
    ({"url": "http://169.254.169.254/mcp"}, "url", "link-local"),
    ({"token": "line\nbreak"}, "token", "printable ASCII"),
    ({"headers": ["X-A"]}, "headers", "expected a JSON object"),
    ({"headers": {"Bad Name": "x"}}, "headers.Bad Name", "not a valid header name"),
    ({"headers": {"Mcp-Session-Id": "x"}}, "headers.Mcp-Session-Id", "set by the MCP connection itself"),
    ({"headers": {"Authorization": "Basic x"}}, "headers.Authorization", "use token"),
    ({"headers": {"X-A": "a\r\nX-B: b"}}, "headers.X-A", "printable ASCII"),
    ({"timeout_seconds": 60}, "timeout_seconds", "from 1 to 25 seconds"),
    ({"timeout_seconds": True}, "timeout_seconds", "from 1 to 25 seconds"),
    ({"colour": "red"}, "colour", "unknown field"),
])
def test_bad_settings_name_the_field(data, field, message):
    base = {"name": "tools", "url": "https://mcp.example.com/mcp"}
    with pytest.raises(MCPServerInvalid) as caught:
        save_mcp_server(flow_services.default_workspace(), {**base, **data})
    assert caught.value.field == field and message in caught.value.message
    assert str(caught.value).startswith(f"{field}: ")


def test_names_are_unique_in_a_workspace(mcp_test_server):
    add_server(mcp_test_server)
    with pytest.raises(MCPServerInvalid) as caught:
        add_server(mcp_test_server)
    assert str(caught.value) == "name: the workspace already has an MCP server named 'tools'"


def test_a_turn_gets_its_workspace_servers_tools(mcp_test_server):
    add_server(mcp_test_server)
    bot = create_bot(BOT)
    user = turns.get_or_create_user(bot, "ada")
    conversation = turns.start_conversation(bot, user)
    event = turns.receive_event(conversation, "text", {"text": "hi"})
    loaded = turns._load_build(conversation)
    tools = turns.turn_input(conversation, user, event, loaded, {}, env={}, history=[]).tools
    names = [tool.name for tool in tools.list_tools(["tools"])]
    assert "tools.add" in names
    assert tools.call_tool("tools.add", {"a": 20, "b": 22}) == "42"
    assert mcp_test_server.headers[-1]["authorization"] == f"Bearer {TOKEN}"


def test_a_workspace_without_servers_is_a_clear_error():
    tools = llm_gateway.tools_for_bot(create_bot(BOT).pk)
    assert tools.list_tools([]) == []
    with pytest.raises(LLMError) as caught:
        tools.list_tools(["weather"])
    assert str(caught.value) == ("this bot's workspace has no MCP server (asked for 'weather'); "
                                 "add one to the workspace (docs/ai.md, \"MCP tools\")")


def test_a_changed_server_is_not_served_from_the_tool_cache(mcp_test_server):
    server = add_server(mcp_test_server)
    bot = create_bot(BOT)
    assert llm_gateway.tools_for_bot(bot.pk).list_tools(["tools"])
    save_mcp_server(flow_services.default_workspace(), {"url": mcp_test_server.url.replace("/mcp", "/gone")}, server)
    with pytest.raises(LLMError) as caught:
        llm_gateway.tools_for_bot(bot.pk).list_tools(["tools"])
    assert str(caught.value) == "MCP server 'tools': the server answered an error (HTTP 404): Not Found"


def test_waiting_on_a_tool_holds_no_database_connection(mcp_test_server):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's in-memory test database is never closed")
    add_server(mcp_test_server)
    bot = create_bot(BOT)
    seen, done = {}, {}

    def engine_thread():
        seen["connection"] = connections["default"]
        done["text"] = llm_gateway.tools_for_bot(bot.pk).call_tool("tools.slow", {"seconds": 1.0})

    worker = threading.Thread(target=engine_thread)
    worker.start()
    deadline = time.monotonic() + 5
    while not any(h.get("mcp-method") == "tools/call" for h in mcp_test_server.headers) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert seen["connection"].connection is None, "the thread holds a database connection while the tool runs"
    worker.join(10)
    assert done["text"] == "finally"


def test_secrets_are_never_logged(mcp_test_server, caplog):
    caplog.set_level(logging.DEBUG)
    add_server(mcp_test_server, headers={"X-Team": "team-secret-77"})
    tools = llm_gateway.tools_for_bot(create_bot(BOT).pk)
    tools.list_tools(["tools"])
    with pytest.raises(LLMError):
        tools.call_tool("tools.boom", {})
    assert TOKEN not in caplog.text and "team-secret-77" not in caplog.text


def test_a_stored_server_can_be_tried_from_the_studio(mcp_test_server, settings):
    server = add_server(mcp_test_server)
    assert "tools.echo" in [tool.name for tool in server_tools(server)]
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = []
    with pytest.raises(MCPToolError) as caught:
        server_tools(server)
    assert "127.0.0.1 is a loopback address" in str(caught.value)
