"""One turn: a compiled bot, the conversation state and one event in; outputs, the new
state and a trace out. Every rule here is from shared/spec/runtime-semantics.md; the
choices it leaves open are in docs/engine.md.

The state is plain JSON (see docs/engine.md). The engine works on shallow copies and
only ever replaces values, never mutates the caller's nested objects, so the input
state stays valid whatever happens in the turn.
"""
from __future__ import annotations

import contextlib

import copy
import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from time import monotonic, perf_counter
from typing import Any

from . import agents
from . import autonomous
from .build import MAX_CALL_DEPTH, BotBuild
from .cards.base import CONTINUE, SUSPEND, Call, Card, Jump
from .errors import BotRuntimeError, LLMFailure, StateLimitError, TurnBudgetExceeded
from .events import (CUSTOM_EVENT, HITL_STOPPED, MESSAGE_EVENT_TYPES, TARGETED_EVENT_TYPES, TIMEOUT,
                     TRIGGER_TYPES, WORKFLOW_CALLBACK, custom_event_type)
from .expressions import UNDEFINED, ExpressionError, js_truthy
from .llm import LLM, LLMCancelled, LLMError, LLMRequest, LLMResponse, ToolHost
from .llm_replay import request_details
from .knowledge import KnowledgeHost
from .tables import TableFailure, TableHost, code_call
from .http import HttpHost, code_fetch
from .sandbox import CodeError, JSSandbox, TableCallRefused, default_sandbox, table_binding, turn_deadline
from .variables import check_write, defaults

STATE_LIMIT_BYTES = 128 * 1024
# User, bot and turn variables are capped like the conversation state, each scope as a whole
# (JSON, UTF-8): they are loaded into, and copied out of, every turn of the bot.
VARIABLES_LIMIT_BYTES = 128 * 1024
CAPPED_SCOPES = ("user", "bot", "turn")
# Beyond the node repetition limit, a hard cap on cards per turn so no bot can spin forever.
MAX_CARDS_PER_TURN = 5_000
CODE_WRITABLE = ("workflow", "session", "user", "bot", "turn", "conversation")
# What a hook may write besides its event (docs/hooks-and-triggers.md): the variables that
# outlive the turn. Not `workflow` (a hook runs outside any flow) nor `turn`.
HOOK_WRITABLE = ("session", "user", "bot", "conversation")
RESET_COMMAND = "//state/reset"
# Scopes a card may name in a variable reference (`workflow.size`); env and event are read-only.
VARIABLE_SCOPES = ("workflow", "session", "user", "bot", "conversation")

@dataclass
class TurnInput:
    state: dict
    event: dict
    user: dict = field(default_factory=dict)
    bot: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    sandbox: JSSandbox | None = None
    # Earlier user messages of this conversation, newest last, without the current event.
    history: list[str] = field(default_factory=list)
    # Wall-clock milliseconds the whole turn may take, every card and code run together
    # (None: no limit beyond the sandbox's per-run one). Past it: TurnBudgetExceeded.
    budget_ms: float | None = None
    # The language model cards and autonomous nodes talk to (runtime/engine/llm.py); None:
    # the bot has no provider, and an AI card fails with an error naming that.
    llm: LLM | None = None
    # Tokens (in + out) every LLM call of this turn may use together; None: no limit.
    llm_token_budget: int | None = None
    # Called with (stream id, text delta) while a card streams an answer; the runtime pushes
    # it to the conversation's clients. The finished message is still one output.
    on_stream: Callable[[str, str], None] | None = None
    # Called with a stream id when what was streamed under it turned out not to be an answer
    # (an autonomous node's thought, written beside a tool call): clients drop it.
    on_stream_discard: Callable[[str], None] | None = None
    # Tools of the workspace's MCP servers (runtime/engine/llm.py ToolHost); None: none.
    tools: ToolHost | None = None
    # The bot's table rows (runtime/engine/tables.py TableHost); None: table cards fail.
    tables: TableHost | None = None
    # Performs the `axios` requests of code and hooks (runtime/engine/http.py); None: they fail.
    http: HttpHost | None = None
    # The bot's knowledge bases (runtime/engine/knowledge.py KnowledgeHost); None: the Query
    # Knowledge Bases card fails.
    knowledge: KnowledgeHost | None = None
    # The conversation's workflow runs: id -> {status, name, stepId, output, error}; read
    # only (the `workflows` scope; docs/workflows.md, "Workflow Status").
    workflows: dict = field(default_factory=dict)


@dataclass
class TurnResult:
    outputs: list[dict]
    state: dict
    user: dict
    bot_changes: dict
    trace: list[dict]
    logs: list[dict]
    waiting: bool
    ended: bool
    error: dict | None
    ms: float
    # The current event's text with sensitive data starred out (a sensitive capture or
    # pattern entity matched it); whoever stores the transcript should store this instead.
    masked_text: str | None = None
    # One entry per LLM call of the turn (card, purpose, model, provider, tokens, ms, cost),
    # for the runtime's usage records.
    llm_calls: list[dict] = field(default_factory=list)
    # Set when an Escalate card ran: {"reason", "priority", "card"}; the runtime hands the
    # conversation to people (runtime/handoff.py) in the same write as the turn.
    escalation: dict | None = None


def state_size(state: dict) -> int:
    return len(json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode())


def _largest(written: list[tuple[str, str, Any]]) -> str:
    """`bot.big (20971522 bytes) ` for the biggest value written, to name it in a size error."""
    values = [(state_size(value), f"{scope}.{name}") for scope, name, value in written if value is not None]
    if not values:
        return ""
    size, ref = max(values)
    return f"{ref} ({size} bytes) "


