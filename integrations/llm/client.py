"""The provider client: one OpenAI-compatible endpoint (OpenAI, Azure OpenAI, Ollama, vLLM,
LM Studio, OpenRouter, Groq...) spoken to with the official `openai` package, async, through
the outbound guard (runtime/outbound.AsyncGuardedTransport).

It turns the engine's `LLMRequest` into a chat-completions call and the answer back into an
`LLMResponse`; every way a call can fail becomes an `LLMError` naming the provider and, when
there is one, the HTTP status. openai's own retry loop does the retries (429 and 5xx, with
backoff, honouring Retry-After); `max_retries` and the per-call `timeout` are the provider's
settings (docs/ai.md, "Providers").

Clients are bound to the event loop they first run on; every call runs on the gateway's one
LLM loop (runtime/llm_gateway.py), so one `AsyncOpenAI` per provider revision is kept there.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx2
import openai
import orjson

from runtime.engine.llm import LLMError, LLMRequest, LLMResponse, ToolCall
from runtime.outbound import AsyncGuardedTransport, OutboundFailed, OutboundRefused

# Bigger than any chat completion a bot needs; a provider answering more is refused.
MAX_ANSWER_CHARS = 1_000_000


@dataclass(frozen=True)
class ModelInfo:
    id: str
    label: str = ""
    context_window: int | None = None
    price_in: float = 0.0  # per 1,000 tokens
    price_out: float = 0.0

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return round(tokens_in / 1000 * self.price_in + tokens_out / 1000 * self.price_out, 8)


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    base_url: str
    api_key: str = field(repr=False)
    models: tuple[ModelInfo, ...] = ()
    default_model: str = ""
    timeout: float = 20.0
    max_retries: int = 2
    # Changes whenever the settings change, so a cached client is never a stale one.
    revision: str = ""

    def model(self, wanted: str) -> ModelInfo:
        """`wanted` is a model id, a label (Fast, Best; any case), or "" for the default."""
        wanted = (wanted or "").strip() or self.default_model
        if not wanted:
            if self.models:
                return self.models[0]
            raise LLMError("no model is named and the provider has no default model", provider=self.name)
        for info in self.models:
            if info.id == wanted:
                return info
        for info in self.models:
            if info.label and info.label.lower() == wanted.lower():
                return info
        # Providers serve more models than a workspace lists (Ollama pulls, OpenRouter ids).
        return ModelInfo(id=wanted)


# Connections per HTTP pool. httpcore's pool walks every connection it holds, probing each
# idle one's socket (two system calls), whenever a request starts or ends: one pool of 256
# connections made each of 200 answers at once walk 200 connections twice, 46% of the
# LLM loop's CPU in bench/llm_turns.py. A provider's connections are split over pools of
# this size, each call taking the least busy (docs/performance.md, "Issue 15's second round
# of cuts").
CONNECTIONS_PER_POOL = 32


class _Pools:
    """A provider's clients on one loop: `FLOWSTUDIO_LLM_WAITING_TURNS` connections (a
    connection for every turn that may wait at once: with the guard's default of 10 the 11th
    waiting turn queued for a whole answer), split over pools of CONNECTIONS_PER_POOL."""

    def __init__(self, config: ProviderConfig, connections: int):
        count = -(-connections // CONNECTIONS_PER_POOL)
        per_pool = -(-connections // count)
        self.clients = [self._make(config, per_pool) for _ in range(count)]
        self.busy = [0] * count

    @staticmethod
    def _make(config: ProviderConfig, connections: int) -> openai.AsyncOpenAI:
        transport = AsyncGuardedTransport(max_connections=connections)
        return openai.AsyncOpenAI(
            base_url=config.base_url, api_key=config.api_key or "none", max_retries=config.max_retries,
            timeout=config.timeout,
            http_client=httpx2.AsyncClient(transport=transport, timeout=config.timeout,
                                           follow_redirects=False, trust_env=False),
        )

    @contextmanager
    def lease(self):
        """The least busy client, for the length of one call."""
        busy = self.busy
        index = busy.index(min(busy)) if len(busy) > 1 else 0
        busy[index] += 1
        try:
            yield self.clients[index]
        finally:
            busy[index] -= 1


_clients: dict[tuple[str, str, int], _Pools] = {}


def _pools(config: ProviderConfig) -> _Pools:
    from django.conf import settings

    key = (config.name, config.revision, id(_current_loop()))
    pools = _clients.get(key)
    if pools is None:
        pools = _clients[key] = _Pools(config, max(10, settings.FLOWSTUDIO_LLM_WAITING_TURNS))
    return pools


def _client(config: ProviderConfig):
    """A client of the provider for one call (a context manager)."""
    return _pools(config).lease()


def _current_loop():
    import asyncio

    return asyncio.get_running_loop()


def _wire_request(request: LLMRequest, model: ModelInfo) -> dict:
    body: dict = {"model": model.id, "messages": request.wire_messages()}
    if request.tools:
        body["tools"] = [t.wire() for t in request.tools]
        if request.tool_choice in ("auto", "none", "required"):
            body["tool_choice"] = request.tool_choice
        elif request.tool_choice:
            body["tool_choice"] = {"type": "function", "function": {"name": request.tool_choice}}
    if request.response_schema is not None:
        body["response_format"] = {"type": "json_schema",
                                   "json_schema": {"name": "answer", "schema": request.response_schema}}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    return body


def _create_arguments(body: dict, *, stream: bool = False) -> dict:
    """`chat.completions.create()`'s arguments for a wire body: all but the model go in
    `extra_body`, which openai sends as given. As keyword arguments openai walks every one of
    them against its typed parameters (`async_maybe_transform`), about 0.3 ms of CPU a call
    for two short messages and more for a long memory, to send the same JSON
    (docs/performance.md, "Issue 15's second round of cuts"). `messages` is a required
    argument, so it is given empty and the body's list takes its place."""
    extra = {key: value for key, value in body.items() if key != "model"}
    arguments = {"model": body["model"], "messages": (), "extra_body": extra}
    if stream:
        # An argument, not an extra: openai reads it to hand the stream back unparsed.
        arguments["stream"] = True
        extra["stream_options"] = {"include_usage": True}
    return arguments


