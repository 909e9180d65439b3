"""The canonical form of a bot: what export writes and what equality compares.

Defaults are filled and the format's own keys come in one fixed order, so two
exports of the same bot are byte-identical and a diff shows only real edits.
Free-form values (variable defaults, JSON Schemas, card field values, loose
library entries) keep their own key order: it can carry meaning (form fields).
"""
from __future__ import annotations

from .schema import SETTINGS_DEFAULTS, TOP_LEVEL_KEYS
from .validate import check_bot

_BOT_VARIABLE_KEYS = ("scope", "name", "type", "values", "pattern", "schema", "default", "description")
_FLOW_VARIABLE_KEYS = ("name", "type", "values", "pattern", "schema", "default", "input", "output", "description")
_CONFIG_KEYS = ("name", "description")
_SCHEMA_KEYS = ("name", "description", "schema")
_FLOW_KEYS = ("name", "description", "folder", "variables", "nodes")
_NODE_KEYS = ("id", "kind", "name", "trigger", "cards", "next")
_TRIGGER_KEYS = ("type", "eventType", "condition")
_NAMED_LISTS = ("tables", "knowledgeBases", "hooks", "tests")
_INTENT_KEYS = ("name", "description", "utterances")
_ENTITY_KEYS = ("name", "type", "description", "fuzzy", "values", "pattern", "ignoreCase", "sensitive")


def canonical_bot(doc: dict) -> dict:
    """Validate `doc` and return its canonical form; raises BotFileInvalid."""
    bot = check_bot(doc)
    out = {key: bot[key] for key in TOP_LEVEL_KEYS}
    out["settings"] = _ordered(bot["settings"], tuple(SETTINGS_DEFAULTS))
    out["variables"] = [_ordered(v, _BOT_VARIABLE_KEYS) for v in bot["variables"]]
    out["config"] = [_ordered(c, _CONFIG_KEYS) for c in bot["config"]]
    out["schemas"] = [_ordered(s, _SCHEMA_KEYS) for s in bot["schemas"]]
    out["flows"] = [_flow(flow) for flow in bot["flows"]]
    out["intents"] = [_ordered(item, _INTENT_KEYS) for item in bot["intents"]]
    out["entities"] = [_ordered(item, _ENTITY_KEYS) for item in bot["entities"]]
    for key in _NAMED_LISTS:
        out[key] = [_ordered(item, ("name",)) for item in bot[key]]
    out["layout"] = _layout(bot["layout"], bot["flows"])
    return out


def _ordered(obj: dict, first: tuple[str, ...]) -> dict:
    """`first` keys in that order (when present), then the rest as they came."""
    head = {key: obj[key] for key in first if key in obj}
    return {**head, **{key: value for key, value in obj.items() if key not in head}}


def _flow(flow: dict) -> dict:
    out = _ordered(flow, _FLOW_KEYS)
    out["variables"] = [_ordered(v, _FLOW_VARIABLE_KEYS) for v in flow["variables"]]
    out["nodes"] = [_node(node) for node in flow["nodes"]]
    return out


def _node(node: dict) -> dict:
    out = _ordered(node, _NODE_KEYS)
    if "trigger" in out:
        out["trigger"] = _ordered(out["trigger"], _TRIGGER_KEYS)
    return out


def _layout(layout: dict, flows: list[dict]) -> dict:
    # follow the order of flows and nodes in the file, not the order positions were saved in
    out = {}
    for flow in flows:
        positions = layout.get(flow["name"])
        if positions is None:
            continue
        out[flow["name"]] = {
            node["id"]: list(positions[node["id"]]) for node in flow["nodes"] if node["id"] in positions
        }
    return out
