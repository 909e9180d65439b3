"""How the engine reaches a language model: through the `LLM` interface below, which the
runtime implements (runtime/llm_gateway.py, over the workspace's provider) and engine tests
replace with `ScriptedLLM`. The engine stays pure: it builds an `LLMRequest`, calls
`TurnInput.llm.complete()` from its own thread and gets an `LLMResponse` or an `LLMError`.

The call blocks the engine's thread (never an event loop: the engine runs on the engine pool,
runtime/engine_pool.py); the runtime frees the thread's pool slot while it waits. Time spent
waiting does not count against the turn's CPU/wall budget (`TurnInput.budget_ms`): a model
that answers in 20 s is bounded by the provider's own per-call timeout, not by the budget
meant for the bot's code.

Messages follow the OpenAI chat-completions shape, the lingua franca of every provider we
speak to: {"role": "system"|"user"|"assistant"|"tool", "content": str, ...} with
"tool_calls" on an assistant message and "tool_call_id" on a tool message.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call: a name, what it does, and its JSON Schema."""

    name: str
    description: str
    parameters: dict

    def wire(self) -> dict:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # as the model wrote it: JSON text, possibly malformed

    def parsed_arguments(self) -> dict:
        """The arguments as a JSON object; ValueError naming the tool when they are not one."""
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError as exc:
            raise ValueError(f"the arguments of tool call {self.name!r} are not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError(f"the arguments of tool call {self.name!r} are not a JSON object")
        return value


@dataclass(frozen=True)
class LLMRequest:
    messages: tuple[dict, ...]
    # A model id of the provider, a label of the workspace's models ("Fast", "Best"), or ""
    # for the bot's default model.
    model: str = ""
    # The name of one of the workspace's providers; "" for the bot's (settings.llm.provider),
    # else the workspace's default provider.
    provider: str = ""
    tools: tuple[ToolSpec, ...] = ()
    # "auto", "none", "required", or a tool name the model must call.
    tool_choice: str | None = None
    # A JSON Schema the answer must follow (sent as the provider's structured-output format).
    response_schema: dict | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    # True: the caller passes `on_token` and wants the text as it is generated.
    stream: bool = False
    # Who asks: the card id and card type (or "agent:summary"...), for usage and the trace.
    card: str | None = None
    purpose: str = ""

    def wire_messages(self) -> list[dict]:
        return [dict(m) for m in self.messages]


@dataclass(frozen=True)
class LLMResponse:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    model: str = ""
    provider: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    ms: float = 0.0
    finish_reason: str = "stop"
    cost: float = 0.0


class LLMError(Exception):
    """The model could not answer: the provider refused or failed (status), timed out, or
    answered something that is not a chat completion. `provider` and `status` name it in
    the error flow's `event.error`."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.message, self.provider, self.status, self.retryable = message, provider, status, retryable

    def __str__(self) -> str:
        if not self.provider:  # no provider was reached: the message says why on its own
            return self.message if self.status is None else f"HTTP {self.status}: {self.message}"
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"LLM provider {self.provider!r}{status}: {self.message}"


class LLMCancelled(Exception):
    """The user asked to stop while the model was answering; the partial answer is dropped."""


class LLM(Protocol):
    def complete(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> LLMResponse:
        """Answer `request`. With `request.stream` and `on_token`, call `on_token(delta)` for
        each piece of text as it arrives, then return the whole answer. Raises LLMError or
        LLMCancelled."""
        ...


class ToolHost(Protocol):
    """Tools from outside the bot (MCP servers configured in the workspace) that an
    autonomous node or AI Task may offer the model. The runtime implements it
    (integrations/llm/mcp_tools.py); engine tests use a fake. Names are "<server>.<tool>"."""

    def list_tools(self, servers: list[str]) -> list[ToolSpec]:
        """The tools of the named servers; LLMError naming the server when one cannot be reached."""
        ...

    def call_tool(self, name: str, arguments: dict) -> str:
        """Run one tool and return its result as text (what the model reads); LLMError on failure."""
        ...


Script = LLMResponse | str | LLMError | Callable[[LLMRequest], "LLMResponse | str"]


@dataclass
class ScriptedLLM:
    """An `LLM` for engine tests: answers from `script`, one entry per call, in order. A
    string is a plain text answer; a callable gets the request; an LLMError is raised.
    Every request is kept in `requests`. Streaming splits a text answer on spaces."""

    script: list[Script] = field(default_factory=list)
    requests: list[LLMRequest] = field(default_factory=list)

    def complete(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> LLMResponse:
        self.requests.append(request)
        if not self.script:
            raise LLMError(f"the script has no answer left for call {len(self.requests)}", provider="scripted")
        answer = self.script.pop(0)
        if callable(answer) and not isinstance(answer, LLMResponse):
            answer = answer(request)
        if isinstance(answer, LLMError):
            raise answer
        if isinstance(answer, str):
            answer = LLMResponse(text=answer, model=request.model or "scripted", provider="scripted",
                                 tokens_in=sum(len(str(m.get("content") or "")) // 4 for m in request.messages),
                                 tokens_out=max(1, len(answer) // 4))
        if request.stream and on_token is not None and answer.text:
            for piece in _pieces(answer.text):
                on_token(piece)
        return answer


def _pieces(text: str) -> Iterable[str]:
    words = text.split(" ")
    for i, word in enumerate(words):
        yield word if i == len(words) - 1 else word + " "


def tool_call(name: str, arguments: Any = None, *, id: str | None = None, text: str = "") -> LLMResponse:
    """A scripted answer that calls one tool (tests)."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return LLMResponse(text=text, tool_calls=(ToolCall(id or f"call_{name}", name, args),),
                       provider="scripted", model="scripted", finish_reason="tool_calls")
