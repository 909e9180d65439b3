"""What the editor needs to know about card types, taken from the card registry.

The inspector builds each card's form from its JSON Schema (`flows/botfile/schema.json`,
generated from the same registry). The schema cannot say which strings are templates,
JavaScript or node ids, so that is read here from the field types the card configs use
(`runtime/engine/cards/fields.py`): a new card family gets a working form without
touching the editor.
"""
from __future__ import annotations

import copy
import typing
from functools import lru_cache

from flows.botfile.schema import RESERVED_FLOWS, live_schema
from runtime.engine import CARD_TYPES, VARIABLE_TYPES

# The tray's order, as the Botpress card tray groups cards.
CATEGORIES = ("Send Messages", "Capture Information", "Flow Logic", "AI", "Execute", "Utilities")
# Cards whose label says only "Media" in the registry read better by their type.
_TITLES = {"image": "Image", "audio": "Audio", "video": "Video", "file": "File"}
_HINTS = {
    "text": "Markdown-free text; {{ }} and @scope.name insert variables.",
    "expression": "A JavaScript condition. When true the conversation follows this card's port.",
    "code": "JavaScript with workflow, user, bot, session, env and event in scope.",
    "call": "Runs another flow, then continues here. Outputs land in workflow.<name>.",
    "wait": "Pauses until the user's next message (event.preview).",
    "capture": "Asks, waits, extracts a typed answer and stores it in a variable.",
    "log": "Writes to the logs; sends nothing to the user.",
    "comment": "A note for builders; does nothing at run time.",
    "ai_generate_text": "Asks the bot's language model and sends its answer (or stores it in a variable).",
    "ai_task": "Has the language model fill typed variables from the user's message or any text.",
    "ai_transition": "The language model decides whether a condition in plain words holds; if so, follows this card's port.",
}


def _validator_kind(annotation) -> str | None:
    """'template' / 'expression' / 'code' when the field (or its Optional inner type) uses one."""
    from runtime.engine.cards import fields

    kinds = {fields._check_template: "template", fields._check_expression: "expression", fields._check_code: "code"}
    stack = [annotation]
    while stack:
        item = stack.pop()
        for meta in getattr(item, "__metadata__", ()):
            func = getattr(meta, "func", None)
            if func in kinds:
                return kinds[func]
        stack.extend(typing.get_args(item))
    return None


def _field_editors(family) -> dict[str, str]:
    editors = {}
    for name, info in family.Config.model_fields.items():
        alias = info.alias or name
        if alias in family.transition_fields:
            editors[alias] = "node"
            continue
        kind = None
        for meta in info.metadata:
            func = getattr(meta, "func", None)
            if func is not None:
                kind = _validator_kind(typing.Annotated[str, meta])
            pattern = getattr(meta, "pattern", None)
            if pattern and pattern.startswith("^(workflow|user"):
                kind = "variable"
        editors[alias] = kind or _validator_kind(info.annotation) or ""
    return {alias: kind for alias, kind in editors.items() if kind}


@lru_cache(maxsize=1)
def card_catalogue() -> list[dict]:
    defs = live_schema()["$defs"]
    out = []
    for card_type, family in sorted(CARD_TYPES.items()):
        schema = copy.deepcopy(defs[f"card.{card_type}"])
        editors = _field_editors(family)
        if card_type == "call":
            editors.update({"flow": "flow", "inputs": "inputs"})
        out.append({
            "type": card_type,
            "title": _TITLES.get(card_type, schema.get("title") or card_type),
            "category": family.category,
            "transitions": list(family.transition_fields),
            "hint": _HINTS.get(card_type, ""),
            "editors": editors,
            "schema": schema,
        })
    order = {name: i for i, name in enumerate(CATEGORIES)}
    out.sort(key=lambda item: (order.get(item["category"], len(order)), item["title"]))
    return out


@lru_cache(maxsize=1)
def schema_defs() -> dict:
    """The `$defs` a card schema may reference (nested items such as choices and actions)."""
    return {key: value for key, value in live_schema()["$defs"].items() if key.count(".") >= 2}


def agents_schema() -> dict:
    """`agents` and its agents' schemas ("agents.<Model>"), and `settings` for settings.llm."""
    defs = live_schema()["$defs"]
    return {key: value for key, value in defs.items() if key == "agents" or key.startswith("agents.")
            or key == "settings"}


def variable_types() -> list[str]:
    return list(VARIABLE_TYPES)


def reserved_flows() -> list[str]:
    return list(RESERVED_FLOWS)
