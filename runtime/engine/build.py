"""Compile a bot definition (the bot file, see docs/bot-format.md) into an immutable
BotBuild. Done once per published version or draft revision; every template and
expression is parsed here so that a turn never parses text.

The full validation of a bot file (every graph rule, with JSON paths) lives in
flows/botfile; the compiler re-checks only what it needs to run safely and reports it
the same way."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .agents import AGENTS_OFF, AgentsBuild, compile_agents
from .autonomous import AutonomousBuild, compile_node
from .cards import parse_config
from .cards.base import Card
from .cards.tables import table_card_problems
from .errors import BuildError, Problem
from .nlu.bot import BotNlu, inline_intent_name
from .nlu.intents import IntentModel
from .nlu.library import card_reference_problems, parse_library
from .events import TRIGGER_TYPES, WEBHOOK_AUTH
from .hooks import HookBuild, compile_hooks
from .expressions import Expression, ExpressionError, compile_expression
from .variables import VarSpec

RESERVED_FLOWS = ("main", "error", "timeout", "conversation_end")
DEFAULT_SETTINGS = {
    "inactivityTimeoutMinutes": 30,
    "nodeRepetitionLimit": 10,
    "timezone": "UTC",
    "languages": ["en"],
    "defaultLanguage": "en",
    "intentConfidence": 0.6,
    # What the visitor gets when a turn fails and nothing else told them (docs/engine.md, "Errors").
    "fallbackMessage": "Sorry, something went wrong.",
}
MAX_CALL_DEPTH = 16


@dataclass(frozen=True, slots=True)
class NodeBuild:
    id: str
    kind: str
    name: str
    cards: tuple[Card, ...]
    next: str | None
    # Autonomous nodes only: their instructions, model settings and transition targets.
    autonomous: AutonomousBuild | None = None
    # Background workflows only: what the chat client shows while this step runs.
    message: str = ""


@dataclass(frozen=True, slots=True)
class TriggerBuild:
    """A trigger node: which non-message event it catches and where the dialog goes."""

    flow: str
    node: str
    type: str  # a key of events.TRIGGER_TYPES
    event_type: str | None  # custom events only: the payload.type it requires
    condition: Expression | None
    next: str
    # Webhook triggers: how a request proves it knows the secret ("signature" or "secret").
    auth: str | None = None
    # Schedule triggers: the cron expression and the IANA time zone it is read in.
    cron: str | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class FlowBuild:
    name: str
    entry: str  # the start node in main, the entry node elsewhere
    nodes: Mapping[str, NodeBuild]
    variables: Mapping[str, VarSpec]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    triggers: tuple[TriggerBuild, ...] = ()
    # "conversation" (a dialog flow) or "workflow" (a background workflow, docs/workflows.md).
    kind: str = "conversation"
    # Background workflows only: request and notification names -> JSON Schema, and the
    # time one step may take.
    requests: Mapping[str, Any] = field(default_factory=dict)
    notifications: Mapping[str, Any] = field(default_factory=dict)
    step_timeout_seconds: int = 60


FLOW_KINDS = ("conversation", "workflow")
DEFAULT_STEP_TIMEOUT_SECONDS = 60
MAX_STEP_TIMEOUT_SECONDS = 3600


def _declared_schemas(flow: dict, section: str, path: str, problems: list[Problem]) -> dict[str, Any]:
    """A workflow's `requests` or `notifications`: name -> a JSON Schema that must itself be valid."""
    from jsonschema import Draft202012Validator, SchemaError

    out = {}
    declared = flow.get(section) or {}
    if not isinstance(declared, dict):
        problems.append(Problem(f"{path}.{section}", "must be an object: name -> JSON Schema"))
        return out
    for name, schema in declared.items():
        if not isinstance(schema, dict):
            problems.append(Problem(f"{path}.{section}.{name}", "must be a JSON Schema object"))
            continue
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
            problems.append(Problem(f"{path}.{section}.{name}{where}", f"invalid JSON Schema: {exc.message}"))
            continue
        out[name] = schema
    return out


