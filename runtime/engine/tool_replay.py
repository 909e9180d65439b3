"""Record and replay of a turn's MCP tool exchanges, beside its LLM calls (llm_replay.py;
docs/ai.md, "Record and replay"; docs/conversation-tests.md, "LLM calls").

A turn's tool host (TurnInput.tools: the workspace's MCP servers) is asked two things, each
kept as one step of a conversation test, in the order they happened among the `llm` steps:

    {"tools": {"servers": ["calc"], "list": [{"type": "function", "function": {"name": "calc.add", ...}}]}}
    {"tool": {"name": "calc.add", "arguments": {"a": 20, "b": 22}, "result": "42"}}

`tools` is a tool list the host gave (ToolSpec wire dicts under the host's own names,
"<server>.<tool>", not the wire names the model sees; the `llm` step's request has those);
`tool` is one call, with what the host answered: `result` (its text, a list of lines when it
spans lines) or `error` ({"message", "provider"?, "status"?}) when it failed. A list needs a
step of its own: the model's wire names cannot be turned back into the host's names, and a
list that failed leaves no LLM call behind.

`RecordingTools` wraps the real host and keeps each exchange; `ReplayTools` answers from a
recording and sends nothing: a call with other arguments, another tool or a call beyond the
recording raises `ToolReplayMismatch` (a ReplayMismatch, so an LLMError: the node treats it
as a failing tool) and keeps it in `problems` for the test runner to report.
`recorded_steps_from_trace` rebuilds the `llm`, `tools` and `tool` steps of a stored turn.
Pure: no Django, no I/O.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field

from .llm import LLMError, ToolHost, ToolSpec
from .llm_replay import ReplayMismatch, exchange_from_trace

RECORDING_KINDS = ("llm", "tools", "tool")
TOOL_KINDS = ("tools", "tool")


def _plain(value):
    """Tuples to lists: the JSON a bot file holds (equal after a round trip)."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def _lines(text):
    """A result that spans lines as the list of its lines, so one changed line is one line of the file."""
    return text.split("\n") if isinstance(text, str) and "\n" in text else text


