"""A real MCP server for tests (integrations/llm/mcp_tools.py over the wire, no mock of the SDK):
the SDK's own `MCPServer` with its streamable-HTTP app, run by uvicorn in a background thread
on 127.0.0.1 and a free port, like the scripted LLM server (integrations/llm/scripted_server.py).

    server = MCPTestServer().start()   # or the `mcp_test_server` fixture
    server.url        "http://127.0.0.1:PORT/mcp"
    server.headers    the headers of every HTTP request received (to see the token arrive)
    server.stop()

Its tools: add(a, b); echo(text); boom() (always fails); huge(chars) (that many "x");
slow(seconds) (answers after sleeping); picture() (an image and a caption).

`MCPTestServer(legacy=True)` is instead a hand-written server of the 2025 protocol (the
`initialize` handshake, JSON answers, a session id), as most MCP servers deployed today are:
it knows no `server/discover` and has one tool, weather(city); with `token=` it asks for that
bearer token.
"""
from __future__ import annotations

import asyncio

import pytest

from .scripted_server import _free_port, serve_in_thread, stop_thread_server  # noqa: F401 (_free_port: tests)


def build_server():
    from mcp.server.mcpserver import MCPServer
    from mcp_types import ImageContent, TextContent

    server = MCPServer("flowstudio-test", log_level="WARNING")

    @server.tool(description="Add two whole numbers.")
    def add(a: int, b: int) -> int:
        return a + b

    @server.tool(description="Answer the text it is given.")
    def echo(text: str) -> str:
        return text

    @server.tool(description="Always fails.")
    def boom() -> str:
        raise ValueError("the boom tool always fails")

    @server.tool(description="Answer `chars` times the letter x.")
    def huge(chars: int) -> str:
        return "x" * chars

    @server.tool(description="Answer after `seconds`.")
    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "finally"

    @server.tool(description="A picture with a caption.")
    def picture() -> list:
        return [ImageContent(type="image", data="iVBORw0KGgo=", mime_type="image/png"),
                TextContent(type="text", text="a red square")]

    return server


def legacy_app(sessions: list[str], token: str | None = None):
    """A streamable-HTTP MCP server of protocol 2025-06-18, enough for tools; with `token`,
    a request without that bearer token is answered 401."""
    import json
    import uuid

    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    def answer(request_id, result=None, error=None):
        body = {"jsonrpc": "2.0", "id": request_id}
        body.update({"error": error} if error else {"result": result})
        return body

    async def endpoint(request):
        if token is not None and request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"error": "invalid_token"}, 401, headers={"WWW-Authenticate": "Bearer"})
        if request.method == "DELETE":
            return Response(status_code=200)
        if request.method == "GET":
            return Response(status_code=405)
        message = json.loads(await request.body())
        if "id" not in message:  # a notification (notifications/initialized)
            return Response(status_code=202)
        method, params, request_id = message.get("method"), message.get("params") or {}, message["id"]
        headers = {}
        if method == "initialize":
            session = uuid.uuid4().hex
            sessions.append(session)
            headers["mcp-session-id"] = session
            result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "legacy-weather", "version": "1"}}
        elif request.headers.get("mcp-session-id") not in sessions:
            return JSONResponse(answer(request_id, error={"code": -32600, "message": "no session"}), 400)
        elif method == "tools/list":
            result = {"tools": [{"name": "weather", "description": "Today's weather in a city.",
                                 "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}},
                                                 "required": ["city"]}}]}
        elif method == "tools/call" and params.get("name") == "weather":
            city = (params.get("arguments") or {}).get("city", "?")
            result = {"content": [{"type": "text", "text": f"Sunny in {city}, 21 °C"}], "isError": False}
        elif method == "tools/call":
            result = {"content": [{"type": "text", "text": f"no tool {params.get('name')}"}], "isError": True}
        else:
            return JSONResponse(answer(request_id, error={"code": -32601, "message": "Method not found"}),
                                headers=headers)
        return JSONResponse(answer(request_id, result), headers=headers)

    return Starlette(routes=[Route("/mcp", endpoint, methods=["GET", "POST", "DELETE"])])


class MCPTestServer:
    def __init__(self, *, json_response: bool = False, legacy: bool = False, token: str | None = None):
        self.json_response, self.legacy, self.token = json_response, legacy, token
        self.sessions: list[str] = []  # the legacy server's session ids
        self.headers: list[dict[str, str]] = []
        self.port = 0
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def app(self):
        inner = (legacy_app(self.sessions, self.token) if self.legacy
                 else build_server().streamable_http_app(json_response=self.json_response))

        async def app(scope, receive, send):
            if scope["type"] == "http":
                self.headers.append({k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]})
            await inner(scope, receive, send)

        return app

    def start(self) -> MCPTestServer:
        # lifespan on: the SDK's session manager runs in the app's lifespan.
        self._server, self._thread, self.port = serve_in_thread(self.app(), name="MCP test server", lifespan="on")
        return self

    def stop(self) -> None:
        if self._server is not None:
            stop_thread_server(self._server, self._thread)
            self._server = None


@pytest.fixture
def mcp_test_server(settings):
    """A started MCPTestServer, with 127.0.0.1 allowed through the outbound guard for the test."""
    settings.FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS = ["127.0.0.1"]
    server = MCPTestServer().start()
    try:
        yield server
    finally:
        server.stop()
