"""The autonomous node: a model decides which of the node's cards to run, in what order,
and when to talk to the user, following the builder's instructions (Botpress's Autonomous
Node). docs/ai.md, "The autonomous node", is the user-facing description.

The loop, one model call per iteration: instructions + memory + the node's transcript +
tools -> the tool calls are run in order and their results appended -> call again. An
answer without tool calls is sent to the user and the node waits for the reply, which
resumes the loop with that message appended.

The transcript lives in the frame (`frame["auto"]`, plain JSON) so the node resumes after
the user's reply, a flow call, or a server restart. It is copied on load and replaced on
save, never mutated in place: the turn's input state must stay valid whatever happens.

Tools: the built-ins (`send_message`, `wait_for_user_input`, `transition`), one tool per
card of the node (its card id is its name), and the tools of the MCP servers the node
names (`<server>.<tool>`, through `TurnInput.tools`).
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, ValidationError

from .cards.ai_prompt import AIConfig, memory_messages
from .cards.base import CARD_TYPES, CONTINUE, SUSPEND, Call, Card, Jump, _loc_to_path, _plain
from .cards.capture import KIND_LABELS, _Capture
from .cards.fields import NODE_ID_PATTERN, TemplateStr
from .errors import BotRuntimeError, LLMFailure, Problem, StateLimitError
from .events import MESSAGE_EVENT_TYPES
from .llm import LLMError, LLMRequest, ToolCall, ToolSpec
from .templates import Template, compile_template

SEND_MESSAGE, WAIT, TRANSITION = "send_message", "wait_for_user_input", "transition"
BUILTIN_TOOLS = (SEND_MESSAGE, WAIT, TRANSITION)
# The transcript kept in the conversation state; past it the oldest exchanges are dropped
# (the state as a whole may hold 128 KiB, shared with variables and other frames).
TRANSCRIPT_LIMIT_BYTES = 32 * 1024
# One tool result or message as stored; a longer one is cut (the model is told so).
ITEM_LIMIT_CHARS = 4000
# The model's text comes before its tool calls in a stream, so while it is short nobody can
# tell an answer from a thought (the text that comes with a tool call). This much is held
# back; a thought shorter than that is never shown, a longer one is taken back (discard).
HOLD_CHARS = 100
SERVER_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
WAITING_PREFIX = "autonomous:"  # card ids cannot hold ':', so this never names a card
# Fields of a node that only autonomous nodes have (bot-file names).
NODE_FIELDS = ("instructions", "maxIterations", "model", "temperature", "maxTokens", "useMemory",
               "mcpServers", "transitions")
PROTOCOL = (
    "You are running the node {node!r} of a chatbot, talking with a user. Use the tools to act. "
    "A plain answer without tool calls is sent to the user and then you wait for their reply; "
    "call wait_for_user_input after send_message when you need an answer. "
    "{transition}A tool result that is an error tells you what to fix."
)


class AutonomousConfig(AIConfig):
    """The autonomous fields of a node in the bot file (camelCase there)."""

    instructions: TemplateStr | None = Field(
        default=None, max_length=20_000, title="Instructions",
        description="Autonomous nodes only (required there): what the model should achieve in this node, "
                    "which cards to use when, and when to move on.")
    max_iterations: int = Field(default=10, ge=1, le=50, title="Max iterations",
                                description="Autonomous nodes only: model calls allowed between two user "
                                            "messages before the node fails (loop guard).")
    mcp_servers: list[Annotated[str, Field(pattern=SERVER_NAME_PATTERN)]] = Field(default_factory=list, max_length=20, title="MCP servers",
                                   description="Autonomous nodes only: workspace MCP servers whose tools the "
                                               "model may call, named <server>.<tool>.")
    transitions: list[Annotated[str, Field(pattern=NODE_ID_PATTERN)]] = Field(default_factory=list, max_length=20, title="Transitions",
                                   description="Autonomous nodes only: nodes, besides next, the model may move to.")


@dataclass(frozen=True)
class AutonomousBuild:
    instructions: Template
    config: AutonomousConfig
    targets: tuple[str, ...]  # next first, then `transitions`


def _fields(node: dict) -> dict:
    return {k: node[k] for k in NODE_FIELDS if k in node}


def node_problems(node: dict) -> list[tuple[str, str]]:
    """Problems of a node's autonomous fields as (relative JSON path, message)."""
    fields = _fields(node)
    if node.get("kind") != "autonomous":
        return [(f".{k}", f"only autonomous nodes have {k}; this is a {node.get('kind')} node") for k in fields]
    out = []
    try:
        config = AutonomousConfig.model_validate(fields)
    except ValidationError as exc:
        return [(_loc_to_path(e["loc"]), _plain(e, "autonomous node")) for e in exc.errors(include_url=False)]
    if not (config.instructions or "").strip():
        out.append((".instructions", "an autonomous node needs instructions: what the model should do here"))
    for ci, card in enumerate(node.get("cards") or ()):
        if isinstance(card, dict) and card.get("id") in BUILTIN_TOOLS:
            out.append((f".cards[{ci}].id", f"{card['id']!r} is a built-in tool of the autonomous node; "
                                            "give the card another id"))
    return out


