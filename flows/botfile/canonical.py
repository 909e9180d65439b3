"""The canonical form of a bot: what is stored, published and compared, and (through
`for_export`) what export writes.

Defaults are filled and the format's own keys come in one fixed order, so two
exports of the same bot are byte-identical and a diff shows only real edits.
Free-form values (variable defaults, JSON Schemas, card field values, loose
library entries) keep their own key order: it can carry meaning (form fields).

The stored form keeps every default (the editor, the versions diff and the engine read
it that way); the exported file leaves them out, so a bot file in git shows only what
the builder set, and importing it fills them back.
"""
from __future__ import annotations

import logging

from .schema import SETTINGS_DEFAULTS, TOP_LEVEL_KEYS, card_registry, live_schema
from .validate import check_bot

logger = logging.getLogger(__name__)

_BOT_VARIABLE_KEYS = ("scope", "name", "type", "values", "pattern", "schema", "default", "description")
_FLOW_VARIABLE_KEYS = ("name", "type", "values", "pattern", "schema", "default", "input", "output", "description")
_CONFIG_KEYS = ("name", "description")
_SCHEMA_KEYS = ("name", "description", "schema")
_FLOW_KEYS = ("name", "description", "folder", "variables", "nodes")
_NODE_KEYS = ("id", "kind", "name", "trigger", "cards", "next")
_TRIGGER_KEYS = ("type", "eventType", "condition", "auth", "cron", "timezone")
_KB_KEYS = ("name", "description", "folder", "sources")
_SOURCE_KEYS = ("type", "name", "url", "table", "columns", "text", "content", "size", "sha256")
_HOOK_KEYS = ("name", "type", "enabled", "description", "code")
_TABLE_KEYS = ("name", "description", "columns")
_COLUMN_KEYS = ("name", "type", "searchable", "description")
_TEST_KEYS = ("name", "description", "draft", "steps")
_STEP_KEYS = ("user", "event", "timeout", "bot", "variable", "equals", "matches", "llm", "tools", "tool")
_LLM_KEYS = ("card", "request", "answer", "error")
_LLM_REQUEST_KEYS = ("model", "provider", "messages", "tools", "toolChoice", "responseSchema", "temperature",
                     "maxTokens")
_LLM_ANSWER_KEYS = ("text", "toolCalls", "finishReason", "model", "provider", "tokensIn", "tokensOut")
_ERROR_KEYS = ("message", "provider", "status")
_TOOLS_KEYS = ("servers", "list", "error")
_TOOL_KEYS = ("name", "arguments", "result", "error")
_TOOL_SPEC_KEYS = ("name", "description", "parameters")
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
    out["tables"] = [_table(item) for item in bot["tables"]]
    out["knowledgeBases"] = [_knowledge_base(item) for item in bot["knowledgeBases"]]
    out["hooks"] = [_ordered(item, _HOOK_KEYS) for item in bot["hooks"]]
    out["tests"] = [_test(item) for item in bot["tests"]]
    out["layout"] = _layout(bot["layout"], bot["flows"])
    return out


def _ordered(obj: dict, first: tuple[str, ...]) -> dict:
    """`first` keys in that order (when present), then the rest as they came."""
    head = {key: obj[key] for key in first if key in obj}
    return {**head, **{key: value for key, value in obj.items() if key not in head}}


def _table(table: dict) -> dict:
    out = _ordered(table, _TABLE_KEYS)
    out["columns"] = [_ordered(column, _COLUMN_KEYS) for column in table.get("columns", [])]
    return out


def _knowledge_base(kb: dict) -> dict:
    out = _ordered({"description": "", "folder": "", **kb, "sources": kb.get("sources", [])}, _KB_KEYS)
    out["sources"] = [_ordered(source, _SOURCE_KEYS) for source in out["sources"]]
    return out


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


def _test(test: dict) -> dict:
    out = _ordered(test, _TEST_KEYS)
    if isinstance(out.get("steps"), list):
        out["steps"] = [_step(step) for step in out["steps"]]
    return out


