"""Record and replay of a turn's LLM exchanges (docs/ai.md, "Record and replay";
docs/conversation-tests.md, "LLM calls").

An exchange is one call as conversation tests keep it, JSON and diff-friendly:

    {"card": "answer",
     "request": {"model": "Fast", "messages": [{"role": "user", "content": "hi"}], ...},
     "answer": {"text": "Hello!", "model": "scripted-fast", "provider": "acme", ...}}

or `"error": {"message", "provider", "status"}` instead of `answer` for a call that failed.

`request` is everything that decides what the model answers: the messages, the model (as the
card and the bot's settings name it), the provider, the tools, the tool choice, the response
schema, the temperature and max tokens, in that order and only when set. A message's
content that spans lines is written as a list of its lines, so a changed line of a prompt is
a changed line of the bot file. Who asked (`card`) and whether it streamed are not compared.

`RecordingLLM` wraps the real model and keeps what it saw; `ReplayLLM` answers from a
recording and sends nothing: a request that differs from the recorded one, or a call the
recording does not have, raises `ReplayMismatch` (an LLMError, so the turn ends the way any
failing model call ends) and is kept in `problems` for the test runner to report.
The MCP tool exchanges of the same turns are recorded and replayed beside these by
tool_replay.py. Pure: no Django, no I/O.
"""
from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from .llm import LLM, LLMError, LLMRequest, LLMResponse, ToolCall

REPLAY_PROVIDER = "replay"


def _plain(value):
    """Tuples to lists, the JSON a bot file holds (and compares equal after a round trip)."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def request_details(request: LLMRequest) -> dict:
    """What a request carries beyond its messages, model and tool names, when set: what the
    trace adds so that a recording can be rebuilt from a stored conversation."""
    details: dict = {}
    if request.provider:
        details["provider"] = request.provider
    if request.tools:
        details["toolSpecs"] = [tool.wire() for tool in request.tools]
    if request.tool_choice is not None:
        details["toolChoice"] = request.tool_choice
    if request.response_schema is not None:
        details["responseSchema"] = request.response_schema
    if request.temperature is not None:
        details["temperature"] = request.temperature
    if request.max_tokens is not None:
        details["maxTokens"] = request.max_tokens
    return _plain(details)


def _request_record(model: str, messages: list[dict], details: dict) -> dict:
    record: dict = {"model": model or "", "messages": [_message_record(m) for m in _plain(messages)]}
    for key, out in (("provider", "provider"), ("toolSpecs", "tools"), ("toolChoice", "toolChoice"),
                     ("responseSchema", "responseSchema"), ("temperature", "temperature"),
                     ("maxTokens", "maxTokens")):
        if details.get(key) is not None:
            record[out] = details[key]
    return record


def record_request(request: LLMRequest) -> dict:
    return _request_record(request.model, request.wire_messages(), request_details(request))


def _message_record(message: dict) -> dict:
    content = message.get("content")
    if isinstance(content, str) and "\n" in content:
        return {**message, "content": content.split("\n")}
    return message


def _message_wire(message: dict) -> dict:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list) and content and all(isinstance(line, str) for line in content):
        return {**message, "content": "\n".join(content)}
    return message


def wire_request(record: dict) -> dict:
    """A recorded request with its messages' content as sent (lines joined): what compares."""
    out = dict(record)
    out["messages"] = [_message_wire(m) for m in record.get("messages") or []]
    out.setdefault("model", "")
    return out


def record_answer(response: LLMResponse) -> dict:
    answer: dict = {"text": response.text}
    if response.tool_calls:
        answer["toolCalls"] = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls]
    if response.finish_reason != "stop":
        answer["finishReason"] = response.finish_reason
    answer.update(model=response.model, provider=response.provider,
                  tokensIn=response.tokens_in, tokensOut=response.tokens_out)
    return answer


def record_error(exc: LLMError) -> dict:
    return {"message": exc.message, "provider": exc.provider, "status": exc.status}


def exchange_from_trace(request_entry: dict, outcome_entry: dict | None) -> dict | None:
    """The exchange of one call from a stored turn's trace: its `llm_request` entry and the
    `llm_response` or `llm_error` entry after it. None for a call that never ended (cancelled)."""
    if outcome_entry is None or outcome_entry.get("type") not in ("llm_response", "llm_error"):
        return None
    exchange: dict = {"card": request_entry.get("card")} if request_entry.get("card") else {}
    exchange["request"] = _request_record(request_entry.get("model") or "", request_entry.get("messages") or [],
                                          request_entry)
    if outcome_entry["type"] == "llm_error":
        exchange["error"] = {key: outcome_entry.get(key) for key in ("message", "provider", "status")}
        return exchange
    answer: dict = {"text": outcome_entry.get("text") or ""}
    if outcome_entry.get("toolCalls"):
        answer["toolCalls"] = outcome_entry["toolCalls"]
    if outcome_entry.get("finishReason", "stop") != "stop":
        answer["finishReason"] = outcome_entry["finishReason"]
    answer.update(model=outcome_entry.get("model") or "", provider=outcome_entry.get("provider") or "",
                  tokensIn=outcome_entry.get("tokensIn") or 0, tokensOut=outcome_entry.get("tokensOut") or 0)
    exchange["answer"] = answer
    return exchange


