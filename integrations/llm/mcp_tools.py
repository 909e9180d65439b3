"""A workspace's MCP servers as the engine's `ToolHost` (runtime/engine/llm.py): the tools an
autonomous node or AI Task may offer the model, named "<server>.<tool>" (docs/ai.md, "MCP
tools").

Each server is a streamable-HTTP MCP endpoint spoken to with the official `mcp` SDK. Its HTTP
(httpx2) goes through the outbound guard (runtime/outbound.AsyncGuardedTransport): a server on
the studio's own network is refused unless FLOWSTUDIO_OUTBOUND_ALLOW_HOSTS lists its host.

Limits, per exchange with a server (connect, protocol handshake and one request):
- `MCPServer.timeout_seconds` (default 10 s, at most 25 s: below the turn lease, so a turn
  waiting on a tool never looks crashed to the recovery sweep) for the whole exchange;
- MAX_RESPONSE_BYTES for any one HTTP body or event the server sends (a larger one fails);
- MAX_RESULT_CHARS for the text a tool call returns to the model: a longer result is cut
  there and says so (the model reads a note, not an error).
Tool lists are cached per server for TOOLS_CACHE_SECONDS (a change to the server's settings
starts afresh). Every failure is an `MCPToolError` (an `LLMError`) naming the server.

Every exchange opens its own MCP session and closes it: no session outlives a call, so
nothing is bound to a turn, a process or the loop beyond the call. All of it runs on the
gateway's LLM loop (runtime/llm_gateway.BotTools), never holding a database connection.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from runtime.engine.llm import LLMError, ToolSpec
from runtime.llm_gateway import llm_loop
from runtime.outbound import USER_AGENT, AsyncGuardedTransport, OutboundFailed, OutboundRefused, validate_url

from .models import MCPServer

logger = logging.getLogger(__name__)

MAX_RESULT_CHARS = 20_000
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
TOOLS_CACHE_SECONDS = 60.0
MAX_TOOLS_PER_SERVER = 100
MAX_SERVERS_PER_WORKSPACE = 20
MAX_DESCRIPTION_CHARS = 2000


class MCPToolError(LLMError):
    """An MCP server could not be reached or a tool failed; `server` (and `tool`) name it."""

    def __init__(self, server: str, detail: str, *, tool: str = "", retryable: bool = False,
                 status: int | None = None):
        super().__init__(f"MCP server {server!r}: {detail}", retryable=retryable, status=status)
        self.server, self.detail, self.tool = server, detail, tool

    def __str__(self) -> str:  # the message names the server and any HTTP status itself
        return self.message

    def __reduce__(self):  # pickles like any LLMError (its arguments are not its message)
        return type(self), (self.server, self.detail), self.__dict__


@dataclass(frozen=True)
class ServerConfig:
    name: str
    url: str
    headers: dict = field(repr=False, default_factory=dict)
    timeout: float = 10.0
    # Changes whenever the settings change, so a cached tool list is never a stale one.
    revision: str = ""


def config_of(server: MCPServer) -> ServerConfig:
    headers = dict(server.headers)
    if server.token:
        headers["Authorization"] = f"Bearer {server.token}"
    return ServerConfig(name=server.name, url=server.url, headers=headers, timeout=server.timeout_seconds,
                        revision=f"{server.pk}:{server.updated_at.isoformat() if server.updated_at else ''}")


# --- HTTP: the guard, and a cap on what a server may send ---


class _TooLarge(Exception):
    pass


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner, limit: int):
        self._inner, self._limit = inner, limit

    async def __aiter__(self):
        size = 0
        async for chunk in self._inner:
            size += len(chunk)
            if size > self._limit:
                raise _TooLarge(f"the server sent more than {self._limit} bytes in one answer")
            yield chunk

    async def aclose(self):
        await self._inner.aclose()


class _Transport(AsyncGuardedTransport):
    def __init__(self):
        super().__init__(max_connections=4)
        # The SDK turns an HTTP error into a JSON-RPC error without its status; kept here to
        # tell a refused token from a broken server.
        self.error_status: int | None = None

    async def handle_async_request(self, request):
        response = await super().handle_async_request(request)
        if response.status_code >= 400 and request.method != "DELETE":
            self.error_status = response.status_code
        response.stream = _CappedStream(response.stream, MAX_RESPONSE_BYTES)
        return response


# --- errors ---


def _leaves(exc: BaseException):
    """The exceptions inside `exc`'s task-group nesting, and what each was raised from."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
        return
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _error(config: ServerConfig, exc: BaseException, tool: str = "", status: int | None = None) -> MCPToolError:
    leaves = list(_leaves(exc))
    shown = config.url.split("?", 1)[0]

    def first(*kinds):
        return next((e for e in leaves if isinstance(e, kinds)), None)

    if found := first(OutboundRefused):
        return MCPToolError(config.name, f"cannot reach {shown}: {found}", tool=tool)
    if found := first(_TooLarge):
        return MCPToolError(config.name, str(found), tool=tool)
    if first(TimeoutError, httpx2.TimeoutException):
        return MCPToolError(config.name, f"no answer within {config.timeout:g} s", tool=tool, retryable=True)
    if found := first(OutboundFailed):
        return MCPToolError(config.name, f"cannot reach {shown}: {found}", tool=tool, retryable=True)
    if first(httpx2.ConnectError):
        return MCPToolError(config.name, f"cannot connect to {shown}", tool=tool, retryable=True)
    if found := first(MCPError):
        if status in (401, 403):
            return MCPToolError(config.name, f"the server refused the credentials (HTTP {status}): "
                                "check the token and headers", tool=tool, status=status)
        shown_status = f" (HTTP {status})" if status else ""
        return MCPToolError(config.name, f"the server answered an error{shown_status}: {str(found)[:500]}",
                            tool=tool, status=status, retryable=bool(status and status >= 500))
    if first(httpx2.HTTPError):
        return MCPToolError(config.name, f"the connection to {shown} failed or was cut off", tool=tool,
                            retryable=True)
    if first(ValidationError, ValueError):
        return MCPToolError(config.name, "the server answered something that is not MCP", tool=tool)
    logger.warning("MCP server %r failed unexpectedly (%s)", config.name, type(leaves[0]).__name__)
    return MCPToolError(config.name, f"failed ({type(leaves[0]).__name__})", tool=tool)