def _check_variables_size(scope: str, values: dict, written: list[tuple[str, str, Any]]) -> None:
    size = state_size(values)
    if size > VARIABLES_LIMIT_BYTES:
        raise StateLimitError(
            f"{_largest(written)}would make the {scope} variables {size} bytes, "
            f"over the {VARIABLES_LIMIT_BYTES} byte limit; nothing was written"
        )


def _copy_frame(frame: dict) -> dict:
    # The caller's state must stay valid whatever this turn does, so nothing nested is shared.
    out = dict(frame, vars=dict(frame.get("vars") or {}))
    if "mem" in frame:
        out["mem"] = copy.deepcopy(frame["mem"])
    return out


def _split_ref(ref: str) -> tuple[str, str]:
    scope, _, name = ref.partition(".") if isinstance(ref, str) else ("", "", "")
    if scope not in VARIABLE_SCOPES or not name or "." in name:
        raise BotRuntimeError(
            f"{ref!r} is not a variable reference; expected <scope>.<name> with scope one of {', '.join(VARIABLE_SCOPES)}"
        )
    return scope, name


class _Turn:
    def __init__(self, build: BotBuild, inp: TurnInput):
        self.build = build
        self.sandbox = inp.sandbox
        st = inp.state or {}
        self.frames: list[dict] = [_copy_frame(f) for f in st.get("frames") or ()]
        self.waiting: str | None = st.get("waiting")
        self.ending: bool = bool(st.get("ending"))
        self.session: dict = dict(st.get("session") or {})
        self.conversation: dict = dict(st.get("conversation") or {})
        self.initial_state = st
        self.user = dict(inp.user or {})
        self.workflows = dict(inp.workflows or {})
        self.bot = dict(inp.bot or {})
        self.bot_before = inp.bot or {}
        self.env = inp.env or {}
        self.event = dict(inp.event or {})
        self._history = [m for m in inp.history or () if isinstance(m, str)]
        self._analysis = None
        self.masked_text: str | None = None
        self.turn: dict = {}
        self.outputs: list[dict] = []
        self.trace: list[dict] = []
        self.logs: list[dict] = []
        self.visits: dict[tuple[str, str], int] = {}
        self.cards_run = 0
        self.ended = False
        self.error: dict | None = None
        self.t0 = perf_counter()
        self.budget_ms = inp.budget_ms
        self.deadline = monotonic() + inp.budget_ms / 1000 if inp.budget_ms else None
        self._llm = inp.llm
        self._llm_token_budget = inp.llm_token_budget
        self._on_stream = inp.on_stream
        self._on_stream_discard = inp.on_stream_discard
        self.tool_host = inp.tools
        self.table_host = inp.tables
        self.http_host = inp.http
        self.knowledge_host = inp.knowledge
        self.llm_calls: list[dict] = []
        # Cards' scratch space for this turn only, never stored (AI Transition's decision).
        self.scratch: dict = {}
        # The dialog's memory went this turn (an end node, //state/reset): the Summary Agent
        # must not carry the old conversation into the new one.
        self.conversation_reset = False
        self.escalation: dict | None = None

    # ---- what cards use ------------------------------------------------------------------
    def scopes(self) -> dict[str, Any]:
        return {
            "workflow": self.frames[-1]["vars"] if self.frames else {},
            "session": self.session,
            "user": self.user,
            "bot": self.bot,
            "env": self.env,
            "event": self.event,
            "turn": self.turn,
            "conversation": self.conversation,
            "workflows": self.workflows,
        }

    def _js(self) -> JSSandbox:
        # Lazy: fast-path expressions and plain templates never start a V8 context.
        if self.sandbox is None:
            self.sandbox = default_sandbox()
        return self.sandbox

    def evaluate(self, expression, bindings: dict | None = None) -> Any:
        """`bindings` are extra bare names for this one evaluation (a capture card's `value`
        and `input`). A bare name already means `workflow.<name>` on both the Python and the
        V8 path, so they are laid over a copy of the workflow scope; nothing is written."""
        scopes = self.scopes()
        if bindings:
            scopes["workflow"] = {**scopes["workflow"], **bindings}
        try:
            return expression.evaluate(scopes, self._js(), self.build.key)
        except ExpressionError as exc:
            raise BotRuntimeError(f"expression `{expression.source}` failed: {exc}") from None
        except CodeError as exc:
            raise BotRuntimeError(f"expression `{expression.source}` failed: {exc}") from None

    def render(self, template) -> str:
        try:
            return template.render(self.scopes(), self._js(), self.build.key)
        except (ExpressionError, CodeError) as exc:
            raise BotRuntimeError(f"template `{template.source}` failed: {exc}") from None

    def value(self, template) -> Any:
        try:
            return template.value(self.scopes(), self._js(), self.build.key)
        except (ExpressionError, CodeError) as exc:
            raise BotRuntimeError(f"template `{template.source}` failed: {exc}") from None

    def emit(self, message: dict) -> None:
        self.outputs.append(message)

    def add_trace(self, kind: str, **data) -> None:
        """A card's own trace entry, stamped with where the cursor is."""
        self._trace(kind, **self._where(), **data)

    def user_text(self) -> str:
        """The current event's text: what was typed, or the value of a clicked choice."""
        payload = self.event.get("payload") or {}
        for candidate in (payload.get("text"), payload.get("value"), self.event.get("preview")):
            if isinstance(candidate, str):
                return candidate
            if isinstance(candidate, (int, float)) and not isinstance(candidate, bool):
                return str(candidate)
        return ""

    def nlu_analysis(self):
        """What the bot understood of this turn's message (intent scores, entities), or
        None when the event has no text or the bot has no intents and no entities."""
        return self._analysis

    def mask_input(self, spans) -> None:
        """Star out [start, end) character spans of the current event's text (sensitive
        data), in what `result.masked_text` returns; several calls add up."""
        text = (self.event.get("payload") or {}).get("text")
        if not isinstance(text, str):
            return
        chars = list(self.masked_text if self.masked_text is not None else text)
        for start, end in spans:
            chars[start:end] = "*" * (end - start)
        self.masked_text = "".join(chars)

    def _understand(self) -> None:
        """Fill `event.nlu` for a user text event, before any card runs (the NLU step of
        Botpress' pipeline). The message is encoded once; Intent cards reuse the scores."""
        nlu = self.build.nlu
        text = (self.event.get("payload") or {}).get("text")
        if nlu is None or not isinstance(text, str) or not text.strip():
            return
        self._analysis = nlu.analyse(text, now=self.now(), tz=self.bot_timezone())
        value = self._analysis.event_value()
        self.event["nlu"] = value
        sensitive = [(e["start"], e["end"]) for e in value["entities"] if e.get("sensitive")]
        if sensitive:
            self.mask_input(sensitive)
        # Entity values stay out of the trace: a pattern entity may be sensitive.
        self._trace("nlu", intent=value["intent"], confidence=value["confidence"],
                    entities=[e["type"] for e in value["entities"]])

    def history(self) -> list[str]:
        """Earlier user messages (not the current event), newest last."""
        return list(self._history)

    def now(self) -> datetime:
        """When the event happened (its `createdOn`), so relative dates are read against the
        moment the user wrote, not when the turn ran; the current time if it has none."""
        created = self.event.get("createdOn")
        if isinstance(created, str):
            try:
                moment = datetime.fromisoformat(created.replace("Z", "+00:00"))
            except ValueError:
                moment = None
            if moment is not None:
                return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        return datetime.now(timezone.utc)

    def bot_timezone(self) -> str:
        return str(self.build.settings["timezone"])

    def node_visit(self) -> tuple:
        """Which visit of the node under the cursor this is, within the turn."""
        frame = self.frames[-1]
        return (len(self.frames), frame["flow"], frame["node"], self.visits.get((frame["flow"], frame["node"]), 0))

    def card_memory(self) -> dict:
        """Scratch space for the card under the cursor (a capture card's retry count). It
        lives in the frame, so it survives while the dialog is suspended on this card, and
        is dropped as soon as the cursor moves on. Keep it to small JSON values: it is part
        of the conversation state and counts towards its size limit."""
        return self.frames[-1].setdefault("mem", {})

    def variable_spec(self, ref: str):
        """The declaration (VarSpec) of a typed variable (`workflow.size`), or None."""
        scope, name = _split_ref(ref)
        return self._typed_scopes().get(scope, {}).get(name)

    def get_variable(self, ref: str) -> Any:
        scope, name = _split_ref(ref)
        return self.scopes()[scope].get(name)

    def set_variable(self, ref: str, value: Any, *, shown: Any = UNDEFINED) -> None:
        """Write one variable (`workflow.size`, `user.email`...), type-checked like a code
        write; None unsets it. `shown` replaces the value in the trace (masked secrets)."""
        scope, name = _split_ref(ref)
        typed = self._typed_scopes()
        if scope in typed:
            check_write(scope, typed[scope], name, value)
        target = self.scopes()[scope]
        if scope in ("workflow", "session", "conversation"):
            after = {k: v for k, v in target.items() if k != name}
            if value is not None:
                after[name] = value
            frame = self.frames[-1]
            self._check_state_size(
                self.frames[:-1] + [dict(frame, vars=after)] if scope == "workflow" else self.frames,
                after if scope == "session" else self.session,
                after if scope == "conversation" else self.conversation,
                written=[(scope, name, value)],
            )
        elif scope in CAPPED_SCOPES and value is not None:
            _check_variables_size(scope, {**target, name: value}, [(scope, name, value)])
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
        self._trace("variable_set", scope=scope, name=name, value=value if shown is UNDEFINED else shown)

    def _typed_scopes(self) -> dict:
        typed = {"user": self.build.user_variables, "bot": self.build.bot_variables}
        if self.frames:
            typed["workflow"] = self.build.flows[self.frames[-1]["flow"]].variables
        return typed

    @staticmethod
    def _check_state_size(frames: list[dict], session: dict, conversation: dict, *,
                          written: list[tuple[str, str, Any]]) -> None:
        size = state_size({"frames": frames, "session": session, "conversation": conversation})
        if size > STATE_LIMIT_BYTES:
            raise StateLimitError(
                f"{_largest(written)}would make the conversation state {size} bytes, "
                f"over the {STATE_LIMIT_BYTES} byte limit; nothing was written"
            )

    def escalate(self, *, reason: str, priority: str, card: str) -> None:
        """Ask the runtime to hand the conversation to a person (the Escalate card)."""
        self.escalation = {"reason": reason, "priority": priority, "card": card}
        self._trace("escalated", reason=reason, priority=priority, card=card)

    def log(self, level: str, message: str, *, source: str) -> None:
        self.logs.append({"level": level, "message": message, "source": source, **self._where()})

    def _where(self) -> dict:
        if not self.frames:
            return {}
        f = self.frames[-1]
        flow = self.build.flows.get(f["flow"])
        node = flow.nodes.get(f["node"]) if flow else None
        card = node.cards[f["card"]].id if node and f["card"] < len(node.cards) else None
        return {"flow": f["flow"], "node": f["node"], "card": card}

    def _trace(self, kind: str, **data) -> None:
        data["type"] = kind
        data["t"] = round((perf_counter() - self.t0) * 1000, 3)
        self.trace.append(data)

    def run_code(self, code: str) -> None:
        where = self._where()
        self._trace("code_started", **where)
        try:
            result = self._js().run_code(self.build.key, code, self.scopes(), writable=CODE_WRITABLE,
                                         tables=self._code_tables(), on_table_call=self._code_table_call,
                                         http=self.code_http())
        except CodeError as exc:
            if exc.kind == "budget":
                raise TurnBudgetExceeded(f"the turn ran longer than its budget of {self.budget_ms:g} ms "
                                         f"(in the code of card {where.get('card')!r})") from None
            raise BotRuntimeError(f"code {exc.kind}: {exc.message}") from None
        for level, text in result.logs:
            self.log(level, text, source="code")
        self._apply_writes(result.scopes)
        self._trace("code_finished", ms=round(result.ms, 3), **where)

    # ---- hooks (runtime/engine/hooks.py) -----------------------------------------------------
    def _hook_scopes(self) -> dict[str, Any]:
        return {"event": self.event, "user": self.user, "session": self.session, "bot": self.bot,
                "conversation": self.conversation, "env": self.env}

    def _run_hook(self, hook, scopes: dict, writable: tuple[str, ...]):
        """The hook's CodeResult, or None when it failed (logged and traced, never raised)."""
        self._trace("hook_started", hook=hook.name, hook_type=hook.type)
        try:
            result = self._js().run_code(self.build.key, hook.code, scopes, writable=writable + HOOK_WRITABLE,
                                         http=self.code_http())
        except CodeError as exc:
            self._hook_failed(hook, f"{exc.kind}: {exc.message}")
            return None
        for level, text in result.logs:
            self.log(level, text, source="hook")
        try:
            # Checked as Execute Code's writes are (types, size limits), all or none.
            self._apply_writes(result.scopes, HOOK_WRITABLE)
        except BotRuntimeError as exc:
            self._hook_failed(hook, f"{exc}; none of its changes were applied")
            return None
        self._trace("hook_finished", hook=hook.name, hook_type=hook.type, ms=round(result.ms, 3))
        return result

    def _hook_failed(self, hook, message: str) -> None:
        message = f"hook {hook.name!r} ({hook.type}) failed: {message}; the turn went on without it"
        self._trace("hook_error", hook=hook.name, hook_type=hook.type, message=message)
        self.logs.append({"level": "error", "message": message, "source": "hook"})

    def incoming_hooks(self, kind: str) -> bool:
        """Run the before/after incoming hooks; False when one dropped the event."""
        for hook in self.build.hooks.get(kind, ()):
            result = self._run_hook(hook, self._hook_scopes(), ("event",))
            if result is None:
                continue
            changed = result.scopes.get("event")
            if not isinstance(changed, dict) or not isinstance(changed.get("type"), str):
                self._hook_failed(hook, "it left `event` without a string `type`; its changes were not applied")
                continue
            self.event = changed
            if result.value is False:
                self._trace("event_dropped", hook=hook.name, hook_type=hook.type)
                return False
        return True

    def outgoing_hooks(self) -> None:
        hooks = self.build.hooks.get("before_outgoing", ())
        if not hooks:
            return
        kept = []
        for output in self.outputs:
            for hook in hooks:
                scopes = {**self._hook_scopes(), "outgoingEvent": {"type": output.get("type"), "payload": output}}
                result = self._run_hook(hook, scopes, ("outgoingEvent",))
                if result is None:
                    continue
                if result.value is False:
                    self._trace("reply_dropped", hook=hook.name, reply_type=output.get("type"))
                    output = None
                    break
                payload = (result.scopes.get("outgoingEvent") or {}).get("payload")
                if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
                    self._hook_failed(hook, "it left `outgoingEvent.payload` without a string `type`; "
                                            "the reply was sent as it was")
                    continue
                output = payload
            if output is not None:
                kept.append(output)
        self.outputs = kept
        # The fallback (if any) went through the hooks like any reply: `result` must not add
        # it again when a hook dropped it.
        self._outputs_at_error = None

    def after_turn_hooks(self) -> None:
        for hook in self.build.hooks.get("after_turn", ()):
            self._run_hook(hook, {**self._hook_scopes(), "outgoing": list(self.outputs)}, ())

    def code_http(self):
        return code_fetch(self.http_host, self.build.settings, self.env,
                          lambda kind, **data: self._trace(kind, **self._where(), **data))

    def _code_tables(self) -> dict[str, str]:
        """The bot's tables as code sees them: `OrdersTable` for the table `Orders`."""
        out = {}
        for name in self.build.tables:
            binding = table_binding(name)
            if binding is not None:
                out.setdefault(binding, name)
        return out

    def _code_table_call(self, table: str, method: str, args: list, seconds_left: float) -> Any:
        """A table method called from Execute Code (runtime/engine/sandbox.py waits on it,
        inside the code's time limit); a refusal becomes an Error the code can catch."""
        if self.table_host is None:
            raise TableCallRefused("tables are not available where this bot runs")
        # A host that can bound its own calls (runtime/table_gateway.py: a statement timeout)
        # gets the time the code has left.
        limit = getattr(self.table_host, "time_limit", None)
        try:
            with (limit(seconds_left) if limit is not None else contextlib.nullcontext()):
                value = code_call(self.table_host, self.build.tables[table], method, args)
        except TableFailure as exc:
            self._trace("table_failed", table=table, method=method, path=exc.path, message=exc.message)
            raise TableCallRefused(f"{exc.path}: {exc.message}" if exc.path else exc.message) from None
        self._trace("table_code_call", table=table, method=method)
        return value

    def call_llm(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> LLMResponse:
        """Ask the model, through the bot's agents: the Policy Agent may replace a free-text
        answer that breaks a rule (runtime/engine/agents/policy.py). What cards call."""
        return agents.call_llm(self, request, on_token)

    def call_model(self, request: LLMRequest, on_token: Callable[[str], None] | None = None) -> LLMResponse:
        """Ask the model, no agent in between (the agents' own calls). The wait does not count
        against the turn's budget (the provider's per-call timeout bounds it); an LLMError
        stays an LLMError so the card can take its failure port, and becomes a bot error
        (error flow) when it does not catch it."""
        where = self._where()
        if self._llm is None:
            raise LLMError("this bot has no LLM provider (docs/ai.md, \"Providers\")", provider="")
        used = sum(c["tokensIn"] + c["tokensOut"] for c in self.llm_calls)
        if self._llm_token_budget is not None and used >= self._llm_token_budget:
            raise LLMError(f"the turn used {used} tokens, its budget is {self._llm_token_budget}",
                           provider=self.llm_calls[-1]["provider"] if self.llm_calls else "")
        request_card = request.card or where.get("card")
        chosen = self.build.settings.get("llm") or {}
        # The bot's own choice of provider and model, where the card names none.
        request = dataclasses.replace(request, card=request_card,
                                      provider=request.provider or chosen.get("provider", ""),
                                      model=request.model or chosen.get("model", ""))
        # The whole request is traced (request_details: tools, schema...), so a stored
        # conversation can become a recorded conversation test (runtime/engine/llm_replay.py).
        self._trace("llm_request", card=request_card, purpose=request.purpose, model=request.model,
                    messages=request.wire_messages(), tools=[t.name for t in request.tools],
                    **request_details(request))
        started = monotonic()
        try:
            response = self._llm.complete(request, on_token)
        except LLMError as exc:
            self._trace("llm_error", card=request_card, message=exc.message, provider=exc.provider,
                        status=exc.status)
            raise
        finally:
            waited = monotonic() - started
            if self.deadline is not None:
                self.deadline += waited
                turn_deadline.set(self.deadline)
        self.llm_calls.append({"card": request_card, "purpose": request.purpose, "model": response.model,
                               "provider": response.provider, "tokensIn": response.tokens_in,
                               "tokensOut": response.tokens_out, "ms": round(response.ms or waited * 1000, 3),
                               "cost": response.cost})
        self._trace("llm_response", card=request_card, model=response.model, provider=response.provider,
                    finishReason=response.finish_reason, text=response.text,
                    toolCalls=[{"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls],
                    tokensIn=response.tokens_in, tokensOut=response.tokens_out, ms=round(waited * 1000, 3))
        return response

    def write_agent_variable(self, scope: str, name: str, value: Any) -> None:
        """An agent's own variable (`conversation.SummaryAgent`, `user.TranslatorAgent`): it may
        be written after the dialog finished, so no frame is needed; checked like any write."""
        if scope == "conversation":
            self._check_state_size(self.frames, self.session, {**self.conversation, name: value},
                                   written=[(scope, name, value)])
            self.conversation[name] = value
        else:
            check_write("user", self.build.user_variables, name, value)
            _check_variables_size("user", {**self.user, name: value}, [(scope, name, value)])
            self.user[name] = value
        self._trace("variable_set", scope=scope, name=name, value=value)

    def discard_stream(self, stream_id: str) -> None:
        """What was streamed under `stream_id` is not a message: clients take it away."""
        if self._on_stream_discard is not None:
            self._on_stream_discard(stream_id)

    def stream(self, stream_id: str, delta: str) -> None:
        """Hand a piece of a streamed answer to the runtime (no-op when nobody listens)."""
        if self._on_stream is not None and delta:
            self._on_stream(stream_id, delta)

    # ---- scope writes ------------------------------------------------------------------------
    def _apply_writes(self, new: dict[str, Any], writable: tuple[str, ...] = CODE_WRITABLE) -> None:
        """Type-check every write first, then apply all of them, so a bad write applies none."""
        frame = self.frames[-1] if self.frames else None  # a hook may run before the dialog has one
        typed = self._typed_scopes()
        current = self.scopes()
        changes: list[tuple[str, str, Any]] = []
        for scope in writable:
            if scope not in new:
                continue
            after = new[scope] if isinstance(new[scope], dict) else {}
            before = current[scope]
            for name, value in after.items():
                if name not in before or before[name] != value:
                    if scope in typed:
                        check_write(scope, typed[scope], name, value)
                    changes.append((scope, name, value))
            for name in before:
                if name not in after:
                    changes.append((scope, name, None))
        if not changes:
            return
        self._check_state_size(
            self.frames[:-1] + [dict(frame, vars=new.get("workflow", frame["vars"]))] if frame else self.frames,
            new.get("session", self.session),
            new.get("conversation", self.conversation),
            written=[c for c in changes if c[0] in ("workflow", "session", "conversation")],
        )
        for scope in CAPPED_SCOPES:
            mine = [c for c in changes if c[0] == scope and c[2] is not None]
            if mine and isinstance(new.get(scope), dict):
                _check_variables_size(scope, new[scope], mine)
        targets = {"workflow": frame["vars"] if frame else None, "session": self.session, "user": self.user, "bot": self.bot,
                   "turn": self.turn, "conversation": self.conversation}
        for scope, name, value in changes:
            target = targets[scope]
            if value is None and name not in new.get(scope, {}):
                target.pop(name, None)
            else:
                target[name] = value
            self._trace("variable_set", scope=scope, name=name, value=value)

    # ---- cursor moves -----------------------------------------------------------------------
    def _enter(self, node_id: str) -> None:
        frame = self.frames[-1]
        key = (frame["flow"], node_id)
        count = self.visits.get(key, 0) + 1
        self.visits[key] = count
        limit = self.build.node_limit
        if count > limit:
            raise BotRuntimeError(
                f"node repetition limit reached: node {node_id!r} of flow {frame['flow']!r} "
                f"entered more than {limit} times in one turn"
            )
        frame["node"] = node_id
        frame["card"] = 0
        self._trace("transitioned", flow=frame["flow"], node=node_id)

    def _push_flow(self, flow_name: str, variables: dict, call_name: str | None) -> None:
        flow = self.build.flows[flow_name]
        self.frames.append({"flow": flow_name, "node": flow.entry, "card": 0, "vars": variables, "call": call_name})
        self._trace("entered_flow", flow=flow_name)
        self._enter(flow.entry)

    def _start_dialog(self) -> None:
        main = self.build.flows["main"]
        self.frames = []
        self.waiting = None
        self._trace("conversation_started")
        self._push_flow("main", defaults(main.variables), None)

    def _call(self, card: Card, step: Call) -> None:
        if len(self.frames) >= MAX_CALL_DEPTH:
            raise BotRuntimeError(f"call depth limit ({MAX_CALL_DEPTH}) reached calling flow {step.flow!r}")
        callee = self.build.flows.get(step.flow)
        if callee is None:
            raise BotRuntimeError(f"card {card.id!r} calls missing flow {step.flow!r}")
        variables = defaults(callee.variables)
        for name, value in step.inputs.items():
            if name not in callee.inputs:
                raise BotRuntimeError(f"card {card.id!r} passes {name!r}, which is not an input of flow {step.flow!r}")
            if value is UNDEFINED:
                continue
            check_write("workflow", callee.variables, name, value)
            variables[name] = value
        self._push_flow(step.flow, variables, step.name)

    def _exit_flow(self) -> None:
        frame = self.frames.pop()
        flow = self.build.flows[frame["flow"]]
        self._trace("exited_flow", flow=flow.name, node=frame["node"])
        if not self.frames:
            self._finish_dialog("exit")
            return
        outputs = {name: frame["vars"].get(name) for name in flow.outputs}
        caller = self.frames[-1]
        name = frame.get("call") or flow.name
        caller["vars"][name] = outputs
        self._trace("variable_set", scope="workflow", name=name, value=outputs)
        caller["card"] += 1
        autonomous.flow_returned(self, caller, outputs)  # a card tool's flow call ended

    def _end_node(self) -> None:
        self._trace("end_reached", **self._where())
        if "conversation_end" in self.build.flows and not self.ending:
            self.ending = True
            self.frames = []
            self._push_flow("conversation_end", defaults(self.build.flows["conversation_end"].variables), None)
        else:
            self.ending = True
            self._finish_dialog("end")

    def _finish_dialog(self, reason: str) -> None:
        """The dialog is over: cursor and workflow variables go. After an end node the
        session goes too; after a node with nowhere to go it stays."""
        self.frames = []
        self.waiting = None
        if self.ending:
            self.session = {}
            self.conversation = {}
            self.conversation_reset = True
            self.ending = False
        self.ended = True
        self._trace("conversation_ended", reason=reason)

    # ---- the loop ---------------------------------------------------------------------------
    def _step(self, card: Card, step) -> bool:
        """Act on what a card returned. False when the turn must stop (suspended)."""
        frame = self.frames[-1]
        if step is not SUSPEND:
            frame.pop("mem", None)  # the cursor leaves this card: its memory goes with it
        if step is CONTINUE:
            frame["card"] += 1
        elif step is SUSPEND:
            self.waiting = card.id
            self._trace("waiting_for_input", **self._where())
            return False
        elif isinstance(step, Jump):
            self._enter(step.target)
        elif isinstance(step, Call):
            self._call(card, step)
        else:
            raise BotRuntimeError(f"card {card.id!r} returned an unknown step {step!r}")
        return True

    def _check_budget(self, where: str) -> None:
        if self.deadline is not None and monotonic() >= self.deadline:
            raise TurnBudgetExceeded(f"the turn ran longer than its budget of {self.budget_ms:g} ms {where}")

    def _run_card(self, card: Card, resume: bool):
        self.cards_run += 1
        self._check_budget(f"(stopped before card {card.id!r})")
        if self.cards_run > MAX_CARDS_PER_TURN:
            raise BotRuntimeError(f"more than {MAX_CARDS_PER_TURN} cards ran in one turn")
        t = perf_counter()
        try:
            step = card.resume(self) if resume else card.run(self)
        except (BotRuntimeError, TurnBudgetExceeded, LLMCancelled):
            raise
        except LLMError as exc:  # not caught by the card (no failure port): the error flow
            raise LLMFailure(f"{card.type} card {card.id!r}: {exc}", provider=exc.provider, status=exc.status) from None
        except Exception as exc:  # a card bug must not leave the conversation stuck
            raise BotRuntimeError(f"{card.type} card {card.id!r} failed: {exc}") from exc
        self._trace("card", card=card.id, cardType=card.type, ms=round((perf_counter() - t) * 1000, 3))
        return step

    def _resume(self) -> bool:
        """Resume at the waiting card. False if the state no longer matches the bot
        (the draft changed under an emulator conversation): the dialog restarts."""
        frame = self.frames[-1]
        flow = self.build.flows.get(frame["flow"])
        node = flow.nodes.get(frame["node"]) if flow else None
        idx = frame.get("card", 0)
        card = node.cards[idx] if node and idx < len(node.cards) else None
        waiting, self.waiting = self.waiting, None
        if node is not None and node.kind == "autonomous" and waiting == autonomous.waiting_id(node):
            return self._step(*autonomous.run_node(self, node, resume=True))
        if card is None or card.id != waiting:
            self._trace("state_discarded", reason="the bot changed since this conversation was suspended")
            return False
        return self._step(card, self._run_card(card, resume=True))

    def _run(self, resume: bool) -> None:
        if resume and not self._resume():
            return
        flows = self.build.flows
        while self.frames:
            frame = self.frames[-1]
            node = flows[frame["flow"]].nodes[frame["node"]]
            if node.kind == "exit":
                self._exit_flow()
                continue
            if node.kind == "end":
                self._end_node()
                continue
            if node.kind == "autonomous":  # a model picks the cards (runtime/engine/autonomous.py)
                if not self._step(*autonomous.run_node(self, node)):
                    return
                continue
            idx = frame["card"]
            if idx < len(node.cards):
                card = node.cards[idx]
                if not self._step(card, self._run_card(card, resume=False)):
                    return
                continue
            if node.next:
                self._enter(node.next)
            else:
                self._finish_dialog("no transition")

    # How many outputs there were when the turn's first error happened: the fallback message
    # goes out only when nothing for the user was emitted from there on (docs/engine.md, "Errors").
    _outputs_at_error: int | None = None

    def _handle_error(self, exc: BotRuntimeError) -> None:
        self._check_budget(f"({exc})")
        where = self._where()
        message = str(exc)
        if self._outputs_at_error is None:
            self._outputs_at_error = len(self.outputs)
        self.error = {"message": message, **where}
        if isinstance(exc, LLMFailure):
            self.error.update(provider=exc.provider, status=exc.status)
        self._trace("error", message=message, **where)
        self.log("error", message, source="engine")
        in_error_flow = bool(self.frames) and self.frames[0]["flow"] == "error"
        self.frames = []
        self.waiting = None
        if "error" in self.build.flows and not in_error_flow:
            self.event["error"] = dict(self.error)
            self._push_flow("error", defaults(self.build.flows["error"].variables), None)
        else:
            self._finish_dialog("error")

    def _send_fallback(self) -> None:
        """The bot's fallback message, when the turn failed and nothing after the failure spoke
        to the user (the error flow's own messages count; custom events do not). Called again
        by `result` for an error found there; once sent, it is what spoke."""
        if self._outputs_at_error is None:
            return
        text = self.build.settings.get("fallbackMessage")
        if not isinstance(text, str) or not text.strip():
            return  # an empty fallback message turns it off
        if any(output.get("type") != CUSTOM_EVENT for output in self.outputs[self._outputs_at_error:]):
            return
        self.outputs.append({"type": "text", "text": text})
        self._trace("fallback_sent", text=text)

    def _drive(self, resume: bool) -> None:
        for _ in range(3):  # the run, then at most the error flow, then the error flow's own error
            try:
                self._run(resume)
                return
            except BotRuntimeError as exc:
                resume = False
                self._handle_error(exc)
        self.frames = []
        self._finish_dialog("error")

    def _triggered(self) -> bool:
        """Match a non-message event against the trigger nodes; on a match the dialog starts
        over at the trigger (cursor and workflow variables go, session stays)."""
        kind = self.event.get("type")
        custom_type = custom_event_type(self.event.get("payload"))
        target = self.event.get("trigger") if kind in TARGETED_EVENT_TYPES else None
        for trigger in self.build.triggers:
            if TRIGGER_TYPES[trigger.type] != kind:
                continue
            if kind in TARGETED_EVENT_TYPES and (not isinstance(target, dict) or target.get("flow") != trigger.flow
                                                 or target.get("node") != trigger.node):
                continue
            if trigger.event_type is not None and trigger.event_type != custom_type:
                continue
            if trigger.condition is not None:
                try:
                    if not js_truthy(self.evaluate(trigger.condition)):
                        continue
                except BotRuntimeError as exc:
                    # A broken condition must not take over the dialog: it just does not match.
                    message = f"condition of trigger {trigger.node!r} in flow {trigger.flow!r} failed: {exc}"
                    self._trace("error", message=message, flow=trigger.flow, node=trigger.node, card=None)
                    self.log("error", message, source="engine")
                    continue
            self.frames, self.waiting, self.ending = [], None, False
            self._trace("triggered", flow=trigger.flow, node=trigger.node, trigger=trigger.type)
            flow = self.build.flows[trigger.flow]
            self.frames.append({"flow": trigger.flow, "node": trigger.node, "card": 0,
                                "vars": defaults(flow.variables), "call": None})
            self._trace("entered_flow", flow=trigger.flow)
            try:
                self._enter(trigger.node)
            except BotRuntimeError as exc:
                self._handle_error(exc)
            self._drive(resume=False)
            return True
        return False

    def _hitl_stopped(self) -> bool:
        """A person handed the conversation back: a dialog waiting on an Escalate card goes on
        after it (`returned`) or ends as at an end node (`ended`). False when the dialog is not
        waiting on one (the event is then ignored like any event no trigger listens to)."""
        frame = self.frames[-1] if self.frames and self.waiting is not None else None
        flow = self.build.flows.get(frame["flow"]) if frame else None
        node = flow.nodes.get(frame["node"]) if flow else None
        idx = frame.get("card", 0) if frame else 0
        card = node.cards[idx] if node is not None and idx < len(node.cards) else None
        if card is None or card.type != "escalate" or card.id != self.waiting:
            return False
        reason = (self.event.get("payload") or {}).get("reason")
        self._trace("hitl_stopped", reason=reason, card=card.id)
        if reason == "ended":
            self.waiting = None
            try:
                self._end_node()
            except BotRuntimeError as exc:
                self._handle_error(exc)
            self._drive(resume=False)
        else:
            self._drive(resume=True)
        return True

    def _workflow_returned(self) -> bool:
        """A background workflow ended: a Start Workflow card waiting for that run goes on
        (cards/workflows.py). False when the dialog does not wait for it (triggers then)."""
        frame = self.frames[-1] if self.frames and self.waiting is not None else None
        flow = self.build.flows.get(frame["flow"]) if frame else None
        node = flow.nodes.get(frame["node"]) if flow else None
        idx = frame.get("card", 0) if frame else 0
        card = node.cards[idx] if node is not None and idx < len(node.cards) else None
        if card is None or card.type != "startWorkflow" or card.id != self.waiting:
            return False
        if (frame.get("mem") or {}).get("workflowId") != (self.event.get("payload") or {}).get("workflowId"):
            return False
        self._drive(resume=True)
        return True

    def execute(self) -> None:
        if self.build.hooks and not self.incoming_hooks("before_incoming"):
            return
        kind = self.event.get("type")
        if kind == HITL_STOPPED and self._hitl_stopped():
            return
        if kind == WORKFLOW_CALLBACK and self._workflow_returned():
            return
        if kind not in MESSAGE_EVENT_TYPES and kind != TIMEOUT:
            if self.build.hooks and not self.incoming_hooks("after_incoming"):
                return
            if not self._triggered():
                # Recorded by the caller, ignored by the dialog: a waiting card keeps waiting.
                self._trace("event_ignored", eventType=kind)
            return
        if kind == "timeout":
            if not self.frames:
                return
            self._trace("timeout")
            self.frames = []
            self.waiting = None
            self.ending = False
            if "timeout" in self.build.flows:
                try:
                    self._push_flow("timeout", defaults(self.build.flows["timeout"].variables), None)
                except BotRuntimeError as exc:
                    self._handle_error(exc)
                self._drive(resume=False)
            else:
                self._finish_dialog("timeout")
            return
        if kind == "text" and (self.event.get("payload") or {}).get("text", "").strip() == RESET_COMMAND:
            self.frames, self.waiting, self.ending = [], None, False
            self.session, self.conversation = {}, {}
            self.conversation_reset = True
            self._trace("state_reset")
            return
        agents.before_understanding(self)
        self._understand()
        if self.build.hooks and not self.incoming_hooks("after_incoming"):
            return
        resume = bool(self.frames) and self.waiting is not None
        if not resume:
            try:
                self._start_dialog()
            except BotRuntimeError as exc:
                self._handle_error(exc)
        self._drive(resume)

    def result(self) -> TurnResult:
        state = {"frames": self.frames, "waiting": self.waiting, "session": self.session}
        if self.conversation:
            state["conversation"] = self.conversation
        if self.ending:
            state["ending"] = True
        if state_size(state) > STATE_LIMIT_BYTES:
            # Only reachable through flow outputs; the dialog cannot go on with a state we may not store.
            message = f"conversation state is over the {STATE_LIMIT_BYTES} byte limit; the dialog was ended"
            self.error = {"message": message}
            self._trace("error", message=message)
            self.log("error", message, source="engine")
            state = {"frames": [], "waiting": None, "session": dict(self.initial_state.get("session") or {})}
            self.ended = True
            if self._outputs_at_error is None:
                self._outputs_at_error = len(self.outputs)
        self._send_fallback()
        bot_changes = {k: v for k, v in self.bot.items() if k not in self.bot_before or self.bot_before[k] != v}
        bot_changes.update({k: None for k in self.bot_before if k not in self.bot})
        return TurnResult(
            outputs=self.outputs,
            state=state,
            user=self.user,
            bot_changes=bot_changes,
            trace=self.trace,
            logs=self.logs,
            waiting=self.waiting is not None,
            ended=self.ended,
            error=self.error,
            ms=(perf_counter() - self.t0) * 1000,
            masked_text=self.masked_text,
            llm_calls=self.llm_calls,
            # Only while the dialog still waits (on the card, or on the autonomous node that ran
            # it as a tool): an error after it ended the dialog and drops it.
            escalation=self.escalation if self.waiting is not None else None,
        )


def run_turn(build: BotBuild, inp: TurnInput) -> TurnResult:
    turn = _Turn(build, inp)
    token = turn_deadline.set(turn.deadline)  # bounds every V8 call of this turn too
    try:
        turn.execute()
        turn._send_fallback()  # before the agents: the Translator translates it like any reply
        agents.after_turn(turn)
        if build.hooks:
            # Last, so they see the replies as they will be sent (translated, fallback included).
            turn.outgoing_hooks()
            turn.after_turn_hooks()
    finally:
        turn_deadline.reset(token)
    return turn.result()
