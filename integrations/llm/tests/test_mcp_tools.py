"""MCP servers as tools, over real streamable HTTP against the SDK's own server
(integrations/llm/mcp_testing.py): listing and calling tools, and every way a server or a
tool fails, as the LLMError naming the server that a bot builder reads."""
import logging
import pickle
import time

import pytest

from integrations.llm import mcp_tools
from integrations.llm.mcp_testing import MCPTestServer, _free_port, mcp_test_server  # noqa: F401
from integrations.llm.mcp_tools import MCPToolError, ServerConfig, WorkspaceTools
from runtime.engine.llm import LLMError

SECRET = "mcp-secret-token-4711"


def host(*servers: MCPTestServer | tuple[str, str], timeout=5.0, **headers):
    configs = {}
    for i, server in enumerate(servers):
        name, url = server if isinstance(server, tuple) else ("tools" if i == 0 else f"tools{i}", server.url)
        configs[name] = ServerConfig(name=name, url=url, timeout=timeout, revision=f"{name}:{time.monotonic()}",
                                     headers={"Authorization": f"Bearer {SECRET}", **headers})
    return WorkspaceTools(configs)


async def test_lists_the_tools_of_a_server_named_server_dot_tool(mcp_test_server):
    tools = await host(mcp_test_server).list_tools(["tools"])
    by_name = {tool.name: tool for tool in tools}
    assert {"tools.add", "tools.echo", "tools.boom", "tools.huge", "tools.slow"} <= set(by_name)
    add = by_name["tools.add"]
    assert add.description == "Add two whole numbers."
    assert add.parameters["properties"].keys() == {"a", "b"} and add.parameters["required"] == ["a", "b"]
    assert add.wire()["function"]["name"] == "tools.add"
    assert mcp_test_server.headers[0]["authorization"] == f"Bearer {SECRET}"


async def test_calls_a_tool_and_returns_its_text(mcp_test_server):
    tools = host(mcp_test_server)
    assert await tools.call_tool("tools.add", {"a": 2, "b": 40}) == "42"
    assert await tools.call_tool("tools.echo", {"text": "héllo"}) == "héllo"


async def test_content_a_model_cannot_read_is_a_note(mcp_test_server):
    assert await host(mcp_test_server).call_tool("tools.picture", {}) == "[image image/png, not shown]\na red square"


async def test_a_failing_tool_is_an_error_naming_server_and_tool(mcp_test_server):
    with pytest.raises(MCPToolError) as caught:
        await host(mcp_test_server).call_tool("tools.boom", {})
    assert str(caught.value).startswith("MCP server 'tools': tool 'boom' failed: ")
    assert (caught.value.server, caught.value.tool, caught.value.retryable) == ("tools", "boom", False)
    assert isinstance(caught.value, LLMError)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (str(copy), copy.server, copy.tool) == (str(caught.value), "tools", "boom")


async def test_an_unknown_tool_or_bad_arguments_are_errors_naming_the_server(mcp_test_server):
    with pytest.raises(MCPToolError) as caught:
        await host(mcp_test_server).call_tool("tools.nope", {})
    assert str(caught.value) == "MCP server 'tools': tool 'nope' failed: Unknown tool: nope"
    with pytest.raises(MCPToolError) as caught:
        await host(mcp_test_server).call_tool("tools.add", {"a": "many"})
    assert str(caught.value).startswith("MCP server 'tools': tool 'add' failed: ")


async def test_names_that_are_not_the_workspace_servers_are_clear_errors(mcp_test_server):
    tools = host(mcp_test_server)
    with pytest.raises(LLMError) as caught:
        await tools.list_tools(["elsewhere"])
    assert str(caught.value) == "the workspace has no MCP server named 'elsewhere' (it has: tools)"
    with pytest.raises(LLMError) as caught:
        await tools.call_tool("add", {})
    assert "names no MCP server" in str(caught.value)


async def test_a_huge_result_is_cut_at_the_limit_and_says_so(mcp_test_server):
    text = await host(mcp_test_server).call_tool("tools.huge", {"chars": 50_000})
    limit = mcp_tools.MAX_RESULT_CHARS
    assert text.startswith("x" * limit)
    assert text[limit:] == f"\n[cut: the result is 50000 characters; only the first {limit} are shown]"


@pytest.mark.parametrize("json_response", [False, True])
async def test_an_answer_beyond_the_byte_limit_is_refused(settings, json_response):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    server = MCPTestServer(json_response=json_response).start()
    try:
        with pytest.raises(MCPToolError) as caught:
            await host(server).call_tool("tools.huge", {"chars": mcp_tools.MAX_RESPONSE_BYTES + 10})
        assert str(caught.value) == (f"MCP server 'tools': the server sent more than "
                                     f"{mcp_tools.MAX_RESPONSE_BYTES} bytes in one answer")
    finally:
        server.stop()