async def _exchange(config: ServerConfig, fn: Callable[[Client], Awaitable], tool: str = ""):
    """`fn(client)` in a fresh session with the server, bounded by the server's timeout."""
    guarded = _Transport()
    try:
        with anyio.fail_after(config.timeout):
            async with httpx2.AsyncClient(transport=guarded,
                                          headers={"User-Agent": USER_AGENT, **config.headers},
                                          timeout=httpx2.Timeout(config.timeout), follow_redirects=False,
                                          trust_env=False) as http:
                transport = streamable_http_client(config.url, http_client=http,
                                                   max_sse_event_size=MAX_RESPONSE_BYTES)
                async with Client(transport, cache=None, read_timeout_seconds=config.timeout) as client:
                    return await fn(client)
    except MCPToolError:
        raise
    except Exception as exc:  # every way the exchange fails: the error names the server
        raise _error(config, exc, tool, guarded.error_status) from None


# --- tools ---

# revision -> (when it expires, the server's tools); read and written on the LLM loop only.
_tools_cache: dict[str, tuple[float, tuple[ToolSpec, ...]]] = {}


def _spec(server: str, tool) -> ToolSpec:
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    description = (tool.description or getattr(tool, "title", None) or "")[:MAX_DESCRIPTION_CHARS]
    return ToolSpec(name=f"{server}.{tool.name}", description=description,
                    parameters=schema or {"type": "object", "properties": {}})


