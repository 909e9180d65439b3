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
# Titles the registry's labels would duplicate in the tray ("Media" four times, "Choice" for
# both choice cards, one "Show / Hide / Toggle Webchat" for three cards).
_TITLES = {"image": "Image", "audio": "Audio", "video": "Video", "file": "File", "dropdown": "Dropdown",
           "webchatShow": "Show Webchat", "webchatHide": "Hide Webchat", "webchatToggle": "Toggle Webchat"}
# The tray's tooltip of each card (a test holds every card type to having one).
_HINTS = {
    "text": "Markdown-free text; {{ }} and @scope.name insert variables.",
    "image": "Sends an image from a URL, with an optional title.",
    "audio": "Sends an audio file from a URL.",
    "video": "Sends a video from a URL.",
    "file": "Sends a file to download from a URL.",
    "location": "Sends a place on a map: latitude, longitude and a title.",
    "card": "Sends a card: image, title, subtitle and buttons.",
    "carousel": "Sends a row of cards the user swipes through.",
    "choice": "Sends a question with buttons; the next message is the pick.",
    "dropdown": "Sends a question with a dropdown list of options.",
    "bloc": "Sends text, markdown, media or places together as one message.",
    "expression": "A JavaScript condition. When true the conversation follows this card's port.",
    "intent": "Follows this card's port when the user's message means this intent.",
    "code": "JavaScript with workflow, user, bot, session, env and event in scope.",
    "call": "Runs another flow, then continues here. Outputs land in workflow.<name>.",
    "escalate": "Hands the chat to a person in the Inbox; the bot goes on here when they hand it back.",
    "wait": "Pauses until the user's next message (event.preview).",
    "capture": "Asks, waits, extracts a typed answer and stores it in a variable.",
    "log": "Writes to the logs; sends nothing to the user.",
    "comment": "A note for builders; does nothing at run time.",
    "sendEvent": "Sends a custom event, not a message: the webchat page or the Chat API client receives it.",
    "trackEvent": "Counts a named analytics event (with an optional value) on the Analytics page; sends nothing.",
    "ai_generate_text": "Asks the bot's language model and sends its answer (or stores it in a variable).",
    "ai_task": "Has the language model fill typed variables from the user's message or any text.",
    "ai_transition": "The language model decides whether a condition in plain words holds; if so, follows this card's port.",
    "query_knowledge": "Searches the knowledge bases; the answer and its citations land in turn.KnowledgeAgent.",
    "table_get": "Reads one row of a table by its id into an object variable.",
    "table_find": "Finds the rows of a table that match a filter or a search, into an array variable.",
    "table_insert": "Adds a row to a table from values and variables.",
    "table_update": "Changes the given columns of one row of a table.",
    "table_upsert": "Updates the row whose key column matches, or adds it when there is none.",
    "table_delete": "Deletes one row of a table by id, or every row a filter matches.",
    "webchatConfigure": "Changes the webchat widget's look for this visitor (theme, placeholder...).",
    "webchatGetUserData": "Reads what the page told the widget about the user into a variable.",
    "webchatSendEvent": "Sends a custom event to the page that embeds the webchat.",
    "webchatShow": "Opens the webchat widget on the page.",
    "webchatHide": "Closes the webchat widget on the page.",
    "webchatToggle": "Opens the webchat widget if closed, closes it if open.",
    "startWorkflow": "Starts a background workflow with inputs; its run id goes in a variable.",
    "workflowProvide": "Sends data a background workflow asked for back to it, checked against its schema.",
    "workflowRequest": "Pauses this workflow step and asks the conversation for data described by a schema.",
    "workflowNotify": "Tells the conversation how the workflow is doing, without pausing it.",
}
# Each card's tray and canvas icon (SVG path data on a 20x20 grid): a distinct one per card,
# so a node's cards read at a glance (the editor's node icons stay in static/editor/cards.js).
ICONS = {
    "text": "M4 5h12M4 9h12M4 13h8",
    "image": "M3 4h14v12H3zM3 13l4-4 4 4 2-2 4 4",
    "audio": "M8 14V5l8-2v9M8 14a2 2 0 1 1-4 0 2 2 0 0 1 4 0zM16 12a2 2 0 1 1-4 0 2 2 0 0 1 4 0z",
    "video": "M3 5h10v10H3zM13 9l4-3v8l-4-3",
    "file": "M5 2h7l4 4v12H5zM12 2v4h4",
    "location": "M10 18s6-5.5 6-10a6 6 0 0 0-12 0c0 4.5 6 10 6 10zM10 10a2 2 0 1 0 0-4 2 2 0 0 0 0 4z",
    "card": "M3 4h14v12H3zM3 8h14",
    "carousel": "M2 6h4v8H2zM8 4h4v12H8zM14 6h4v8h-4z",
    "choice": "M3 4h14v4H3zM3 12h6v4H3zM11 12h6v4h-6z",
    "dropdown": "M3 4h14v4H3zM13 5l1.5 1.5L16 5M3 10h14M3 13h14M3 16h10",
    "bloc": "M3 3h10v4H3zM5 8h10v4H5zM7 13h10v4H7z",
    "capture": "M4 4h12v9H8l-4 3z",
    "expression": "M4 10h5l3-5M9 10l3 5M12 5h4M12 15h4",
    "intent": "M10 3a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM10 7a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM10 3v2M10 15v2",
    "call": "M4 4h5v5H4zM11 11h5v5h-5zM9 6h3a2 2 0 0 1 2 2v3",
    "wait": "M10 3a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM10 6v4l3 2",
    "escalate": "M7 3a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM2 17c0-3 2.2-5 5-5s5 2 5 5M14 12l3-3-3-3M11 9h6",
    "code": "M7 6l-4 4 4 4M13 6l4 4-4 4",
    "log": "M4 4h12v12H4zM7 8h6M7 12h4",
    "comment": "M3 4h14v10H9l-4 3v-3H3z",
    "sendEvent": "M3 10l14-7-4 14-3-6zM10 11l7-8",
    "trackEvent": "M3 17V9M8 17V5M13 17v-6M18 17V3M2 17h17",
    "ai_generate_text": "M3 12h7M3 16h10M14 2l1.2 3.3L18.5 6.5l-3.3 1.2L14 11l-1.2-3.3L9.5 6.5l3.3-1.2z",
    "ai_task": "M3 4h8M3 9h8M3 14h8M13 4l1.5 1.5L17 3M13 9l1.5 1.5L17 8M13 14l1.5 1.5L17 13",
    "ai_transition": "M3 10h5l5-5h4M8 10l5 5h4M5 3l.8 1.7L7.5 5.5l-1.7.8L5 8l-.8-1.7L2.5 5.5l1.7-.8z",
    "query_knowledge": "M4 3h9l3 3v11H4zM8 9a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5zM10 13l2.5 2.5",
    "table_get": "M3 4h14v12H3zM3 8h14M8 8v8M11 12h4",
    "table_find": "M3 4h14v5M3 4v12h6M3 8h14M8 8v8M14 11a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5zM16 15.5l2 2",
    "table_insert": "M3 4h14v7M3 4v12h7M3 8h14M8 8v8M15 12v6M12 15h6",
    "table_update": "M3 4h14v6M3 4v12h6M3 8h14M8 8v8M11 17l1-3 5-5 2 2-5 5z",
    "table_upsert": "M3 4h14v12H3zM3 8h14M8 8v8M12 15l2-3 2 3M14 12v4",
    "table_delete": "M3 4h14v6M3 4v12h7M3 8h14M8 8v8M12 12l5 5M17 12l-5 5",
    "webchatConfigure": "M3 4h14v10H3zM6 17h8M10 7a2 2 0 1 0 0 4 2 2 0 0 0 0-4z",
    "webchatGetUserData": "M10 3a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM4 17c0-3 3-5 6-5s6 2 6 5",
    "webchatSendEvent": "M3 4h14v10H3zM7 9h6M10 6l3 3-3 3",
    "webchatShow": "M2 10s3-5 8-5 8 5 8 5-3 5-8 5-8-5-8-5zM10 8a2 2 0 1 0 0 4 2 2 0 0 0 0-4z",
    "webchatHide": "M2 10s3-5 8-5 8 5 8 5-3 5-8 5-8-5-8-5zM3 3l14 14",
    "webchatToggle": "M3 7h14M13 4l4 3-4 3M17 13H3M7 10l-4 3 4 3",
    "startWorkflow": "M4 4l8 6-8 6zM13 4h3v12h-3",
    "workflowProvide": "M3 10h10M9 6l4 4-4 4M15 4v12",
    "workflowRequest": "M3 4h14v9h-5l-2 3-2-3H3zM7 8h6",
    "workflowNotify": "M10 3a5 5 0 0 0-5 5v4l-2 2h14l-2-2V8a5 5 0 0 0-5-5zM8 16a2 2 0 0 0 4 0",
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
        # A field naming one of the bot's tables picks from the draft's `tables`; one naming
        # knowledge bases ticks them from the bot's KBs (the Knowledge tab's list).
        picks = {"tables": "table", "knowledgeBases": "knowledgeBases"}
        editors.update({alias: picks[prop["x-options"]] for alias, prop in schema.get("properties", {}).items()
                        if prop.get("x-options") in picks})
        out.append({
            "type": card_type,
            "title": _TITLES.get(card_type, schema.get("title") or card_type),
            "category": family.category,
            "transitions": list(family.transition_fields),
            "hint": _HINTS.get(card_type, ""),
            "icon": ICONS.get(card_type, ""),
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


def trigger_types() -> list[str]:
    from runtime.engine import TRIGGER_TYPES

    return list(TRIGGER_TYPES)


def _written(written) -> dict | None:
    if written is None:
        return None
    return {"type": written.type, "fields": dict(written.fields) if written.fields else None}


@lru_cache(maxsize=1)
def written_types() -> dict:
    """What each card stores in its variable, as the type-flow checker sees it
    (flows.botfile.typeflow.card_written): per capture type (`capture`) and per other card
    type (`cards`). The variable picker suggests the type when it declares a variable, and
    `{{` completion lists an object's fields (`user.name.first` after a Person capture)."""
    from flows.botfile.typeflow import card_written
    from runtime.engine.cards.capture import KIND_LABELS

    return {
        "capture": {kind: _written(card_written({"type": "capture", "capture": kind})) for kind in KIND_LABELS},
        "cards": {kind: _written(card_written({"type": kind})) for kind in CARD_TYPES
                  if kind != "capture" and card_written({"type": kind}) is not None},
    }