def compile_node(node: dict, path: str, node_ids: set, problems: list[Problem]) -> AutonomousBuild | None:
    found = node_problems(node)
    for ti, target in enumerate(node.get("transitions") or ()):
        if isinstance(target, str) and target not in node_ids:
            found.append((f".transitions[{ti}]", f"transition to missing node {target!r}"))
    if found:
        problems.extend(Problem(path + sub, msg) for sub, msg in found)
        return None
    if node.get("kind") != "autonomous":
        return None
    config = AutonomousConfig.model_validate(_fields(node))
    targets = [t for t in (node.get("next"), *config.transitions) if t]
    return AutonomousBuild(compile_template(config.instructions), config, tuple(dict.fromkeys(targets)))


def waiting_id(node) -> str:
    return WAITING_PREFIX + node.id


# ---- the loop ---------------------------------------------------------------------------------

class _NodeCard(Card):
    """Stands for the node where the turn loop expects a card (the waiting marker)."""

    __slots__ = ()

    def __init__(self, node):
        self.id, self.type = waiting_id(node), "autonomous"


def run_node(rt, node, *, resume: bool = False) -> tuple[Card, Any]:
    """Run the node's loop until it waits (SUSPEND), leaves (Jump) or calls a flow (Call);
    returns (card, step) for the turn loop's `_step`."""
    try:
        return _Loop(rt, node).run(resume)
    except LLMError as exc:
        raise LLMFailure(f"autonomous node {node.id!r}: {exc}", provider=exc.provider, status=exc.status) from None


def flow_returned(rt, caller: dict, outputs: dict) -> None:
    """A flow called by one of the node's cards exited: its outputs are that tool's result."""
    state = caller.get("auto")
    pending = (state or {}).get("pending")
    if not pending or pending.get("kind") != "call":
        return
    state = copy.deepcopy(state)
    loop = _Saved(state)
    loop.tool_result(pending, {"outputs": outputs})
    loop.skipped(pending)
    state["pending"] = None
    caller["auto"] = state
    caller["card"] = len(rt.build.flows[caller["flow"]].nodes[caller["node"]].cards)
    _trace(rt, "tool_result", node=caller["node"], card=pending.get("card"), name=pending["name"],
           result={"outputs": outputs})


class _Saved:
    """Transcript edits on a loaded state dict."""

    def __init__(self, state: dict):
        self.state = state

    @property
    def messages(self) -> list[dict]:
        return self.state["messages"]

    def tool_result(self, call: dict, result: Any) -> None:
        text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
        self.messages.append({"role": "tool", "tool_call_id": call["id"], "content": _cut(text)})

    def skipped(self, pending: dict) -> None:
        for call in pending.get("skipped") or ():
            self.tool_result(call, {"error": "not run: an earlier call of the same answer waited or moved on; "
                                             "call it again if it is still needed"})


def _trace(rt, kind: str, **data) -> None:
    """A trace entry at the cursor, with this node's own node/card fields winning."""
    rt._trace(kind, **{**rt._where(), **data})


def _said(rt) -> str:
    """The user's message as the transcript keeps it: sensitive entities starred out."""
    return rt.masked_text if rt.masked_text is not None else rt.user_text()


def _cut(text: str) -> str:
    if len(text) <= ITEM_LIMIT_CHARS:
        return text
    return text[:ITEM_LIMIT_CHARS] + f"... [cut: {len(text) - ITEM_LIMIT_CHARS} more characters]"


