"""Checking a bot file: parse, validate (every problem, with its path), fill defaults.

Four passes, in this order, and all of them always run so one save reports
everything at once:
  1. structure  - the JSON Schema (shapes, names, kinds), in plain English;
  2. semantics  - cross references: node targets, flow calls, ids, defaults, layout;
  3. cards      - each card's own fields, checked by the engine's card registry;
  4. library    - intents and entities, and the cards that name them (engine's library models).
"""
from __future__ import annotations

import copy
from collections.abc import Mapping

from flows import untrusted_json

from .conversation_tests import test_problems
from .graph import semantic_problems
from .problems import BotFileInvalid, Problem, json_path
from .schema import SETTINGS_DEFAULTS, TOP_LEVEL_KEYS, card_registry, live_schema

__all__ = ["BotFileInvalid", "Problem", "parse_bot_file", "input_problems", "validate_bot", "normalize_bot", "check_bot"]


def parse_bot_file(text: str | bytes) -> dict:
    """Parse the text of a bot file; raise BotFileInvalid naming the line and column, or the
    JSON path of what the input policy refuses (too deep, NUL, lone surrogate: see
    flows/untrusted_json.py)."""
    try:
        doc = untrusted_json.decode(text, strip_bom=True, what="the file")  # Windows editors add a BOM
    except untrusted_json.UntrustedJSON as exc:
        raise BotFileInvalid([Problem(exc.path, exc.message)]) from None
    if not isinstance(doc, dict):
        raise BotFileInvalid([Problem("$", f"a bot file is a JSON object, not {type(doc).__name__}")])
    return doc


def input_problems(value) -> list[Problem]:
    """The input policy on an already decoded document (the editor's, a dict handed to the
    services): empty when it holds nothing that cannot be nested, stored or encoded."""
    try:
        untrusted_json.check(value)
    except untrusted_json.UntrustedJSON as exc:
        return [Problem(exc.path, exc.message)]
    return []


def validate_bot(doc) -> list[Problem]:
    """Every problem in the bot file; an empty list means it is valid."""
    from .structure import structure_problems

    registry = card_registry()
    if not isinstance(doc, dict):
        return [Problem("$", "a bot file is a JSON object")]
    structural = structure_problems(doc)
    found = (structural + semantic_problems(doc, registry) + _card_problems(doc, registry)
             + _autonomous_problems(doc, {p.path for p in structural}) + _library_problems(doc)
             + _table_problems(doc, {p.path for p in structural})
             + test_problems(doc.get("tests")))
    unique: list[Problem] = []
    seen: set[Problem] = set()
    for problem in found:
        if problem not in seen:
            seen.add(problem)
            unique.append(problem)
    return unique


def check_bot(doc) -> dict:
    """Validate and return the normalized bot; raise BotFileInvalid with every problem."""
    problems = validate_bot(doc)
    if problems:
        raise BotFileInvalid(problems)
    return normalize_bot(doc)


def _each_card(doc: dict):
    flows = doc.get("flows")
    for fi, flow in enumerate(flows if isinstance(flows, list) else []):
        nodes = flow.get("nodes") if isinstance(flow, dict) else None
        for ni, node in enumerate(nodes if isinstance(nodes, list) else []):
            cards = node.get("cards") if isinstance(node, dict) else None
            for ci, card in enumerate(cards if isinstance(cards, list) else []):
                if isinstance(card, dict):
                    yield ["flows", fi, "nodes", ni, "cards", ci], card


def _card_problems(doc: dict, registry: Mapping) -> list[Problem]:
    from runtime.engine import card_problems

    problems = []
    for parts, card in _each_card(doc):
        if not isinstance(card.get("type"), str) or card["type"] not in registry:
            continue  # the structural pass names the unknown type and the known ones
        for relative, message in card_problems(card):
            problems.append(Problem(json_path(parts) + relative, message))
    return problems


