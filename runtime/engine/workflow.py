"""One step of a background workflow (docs/workflows.md): a compiled bot, the run's workflow
variables and one node of a workflow flow in; what the step emitted, the new variables and
where the run goes next out. Pure, like `turn.run_turn`: the runtime stores the result.

A step is one node. Its cards run in order, as in a turn; the step ends after the last card
(next: the node's `next`), at a card that jumps (next: its target), or paused on a Request
card. A paused step resumes on that card with the provided data. Entry nodes are not steps:
`first_step` skips them. Reaching an exit or end node completes the run.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .build import BotBuild
from .cards.base import CONTINUE, SUSPEND, Call, Jump
from .cards.workflows import WORKFLOW_PROVIDE
from .errors import BotRuntimeError, LLMFailure, StateLimitError, TurnBudgetExceeded
from .sandbox import turn_deadline
from .turn import TurnInput, _Turn
from .variables import check_write, defaults

# Nodes at which a run is complete.
FINAL_KINDS = ("exit", "end")


@dataclass
class StepResult:
    status: str  # "completed" (go on to `next`), "paused" (waiting on a request), "failed"
    variables: dict
    next: str | None = None  # the next step's node id; None: the run is complete
    outputs: list[dict] = field(default_factory=list)
    request: dict | None = None  # paused: {"name", "message", "card"}
    error: str | None = None
    logs: list[dict] = field(default_factory=list)
    trace: list[dict] = field(default_factory=list)


class WorkflowInputError(ValueError):
    """Inputs that do not fit the workflow's input variables; the message names the variable."""


def workflow_flow(build: BotBuild, name: str):
    flow = build.flows.get(name)
    if flow is None or flow.kind != "workflow":
        known = ", ".join(sorted(n for n, f in build.flows.items() if f.kind == "workflow")) or "none"
        raise WorkflowInputError(f"the bot has no workflow named {name!r}; workflows: {known}")
    return flow


def initial_variables(build: BotBuild, name: str, inputs: dict) -> dict:
    """The workflow variables a new run starts with: defaults, then the inputs, type-checked."""
    flow = workflow_flow(build, name)
    if not isinstance(inputs, dict):
        raise WorkflowInputError("inputs must be an object: input variable name -> value")
    values = defaults(flow.variables)
    for key, value in inputs.items():
        if key not in flow.inputs:
            raise WorkflowInputError(f"{key!r} is not an input variable of workflow {name!r}; "
                                     f"inputs: {', '.join(flow.inputs) or 'none'}")
        try:
            check_write("workflow", flow.variables, key, value)
        except Exception as exc:
            raise WorkflowInputError(f"input {key!r}: {exc}") from None
        if value is not None:
            values[key] = value
    return values


def next_step(build: BotBuild, name: str, node_id: str | None) -> str | None:
    """The first node at or after `node_id` that is a step (entry nodes pass through); None
    when the run is complete there."""
    flow = build.flows[name]
    seen = set()
    while node_id is not None and node_id not in seen:
        seen.add(node_id)
        node = flow.nodes.get(node_id)
        if node is None or node.kind in FINAL_KINDS:
            return None
        if node.kind != "entry":
            return node_id
        node_id = node.next
    return None


def first_step(build: BotBuild, name: str) -> str | None:
    flow = workflow_flow(build, name)
    return next_step(build, name, flow.entry)


def outputs_of(build: BotBuild, name: str, variables: dict) -> dict:
    return {n: variables.get(n) for n in build.flows[name].outputs}