def exchanges_from_trace(trace: list[dict]) -> list[dict]:
    exchanges = []
    for i, entry in enumerate(trace):
        if entry.get("type") != "llm_request":
            continue
        following = next((e for e in trace[i + 1:] if e.get("type") in ("llm_request", "llm_response", "llm_error")),
                         None)
        exchange = exchange_from_trace(entry, following)
        if exchange is not None:
            exchanges.append(exchange)
    return exchanges


def _card_of(request: LLMRequest) -> dict:
    return {"card": request.card} if request.card else {}


@dataclass
class RecordingLLM:
    """Passes every call to `inner` and keeps the exchange (failures too); also as an `llm`
    step in `steps` when given (shared with a RecordingTools: tool_replay.py), so a turn's
    steps keep the order its calls happened in."""

    inner: LLM | None
    exchanges: list[dict] = field(default_factory=list)
    steps: list[dict] | None = None

    def complete(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> LLMResponse:
        if self.inner is None:
            raise LLMError("this bot has no LLM provider (docs/ai.md, \"Providers\")")
        exchange = {**_card_of(request), "request": record_request(request)}
        try:
            response = self.inner.complete(request, on_token)
        except LLMError as exc:
            self._keep({**exchange, "error": record_error(exc)})
            raise
        self._keep({**exchange, "answer": record_answer(response)})
        return response

    def _keep(self, exchange: dict) -> None:
        self.exchanges.append(exchange)
        if self.steps is not None:
            self.steps.append({"llm": exchange})


class ReplayMismatch(LLMError):
    """The bot asked the model something the recording does not answer."""

    def __init__(self, message: str, *, call: int, diff: str = ""):
        super().__init__(message, provider=REPLAY_PROVIDER)
        self.call, self.diff = call, diff


@dataclass
class ReplayLLM:
    """Answers from `exchanges` in order and sends nothing. `where` names the recording in
    messages ("step 3"). Every mismatch is kept in `problems`; `unused` are the recorded
    calls the bot did not make."""

    exchanges: list[dict]
    where: str = "the recording"
    calls: int = 0
    problems: list[ReplayMismatch] = field(default_factory=list)

    @property
    def unused(self) -> list[dict]:
        return self.exchanges[self.calls:]

    def complete(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> LLMResponse:
        self.calls += 1
        asked = record_request(request)
        who = f" (card {request.card!r})" if request.card else ""
        if self.calls > len(self.exchanges):
            return self._fail(f"LLM call {self.calls}{who} is beyond the recording: {self.where} recorded "
                              f"{len(self.exchanges)} call{'s' if len(self.exchanges) != 1 else ''}; "
                              f"record the test again (bot test --record, or Save as test)")
        exchange = self.exchanges[self.calls - 1]
        recorded = wire_request(exchange.get("request") or {})
        if wire_request(asked) != recorded:
            return self._fail(f"LLM call {self.calls}{who} of {self.where} sent a different request than "
                              f"the recorded one; record the test again if the change is intended",
                              diff=request_diff(recorded, wire_request(asked)))
        if "error" in exchange:
            error = exchange["error"] or {}
            raise LLMError(error.get("message") or "", provider=error.get("provider") or "",
                           status=error.get("status"))
        answer = exchange.get("answer") or {}
        response = LLMResponse(
            text=answer.get("text") or "",
            tool_calls=tuple(ToolCall(c.get("id", ""), c.get("name", ""), c.get("arguments", ""))
                             for c in answer.get("toolCalls") or ()),
            model=answer.get("model") or "", provider=answer.get("provider") or "",
            tokens_in=answer.get("tokensIn") or 0, tokens_out=answer.get("tokensOut") or 0,
            finish_reason=answer.get("finishReason") or "stop")
        if request.stream and on_token is not None and response.text:
            on_token(response.text)
        return response

    def _fail(self, message: str, diff: str = ""):
        problem = ReplayMismatch(message, call=self.calls, diff=diff)
        self.problems.append(problem)
        raise problem


def render_request(wire: dict) -> list[str]:
    """A request as lines to read and diff: each message under its role, then what else was set."""
    lines: list[str] = []
    for message in wire.get("messages") or []:
        extra = {k: v for k, v in message.items() if k not in ("role", "content")}
        lines.append(f"[{message.get('role')}]" + (f" {json.dumps(extra, ensure_ascii=False, sort_keys=True)}"
                                                   if extra else ""))
        content = message.get("content")
        lines += (content if isinstance(content, str) else json.dumps(content, ensure_ascii=False,
                                                                       sort_keys=True)).split("\n")
    for key in ("model", "provider", "tools", "toolChoice", "responseSchema", "temperature", "maxTokens"):
        if key in wire and (key != "model" or wire[key]):
            value = wire[key]
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
            lines.append(f"[{key}]")
            lines += text.split("\n")
    return lines


def request_diff(recorded: dict, sent: dict) -> str:
    """A unified diff from the recorded request to the one the bot sends now."""
    return "\n".join(difflib.unified_diff(render_request(recorded), render_request(sent),
                                          "recorded", "sent", lineterm=""))