@dataclass(frozen=True)
class CompileContext:
    """What a card may need from the rest of the bot when it is compiled."""

    card_id: str
    library_intents: tuple[str, ...] = ()
    node_intents: tuple[str, ...] = ()  # model names of the inline intents of the card's node
    entities: Mapping[str, Any] = field(default_factory=dict)  # library entities by name


@dataclass(frozen=True)
class BotBuild:
    key: str
    name: str
    settings: Mapping[str, Any]
    flows: Mapping[str, FlowBuild]
    user_variables: Mapping[str, VarSpec]
    bot_variables: Mapping[str, VarSpec]
    config_names: tuple[str, ...] = field(default=())
    # Intents and entities (runtime/engine/nlu/bot.py); None when the bot has neither, so
    # its turns never run the encoder or the entity extractors.
    nlu: BotNlu | None = None
    # How many earlier user messages a turn may need (the largest "extract from history").
    history_depth: int = 0
    # Every trigger node, main's first, then the other flows in file order; first match wins.
    triggers: tuple[TriggerBuild, ...] = field(default=())
    # The Summary, Policy and Translator agents (runtime/engine/agents); all off by default.
    agents: AgentsBuild = AGENTS_OFF
    # Table definitions from the bot file by name (`{"name", "columns"}`), for table cards.
    tables: Mapping[str, Any] = field(default_factory=dict)
    # Enabled hooks by hook type, in file order (runtime/engine/hooks.py); empty: none.
    hooks: Mapping[str, tuple[HookBuild, ...]] = field(default_factory=dict)

    @property
    def node_limit(self) -> int:
        return int(self.settings["nodeRepetitionLimit"])

    @property
    def inactivity_timeout_minutes(self) -> int:
        return int(self.settings["inactivityTimeoutMinutes"])

    def user_defaults(self) -> dict[str, Any]:
        return {n: s.default for n, s in self.user_variables.items() if s.default is not None}

    def bot_defaults(self) -> dict[str, Any]:
        return {n: s.default for n, s in self.bot_variables.items() if s.default is not None}


def _schemas(definition: dict, problems: list[Problem]) -> dict[str, Any]:
    out = {}
    if not definition.get("schemas"):
        return out
    from jsonschema import Draft202012Validator

    for i, entry in enumerate(definition.get("schemas") or ()):
        try:
            out[entry["name"]] = Draft202012Validator(entry["schema"])
        except Exception as exc:  # a schema the validator cannot even build
            problems.append(Problem(f"$.schemas[{i}]", f"invalid schema: {exc}"))
    return out


def _var_specs(decls, schemas, path: str, problems: list[Problem]) -> dict[str, VarSpec]:
    specs = {}
    for i, decl in enumerate(decls or ()):
        try:
            specs[decl["name"]] = VarSpec.from_decl(decl, schemas)
        except Exception as exc:
            problems.append(Problem(f"{path}[{i}]", f"invalid variable declaration: {exc}"))
    return specs