async def test_a_slow_tool_times_out_at_the_server_timeout(mcp_test_server):
    started = time.monotonic()
    with pytest.raises(MCPToolError) as caught:
        await host(mcp_test_server, timeout=1.0).call_tool("tools.slow", {"seconds": 5})
    assert time.monotonic() - started < 3
    assert str(caught.value) == "MCP server 'tools': no answer within 1 s"
    assert caught.value.retryable


async def test_an_unreachable_server_is_an_error_naming_it(settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    url = f"http://127.0.0.1:{_free_port()}/mcp"
    with pytest.raises(MCPToolError) as caught:
        await host(("weather", url)).list_tools(["weather"])
    assert str(caught.value) == f"MCP server 'weather': cannot connect to {url}"
    assert caught.value.server == "weather" and caught.value.retryable


async def test_a_url_that_is_no_mcp_endpoint_is_an_error_naming_the_server(mcp_test_server):
    url = mcp_test_server.url.replace("/mcp", "/not-here")
    with pytest.raises(MCPToolError) as caught:
        await host(("weather", url)).list_tools(["weather"])
    assert str(caught.value) == "MCP server 'weather': the server answered an error (HTTP 404): Not Found"


async def test_a_private_address_is_refused_without_the_allow_setting(mcp_test_server, settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = []
    with pytest.raises(MCPToolError) as caught:
        await host(mcp_test_server).list_tools(["tools"])
    assert str(caught.value).startswith(f"MCP server 'tools': cannot reach {mcp_test_server.url}: "
                                        "127.0.0.1 is a loopback address")
    assert mcp_test_server.headers == []  # nothing reached the server


async def test_tool_lists_are_cached_for_a_short_time(mcp_test_server, monkeypatch):
    tools = host(mcp_test_server)
    first = await tools.list_tools(["tools"])
    seen = len(mcp_test_server.headers)
    assert await tools.list_tools(["tools"]) == first
    assert len(mcp_test_server.headers) == seen  # from the cache
    monkeypatch.setattr(mcp_tools, "TOOLS_CACHE_SECONDS", 0.0)
    mcp_tools._tools_cache.clear()
    await tools.list_tools(["tools"])
    await tools.list_tools(["tools"])
    assert len(mcp_test_server.headers) > seen


async def test_two_servers_tools_side_by_side(settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    one, two = MCPTestServer().start(), MCPTestServer().start()
    try:
        tools = host(("alpha", one.url), ("beta", two.url))
        names = [t.name for t in await tools.list_tools(["alpha", "beta", "alpha"])]
        assert "alpha.add" in names and "beta.add" in names and len(names) == len(set(names))
        assert await tools.call_tool("beta.add", {"a": 1, "b": 1}) == "2"
        assert one.headers and two.headers
    finally:
        one.stop()
        two.stop()


async def test_secrets_are_never_in_logs_or_reprs(mcp_test_server, caplog, settings):
    caplog.set_level(logging.DEBUG)
    tools = host(mcp_test_server, **{"X-Api-Key": "header-secret-0815"})
    await tools.list_tools(["tools"])
    await tools.call_tool("tools.add", {"a": 1, "b": 2})
    with pytest.raises(MCPToolError):
        await tools.call_tool("tools.boom", {})
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = []
    mcp_tools._tools_cache.clear()
    with pytest.raises(MCPToolError) as caught:
        await tools.list_tools(["tools"])
    assert mcp_test_server.headers[0]["x-api-key"] == "header-secret-0815"
    for shown in (caplog.text, repr(tools.configs), repr(tools.configs["tools"]), str(caught.value)):
        assert SECRET not in shown and "header-secret-0815" not in shown


async def test_a_server_of_the_2025_protocol_works_through_the_handshake(settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    server = MCPTestServer(legacy=True).start()
    try:
        tools = host(("weather", server.url))
        (spec,) = await tools.list_tools(["weather"])
        assert (spec.name, spec.description) == ("weather.weather", "Today's weather in a city.")
        assert await tools.call_tool("weather.weather", {"city": "Oslo"}) == "Sunny in Oslo, 21 °C"
        assert len(server.sessions) == 2  # one session per exchange
        with pytest.raises(MCPToolError) as caught:
            await tools.call_tool("weather.rain", {})
        assert str(caught.value) == "MCP server 'weather': tool 'rain' failed: no tool rain"
    finally:
        server.stop()


async def test_a_refused_token_says_so(settings):
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    server = MCPTestServer(legacy=True, token="the-right-one").start()
    try:
        with pytest.raises(MCPToolError) as caught:
            await host(("weather", server.url)).list_tools(["weather"])
        assert str(caught.value) == ("MCP server 'weather': the server refused the credentials (HTTP 401): "
                                     "check the token and headers")
        assert caught.value.status == 401 and not caught.value.retryable
        good = WorkspaceTools({"weather": ServerConfig("weather", server.url, timeout=5, revision="good",
                                                       headers={"Authorization": "Bearer the-right-one"})})
        assert await good.call_tool("weather.weather", {"city": "Rome"}) == "Sunny in Rome, 21 °C"
    finally:
        server.stop()