async def _server_tools(config: ServerConfig, fresh: bool = False) -> tuple[ToolSpec, ...]:
    cached = _tools_cache.get(config.revision)
    now = time.monotonic()
    if cached is not None and cached[0] > now and not fresh:
        return cached[1]

    async def listing(client: Client):
        tools, cursor = [], None
        for _ in range(10):  # pages; a server that never stops paging is cut short
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor or len(tools) >= MAX_TOOLS_PER_SERVER:
                break
        return tools

    tools = await _exchange(config, listing)
    specs = tuple(_spec(config.name, tool) for tool in tools[:MAX_TOOLS_PER_SERVER])
    for key in [key for key, (expires, _) in _tools_cache.items() if expires <= now]:
        del _tools_cache[key]
    _tools_cache[config.revision] = (now + TOOLS_CACHE_SECONDS, specs)
    return specs


def result_text(result) -> str:
    """A tool's result as the text the model reads: its text content, a note for content a
    model cannot read here (images, audio, binary resources), else its structured content."""
    parts = []
    for block in result.content or ():
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {block.mime_type}, not shown]")
        elif kind == "resource_link":
            parts.append(f"[resource {block.uri}]")
        elif kind == "resource":
            resource = block.resource
            text = getattr(resource, "text", None)
            parts.append(text if isinstance(text, str) else f"[resource {resource.uri}, binary, not shown]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    return "\n".join(parts)


def cut(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[cut: the result is {len(text)} characters; only the first {limit} are shown]"


class WorkspaceTools:
    """The runtime gateway's `AsyncToolHost` (runtime/llm_gateway.py) over a workspace's servers."""

    def __init__(self, configs: dict[str, ServerConfig]):
        self.configs = configs

    def _config(self, server: str) -> ServerConfig:
        config = self.configs.get(server)
        if config is None:
            known = ", ".join(sorted(self.configs)) or "none"
            raise LLMError(f"the workspace has no MCP server named {server!r} (it has: {known})")
        return config

    async def list_tools(self, servers: list[str]) -> list[ToolSpec]:
        specs: list[ToolSpec] = []
        for server in dict.fromkeys(servers):
            specs.extend(await _server_tools(self._config(server)))
        return specs

    async def call_tool(self, name: str, arguments: dict) -> str:
        server, dot, tool = name.partition(".")
        if not dot or not tool:
            raise LLMError(f"the tool {name!r} names no MCP server: tools are named \"<server>.<tool>\"")
        config = self._config(server)
        if not isinstance(arguments, dict):
            raise MCPToolError(server, f"the arguments of tool {tool!r} must be a JSON object", tool=tool)
        result = await _exchange(config, lambda client: client.call_tool(tool, arguments), tool)
        text = result_text(result)
        if result.is_error:
            raise MCPToolError(server, f"tool {tool!r} failed: {text[:500] or 'no reason given'}", tool=tool)
        return cut(text)


def server_tools(server: MCPServer) -> list[ToolSpec]:
    """The tools of one stored server, asked afresh (the studio's "test this server"); an
    MCPToolError says why it cannot be reached. Not for a turn: it waits on this thread."""
    config = config_of(server)
    return list(llm_loop.run(lambda: _server_tools(config, fresh=True)))


def resolve_tools(bot_id) -> WorkspaceTools | None:
    """The MCP servers of `bot_id`'s workspace; None when it has none. One query."""
    servers = list(MCPServer.objects.filter(workspace__bots=bot_id))
    return WorkspaceTools({s.name: config_of(s) for s in servers}) if servers else None


# --- saving ---


class MCPServerInvalid(ValueError):
    """An MCP server's settings are wrong; `field` names which."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


FIELDS = ("name", "url", "token", "headers", "timeout_seconds")
# Headers the MCP transport sets itself, or that would change what the request is.
_RESERVED_HEADERS = {"host", "content-length", "content-type", "accept", "transfer-encoding", "connection",
                     "mcp-session-id", "mcp-protocol-version", "last-event-id", "upgrade", "cookie"}
_TOKEN_CHARS = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _header_value_ok(value) -> bool:
    return isinstance(value, str) and len(value) <= 4000 and all(c == "\t" or " " <= c <= "~" for c in value)


def _check_headers(value) -> dict[str, str]:
    if not isinstance(value, dict):
        raise MCPServerInvalid("headers", "expected a JSON object of header names and values")
    if len(value) > 20:
        raise MCPServerInvalid("headers", "at most 20 headers")
    checked = {}
    for name, text in value.items():
        if not isinstance(name, str) or not name or len(name) > 100 or not set(name) <= _TOKEN_CHARS:
            raise MCPServerInvalid(f"headers.{name}", "not a valid header name")
        if name.lower() in _RESERVED_HEADERS:
            raise MCPServerInvalid(f"headers.{name}", "set by the MCP connection itself")
        if name.lower() == "authorization":
            raise MCPServerInvalid(f"headers.{name}", "use token for a bearer token")
        if not _header_value_ok(text):
            raise MCPServerInvalid(f"headers.{name}", "a text of at most 4000 printable ASCII characters")
        checked[name] = text.strip()
    return checked


def save_mcp_server(workspace, data: dict, server: MCPServer | None = None) -> MCPServer:
    """Create (server None) or update an MCP server from `data`; MCPServerInvalid names the
    field that is wrong. An update without `token` or `headers` keeps the stored one; `""` /
    `{}` removes it."""
    if not isinstance(data, dict):
        raise MCPServerInvalid("(body)", "expected a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise MCPServerInvalid(unknown[0], f"unknown field; expected one of {', '.join(FIELDS)}")
    creating = server is None
    server = server or MCPServer(workspace=workspace)
    if creating or "name" in data:
        name = data.get("name")
        if not isinstance(name, str) or not name or len(name) > 64 or not all(
                c.isascii() and (c.isalnum() or c in "-_") for c in name):
            # No dots: tool names are "<server>.<tool>".
            raise MCPServerInvalid("name", "1 to 64 letters, digits, - or _ (tools are named \"<name>.<tool>\")")
        if MCPServer.objects.filter(workspace=workspace, name=name).exclude(pk=server.pk).exists():
            raise MCPServerInvalid("name", f"the workspace already has an MCP server named {name!r}")
        server.name = name
    if creating or "url" in data:
        url = data.get("url")
        if not isinstance(url, str) or not url.strip() or len(url.strip()) > 500:
            raise MCPServerInvalid("url", "an http or https URL of at most 500 characters is required")
        try:
            server.url = validate_url(url.strip())
        except OutboundRefused as exc:
            raise MCPServerInvalid("url", str(exc)) from None
    if "token" in data:
        token = data["token"]
        if not _header_value_ok(token):
            raise MCPServerInvalid("token", "a text of at most 4000 printable ASCII characters")
        server.token = token.strip()
    if "headers" in data:
        server.headers = _check_headers(data["headers"])
    if "timeout_seconds" in data:
        value = data["timeout_seconds"]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 1 <= value <= 25:
            # Below the turn lease (FLOWSTUDIO_TURN_LEASE_SECONDS, 30 s), as a provider's.
            raise MCPServerInvalid("timeout_seconds", "from 1 to 25 seconds")
        server.timeout_seconds = float(value)
    if creating and MCPServer.objects.filter(workspace=workspace).count() >= MAX_SERVERS_PER_WORKSPACE:
        raise MCPServerInvalid("name", f"a workspace has at most {MAX_SERVERS_PER_WORKSPACE} MCP servers")
    server.save()
    return server


def describe_mcp_server(server: MCPServer) -> dict:
    """An MCP server as the REST API shows it: never the token or header values."""
    return {"id": server.pk, "name": server.name, "url": server.url, "has_token": bool(server.encrypted_token),
            "header_names": sorted(server.headers), "timeout_seconds": server.timeout_seconds,
            "created_at": server.created_at, "updated_at": server.updated_at}