def _status_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"][:500]
        if isinstance(inner, str):
            return inner[:500]
    return (exc.message or "error")[:500]


class OpenAICompatible:
    """An `AsyncLLM` (runtime/llm_gateway.py) over one provider."""

    def __init__(self, config: ProviderConfig):
        self.config = config

    async def complete(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> LLMResponse:
        config = self.config
        model = config.model(request.model)
        body = _wire_request(request, model)
        started = time.perf_counter()
        try:
            if request.stream and on_token is not None:
                text, calls, usage, finish, model_id = await self._stream(body, on_token)
            else:
                with _client(config) as client:
                    reply = await client.chat.completions.create(**_create_arguments(body))
                if not getattr(reply, "choices", None):
                    raise LLMError("the answer has no choices", provider=config.name)
                choice = reply.choices[0]
                text = choice.message.content or ""
                calls = tuple(ToolCall(c.id or f"call_{i}", c.function.name, c.function.arguments or "")
                              for i, c in enumerate(choice.message.tool_calls or ()))
                usage, finish, model_id = reply.usage, choice.finish_reason or "stop", reply.model or model.id
        except LLMError:
            raise
        except openai.APITimeoutError:
            raise LLMError(f"no answer within {config.timeout:g} s", provider=config.name, retryable=True) from None
        except openai.APIStatusError as exc:
            raise LLMError(_status_message(exc), provider=config.name, status=exc.status_code,
                           retryable=exc.status_code == 429 or exc.status_code >= 500) from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__
            while cause is not None and not isinstance(cause, (OutboundRefused, OutboundFailed)):
                cause = cause.__cause__
            if cause is not None:
                raise LLMError(f"cannot reach {config.base_url}: {cause}", provider=config.name) from None
            raise LLMError(f"the connection to {config.base_url} failed or was cut off before the answer was complete",
                           provider=config.name, retryable=True) from None
        except (OutboundRefused, OutboundFailed) as exc:
            raise LLMError(f"cannot reach {config.base_url}: {exc}", provider=config.name) from None
        except (openai.APIResponseValidationError, ValueError, AttributeError, TypeError) as exc:
            # A 200 whose body is not a chat completion (not JSON, missing fields).
            raise LLMError(f"the answer is not a chat completion ({type(exc).__name__})", provider=config.name) from None
        if len(text) > MAX_ANSWER_CHARS:
            raise LLMError(f"the answer is longer than {MAX_ANSWER_CHARS} characters", provider=config.name)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        return LLMResponse(text=text, tool_calls=calls, model=model_id or model.id, provider=config.name,
                           tokens_in=tokens_in, tokens_out=tokens_out,
                           ms=round((time.perf_counter() - started) * 1000, 3), finish_reason=finish,
                           cost=model.cost(tokens_in, tokens_out))

    async def _stream(self, body: dict, on_token: Callable[[str], None]):
        # openai still makes the request (its retries, its status errors), but the chunks are
        # read as raw SSE lines and parsed with orjson: its pydantic chunk models and SSE
        # decoder cost about 0.2 ms of CPU a chunk, the most of an LLM turn's server CPU
        # (docs/performance.md, "LLM turns").
        name = self.config.name
        pieces: list[str] = []
        calls: dict[int, dict] = {}
        usage, finish, model_id, done, ended = None, "stop", body["model"], False, False
        size = 0
        with _client(self.config) as client:
            async with client.chat.completions.with_streaming_response.create(
                    **_create_arguments(body, stream=True)) as response:
                async for data in _sse_data(response.http_response, name):
                    if ended:
                        continue  # read to the end, so the connection goes back to the pool
                    if data.startswith(b"[DONE]"):
                        ended = True
                        continue
                    chunk = orjson.loads(data)
                    if not isinstance(chunk, dict):
                        raise ValueError("a chunk is not an object")
                    error = chunk.get("error")
                    if error:
                        message = error.get("message") if isinstance(error, dict) else error
                        raise LLMError(str(message or "an error occurred during streaming")[:500], provider=name)
                    model_id = chunk.get("model") or model_id
                    if chunk.get("usage"):
                        usage = _Usage(chunk["usage"])
                    for choice in chunk.get("choices") or ():
                        delta = choice.get("delta") or {}
                        content = delta.get("content")
                        if content:
                            size += len(content)
                            if size > MAX_ANSWER_CHARS:
                                raise LLMError(f"the answer is longer than {MAX_ANSWER_CHARS} characters", provider=name)
                            pieces.append(content)
                            on_token(content)
                        for part in delta.get("tool_calls") or ():
                            slot = calls.setdefault(part.get("index", 0), {"id": "", "name": "", "arguments": ""})
                            if part.get("id"):
                                slot["id"] = part["id"]
                            function = part.get("function")
                            if function:
                                slot["name"] += function.get("name") or ""
                                slot["arguments"] += function.get("arguments") or ""
                        if choice.get("finish_reason"):
                            finish, done = choice["finish_reason"], True
        if not done:
            # The stream ended without a finish reason: the connection was cut mid-answer.
            raise LLMError("the answer stream stopped before it was complete", provider=name, retryable=True)
        tool_calls = tuple(ToolCall(c["id"] or f"call_{i}", c["name"], c["arguments"])
                           for i, c in sorted(calls.items()))
        return "".join(pieces), tool_calls, usage, finish, model_id


class _Usage:
    __slots__ = ("prompt_tokens", "completion_tokens")

    def __init__(self, usage):
        usage = usage if isinstance(usage, dict) else {}
        self.prompt_tokens, self.completion_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")


# A line of an answer stream longer than this is not a chat-completion chunk.
MAX_SSE_LINE_BYTES = 4 * MAX_ANSWER_CHARS


async def _sse_data(response, provider: str):
    """The `data` of each server-sent event of `response`, as bytes (the SSE format: `data:`
    lines, events ended by an empty line; comments, `event:` and `id:` are not needed here)."""
    buffer, data = b"", []
    try:
        async for received in response.aiter_bytes():
            buffer += received
            if b"\n" not in received:
                if len(buffer) > MAX_SSE_LINE_BYTES:
                    raise LLMError(f"the answer is longer than {MAX_ANSWER_CHARS} characters", provider=provider)
                continue
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.endswith(b"\r"):
                    line = line[:-1]
                if not line:
                    if data:
                        yield data[0] if len(data) == 1 else b"\n".join(data)
                        data = []
                elif line.startswith(b"data:"):
                    data.append(line[6:] if line[5:6] == b" " else line[5:])
    except httpx2.HTTPError:
        raise LLMError("the answer stream stopped before it was complete", provider=provider,
                       retryable=True) from None
    if data:
        yield b"\n".join(data)


def describe_models(config: ProviderConfig) -> list[dict]:
    """The provider's models as the editor's pickers and the REST API show them."""
    return [{"id": m.id, "label": m.label, "contextWindow": m.context_window, "priceIn": m.price_in,
             "priceOut": m.price_out, "default": m.id == config.model("").id} for m in config.models]


def parse_models(value) -> tuple[ModelInfo, ...]:
    """The `models` setting of a provider ([{id, label, contextWindow, priceIn, priceOut}]),
    with ValueError naming the entry and field that is wrong."""
    if value in (None, ""):
        return ()
    if not isinstance(value, list):
        raise ValueError("models: expected a list of {id, label, contextWindow, priceIn, priceOut}")
    out, seen = [], set()
    for i, entry in enumerate(value):
        where = f"models[{i}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected an object")
        unknown = set(entry) - {"id", "label", "contextWindow", "priceIn", "priceOut"}
        if unknown:
            raise ValueError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        model_id = entry.get("id")
        if not isinstance(model_id, str) or not model_id.strip() or len(model_id) > 200:
            raise ValueError(f"{where}.id: a model id of 1 to 200 characters is required")
        label = entry.get("label", "")
        if not isinstance(label, str) or len(label) > 50:
            raise ValueError(f"{where}.label: a text of at most 50 characters")
        window = entry.get("contextWindow")
        if window is not None and (not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 10_000_000):
            raise ValueError(f"{where}.contextWindow: a whole number of tokens from 1 to 10,000,000")
        prices = []
        for name in ("priceIn", "priceOut"):
            price = entry.get(name, 0)
            if not isinstance(price, (int, float)) or isinstance(price, bool) or not 0 <= price <= 1000:
                raise ValueError(f"{where}.{name}: a price per 1,000 tokens from 0 to 1000")
            prices.append(float(price))
        for key in (model_id, label.lower()):
            if key and key in seen:
                raise ValueError(f"{where}: {key!r} is used by an earlier model")
            if key:
                seen.add(key)
        out.append(ModelInfo(model_id, label, window, *prices))
    return tuple(out)


def models_json(models: tuple[ModelInfo, ...]) -> list[dict]:
    return [{"id": m.id, "label": m.label, "contextWindow": m.context_window, "priceIn": m.price_in,
             "priceOut": m.price_out} for m in models]