def _step(step):
    if not isinstance(step, dict):
        return step
    out = _ordered(step, _STEP_KEYS)
    call = out.get("llm")
    if isinstance(call, dict):
        # A recorded LLM call reads request, then answer (docs/conversation-tests.md).
        call = _ordered(call, _LLM_KEYS)
        if isinstance(call.get("request"), dict):
            call["request"] = _ordered(call["request"], _LLM_REQUEST_KEYS)
            messages = call["request"].get("messages")
            if isinstance(messages, list):
                call["request"]["messages"] = [_ordered(m, ("role", "content")) if isinstance(m, dict) else m
                                               for m in messages]
        if isinstance(call.get("answer"), dict):
            call["answer"] = _ordered(call["answer"], _LLM_ANSWER_KEYS)
        out["llm"] = _with_error(call)
    # Recorded MCP tool exchanges read what was asked, then the answer (tool_replay.py).
    if isinstance(out.get("tools"), dict):
        listed = _ordered(out["tools"], _TOOLS_KEYS)
        if isinstance(listed.get("list"), list):
            listed["list"] = [_tool_spec(tool) for tool in listed["list"]]
        out["tools"] = _with_error(listed)
    if isinstance(out.get("tool"), dict):
        out["tool"] = _with_error(_ordered(out["tool"], _TOOL_KEYS))
    return out


def _tool_spec(tool):
    if not isinstance(tool, dict):
        return tool
    out = _ordered(tool, ("type", "function"))
    if isinstance(out.get("function"), dict):
        out["function"] = _ordered(out["function"], _TOOL_SPEC_KEYS)
    return out


def _with_error(exchange: dict) -> dict:
    if isinstance(exchange.get("error"), dict):
        exchange["error"] = _ordered(exchange["error"], _ERROR_KEYS)
    return exchange


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


# Never left out, even when equal to a default: a file without them would not say what it is.
_ALWAYS_EXPORTED = ("format", "name", "flows")


def for_export(doc: dict) -> dict:
    """The bot file as export writes it: the canonical form without the values equal to
    their defaults (`"markdown": false`, `"metadata": null`, default settings, empty lists
    and `next: null`...). Importing it gives the canonical form back; if it ever would not
    (a default this function gets wrong), the full canonical form is written instead, since
    a longer file is better than a changed bot."""
    full = canonical_bot(doc)
    compact = _without_defaults(full)
    if canonical_bot(compact) != full:
        logger.error("bot %r: its export without defaults would not import as the same bot; exported in full",
                     full.get("name"))
        return full
    return compact


def _without_defaults(bot: dict) -> dict:
    from runtime.engine.nlu.library import ENTITY_MODELS, IntentDef

    defaults = {key: spec["default"] for key, spec in live_schema()["properties"].items() if "default" in spec}
    out = dict(bot)
    out["settings"] = {key: value for key, value in bot["settings"].items()
                       if key not in SETTINGS_DEFAULTS or value != SETTINGS_DEFAULTS[key]}
    out["flows"] = [_flow_without_defaults(flow) for flow in bot["flows"]]
    out["intents"] = [_model_without_defaults(IntentDef, item) for item in bot["intents"]]
    out["entities"] = [_model_without_defaults(ENTITY_MODELS[item["type"]], item) for item in bot["entities"]]
    return {key: value for key, value in out.items()
            if key in _ALWAYS_EXPORTED or key not in defaults or value != defaults[key]}


def _flow_without_defaults(flow: dict) -> dict:
    out = dict(flow)
    variables = [{key: value for key, value in variable.items()
                  if not (key in ("input", "output") and value is False)} for variable in flow["variables"]]
    if variables:
        out["variables"] = variables
    else:
        del out["variables"]
    out["nodes"] = [_node_without_defaults(node) for node in flow["nodes"]]
    return out


def _node_without_defaults(node: dict) -> dict:
    out = dict(node)
    if out.get("next", "") is None:
        del out["next"]
    if "cards" in out:
        out["cards"] = [_card_without_defaults(card) for card in out["cards"]]
        if not out["cards"]:
            del out["cards"]
    return out


def _card_without_defaults(card: dict) -> dict:
    # A card's defaults are its family's config model's (the engine's, as `normalize_bot` fills them).
    family = card_registry()[card["type"]]
    fields = {key: value for key, value in card.items() if key not in ("id", "type")}
    return {"id": card["id"], "type": card["type"], **_model_without_defaults(family.Config, fields)}


def _model_without_defaults(model, values: dict) -> dict:
    return model.model_validate(values).model_dump(mode="json", by_alias=True, exclude_defaults=True)