def _compile_flow(fi: int, flow: dict, schemas, problems: list[Problem], library: dict) -> FlowBuild | None:
    path = f"$.flows[{fi}]"
    name = flow.get("name")
    nodes_in = flow.get("nodes") or []
    node_ids = {n.get("id") for n in nodes_in}
    entry_kind = "start" if name == "main" else "entry"
    entries = [n["id"] for n in nodes_in if n.get("kind") == entry_kind]
    if len(entries) != 1:
        problems.append(Problem(f"{path}.nodes", f"flow {name!r} needs exactly one {entry_kind} node, found {len(entries)}"))
        return None
    nodes = {}
    triggers = []
    for ni, node in enumerate(nodes_in):
        npath = f"{path}.nodes[{ni}]"
        target = node.get("next")
        if target is not None and target not in node_ids:
            problems.append(Problem(f"{npath}.next", f"transition to missing node {target!r} in flow {name!r}"))
        if node.get("kind") == "trigger":
            trigger = _compile_trigger(name, node, npath, problems)
            if trigger is not None:
                triggers.append(trigger)
        cards = []
        node_intents = tuple(inline_intent_name(c["id"]) for c in node.get("cards") or ()
                             if c.get("type") == "intent" and c.get("utterances") and isinstance(c.get("id"), str))
        for ci, card in enumerate(node.get("cards") or ()):
            cpath = f"{npath}.cards[{ci}]"
            try:
                family, config = parse_config(card)
            except ValueError as exc:
                problems.extend(Problem(cpath + sub, msg) for sub, msg in exc.args[0])
                continue
            # transition_fields are bot-file (camelCase) names, as the validator reads them.
            for fname in family.transition_fields:
                t = card.get(fname)
                if t is not None and t not in node_ids:
                    problems.append(Problem(f"{cpath}.{fname}", f"transition to missing node {t!r} in flow {name!r}"))
            ctx = CompileContext(card_id=card["id"], node_intents=node_intents, **library)
            compiled = family.compile(card["type"], config, ctx)
            compiled.id = card["id"]
            compiled.type = card["type"]
            cards.append(compiled)
        nodes[node["id"]] = NodeBuild(
            id=node["id"], kind=node.get("kind", "standard"), name=node.get("name") or node["id"],
            cards=tuple(cards), next=target, autonomous=compile_node(node, npath, node_ids, problems),
            message=node.get("message") or "",
        )
    variables = _var_specs(flow.get("variables"), schemas, f"{path}.variables", problems)
    kind = flow.get("kind") or "conversation"
    workflow = {}
    if kind == "workflow":
        workflow = {
            "kind": kind,
            "requests": MappingProxyType(_declared_schemas(flow, "requests", path, problems)),
            "notifications": MappingProxyType(_declared_schemas(flow, "notifications", path, problems)),
            "step_timeout_seconds": int(flow.get("stepTimeoutSeconds") or DEFAULT_STEP_TIMEOUT_SECONDS),
        }
    return FlowBuild(
        name=name,
        entry=entries[0],
        nodes=MappingProxyType(nodes),
        variables=MappingProxyType(variables),
        inputs=tuple(n for n, s in variables.items() if s.input),
        outputs=tuple(n for n, s in variables.items() if s.output),
        triggers=tuple(triggers),
        **workflow,
    )


def _compile_trigger(flow_name: str, node: dict, path: str, problems: list[Problem]) -> TriggerBuild | None:
    spec = node.get("trigger")
    if not isinstance(spec, dict):
        problems.append(Problem(f"{path}.trigger", "a trigger node needs a trigger object: {\"type\": ...}"))
        return None
    kind = spec.get("type")
    if kind not in TRIGGER_TYPES:
        problems.append(Problem(f"{path}.trigger.type",
                                f"unknown trigger type {kind!r}; use one of: {', '.join(TRIGGER_TYPES)}"))
        return None
    if not node.get("next"):
        problems.append(Problem(f"{path}.next", "the trigger node must lead somewhere: set its next node"))
        return None
    condition = None
    if spec.get("condition") is not None:
        try:
            condition = compile_expression(spec["condition"])
        except ExpressionError as exc:
            problems.append(Problem(f"{path}.trigger.condition", str(exc)))
            return None
    extra = {}
    if kind == "webhook":
        extra["auth"] = spec.get("auth") or "signature"
        if extra["auth"] not in WEBHOOK_AUTH:
            problems.append(Problem(f"{path}.trigger.auth", f"use one of: {', '.join(WEBHOOK_AUTH)}"))
            return None
    if kind == "schedule":
        cron, tz = spec.get("cron"), spec.get("timezone") or "UTC"
        problem = cron_problem(cron, tz)
        if problem:
            problems.append(Problem(f"{path}.trigger.{problem[0]}", problem[1]))
            return None
        extra.update(cron=cron, timezone=tz)
    return TriggerBuild(flow=flow_name, node=node["id"], type=kind, event_type=spec.get("eventType"),
                        condition=condition, next=node["next"], **extra)