def run_step(build: BotBuild, name: str, node_id: str, variables: dict, *, provided: dict | None = None,
             resume_card: str | None = None, env: dict | None = None, bot: dict | None = None, budget_ms: float | None = None,
             sandbox=None, llm=None, tables=None) -> StepResult:
    """Run the step at `node_id`; with `resume_card` and `provided` ({"request", "data"}) resume
    it on that Request card."""
    flow = build.flows[name]
    node = flow.nodes[node_id]
    start = 0
    if resume_card is not None:
        ids = [c.id for c in node.cards]
        if resume_card not in ids:
            return StepResult("failed", dict(variables), error=f"step {node_id!r} has no card {resume_card!r} any more")
        start = ids.index(resume_card)
    event = {"type": WORKFLOW_PROVIDE, "payload": dict(provided or {})} if resume_card else \
        {"type": "workflow_step", "payload": {"step": node_id}}
    frame = {"flow": name, "node": node_id, "card": start, "vars": dict(variables), "call": None}
    turn = _Turn(build, TurnInput(state={"frames": [frame], "waiting": resume_card}, event=event, env=env or {}, bot=bot or {},
                                  sandbox=sandbox, budget_ms=budget_ms, llm=llm, tables=tables))
    token = turn_deadline.set(turn.deadline)
    try:
        return _drive(turn, node, start, resume_card is not None)
    finally:
        turn_deadline.reset(token)


def _drive(turn: _Turn, node, idx: int, resume: bool) -> StepResult:
    frame = turn.frames[-1]

    def result(status, **kw):
        return StepResult(status, frame["vars"], outputs=turn.outputs, logs=turn.logs, trace=turn.trace, **kw)

    try:
        while idx < len(node.cards):
            card = node.cards[idx]
            frame["card"] = idx
            step = turn._run_card(card, resume=resume)
            resume = False
            if step is CONTINUE:
                frame.pop("mem", None)
                idx += 1
            elif step is SUSPEND:
                if card.type != "workflowRequest":
                    raise BotRuntimeError(f"a {card.type} card cannot wait inside a workflow step")
                request = next(o for o in reversed(turn.outputs) if o.get("type") == "workflow_request")
                return result("paused", next=node.id,
                              request={"name": request["request"], "message": request["message"], "card": card.id})
            elif isinstance(step, Jump):
                return result("completed", next=step.target)
            elif isinstance(step, Call):
                raise BotRuntimeError(f"card {card.id!r}: a workflow step cannot call a flow")
            else:
                raise BotRuntimeError(f"card {card.id!r} returned an unknown step {step!r}")
    except (BotRuntimeError, LLMFailure, StateLimitError, TurnBudgetExceeded) as exc:
        return result("failed", error=str(exc))
    return result("completed", next=node.next)


# ---- the client's form for a request (WorkflowInterventionRequired.dataPoints) -------------------
_FORMAT_TYPES = {"email": "Email", "date": "Date", "date-time": "Date", "uri": "Url"}


def data_points(schema: dict) -> list[dict]:
    """One form field per property of an object schema: key, label (the property's title, or
    its name in words), type (Text, Email, Number, Select with options, Date, Boolean, Url),
    required, and the constraints a client checks before sending (pattern, min/max)."""
    props = schema.get("properties") or {} if isinstance(schema, dict) else {}
    required = set(schema.get("required") or ()) if isinstance(schema, dict) else set()
    # Stored bot files lose their key order (PostgreSQL's jsonb), so the form follows the
    # schema's `required` list, then the optional properties by name.
    order = list(schema.get("required") or ()) if isinstance(schema, dict) else []
    keys = [k for k in order if k in props] + sorted(k for k in props if k not in order)
    points = []
    for key in keys:
        prop = props[key]
        prop = prop if isinstance(prop, dict) else {}
        kind = prop.get("type")
        if "enum" in prop:
            field_type = "Select"
        elif kind in ("number", "integer"):
            field_type = "Number"
        elif kind == "boolean":
            field_type = "Boolean"
        else:
            field_type = _FORMAT_TYPES.get(prop.get("format"), "Text")
        point = {"key": key, "label": prop.get("title") or _words(key), "type": field_type,
                 "required": key in required}
        if "enum" in prop:
            point["options"] = [{"value": v, "label": str(v)} for v in prop["enum"]]
        for name in ("description", "pattern", "minLength", "maxLength", "minimum", "maximum"):
            if name in prop:
                point[name] = prop[name]
        points.append(point)
    return points


def _words(key: str) -> str:
    out = "".join(" " + c.lower() if c.isupper() else c for c in key.replace("_", " ")).strip()
    return out[:1].upper() + out[1:]
