"""The scripted test LLM server: a real HTTP server speaking the OpenAI chat-completions
protocol (`POST /v1/chat/completions`, `GET /v1/models`), so the provider client is tested
over the wire with the official `openai` package and no mock of it (docs/ai.md, "What works
offline").

A Starlette app run by uvicorn in a background thread on 127.0.0.1 and a free port: uvicorn
gives real HTTP/1.1 with chunked SSE, real sockets that can be cut, and starts in a few ms;
its own thread keeps it off the test's event loop, so sync and async tests can use it.

    server = ScriptedServer().start()
    server.script([text("Hello"), tool("lookup", {"q": 1}), error(429, retry_after=1), delay(5)])
    ... server.url ("http://127.0.0.1:PORT/v1"), server.requests (every JSON body received)
    server.stop()

Each step answers one request, in order. With an empty script the server answers 500 with
"the scripted server has no step left". `demo=True` answers without a script,
deterministically (`demo_answer`), for FLOWSTUDIO_LLM_DEMO=1.
"""
from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field

MODELS = [{"id": "scripted-fast", "label": "Fast", "contextWindow": 8192, "priceIn": 0.001, "priceOut": 0.002},
          {"id": "scripted-best", "label": "Best", "contextWindow": 32768, "priceIn": 0.01, "priceOut": 0.03}]


@dataclass
class Step:
    kind: str  # "text" | "tool" | "error" | "delay" | "malformed" | "cut"
    text: str = ""
    tool_calls: list = field(default_factory=list)
    status: int = 200
    retry_after: float | None = None
    seconds: float = 0.0  # a delay before answering
    token_delay: float = 0.0  # between streamed chunks
    tokens_in: int | None = None
    tokens_out: int | None = None


def text(answer: str, *, token_delay: float = 0.0, tokens_in=None, tokens_out=None) -> Step:
    return Step("text", text=answer, token_delay=token_delay, tokens_in=tokens_in, tokens_out=tokens_out)


def tool(name: str, arguments=None, *, id: str | None = None, text: str = "", tokens_in=None, tokens_out=None) -> Step:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return Step("tool", text=text, tool_calls=[{"id": id or f"call_{name}", "name": name, "arguments": args}],
                tokens_in=tokens_in, tokens_out=tokens_out)


def error(status: int, message: str = "scripted failure", *, retry_after: float | None = None) -> Step:
    return Step("error", text=message, status=status, retry_after=retry_after)


def delay(seconds: float, answer: str = "late") -> Step:
    return Step("text", text=answer, seconds=seconds)


def malformed() -> Step:
    """A 200 whose body is not JSON."""
    return Step("malformed")


def cut(answer: str = "this stream is cut off") -> Step:
    """A stream (or body) that stops mid-way: the connection closes before [DONE]."""
    return Step("cut", text=answer)


def demo_answer(body: dict) -> Step:
    """Deterministic answers without a script: a tool call when tools are offered and the last
    user message names one, otherwise an echo of the last user message."""
    last = ""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            last = content if isinstance(content, str) else json.dumps(content)
            break
    for spec in body.get("tools") or []:
        name = (spec.get("function") or {}).get("name", "")
        if name and name.lower() in last.lower():
            return tool(name, {"text": last})
    words = last.split()
    summary = " ".join(words[:12]) + (" ..." if len(words) > 12 else "")
    return text(f"(demo) You said: {summary}" if last else "(demo) Hello! Say something.")