def cron_problem(cron, tz) -> tuple[str, str] | None:
    """(field, why) when a schedule's cron expression or time zone is unusable, else None."""
    from croniter import croniter  # only bots with schedules pay for the import

    if not isinstance(cron, str) or not cron.strip():
        return "cron", "a schedule trigger needs a cron expression such as '0 9 * * 1-5'"
    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        return "cron", (f"{cron!r} is not a cron expression of five fields (minute hour day-of-month month "
                        "day-of-week), e.g. '*/15 * * * *'")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return "timezone", f"{tz!r} is not an IANA time zone name such as Europe/Paris"
    return None


def _workflow_problems(definition: dict, flows: Mapping[str, FlowBuild]) -> list[Problem]:
    """The rules that tie background workflows to the rest of the bot (docs/workflows.md)."""
    from .cards.workflows import CONVERSATION_ONLY, WORKFLOW_ONLY

    out = []
    for fi, flow in enumerate(definition.get("flows") or ()):
        path = f"$.flows[{fi}]"
        built = flows.get(flow.get("name"))
        if built is None:
            continue
        if built.kind == "workflow" and built.name in RESERVED_FLOWS:
            out.append(Problem(f"{path}.kind", f"{built.name!r} is a reserved conversation flow; it cannot be a workflow"))
        if built.kind != "workflow":
            for key in ("requests", "notifications", "stepTimeoutSeconds"):
                if key in flow:
                    out.append(Problem(f"{path}.{key}", 'only a flow with "kind": "workflow" has ' + key))
        for ni, node in enumerate(flow.get("nodes") or ()):
            npath = f"{path}.nodes[{ni}]"
            if built.kind == "workflow" and node.get("kind") in ("trigger", "autonomous", "start"):
                out.append(Problem(f"{npath}.kind", f"a workflow's steps cannot be {node.get('kind')} nodes"))
            if built.kind != "workflow" and node.get("message"):
                out.append(Problem(f"{npath}.message", "only the steps of a workflow have a message"))
            for ci, card in enumerate(node.get("cards") or ()):
                cpath, ctype = f"{npath}.cards[{ci}]", card.get("type")
                if built.kind == "workflow" and (ctype in CONVERSATION_ONLY or ctype == "call"):
                    out.append(Problem(f"{cpath}.type", f"a {ctype} card belongs in a conversation flow, not in workflow {built.name!r}"))
                if built.kind != "workflow" and ctype in WORKFLOW_ONLY:
                    out.append(Problem(f"{cpath}.type", f"a {ctype} card belongs in a workflow's steps (a flow with \"kind\": \"workflow\")"))
                if ctype == "call" and flows.get(card.get("flow")) is not None and flows[card["flow"]].kind == "workflow":
                    out.append(Problem(f"{cpath}.flow", f"{card['flow']!r} is a background workflow: start it with a startWorkflow card"))
                if ctype == "startWorkflow":
                    target = flows.get(card.get("workflow"))
                    if target is None or target.kind != "workflow":
                        known = ", ".join(sorted(n for n, f in flows.items() if f.kind == "workflow")) or "none"
                        out.append(Problem(f"{cpath}.workflow", f"no workflow named {card.get('workflow')!r}; workflows: {known}"))
                    else:
                        for name in card.get("inputs") or {}:
                            if name not in target.inputs:
                                out.append(Problem(f"{cpath}.inputs.{name}", f"{name!r} is not an input variable of workflow {target.name!r}; inputs: {', '.join(target.inputs) or 'none'}"))
                if built.kind == "workflow" and ctype == "workflowRequest" and card.get("request") not in built.requests:
                    out.append(Problem(f"{cpath}.request", f"workflow {built.name!r} declares no request {card.get('request')!r}; requests: {', '.join(built.requests) or 'none'}"))
                if built.kind == "workflow" and ctype == "workflowNotify" and card.get("notification") not in built.notifications:
                    out.append(Problem(f"{cpath}.notification", f"workflow {built.name!r} declares no notification {card.get('notification')!r}; notifications: {', '.join(built.notifications) or 'none'}"))
    return out