class _ToolError(Exception):
    """A tool call the model got wrong: the message goes back to it as the result."""


class _Loop(_Saved):
    def __init__(self, rt, node):
        self.rt, self.node, self.auto = rt, node, node.autonomous
        self.frame = rt.frames[-1]
        saved = self.frame.get("auto")
        super().__init__(copy.deepcopy(saved) if isinstance(saved, dict) and saved.get("node") == node.id else None)
        self.cards = {c.id: (i, c) for i, c in enumerate(node.cards)}

    # -- state ------------------------------------------------------------------------------
    def save(self) -> None:
        self._bound()
        self.frame["auto"] = self.state
        self.frame["card"] = len(self.node.cards)  # between cards: the trace names no card

    def _bound(self) -> None:
        """Drop the oldest exchanges until the transcript fits; an exchange starts at a user
        message, so no tool result is kept without the call it answers."""
        messages = self.messages
        while len(messages) > 1 and _size(messages) > TRANSCRIPT_LIMIT_BYTES:
            cut = next((i for i in range(1, len(messages)) if messages[i]["role"] == "user"), None)
            if cut is None:  # one exchange alone is too big: keep its newest messages
                cut = next((i for i in range(1, len(messages)) if messages[i]["role"] == "assistant"),
                           len(messages) - 1)
            del messages[:cut]
            self.state["dropped"] = self.state.get("dropped", 0) + cut
        while messages and messages[0]["role"] == "tool":
            del messages[0]

    def leave(self, step) -> tuple[Card, Any]:
        self.frame.pop("auto", None)
        self.frame["card"] = len(self.node.cards)
        return _NodeCard(self.node), step

    def wait(self, pending: dict) -> tuple[Card, Any]:
        self.state["pending"] = pending
        self.save()
        return _NodeCard(self.node), SUSPEND

    # -- run --------------------------------------------------------------------------------
    def run(self, resume: bool) -> tuple[Card, Any]:
        if self.state is None or (not resume and self.state.get("pending")
                                  and self.state["pending"].get("kind") != "call"):
            self.state = {"node": self.node.id, "messages": [], "iterations": 0, "pending": None}
            self.frame.pop("mem", None)
            text = _said(self.rt)
            if text.strip() and self.rt.event.get("type") in MESSAGE_EVENT_TYPES:
                self.messages.append({"role": "user", "content": _cut(text)})
            _trace(self.rt, "autonomous_started", node=self.node.id)
        elif resume:
            outcome = self._resumed(self.state.get("pending") or {"kind": "answer"})
            if outcome is not None:
                return outcome
        return self._loop()

    def _resumed(self, pending: dict):
        """The user replied while the node waited."""
        text = _said(self.rt)
        self.state["pending"] = None
        self.state["iterations"] = 0  # the guard counts model calls between user messages
        if pending["kind"] == "card":
            index, card = self.cards.get(pending.get("card"), (None, None))
            if card is None:
                raise BotRuntimeError(f"autonomous node {self.node.id!r} waited on card "
                                      f"{pending.get('card')!r}, which is no longer in the node")
            outcome = self._card_step(pending, index, card, resume=True)
            if outcome is not None:
                return outcome
            return None
        if pending["kind"] == "wait":
            self.tool_result(pending, {"ok": True, "note": "the user's reply is the next message"})
            self.skipped(pending)
        # A reply without text (a file, a location) still has to reach the model as a turn.
        said = text if text.strip() else f"[the user sent a {self.rt.event.get('type') or 'message'}]"
        self.messages.append({"role": "user", "content": _cut(said)})
        return None

    def _loop(self) -> tuple[Card, Any]:
        c = self.auto.config
        tools = self._tools()
        while True:
            if self.state["iterations"] >= c.max_iterations:
                raise BotRuntimeError(
                    f"autonomous node {self.node.id!r} reached its limit of {c.max_iterations} model calls "
                    "without waiting for the user or moving on (maxIterations)")
            self.state["iterations"] += 1
            response = self._ask(tools)
            if not response.tool_calls:
                text = response.text.strip()
                self.messages.append({"role": "assistant", "content": _cut(response.text)})
                if text:
                    message = {"type": "text", "text": response.text}
                    if self._stream_id in self._streamed:
                        message["streamId"] = self._stream_id
                    self.rt.emit(message)
                return self.wait({"kind": "answer"})
            self.messages.append({
                "role": "assistant", "content": response.text or None,
                "tool_calls": [{"id": call.id, "type": "function",
                                "function": {"name": call.name, "arguments": _cut(call.arguments)}}
                               for call in response.tool_calls]})
            if response.text.strip():
                # Streamed before it was known to be a thought: its streamId lets a client
                # turn that stream into a status line instead of a message.
                streamed = {"streamId": self._stream_id} if self._stream_id in self._streamed else {}
                if streamed:
                    self.rt.discard_stream(self._stream_id)
                _trace(self.rt, "autonomous_thought", node=self.node.id, text=response.text, **streamed)
            outcome = self._run_calls(list(response.tool_calls), tools)
            if outcome is not None:
                return outcome
            self.save()  # a later failure (limits, the model) leaves a consistent state

    def _ask(self, tools: dict[str, ToolSpec]):
        c, rt = self.auto.config, self.rt
        transition = ("Call transition to move on to the next step when this one is done. "
                      if self.auto.targets else "")
        system = rt.render(self.auto.instructions) + "\n\n" + PROTOCOL.format(
            node=self.node.name, transition=transition)
        if self.state.get("dropped"):
            system += f" ({self.state['dropped']} older messages of this node were dropped to save space.)"
        messages = [{"role": "system", "content": system}]
        if c.use_memory:
            messages.extend(memory_messages(rt))
        messages.extend(self.messages)
        self._stream_id = f"{self.node.id}:{len(rt.outputs)}:{self.state['iterations']}"
        self._streamed: set[str] = set()

        held: list[str] = []
        held_chars = [0]  # the text held so far, counted as it comes

        def on_token(delta: str) -> None:
            if self._stream_id in self._streamed:
                rt.stream(self._stream_id, delta)
                return
            held.append(delta)
            held_chars[0] += len(delta)
            if held_chars[0] >= HOLD_CHARS:
                self._streamed.add(self._stream_id)
                rt.stream(self._stream_id, "".join(held))

        request = LLMRequest(messages=tuple(messages), model=c.model, tools=tuple(tools.values()),
                             tool_choice="auto", temperature=c.temperature, max_tokens=c.max_tokens,
                             stream=True, card=waiting_id(self.node), purpose="autonomous")
        return rt.call_llm(request, on_token)

    # -- tools ------------------------------------------------------------------------------
    def _tools(self) -> dict[str, ToolSpec]:
        tools = {SEND_MESSAGE: ToolSpec(SEND_MESSAGE, "Send a text message to the user.", {
                     "type": "object", "required": ["text"], "additionalProperties": False,
                     "properties": {"text": {"type": "string", "minLength": 1}}}),
                 WAIT: ToolSpec(WAIT, "Stop and wait for the user's next message; it comes back to you.",
                                {"type": "object", "properties": {}, "additionalProperties": False})}
        if self.auto.targets:
            tools[TRANSITION] = ToolSpec(TRANSITION, "Leave this node for one of the next steps.", {
                "type": "object", "required": ["node"], "additionalProperties": False,
                "properties": {"node": {"enum": list(self.auto.targets),
                                        "description": _targets_description(self.rt, self.auto.targets)}}})
        for card in self.node.cards:
            tools[card.id] = _card_tool(card)
        servers = self.auto.config.mcp_servers
        if servers:
            host = self.rt.tool_host
            if host is None:
                raise BotRuntimeError(
                    f"autonomous node {self.node.id!r} names MCP servers ({', '.join(servers)}) but this "
                    "bot has no tool host (TurnInput.tools); no MCP tool can be offered")
            cache = self.rt.scratch.setdefault("mcp_tools", {})
            key = tuple(servers)
            if key not in cache:
                cache[key] = host.list_tools(list(servers))
                _trace(self.rt, "tools_listed", servers=list(servers), tools=[spec.wire() for spec in cache[key]])
            for spec in cache[key]:
                # "<server>.<tool>" is no valid function name for OpenAI-style providers
                # (^[A-Za-z0-9_-]{1,64}$): the model sees a wire name, the host the real one.
                wire = _wire_name(spec.name, tools)
                self.rt.scratch.setdefault("mcp_names", {})[wire] = spec.name
                tools[wire] = ToolSpec(wire, spec.description, spec.parameters)
        return tools

    def _run_calls(self, calls: list[ToolCall], tools: dict[str, ToolSpec]):
        for i, call in enumerate(calls):
            rest = [{"id": c.id, "name": c.name} for c in calls[i + 1:]]
            index, card = self.cards.get(call.name, (None, None))
            _trace(self.rt, "tool_call", node=self.node.id, card=card.id if card else None,
                              name=call.name, arguments=call.arguments)
            pending = {"id": call.id, "name": call.name, "skipped": rest}
            try:
                spec = tools.get(call.name)
                if spec is None:
                    raise _ToolError(f"there is no tool {call.name!r}; the tools are: {', '.join(tools)}")
                try:
                    args = call.parsed_arguments()
                except ValueError as exc:
                    raise _ToolError(str(exc)) from None
                _check_arguments(spec, args)
                if call.name == SEND_MESSAGE:
                    self.rt.emit({"type": "text", "text": args["text"]})
                    self._result(pending, None, {"ok": True, "sent": args["text"]})
                elif call.name == WAIT:
                    return self.wait({**pending, "kind": "wait"})
                elif call.name == TRANSITION:
                    self._result(pending, None, {"ok": True, "transitioned": args["node"]})
                    self.skipped(pending)
                    return self.leave(Jump(args["node"]))
                elif card is not None:
                    outcome = self._card_call(pending, index, card, args)
                    if outcome is not None:
                        return outcome
                else:
                    pending["tool"] = self.rt.scratch.get("mcp_names", {}).get(call.name, call.name)
                    self._result(pending, None, self._mcp(pending["tool"], args))
            except _ToolError as exc:
                self._result(pending, card, {"error": str(exc)}, error=True)
        return None

    def _result(self, call: dict, card, result, *, error: bool = False) -> None:
        self.tool_result(call, result)
        _trace(self.rt, "tool_result", node=self.node.id, card=getattr(card, "id", None) or call.get("card"),
                          name=call["name"], result=result, **({"error": True} if error else {}),
                          **({"tool": call["tool"]} if "tool" in call else {}))  # the host's name of an MCP tool

    def _mcp(self, name: str, args: dict):
        try:
            return self.rt.tool_host.call_tool(name, args)
        except LLMError as exc:
            raise _ToolError(f"the tool {name!r} failed: {exc}") from None

    # -- cards as tools -----------------------------------------------------------------------
    def _card_call(self, pending: dict, index: int, card: Card, args: dict):
        pending = {**pending, "card": card.id}
        if isinstance(card, _Capture) and "value" in args:
            return self._capture_value(pending, index, card, args["value"])
        return self._card_step(pending, index, card, resume=False)

    def _capture_value(self, pending, index, card: _Capture, value) -> None:
        self.frame["card"] = index
        try:
            read, problem = card._read(self.rt, str(value))
            if problem is not None:
                raise _ToolError(f"{value!r} is not a valid {KIND_LABELS.get(card.kind, card.kind)}: {problem[0]}; "
                                 "ask the user, or call the tool without value to let it ask")
            card._store(self.rt, read, source="autonomous", text=str(value))
        except BotRuntimeError as exc:
            raise _ToolError(f"card {card.id!r} failed: {exc}") from None
        finally:
            self.frame["card"] = len(self.node.cards)
        self._result(pending, card, {"ok": True, "variable": card.variable,
                                     "value": "*****" if card.sensitive else read})

    def _card_step(self, pending: dict, index: int, card: Card, *, resume: bool):
        """Run (or resume) one card; None when the loop goes on with its result."""
        rt = self.rt
        mark = len(rt.trace)
        self.frame["card"] = index
        try:
            step = rt._run_card(card, resume=resume)
        except StateLimitError:
            raise
        except BotRuntimeError as exc:
            self.frame["card"] = len(self.node.cards)
            self.frame.pop("mem", None)
            rt.log("error", f"autonomous node {self.node.id!r}, card {card.id!r}: {exc}", source="engine")
            self._result(pending, card, {"error": str(exc)}, error=True)
            self.skipped(pending) if resume else None
            return None
        written = {f"{t['scope']}.{t['name']}": t["value"] for t in rt.trace[mark:] if t["type"] == "variable_set"}
        if step is SUSPEND:  # the card asks the user (a capture's prompt): its memory stays
            self.state["pending"] = {**pending, "kind": "card"}
            self.save()
            self.frame["card"] = len(self.node.cards)
            return _NodeCard(self.node), SUSPEND
        self.frame.pop("mem", None)
        self.frame["card"] = len(self.node.cards)
        if isinstance(step, Call):
            self.state["pending"] = {**pending, "kind": "call"}
            self.save()
            self.frame["card"] = index
            return card, step
        result: dict = {"ok": True}
        if isinstance(card, _Capture):
            value = rt.get_variable(card.variable)
            result.update(variable=card.variable, value="*****" if card.sensitive and value is not None else value)
            if value is None:
                result = {"ok": False, "variable": card.variable, "note": "the user gave no usable value"}
            if resume:  # what the model would otherwise never see; starred out when sensitive
                said = rt.user_text()
                result["userSaid"] = (rt.masked_text or "*" * len(said)) if card.sensitive else said
        elif written:
            result["wrote"] = written
        if isinstance(step, Jump):
            result["transitioned"] = step.target
            self._result(pending, card, result)
            self.skipped(pending)
            return self.leave(step)
        if step is not CONTINUE:
            raise BotRuntimeError(f"card {card.id!r} returned an unknown step {step!r}")
        self._result(pending, card, result)
        if resume:
            self.skipped(pending)
        return None