DEMO_KEPT = 50


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_in_thread(app, *, name: str, lifespan: str = "off"):
    """Serve an ASGI app with uvicorn on 127.0.0.1 and a free port, in a daemon thread; returns
    (uvicorn server, thread, port) once it accepts connections. Shared by the test servers
    (this one, integrations/llm/mcp_testing.py)."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan=lifespan, access_log=False))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {name} did not start")
        time.sleep(0.01)
    return server, thread, port


def stop_thread_server(server, thread) -> None:
    server.should_exit = True
    thread.join(timeout=10)


def _tokens(value: str) -> int:
    return max(1, len(value) // 4) if value else 0


class ScriptedServer:
    def __init__(self, *, demo: bool = False, models: list | None = None):
        self.demo = demo
        self.models = models or MODELS
        self.steps: list[Step] = []
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self._lock = threading.Lock()
        self.port = 0
        self._server = None
        self._thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, steps: list[Step]) -> ScriptedServer:
        with self._lock:
            self.steps = list(steps)
            self.requests.clear()
            self.headers.clear()
        return self

    def _next(self, body: dict) -> Step | None:
        with self._lock:
            self.requests.append(body)
            if self.demo:
                # A demo server runs as long as the studio: keep only the latest requests.
                del self.requests[:-DEMO_KEPT]
            if self.steps:
                return self.steps.pop(0)
        return demo_answer(body) if self.demo else None

    # --- the ASGI app ---

    def app(self):
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse, Response, StreamingResponse
        from starlette.routing import Route

        async def models(request):
            return JSONResponse({"object": "list", "data": [
                {"id": m["id"], "object": "model", "created": 0, "owned_by": "scripted"} for m in self.models]})

        async def completions(request):
            raw = await request.body()
            self.headers.append(dict(request.headers))
            if self.demo:
                del self.headers[:-DEMO_KEPT]
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"_unparsed": raw.decode(errors="replace")}
            step = self._next(body)
            if step is None:
                return JSONResponse({"error": {"message": f"the scripted server has no step left for request "
                                                          f"{len(self.requests)}", "type": "script_empty"}},
                                    status_code=500)
            if step.seconds:
                await asyncio.sleep(step.seconds)
            if step.kind == "error":
                headers = {"retry-after": f"{step.retry_after:g}"} if step.retry_after is not None else {}
                return JSONResponse({"error": {"message": step.text, "type": "scripted", "code": step.status}},
                                    status_code=step.status, headers=headers)
            if step.kind == "malformed":
                return Response(b'{"id": "chatcmpl-1", "choices": [ this is not json', status_code=200,
                                media_type="application/json")
            model = body.get("model") or self.models[0]["id"]
            tokens_in = step.tokens_in if step.tokens_in is not None else sum(
                _tokens(str(m.get("content") or "")) for m in body.get("messages") or [])
            tokens_out = step.tokens_out if step.tokens_out is not None else _tokens(step.text) + sum(
                _tokens(c["arguments"]) for c in step.tool_calls)
            usage = {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                     "total_tokens": tokens_in + tokens_out}
            finish = "tool_calls" if step.tool_calls else "stop"
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return StreamingResponse(self._stream(step, model, finish, usage if include_usage else None),
                                         media_type="text/event-stream")
            if step.kind == "cut":
                return _CutResponse(json.dumps({"id": "chatcmpl-cut", "choices": []}).encode())
            message = {"role": "assistant", "content": step.text or None}
            if step.tool_calls:
                message["tool_calls"] = [{"id": c["id"], "type": "function",
                                          "function": {"name": c["name"], "arguments": c["arguments"]}}
                                         for c in step.tool_calls]
            return JSONResponse({"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion",
                                 "created": int(time.time()), "model": model,
                                 "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                                 "usage": usage})

        return Starlette(routes=[Route("/v1/models", models), Route("/v1/chat/completions", completions,
                                                                         methods=["POST"])])

    async def _stream(self, step: Step, model: str, finish: str, usage: dict | None):
        base = {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model}

        def chunk(delta, finish_reason=None, **extra):
            return ("data: " + json.dumps({**base, "choices": [{"index": 0, "delta": delta,
                                                                   "finish_reason": finish_reason}], **extra})
                    + "\n\n").encode()

        yield chunk({"role": "assistant", "content": ""})
        words = step.text.split(" ") if step.text else []
        for i, word in enumerate(words):
            if step.kind == "cut" and i >= max(1, len(words) // 2):
                raise _Cut()
            if step.token_delay:
                await asyncio.sleep(step.token_delay)
            yield chunk({"content": word if i == len(words) - 1 else word + " "})
        for index, call in enumerate(step.tool_calls):
            yield chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                         "function": {"name": call["name"], "arguments": ""}}]})
            arguments = call["arguments"]
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield chunk({}, finish)
        if usage is not None:
            yield ("data: " + json.dumps({**base, "choices": [], "usage": usage}) + "\n\n").encode()
        yield b"data: [DONE]\n\n"

    # --- lifecycle ---

    def start(self) -> ScriptedServer:
        self._server, self._thread, self.port = serve_in_thread(self.app(), name="scripted LLM server")
        return self

    def stop(self) -> None:
        if self._server is not None:
            stop_thread_server(self._server, self._thread)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _Cut(Exception):
    """Raised inside a streamed body: uvicorn drops the connection before the body ends."""


class _CutResponse:
    """A response whose declared length is longer than what is sent before the connection closes."""

    def __init__(self, partial: bytes):
        self.partial = partial

    async def __call__(self, scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(self.partial) * 2).encode())]})
        await send({"type": "http.response.body", "body": self.partial[: len(self.partial) // 2],
                    "more_body": True})
        raise _Cut()


def demo_provider_settings(server: ScriptedServer | None = None) -> dict:
    """Provider settings that point at a demo-mode scripted server (started here when none is
    given), for FLOWSTUDIO_LLM_DEMO=1: name, kind, base URL, API key, models, default model."""
    server = server or ScriptedServer(demo=True).start()
    return {"name": "demo", "kind": "openai", "base_url": server.url, "api_key": "demo-key",
            "models": [dict(m) for m in server.models], "default_model": server.models[0]["id"],
            "server": server}