def _text(value) -> str:
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "\n".join(value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def record_tool_error(exc: LLMError) -> dict:
    # The node shows the model str(exc), and the error flow gets provider and status.
    error: dict = {"message": str(exc)}
    if exc.provider:
        error["provider"] = exc.provider
    if exc.status is not None:
        error["status"] = exc.status
    return error


class RecordedToolError(LLMError):
    """A tool failure replayed from a recording: reads as the recorded one did."""

    def __str__(self) -> str:
        return self.message


def _raise_recorded(error) -> None:
    error = error if isinstance(error, dict) else {}
    raise RecordedToolError(error.get("message") or "", provider=error.get("provider") or "",
                            status=error.get("status"))


def spec_from_wire(wire: dict) -> ToolSpec:
    function = (wire or {}).get("function") or {}
    return ToolSpec(function.get("name") or "", function.get("description") or "",
                    function.get("parameters") or {"type": "object", "properties": {}})


@dataclass
class RecordingTools:
    """Passes every call to `inner` and keeps the exchange (failures too) as a step in
    `exchanges`, and in `steps` when given: a list shared with a RecordingLLM, so that the
    turn's LLM and tool steps come out in the order they happened."""

    inner: ToolHost
    exchanges: list[dict] = field(default_factory=list)
    steps: list[dict] | None = None

    def _keep(self, step: dict) -> None:
        self.exchanges.append(step)
        if self.steps is not None:
            self.steps.append(step)

    def list_tools(self, servers: list[str]) -> list[ToolSpec]:
        asked = {"servers": _plain(list(servers))}
        try:
            specs = self.inner.list_tools(servers)
        except LLMError as exc:
            self._keep({"tools": {**asked, "error": record_tool_error(exc)}})
            raise
        self._keep({"tools": {**asked, "list": _plain([spec.wire() for spec in specs])}})
        return specs

    def call_tool(self, name: str, arguments: dict) -> str:
        asked = {"name": name, "arguments": _plain(arguments)}
        try:
            result = self.inner.call_tool(name, arguments)
        except LLMError as exc:
            self._keep({"tool": {**asked, "error": record_tool_error(exc)}})
            raise
        self._keep({"tool": {**asked, "result": _lines(_plain(result))}})
        return result


class ToolReplayMismatch(ReplayMismatch):
    """The bot asked its tool host something the recording does not answer. `call` is the
    position (from 1) of the exchange in the turn's recorded tool steps; `expected` and
    `received` say what the recording has there and what the bot asked."""

    def __init__(self, message: str, *, call: int, expected: str, received: str, diff: str = ""):
        super().__init__(message, call=call, diff=diff)
        self.expected, self.received = expected, received

    def __str__(self) -> str:
        return self.message


def describe_call(name: str, arguments) -> str:
    return f"{name!r} {json.dumps(arguments, ensure_ascii=False, sort_keys=True)}"


def describe_list(servers) -> str:
    return "the MCP tool list of " + ", ".join(repr(s) for s in servers or [])


def describe_step(step: dict) -> str:
    """A recorded tool step, the way the messages name it."""
    if "tool" in step:
        call = step["tool"] or {}
        return f"MCP tool call {describe_call(call.get('name'), call.get('arguments') or {})}"
    return describe_list((step.get("tools") or {}).get("servers"))


def _call_lines(name, arguments) -> list[str]:
    return [f"[tool] {name}"] + json.dumps(arguments, ensure_ascii=False, indent=2, sort_keys=True).split("\n")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


AGAIN = "record the test again (bot test --record, or Save as test)"


@dataclass
class ReplayTools:
    """The engine's ToolHost answering from `exchanges` (the turn's `tools` / `tool` steps,
    their values with the kind as key) in order, sending nothing. `where` names the recording
    in messages ("step 3"). `problems` keeps every mismatch (share it with the turn's
    ReplayLLM to have both in the order they happened); `unused` are the recorded exchanges
    the bot did not make."""

    exchanges: list[dict]
    where: str = "the recording"
    used: int = 0
    calls: int = 0  # tool calls answered from the recording
    problems: list[ReplayMismatch] = field(default_factory=list)

    @property
    def unused(self) -> list[dict]:
        return self.exchanges[self.used:]

    def _next(self, kind: str, asked: str) -> dict:
        """The recorded exchange this one must match; a mismatch when it is not of `kind`."""
        self.used += 1
        if self.used > len(self.exchanges):
            recorded = sum(kind in step for step in self.exchanges)
            word = "tool call" if kind == "tool" else "tool list"
            self._fail(f"{asked} is beyond the recording: {self.where} recorded {_plural(recorded, word)}; {AGAIN}",
                       expected=f"{_plural(recorded, 'recorded ' + word)}", received=asked)
        step = self.exchanges[self.used - 1]
        if kind not in step:
            self._fail(f"{asked} of {self.where} was not recorded: the recording has {describe_step(step)} "
                       f"there; {AGAIN}", expected=describe_step(step), received=asked)
        return step[kind] or {}

    def list_tools(self, servers: list[str]) -> list[ToolSpec]:
        servers = _plain(list(servers))
        asked = describe_list(servers)
        recorded = self._next("tools", asked)
        if recorded.get("servers") != servers:
            self._fail(f"the MCP tool list of {self.where} asks for the servers {servers}, the recorded one "
                       f"for {recorded.get('servers')}; record the test again if the change is intended",
                       expected=describe_list(recorded.get("servers")), received=asked)
        if "error" in recorded:
            _raise_recorded(recorded["error"])
        return [spec_from_wire(wire) for wire in recorded.get("list") or []]

    def call_tool(self, name: str, arguments: dict) -> str:
        arguments = _plain(arguments)
        asked = f"MCP tool call {describe_call(name, arguments)}"
        recorded = self._next("tool", asked)
        if (recorded.get("name"), recorded.get("arguments")) != (name, arguments):
            what = "other arguments" if recorded.get("name") == name else "another tool"
            diff = "\n".join(difflib.unified_diff(_call_lines(recorded.get("name"), recorded.get("arguments")),
                                                  _call_lines(name, arguments), "recorded", "sent", lineterm=""))
            self._fail(f"{asked} of {self.where} differs from the recorded call "
                       f"{describe_call(recorded.get('name'), recorded.get('arguments'))} ({what}); "
                       "record the test again if the change is intended",
                       expected=describe_step({"tool": recorded}), received=asked, diff=diff)
        self.calls += 1
        if "error" in recorded:
            _raise_recorded(recorded["error"])
        return _text(recorded.get("result", ""))

    def _fail(self, message: str, *, expected: str, received: str, diff: str = ""):
        problem = ToolReplayMismatch(message, call=self.used, expected=expected, received=received, diff=diff)
        self.problems.append(problem)
        raise problem


# The autonomous node's text for a failing MCP tool (autonomous._mcp): the trace keeps it so.
_FAILED = "the tool {!r} failed: "


def _tool_step_from_trace(trace: list[dict], at: int) -> dict:
    result = trace[at]
    name = result["tool"]
    call = next((e for e in reversed(trace[:at]) if e.get("type") == "tool_call"
                 and e.get("name") == result.get("name")), {})
    try:
        arguments = json.loads(call.get("arguments") or "{}")
    except ValueError:
        arguments = {}
    step: dict = {"name": name, "arguments": arguments}
    if result.get("error"):
        message = str((result.get("result") or {}).get("error") or "")
        prefix = _FAILED.format(name)
        step["error"] = {"message": message[len(prefix):] if message.startswith(prefix) else message}
    else:
        step["result"] = _lines(result.get("result") if isinstance(result.get("result"), str)
                                else _text(result.get("result")))
    return {"tool": step}


def recorded_steps_from_trace(trace: list[dict]) -> list[dict]:
    """The `llm`, `tools` and `tool` steps of a stored turn, in the order they happened, from
    its trace (the emulator's "Save as test"): `llm_request` with its outcome, `tools_listed`,
    and the `tool_result` of each MCP tool the host ran (it names the host's tool). A call
    that never ended (cancelled) and a tool list that failed are not in the trace, so not here."""
    steps: list[dict] = []
    for i, entry in enumerate(trace):
        kind = entry.get("type")
        if kind == "llm_request":
            following = next((e for e in trace[i + 1:] if e.get("type") in ("llm_request", "llm_response",
                                                                             "llm_error")), None)
            exchange = exchange_from_trace(entry, following)
            if exchange is not None:
                steps.append({"llm": exchange})
        elif kind == "tools_listed":
            steps.append({"tools": {"servers": list(entry.get("servers") or []),
                                    "list": list(entry.get("tools") or [])}})
        elif kind == "tool_result" and entry.get("tool"):
            steps.append(_tool_step_from_trace(trace, i))
    return steps
