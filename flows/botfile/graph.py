"""The semantic pass: everything that refers to something else in the file.

It runs even when the structural pass found problems, so it must tolerate any
shape: parts that are not what they should be are skipped here (the structural
pass has already named them).
"""
from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from functools import lru_cache

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from runtime.engine import expression_problem
from runtime.engine.build import cron_problem
from runtime.engine.sandbox import syntax_error

from .languages import ISO_639_1
from .problems import Problem, json_path
from .schema import RESERVED_FLOWS, SETTINGS_DEFAULTS
from .variables import variable_problems

# intents and entities are checked, duplicates included, by the library pass (validate.py).
NAMED_LISTS = ("tables", "knowledgeBases", "hooks", "tests")
CALL_CARD = "call"
_CARDLESS_KINDS = ("start", "entry", "exit", "end", "trigger")
_UNTARGETABLE_KINDS = ("start", "entry", "trigger")


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _is_timezone(name: str) -> bool:
    if name in _timezones():
        return True
    try:  # available_timezones() can miss names on a system with an unusual tz database
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _dicts(value) -> list[tuple[int, dict]]:
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)] if isinstance(value, list) else []


def _str(value) -> str | None:
    return value if isinstance(value, str) else None


def semantic_problems(doc, registry: Mapping) -> list[Problem]:
    if not isinstance(doc, dict):
        return []
    problems: list[Problem] = []
    problems += _settings_problems(doc.get("settings"))
    schemas = _schema_problems(doc.get("schemas"), problems)
    problems += _bot_variable_problems(doc.get("variables"), schemas)
    problems += _config_problems(doc.get("config"))
    for key in NAMED_LISTS:
        problems += _unique_names(_dicts(doc.get(key)), [key], "name", f"{key} entry")
    problems += _hook_problems(doc.get("hooks"))
    problems += _FlowChecker(doc, registry, schemas).problems()
    problems += _layout_problems(doc.get("layout"), doc.get("flows"))
    return problems


def _settings_problems(settings) -> list[Problem]:
    if not isinstance(settings, dict):
        return []
    problems = []
    timezone = settings.get("timezone")
    if isinstance(timezone, str) and not _is_timezone(timezone):
        problems.append(Problem(
            "$.settings.timezone",
            f"unknown time zone {timezone!r}; use an IANA name such as 'UTC' or 'Europe/Paris'",
        ))
    languages = settings.get("languages", SETTINGS_DEFAULTS["languages"])
    if isinstance(languages, list):
        for i, code in enumerate(languages):
            if isinstance(code, str) and len(code) == 2 and code.islower() and code not in ISO_639_1:
                problems.append(Problem(f"$.settings.languages[{i}]", f"{code!r} is not an ISO 639-1 language code"))
    default_language = settings.get("defaultLanguage", SETTINGS_DEFAULTS["defaultLanguage"])
    if isinstance(languages, list) and isinstance(default_language, str) and default_language not in languages:
        problems.append(Problem(
            "$.settings.defaultLanguage",
            f"{default_language!r} is not in settings.languages ({', '.join(map(str, languages))})",
        ))
    return problems


def _schema_problems(entries, problems: list[Problem]) -> dict[str, dict]:
    named: dict[str, dict] = {}
    items = _dicts(entries)
    problems += _unique_names(items, ["schemas"], "name", "schema")
    for i, entry in items:
        body = entry.get("schema")
        if not isinstance(body, dict):
            continue
        try:
            Draft202012Validator.check_schema(body)
        except SchemaError as exc:
            where = json_path(["schemas", i, "schema", *exc.absolute_path])
            problems.append(Problem(where, f"is not a valid JSON Schema: {exc.message}"))
            continue
        if isinstance(entry.get("name"), str):
            named.setdefault(entry["name"], body)
    return named


def _bot_variable_problems(variables, schemas) -> list[Problem]:
    problems = []
    items = _dicts(variables)
    for scope in ("user", "bot"):
        scoped = [(i, v) for i, v in items if v.get("scope") == scope]
        problems += _unique_names(scoped, ["variables"], "name", f"{scope} variable")
    for i, variable in items:
        problems += variable_problems(variable, ["variables", i], schemas)
    return problems


def _config_problems(config) -> list[Problem]:
    problems = [
        Problem(json_path(["config", *parts]), "values of configuration variables never go in the bot file; "
                "set them in the studio (emulator and production values are stored encrypted)")
        for parts in _value_keys(config, [])
    ]
    problems += _unique_names(_dicts(config), ["config"], "name", "configuration variable")
    return problems