def _check_arguments(spec: ToolSpec, args: dict) -> None:
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(spec.parameters).iter_errors(args), key=lambda e: list(e.path))
    if errors:
        where = lambda e: ".".join(str(p) for p in e.path) or "arguments"  # noqa: E731
        raise _ToolError(f"bad arguments for {spec.name!r}: " + "; ".join(f"{where(e)}: {e.message}" for e in errors))


def _targets_description(rt, targets) -> str:
    nodes = rt.build.flows[rt.frames[-1]["flow"]].nodes
    return "; ".join(f"{t}: {nodes[t].name}" if t in nodes and nodes[t].name != t else t for t in targets)


NO_ARGS = {"type": "object", "properties": {}, "additionalProperties": False}


def _card_tool(card: Card) -> ToolSpec:
    family = CARD_TYPES.get(card.type)
    label = getattr(family, "label", card.type)
    if isinstance(card, _Capture):
        kind = KIND_LABELS.get(card.kind, card.kind)
        return ToolSpec(card.id, (
            f"Capture {kind} into {card.variable}. Pass value when the user already said it (it is checked "
            f"as {kind}); without value the user is asked \"{card.prompt.source}\" and their answer is the result."),
            {"type": "object", "additionalProperties": False,
             "properties": {"value": {"type": "string", "description": f"the {kind} as the user said it"}}})
    category = getattr(family, "category", "")
    if category == "Send Messages":
        preview = _preview(card)
        return ToolSpec(card.id, f"Send the {label} message{': ' + preview if preview else ''}.", NO_ARGS)
    if card.type == "code":
        return ToolSpec(card.id, "Run this code; the result lists the variables it wrote.", NO_ARGS)
    if card.type == "escalate":  # the node's way to hand the conversation to a person
        return ToolSpec(card.id, "Hand this conversation to a human agent of the team (when the user asks for a "
                                 "person, is upset, or you cannot help); the bot then stops answering.", NO_ARGS)
    if card.type == "call":
        return ToolSpec(card.id, f"Run the workflow {card.flow!r}; its outputs come back as the result "
                                 "when it ends (it may talk to the user first).", NO_ARGS)
    return ToolSpec(card.id, f"Run the {label} card.", NO_ARGS)


def _preview(card: Card) -> str:
    fields = getattr(card, "fields", None)
    if isinstance(fields, dict):
        for template in fields.values():
            if isinstance(template, Template):
                return json.dumps(template.source[:200], ensure_ascii=False)
    return ""


def _size(messages: list[dict]) -> int:
    return len(json.dumps(messages, separators=(",", ":"), ensure_ascii=False).encode())


__all__ = ["AutonomousBuild", "AutonomousConfig", "NODE_FIELDS", "compile_node", "flow_returned",
           "node_problems", "run_node", "waiting_id"]


def _wire_name(name: str, taken) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "tool"
    wire, n = base, 2
    while wire in taken:
        suffix = f"_{n}"
        wire, n = base[:64 - len(suffix)] + suffix, n + 1
    return wire