def compile_bot(definition: dict, *, key: str | None = None, intent_model: IntentModel | bytes | None = None) -> BotBuild:
    """`intent_model` is the model stored when the version was published; without it (or
    when it does not fit this bot's intents) the model is trained here."""
    problems: list[Problem] = []
    if not isinstance(definition, dict):
        raise BuildError([Problem("$", "a bot definition is a JSON object")])
    schemas = _schemas(definition, problems)
    intents, entities, library_problems = parse_library(definition)
    problems.extend(Problem(path, message) for path, message in library_problems)
    problems.extend(Problem(path, message) for path, message in card_reference_problems(definition))
    problems.extend(Problem(path, message) for path, message in table_card_problems(definition))
    library = {"library_intents": tuple(i.name for i in intents), "entities": {e.name: e for e in entities}}
    flows = {}
    for fi, flow in enumerate(definition.get("flows") or ()):
        built = _compile_flow(fi, flow, schemas, problems, library)
        if built is not None:
            flows[built.name] = built
    if "main" not in flows and not problems:
        problems.append(Problem("$.flows", "a bot needs a flow named main"))
    problems.extend(_workflow_problems(definition, flows))
    for fi, flow in enumerate(definition.get("flows") or ()):
        for ni, node in enumerate(flow.get("nodes") or ()):
            for ci, card in enumerate(node.get("cards") or ()):
                if card.get("type") == "call" and card.get("flow") not in flows:
                    problems.append(Problem(
                        f"$.flows[{fi}].nodes[{ni}].cards[{ci}].flow", f"calls missing flow {card.get('flow')!r}"
                    ))
    bot_vars = [v for v in definition.get("variables") or () if v.get("scope") == "bot"]
    user_vars = [v for v in definition.get("variables") or () if v.get("scope") == "user"]
    user_specs = _var_specs(user_vars, schemas, "$.variables", problems)
    bot_specs = _var_specs(bot_vars, schemas, "$.variables", problems)
    settings = {**DEFAULT_SETTINGS, **(definition.get("settings") or {})}
    agents = compile_agents(definition.get("agents"), str(settings["defaultLanguage"]), problems)
    hooks = compile_hooks(definition.get("hooks"), problems)
    if problems:
        raise BuildError(problems)
    nlu = BotNlu.build(definition, intents, entities, settings["intentConfidence"], stored=intent_model)
    history_depth = max((getattr(card, "from_history", 0) for flow in flows.values()
                         for node in flow.nodes.values() for card in node.cards), default=0)
    ordered = [flows["main"], *(f for n, f in flows.items() if n != "main")]
    return BotBuild(
        key=key or f"build-{uuid.uuid4().hex}",
        name=definition.get("name", ""),
        settings=MappingProxyType(settings),
        flows=MappingProxyType(flows),
        user_variables=MappingProxyType(user_specs),
        bot_variables=MappingProxyType(bot_specs),
        config_names=tuple(c["name"] for c in definition.get("config") or ()),
        nlu=nlu,
        history_depth=history_depth,
        triggers=tuple(t for f in ordered for t in f.triggers),
        hooks=MappingProxyType(hooks),
        agents=agents,
        tables=MappingProxyType({t["name"]: t for t in definition.get("tables") or ()
                                 if isinstance(t, dict) and isinstance(t.get("name"), str)}),
    )