def _value_keys(node, parts: list) -> list[list]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "value":
                found.append(parts + [key])
            found += _value_keys(value, parts + [key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _value_keys(value, parts + [i])
    return found


def _unique_names(items, parts: list, key: str, what: str) -> list[Problem]:
    """One problem per repeated `key` value, at the repeat, pointing to the first use."""
    problems = []
    seen: dict[str, int] = {}
    for i, item in items:
        name = item.get(key)
        if not isinstance(name, str):
            continue
        if name in seen:
            first = json_path(parts + [seen[name]])
            problems.append(Problem(json_path(parts + [i, key]), f"duplicate {what} {key} {name!r} (first used at {first})"))
        else:
            seen[name] = i
    return problems


class _FlowChecker:
    """Flows, nodes, cards and flow calls: the graph of the bot."""

    def __init__(self, doc: dict, registry: Mapping, schemas: dict[str, dict]):
        self.registry = registry
        self.schemas = schemas
        self.flows_is_list = isinstance(doc.get("flows", []), list)
        self.flows = _dicts(doc.get("flows"))
        self.by_name: dict[str, tuple[int, dict]] = {}
        for i, flow in self.flows:
            name = _str(flow.get("name"))
            if name is not None:
                self.by_name.setdefault(name, (i, flow))
        self.out: list[Problem] = []
        self.card_ids: dict[str, str] = {}
        # caller flow -> [(callee flow, path of the call card)] in file order
        self.calls: dict[str, list[tuple[str, str]]] = {}

    def problems(self) -> list[Problem]:
        self.out += _unique_names(self.flows, ["flows"], "name", "flow")
        if self.flows_is_list and "main" not in self.by_name:
            self.out.append(Problem("$.flows", "the bot has no flow named 'main'; every bot starts at main's start node"))
        for i, flow in self.flows:
            self._flow(i, flow)
        self._call_cycles()
        return self.out

    def _flow(self, fi: int, flow: dict) -> None:
        name = _str(flow.get("name")) or f"#{fi}"
        if self.by_name.get(name, (fi,))[0] != fi:
            return  # a duplicate flow name was reported; checking it twice only adds noise
        base = ["flows", fi]
        variables = _dicts(flow.get("variables"))
        self.out += _unique_names(variables, base + ["variables"], "name", "variable")
        for vi, variable in variables:
            self.out += variable_problems(variable, base + ["variables", vi], self.schemas)

        if not isinstance(flow.get("nodes"), list):
            return  # the structural pass said so; kind rules on no nodes would only repeat it
        nodes = _dicts(flow.get("nodes"))
        self.out += _unique_names(nodes, base + ["nodes"], "id", "node")
        kinds = {}
        for _, node in nodes:
            node_id = _str(node.get("id"))
            if node_id is not None:
                kinds.setdefault(node_id, node.get("kind"))
        self._kind_rules(name, base, nodes)
        call_names: dict[str, str] = {}
        for ni, node in nodes:
            self._node(name, base + ["nodes", ni], node, kinds, call_names)

    def _kind_rules(self, flow_name: str, base: list, nodes) -> None:
        def count(kind):
            return [(ni, n) for ni, n in nodes if n.get("kind") == kind]

        starts, entries, exits, ends = count("start"), count("entry"), count("exit"), count("end")
        nodes_path = json_path(base + ["nodes"])
        if flow_name == "main":
            if not starts:
                self.out.append(Problem(nodes_path, "flow 'main' needs exactly one start node; it has none"))
            for ni, node in starts[1:]:
                self.out.append(Problem(
                    json_path(base + ["nodes", ni, "kind"]),
                    f"a second start node; flow 'main' already starts at '{starts[0][1].get('id')}'",
                ))
            for ni, _ in entries:
                self.out.append(Problem(
                    json_path(base + ["nodes", ni, "kind"]),
                    "entry nodes are not allowed in main; main begins at its start node",
                ))
            for ni, _ in exits:
                self.out.append(Problem(
                    json_path(base + ["nodes", ni, "kind"]),
                    "exit nodes are not allowed in main (main has no caller to return to); use an end node",
                ))
            return
        for ni, _ in starts:
            self.out.append(Problem(
                json_path(base + ["nodes", ni, "kind"]),
                f"start nodes are only allowed in main; flow '{flow_name}' begins at an entry node",
            ))
        for ni, _ in ends:
            self.out.append(Problem(
                json_path(base + ["nodes", ni, "kind"]),
                f"end nodes are only allowed in main; flow '{flow_name}' returns to its caller through an exit node",
            ))
        if not entries:
            self.out.append(Problem(nodes_path, f"flow '{flow_name}' needs exactly one entry node; it has none"))
        for ni, _ in entries[1:]:
            self.out.append(Problem(
                json_path(base + ["nodes", ni, "kind"]),
                f"a second entry node; flow '{flow_name}' already enters at '{entries[0][1].get('id')}'",
            ))
        if not exits and flow_name not in RESERVED_FLOWS:
            self.out.append(Problem(
                nodes_path, f"flow '{flow_name}' needs at least one exit node to return to its caller",
            ))

    def _node(self, flow_name: str, parts: list, node: dict, kinds: dict, call_names: dict) -> None:
        kind = node.get("kind")
        cards = node.get("cards")
        if kind in _CARDLESS_KINDS and isinstance(cards, list) and cards:
            self.out.append(Problem(json_path(parts + ["cards"]), f"{kind} nodes hold no cards"))
        target = node.get("next")
        if kind in ("exit", "end") and target is not None:
            self.out.append(Problem(
                json_path(parts + ["next"]),
                f"{kind} nodes have no next; {'the caller continues' if kind == 'exit' else 'the conversation ends'} there",
            ))
        elif kind in ("start", "entry", "trigger") and target is None:
            self.out.append(Problem(json_path(parts + ["next"]), f"the {kind} node must lead somewhere: set its next node"))
        elif isinstance(target, str):
            self._target(flow_name, parts + ["next"], target, kinds)
        transitions = node.get("transitions")  # an autonomous node's other targets
        for ti, other in enumerate(transitions if isinstance(transitions, list) else []):
            if isinstance(other, str):
                self._target(flow_name, parts + ["transitions", ti], other, kinds)
        self._trigger(parts, node)

        for ci, card in _dicts(cards):
            self._card(flow_name, parts + ["cards", ci], card, kinds, call_names)

    def _trigger(self, parts: list, node: dict) -> None:
        trigger = node.get("trigger")
        if node.get("kind") != "trigger":
            if trigger is not None:
                self.out.append(Problem(json_path(parts + ["trigger"]),
                                        f"only trigger nodes have a trigger; this is a {node.get('kind')} node"))
            return
        if trigger is None:
            self.out.append(Problem(
                json_path(parts + ["trigger"]),
                "a trigger node needs a trigger: {\"type\": \"conversation_started\"}, {\"type\": \"event\"},"
                " {\"type\": \"state_expired\"}, {\"type\": \"webhook\"} or {\"type\": \"schedule\", \"cron\": ...}",
            ))
            return
        if not isinstance(trigger, dict):
            return  # the structural pass named the wrong type
        if "eventType" in trigger and trigger.get("type") != "event":
            self.out.append(Problem(json_path(parts + ["trigger", "eventType"]),
                                    "eventType is only for triggers of type 'event' (custom events)"))
        kind = trigger.get("type")
        if "auth" in trigger and kind != "webhook":
            self.out.append(Problem(json_path(parts + ["trigger", "auth"]), "auth is only for triggers of type 'webhook'"))
        for key in ("cron", "timezone"):
            if key in trigger and kind != "schedule":
                self.out.append(Problem(json_path(parts + ["trigger", key]),
                                        f"{key} is only for triggers of type 'schedule'"))
        if kind == "schedule" and (problem := cron_problem(trigger.get("cron"), trigger.get("timezone") or "UTC")):
            self.out.append(Problem(json_path(parts + ["trigger", problem[0]]), problem[1]))
        condition = trigger.get("condition")
        if isinstance(condition, str) and condition.strip() and (problem := expression_problem(condition)):
            self.out.append(Problem(json_path(parts + ["trigger", "condition"]), problem))

    def _target(self, flow_name: str, parts: list, target: str, kinds: dict) -> None:
        if target not in kinds:
            known = ", ".join(sorted(kinds)) or "none"
            self.out.append(Problem(
                json_path(parts), f"no node {target!r} in flow '{flow_name}' (nodes: {known})",
            ))
        elif kinds[target] in _UNTARGETABLE_KINDS:
            self.out.append(Problem(
                json_path(parts), f"cannot transition to {target!r}: it is a {kinds[target]} node",
            ))

    def _card(self, flow_name: str, parts: list, card: dict, kinds: dict, call_names: dict) -> None:
        path = json_path(parts)
        card_id = card.get("id")
        if isinstance(card_id, str):
            if card_id in self.card_ids:
                self.out.append(Problem(
                    path + ".id",
                    f"card id {card_id!r} is already used at {self.card_ids[card_id]}; "
                    "card ids must be unique across the whole bot",
                ))
            else:
                self.card_ids[card_id] = path
        family = self.registry.get(card.get("type")) if isinstance(card.get("type"), str) else None
        if family is None:
            return  # unknown or missing type: reported by the structural pass
        for field in getattr(family, "transition_fields", ()):
            if isinstance(card.get(field), str):
                self._target(flow_name, parts + [field], card[field], kinds)
        if card.get("type") == CALL_CARD:
            self._call(flow_name, parts, card, call_names)

    def _call(self, flow_name: str, parts: list, card: dict, call_names: dict) -> None:
        path = json_path(parts)
        name = card.get("name")
        if isinstance(name, str):
            if name in call_names:
                self.out.append(Problem(
                    path + ".name",
                    f"another call card in flow '{flow_name}' ({call_names[name]}) already stores its outputs "
                    f"under {name!r}; give each call card its own name",
                ))
            else:
                call_names[name] = path
        callee = card.get("flow")
        if not isinstance(callee, str):
            return
        if callee in RESERVED_FLOWS:
            self.out.append(Problem(path + ".flow", f"cannot call the reserved flow {callee!r}"))
            return
        if callee not in self.by_name:
            custom = sorted(n for n in self.by_name if n not in RESERVED_FLOWS)
            self.out.append(Problem(
                path + ".flow", f"no flow named {callee!r} (callable flows: {', '.join(custom) or 'none'})",
            ))
            return
        self.calls.setdefault(flow_name, []).append((callee, path))
        inputs = card.get("inputs")
        if isinstance(inputs, dict):
            declared = [
                v.get("name") for _, v in _dicts(self.by_name[callee][1].get("variables")) if v.get("input") is True
            ]
            for key in inputs:
                if key not in declared:
                    self.out.append(Problem(
                        json_path(parts + ["inputs", key]),
                        f"{key!r} is not an input variable of flow {callee!r} "
                        f"(its inputs: {', '.join(map(str, declared)) or 'none'})",
                    ))

    def _call_cycles(self) -> None:
        reported: set[tuple[str, ...]] = set()
        order = [name for name in self.by_name]

        def visit(flow: str, stack: list[str]) -> None:
            for callee, card_path in self.calls.get(flow, []):
                if callee in stack:
                    cycle = stack[stack.index(callee):]
                    # one report per cycle, whichever flow the walk reached it from
                    start = min(range(len(cycle)), key=lambda k: order.index(cycle[k]))
                    rotated = tuple(cycle[start:] + cycle[:start])
                    if rotated not in reported:
                        reported.add(rotated)
                        self.out.append(Problem(
                            self._call_path(rotated),
                            "flow calls form a cycle: " + " → ".join(rotated + (rotated[0],)),
                        ))
                elif callee not in done:
                    visit(callee, stack + [callee])
            done.add(flow)

        done: set[str] = set()
        for name in order:
            if name not in done:
                visit(name, [name])

    def _call_path(self, cycle: tuple[str, ...]) -> str:
        callee = cycle[1] if len(cycle) > 1 else cycle[0]
        return next(path for target, path in self.calls[cycle[0]] if target == callee)


def _layout_problems(layout, flows) -> list[Problem]:
    if not isinstance(layout, dict) or not isinstance(flows, list):
        return []  # without a list of flows there is nothing to hold positions against
    nodes_by_flow: dict[str, set | None] = {}
    for _, flow in _dicts(flows):
        if isinstance(flow.get("name"), str):
            nodes = flow.get("nodes")
            # Only text ids: a node whose id is a list or an object is the structural pass's to name.
            ids = {n["id"] for _, n in _dicts(nodes) if isinstance(n.get("id"), str)} if isinstance(nodes, list) else None
            nodes_by_flow.setdefault(flow["name"], ids)
    problems = []
    for flow_name, positions in layout.items():
        if flow_name not in nodes_by_flow:
            problems.append(Problem(json_path(["layout", flow_name]), f"layout for a flow that does not exist: {flow_name!r}"))
            continue
        if isinstance(positions, dict) and nodes_by_flow[flow_name] is not None:
            for node_id in positions:
                if node_id not in nodes_by_flow[flow_name]:
                    problems.append(Problem(
                        json_path(["layout", flow_name, node_id]),
                        f"layout for a node that does not exist: flow {flow_name!r} has no node {node_id!r}",
                    ))
    return problems


def _hook_problems(hooks) -> list[Problem]:
    """JavaScript syntax errors of hooks (the structural pass checks their fields)."""
    out = []
    for index, hook in _dicts(hooks):
        code = hook.get("code")
        if isinstance(code, str) and code.strip() and (problem := syntax_error(code)):
            out.append(Problem(json_path(["hooks", index, "code"]), problem))
    return out