def _autonomous_problems(doc: dict, reported: set[str]) -> list[Problem]:
    """The autonomous node's own fields (instructions, maxIterations...), checked by the
    engine; a field the structural pass already complained about is not reported twice."""
    from runtime.engine.autonomous import node_problems

    problems = []
    flows = doc.get("flows")
    for fi, flow in enumerate(flows if isinstance(flows, list) else []):
        nodes = flow.get("nodes") if isinstance(flow, dict) else None
        for ni, node in enumerate(nodes if isinstance(nodes, list) else []):
            if isinstance(node, dict):
                base = json_path(["flows", fi, "nodes", ni])
                problems.extend(Problem(base + sub, message) for sub, message in node_problems(node)
                                if base + sub not in reported)
    return problems


def _table_problems(doc: dict, reported: set[str]) -> list[Problem]:
    """Table definitions (flows/tables/definition.py) beyond what the schema says, the
    table cards' references to them (the engine's) and the knowledge bases' sources
    (flows/knowledge.py: documents, table sources); a path the structural pass already
    named is not reported twice."""
    from flows.tables.definition import tables_problems
    from runtime.engine.cards.tables import table_card_problems

    from flows.botfile.knowledge import botfile_problems as knowledge_problems

    found = tables_problems(doc.get("tables")) + table_card_problems(doc) + knowledge_problems(doc)
    return [Problem(path, message) for path, message in found
            if not any(path == seen or path.startswith((seen + ".", seen + "[")) for seen in reported)]


def _library_problems(doc: dict) -> list[Problem]:
    from runtime.engine.agents import agent_problems
    from runtime.engine.nlu.library import card_reference_problems, library_problems

    found = library_problems(doc) + card_reference_problems(doc) + agent_problems(doc)
    return [Problem(path, message) for path, message in found]


def normalize_bot(doc: dict) -> dict:
    """A copy of a VALID bot with every default filled in (call validate_bot first)."""
    bot = copy.deepcopy(doc)
    defaults = _top_level_defaults()
    for key in TOP_LEVEL_KEYS:
        if key not in bot and key in defaults:
            bot[key] = copy.deepcopy(defaults[key])
    bot["settings"] = {**copy.deepcopy(SETTINGS_DEFAULTS), **bot["settings"]}
    for variable in bot["variables"]:
        _drop_null_default(variable)
    bot["intents"] = [_library_entry_with_defaults(item) for item in bot["intents"]]
    bot["entities"] = [_library_entry_with_defaults(item) for item in bot["entities"]]
    registry = card_registry()
    for flow in bot["flows"]:
        flow.setdefault("variables", [])
        for variable in flow["variables"]:
            _drop_null_default(variable)
            variable.setdefault("input", False)
            variable.setdefault("output", False)
        for node in flow["nodes"]:
            node.setdefault("cards", [])
            node.setdefault("next", None)
            node["cards"] = [_card_with_defaults(card, registry) for card in node["cards"]]
    return bot


def _top_level_defaults() -> dict:
    properties = live_schema()["properties"]
    return {key: spec["default"] for key, spec in properties.items() if "default" in spec}


def _drop_null_default(variable: dict) -> None:
    # `"default": null` means "no default"; storing it one way keeps exports comparable
    if "default" in variable and variable["default"] is None:
        del variable["default"]


def _library_entry_with_defaults(item: dict) -> dict:
    from runtime.engine.nlu.library import ENTITY_MODELS, IntentDef

    model = ENTITY_MODELS[item["type"]] if "type" in item else IntentDef
    return model.model_validate(item).model_dump(mode="json", by_alias=True)


def _card_with_defaults(card: dict, registry: Mapping) -> dict:
    family = registry[card["type"]]
    fields = {k: v for k, v in card.items() if k not in ("id", "type")}
    config = family.Config.model_validate(fields)
    return {"id": card["id"], "type": card["type"], **config.model_dump(mode="json", by_alias=True)}
