"""The JSON Schema of `flowstudio.bot/1`, built from the engine's card registry.

Card fields are owned by the engine (one pydantic model per card family), so the
per-type card schemas are generated here rather than written by hand; the
committed `schema.json` is this module's output and a test keeps the two equal.
Regenerate it with `python -m flows.botfile.schema`.
"""
from __future__ import annotations

import copy
import json
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

# The engine runs bots, so it owns what an omitted setting means, which flows are reserved
# and which variable types exist; the schema only describes them.
from runtime.engine import DEFAULT_SETTINGS as SETTINGS_DEFAULTS
from runtime.engine import RESERVED_FLOWS, TRIGGER_TYPES, VARIABLE_TYPES

from flows.tables.definition import COLUMN_TYPES as TABLE_COLUMN_TYPES
from flows.tables.definition import MAX_COLUMNS as MAX_TABLE_COLUMNS
from flows.tables.definition import NAME_PATTERN as TABLE_NAME_PATTERN
from flows.tables.definition import SYSTEM_COLUMNS as TABLE_SYSTEM_COLUMNS
from runtime.engine.hooks import HOOK_TYPES

FORMAT = "flowstudio.bot/1"
SCHEMA_PATH = Path(__file__).with_name("schema.json")

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
VARIABLE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
CONFIG_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
NODE_KINDS = ["start", "entry", "standard", "autonomous", "exit", "end", "trigger"]

TOP_LEVEL_KEYS = (
    "format", "name", "description", "settings", "variables", "config", "schemas", "folders", "flows",
    "intents", "entities", "tables", "knowledgeBases", "hooks", "agents", "webchat", "tests",
    "layout",
)



def card_registry() -> Mapping:
    from runtime.engine import CARD_TYPES  # the engine is pure Python; importing it is cheap

    return CARD_TYPES


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def _named_list(item: str, description: str) -> dict:
    return {"type": "array", "description": description, "items": _ref(item), "default": []}


def _variable(extra_properties: dict, required: list[str]) -> dict:
    properties = {
        "name": _ref("variableName"),
        "type": {"enum": VARIABLE_TYPES, "description": "The variable's type."},
        "default": {"description": "Initial value; must match the type (date: ISO 8601 string)."},
        "values": {
            "type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"},
            "description": "Allowed values (type enum only).",
        },
        "pattern": {"type": "string", "description": "Regular expression (type pattern only)."},
        "schema": {
            "type": "string",
            "description": "Name of an entry in `schemas` (type schema only).",
        },
        "description": {"type": "string"},
    }
    properties.update(extra_properties)
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


def _library_schemas() -> dict:
    """`intent`, `entity.list` and `entity.pattern` from the engine's library models."""
    from runtime.engine.nlu.library import ENTITY_MODELS, IntentDef

    out = {}
    for name, model in (("intent", IntentDef), *((f"entity.{k}", m) for k, m in ENTITY_MODELS.items())):
        generated = copy.deepcopy(model.model_json_schema(by_alias=True))
        prefix = f"{name}."
        for def_name, body in sorted(generated.pop("$defs", {}).items()):
            _rewrite_refs(body, prefix)
            out[prefix + def_name] = body
        _rewrite_refs(generated, prefix)
        generated["additionalProperties"] = False
        out[name] = generated
    out["entity"] = {
        "description": "A list entity (values with synonyms) or a pattern entity (a regular expression).",
        "oneOf": [_ref(f"entity.{k}") for k in ENTITY_MODELS],
        "discriminator": {"propertyName": "type"},
    }
    return out


def _agents_schemas() -> dict:
    """`agents` and one `agents.<Model>` per agent, from the engine's agent config models."""
    from runtime.engine.agents import AgentsConfig

    generated = copy.deepcopy(AgentsConfig.model_json_schema(by_alias=True))
    out = {}
    for def_name, body in sorted(generated.pop("$defs", {}).items()):
        _rewrite_refs(body, "agents.")
        out["agents." + def_name] = body
    _rewrite_refs(generated, "agents.")
    generated["description"] = ("The bot's agents (docs/ai.md, \"Agents\"): summary, policy and "
                                "translator, each off unless enabled.")
    out["agents"] = generated
    return out


def _autonomous_properties() -> dict:
    """The autonomous node's fields, from the engine's model of them (one source)."""
    from runtime.engine.autonomous import AutonomousConfig

    properties = copy.deepcopy(AutonomousConfig.model_json_schema(by_alias=True)["properties"])
    for spec in properties.values():
        # `X | None` comes out as anyOf [X, null], which the structural pass can only call
        # "not valid under any of the given schemas"; one nullable type reads plainly.
        options = spec.get("anyOf")
        if options and len(options) == 2 and {"type": "null"} in options:
            spec.pop("anyOf")
            kept = next(o for o in options if o != {"type": "null"})
            spec.update(kept, type=[kept["type"], "null"])
    return properties


def _knowledge_schemas() -> dict:
    """`knowledgeBase` and `knowledgeSource` (docs/bot-format.md, "Knowledge bases"); what a
    shape cannot say (a document's format and bytes, a table source's columns) is checked by
    flows.knowledge.botfile_problems."""
    from flows.botfile.knowledge import MAX_SOURCES, MAX_TEXT_CHARS, MAX_URL_CHARS, SOURCE_TYPES

    name = {"type": "string", "minLength": 1, "maxLength": 400, "pattern": r"^\S(.*\S)?$",
            "description": "1 to 400 characters, not starting or ending with a space"}
    url = {"type": "string", "maxLength": MAX_URL_CHARS, "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://\S+$",
           "description": f"an http or https URL, at most {MAX_URL_CHARS} characters"}
    table_name = {"type": "string", "pattern": TABLE_NAME_PATTERN}
    by_type = {
        "text": ({"name": name, "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS,
                                          "description": "The text, indexed as it is."}}, ["name", "text"]),
        "url": ({"url": {**url, "description": url["description"] + "; the page is fetched when indexed"}},
                ["url"]),
        "sitemap": ({"url": {**url, "description": url["description"] + "; each page the sitemap lists is fetched"}},
                    ["url"]),
        "table": ({"table": {**table_name, "description": "One of `tables`; each row is a passage."},
                   "columns": {"type": "array", "uniqueItems": True, "items": table_name, "default": [],
                               "description": "String columns read; none: the table's searchable ones."}},
                  ["table"]),
        "document": ({
            "name": {**name, "description": "The file name; its suffix gives the format (.pdf, .docx, .html, "
                                            ".md, .txt)."},
            "content": {"type": "string", "contentEncoding": "base64",
                        "description": "The file's bytes in base64 (an export carries documents up to 1 MB)."},
            "size": {"type": "integer", "minimum": 1,
                     "description": "A document the file does not carry: its size in bytes..."},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "...and its SHA-256."},
        }, ["name"]),
    }
    return {
        "knowledgeBase": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "description": "A knowledge base: a bot's KBs live in the database; this is how they travel.",
            "properties": {
                "name": {"type": "string", "pattern": r"^[A-Za-z0-9]([A-Za-z0-9 _.-]{0,62}[A-Za-z0-9_.-])?$",
                         "description": "1 to 64 letters, digits, spaces, '_', '.' or '-', starting with a letter "
                                        "or digit; unique in the bot"},
                "description": {"type": "string", "maxLength": 2000, "default": "",
                                "description": "What the KB holds."},
                "folder": {"type": "string", "maxLength": 200, "default": "",
                           "pattern": r"^([A-Za-z0-9][A-Za-z0-9 _.-]{0,63}(/[A-Za-z0-9][A-Za-z0-9 _.-]{0,63})*)?$",
                           "description": 'A folder path such as "Support/Billing"; "" is the top level.'},
                "sources": {"type": "array", "maxItems": MAX_SOURCES, "default": [],
                            "items": _ref("knowledgeSource")},
            },
        },
        "knowledgeSource": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": list(SOURCE_TYPES)}},
            "allOf": [
                {"if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
                 "then": {"required": ["type", *required], "additionalProperties": False,
                          "properties": {"type": {"const": kind}, **properties}}}
                for kind, (properties, required) in by_type.items()
            ],
        },
    }


def _card_type_schemas(registry: Mapping) -> tuple[dict, dict]:
    """Per-type card schemas plus the `$defs` their pydantic models need.

    Nested pydantic definitions are hoisted into the root `$defs` under a
    `card.<type>.` prefix so one document resolves every `$ref`.
    """
    per_type: dict = {}
    hoisted: dict = {}
    for type_name in sorted(registry):
        family = registry[type_name]
        generated = copy.deepcopy(family.Config.model_json_schema())
        prefix = f"card.{type_name}."
        nested = generated.pop("$defs", {})
        _rewrite_refs(generated, prefix)
        for def_name in sorted(nested):
            body = nested[def_name]
            _rewrite_refs(body, prefix)
            hoisted[prefix + def_name] = body
        properties = {
            "id": _ref("id"),
            "type": {"const": type_name},
            **generated.get("properties", {}),
        }
        required = ["id", "type", *generated.get("required", [])]
        schema = {
            "title": getattr(family, "label", None) or generated.get("title", type_name),
            "type": "object",
            "required": required,
            "properties": properties,
            "x-category": getattr(family, "category", ""),
            "x-transitions": list(getattr(family, "transition_fields", ())),
        }
        if "additionalProperties" in generated:
            schema["additionalProperties"] = generated["additionalProperties"]
        per_type[f"card.{type_name}"] = schema
    return per_type, hoisted


def _rewrite_refs(node, prefix: str) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = "#/$defs/" + prefix + ref[len("#/$defs/"):]
        for value in node.values():
            _rewrite_refs(value, prefix)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, prefix)


def build_schema(registry: Mapping | None = None) -> dict:
    registry = card_registry() if registry is None else registry
    card_types = sorted(registry)
    per_type, hoisted = _card_type_schemas(registry)

    defs = {
        "id": {
            "type": "string", "pattern": ID_PATTERN,
            "description": "1-64 letters, digits, '_' or '-'",
        },
        "variableName": {
            "type": "string", "pattern": VARIABLE_NAME_PATTERN,
            "description": "a letter or '_' followed by up to 63 letters, digits or '_'",
        },
        "settings": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "inactivityTimeoutMinutes": {
                    "type": "integer", "minimum": 0, "maximum": 1440,
                    "default": SETTINGS_DEFAULTS["inactivityTimeoutMinutes"],
                    "description": "Minutes without a user event before the timeout flow runs; 0 = never.",
                },
                "nodeRepetitionLimit": {
                    "type": "integer", "minimum": 1, "maximum": 100,
                    "default": SETTINGS_DEFAULTS["nodeRepetitionLimit"],
                    "description": "How often one node may be entered within one turn (loop guard).",
                },
                "timezone": {
                    "type": "string", "default": SETTINGS_DEFAULTS["timezone"],
                    "description": "IANA time zone name, e.g. Europe/Paris.",
                },
                "languages": {
                    "type": "array", "minItems": 1, "uniqueItems": True,
                    "items": {
                        "type": "string", "pattern": "^[a-z]{2}$",
                        "description": "an ISO 639-1 code such as 'en'",
                    },
                    "default": SETTINGS_DEFAULTS["languages"],
                },
                "defaultLanguage": {
                    "type": "string", "default": SETTINGS_DEFAULTS["defaultLanguage"],
                    "description": "One of `languages`.",
                },
                "intentConfidence": {
                    "type": "number", "minimum": 0, "maximum": 1,
                    "default": SETTINGS_DEFAULTS["intentConfidence"],
                },
                "fallbackMessage": {
                    "type": "string", "maxLength": 2000, "default": SETTINGS_DEFAULTS["fallbackMessage"],
                    "description": ("What the visitor gets when a turn fails and nothing after the failure "
                                    "spoke to them (the error flow's messages count); empty: nothing is sent."),
                },
                "http": {
                    "type": "object", "additionalProperties": False,
                    "description": ("The `axios` helper of code and hooks (docs/hooks-and-triggers.md): which "
                                    "hosts it may reach and its limits."),
                    "properties": {
                        "allowHosts": {
                            "type": "array", "uniqueItems": True, "maxItems": 100,
                            "items": {"type": "string", "minLength": 1, "maxLength": 253,
                                      "pattern": r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$",
                                      "description": "a host name such as api.example.com, or *.example.com"},
                            "description": "Hosts code may call; empty: none.",
                        },
                        "timeoutMs": {"type": "integer", "minimum": 100, "maximum": 30000,
                                      "description": "Per request, default 5000; never beyond the code's own time limit."},
                        "maxResponseBytes": {"type": "integer", "minimum": 1, "maximum": 1048576,
                                             "description": "Response body limit per request, default 262144."},
                    },
                },
                "llm": {
                    "type": "object", "additionalProperties": False,
                    "description": "The LLM this bot's AI cards use unless a card names its own (docs/ai.md).",
                    "properties": {
                        "provider": {"type": "string", "maxLength": 64,
                                     "description": "A provider of the workspace by name; empty: the workspace's default."},
                        "model": {"type": "string", "maxLength": 200,
                                  "description": "A model id or label (Fast, Best); empty: the provider's default."},
                    },
                },
            },
        },
        "botVariable": _variable(
            {"scope": {"enum": ["user", "bot"], "description": "Who the value belongs to."}},
            ["scope", "name", "type"],
        ),
        "flowVariable": _variable(
            {
                "input": {"type": "boolean", "default": False, "description": "Bound by the calling card."},
                "output": {"type": "boolean", "default": False, "description": "Copied back to the caller at exit."},
            },
            ["name", "type"],
        ),
        "configVariable": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {
                "name": {
                    "type": "string", "pattern": CONFIG_NAME_PATTERN,
                    "description": "a letter or '_' followed by letters, digits or '_'",
                },
                "description": {"type": "string"},
            },
        },
        "namedSchema": {
            "type": "object",
            "required": ["name", "schema"],
            "additionalProperties": False,
            "properties": {
                "name": _ref("variableName"),
                "schema": {"type": "object", "description": "A JSON Schema (draft 2020-12)."},
                "description": {"type": "string"},
            },
        },
        "flow": {
            "type": "object",
            "required": ["name", "nodes"],
            "additionalProperties": False,
            "properties": {
                "name": {
                    "type": "string", "pattern": ID_PATTERN,
                    "description": "1-64 letters, digits, '_' or '-'",
                },
                "description": {"type": "string"},
                "folder": {"type": "string"},
                "kind": {
                    "enum": ["conversation", "workflow"], "default": "conversation",
                    "description": ("conversation: a dialog flow; workflow: a background workflow whose nodes "
                                    "are steps run by workers (docs/workflows.md)."),
                },
                "requests": {
                    "type": "object", "propertyNames": _ref("variableName"),
                    "additionalProperties": {"type": "object", "description": "A JSON Schema (draft 2020-12)."},
                    "description": "Workflows only: data the workflow may ask the conversation for, name -> JSON Schema.",
                },
                "notifications": {
                    "type": "object", "propertyNames": _ref("variableName"),
                    "additionalProperties": {"type": "object", "description": "A JSON Schema (draft 2020-12)."},
                    "description": "Workflows only: what the workflow may tell the conversation, name -> JSON Schema.",
                },
                "stepTimeoutSeconds": {
                    "type": "integer", "minimum": 1, "maximum": 3600, "default": 60,
                    "description": "Workflows only: how long one step may run before it fails.",
                },
                "variables": {"type": "array", "items": _ref("flowVariable"), "default": []},
                "nodes": {"type": "array", "items": _ref("node")},
            },
        },
        "node": {
            "type": "object",
            "required": ["id", "kind"],
            "additionalProperties": False,
            "properties": {
                "id": _ref("id"),
                "kind": {"enum": NODE_KINDS},
                "name": {"type": "string"},
                "cards": {"type": "array", "items": _ref("card"), "default": []},
                "next": {
                    "type": ["string", "null"], "default": None,
                    "description": "Id of the node taken after the last card; null ends the dialog.",
                },
                "trigger": _ref("trigger"),
                "message": {
                    "type": "string", "maxLength": 500,
                    "description": "Workflow steps only: what the chat client shows while the step runs.",
                },
                **_autonomous_properties(),
            },
        },
        "trigger": {
            "type": "object",
            "description": "Trigger nodes only: the non-message event that starts the dialog here.",
            "required": ["type"],
            "additionalProperties": False,
            "properties": {
                "type": {"enum": list(TRIGGER_TYPES)},
                "eventType": {
                    "type": "string", "minLength": 1,
                    "description": "Custom events only: the payload.type the event must have.",
                },
                "condition": {
                    "type": "string", "minLength": 1,
                    "description": "JavaScript expression; the trigger fires only when it holds.",
                },
                "auth": {
                    "enum": ["signature", "secret"],
                    "description": ("Webhook triggers only: 'signature' (default) wants X-Flowstudio-Signature: "
                                    "sha256=<HMAC-SHA256 of the body>, 'secret' wants X-Flowstudio-Secret."),
                },
                "cron": {
                    "type": "string", "minLength": 1, "maxLength": 100,
                    "description": "Schedule triggers only: a five-field cron expression, e.g. '0 9 * * 1-5'.",
                },
                "timezone": {
                    "type": "string", "minLength": 1, "maxLength": 64,
                    "description": "Schedule triggers only: the IANA time zone the cron is read in; default UTC.",
                },
            },
        },
        "card": {
            "type": "object",
            "required": ["id", "type"],
            "properties": {"id": _ref("id"), "type": {"enum": card_types}},
            "allOf": [
                {
                    "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                    "then": _ref(f"card.{name}"),
                }
                for name in card_types
            ],
        },
        "table": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "description": "A table's definition (docs/tables.md); checked by flows.tables.definition.",
            "properties": {
                "name": {"type": "string", "pattern": TABLE_NAME_PATTERN},
                "description": {"type": "string"},
                "rows": {
                    "type": "array", "items": {"type": "object"},
                    "description": "Only in an export made with rows (`bot export --with-rows`): the rows' "
                                   "values, put into the new bot's table on import, never kept in the draft.",
                },
                "columns": {
                    "type": "array", "maxItems": MAX_TABLE_COLUMNS, "default": [],
                    "items": {
                        "type": "object",
                        "required": ["name", "type"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "pattern": TABLE_NAME_PATTERN,
                                     "not": {"enum": sorted(TABLE_SYSTEM_COLUMNS)}},
                            "type": {"enum": list(TABLE_COLUMN_TYPES)},
                            "searchable": {"type": "boolean", "default": False,
                                           "description": "String columns only: found by a search."},
                            "description": {"type": "string"},
                        },
                    },
                },
            },
        },
        **_knowledge_schemas(),
        "hook": {
            "type": "object",
            "required": ["name", "type", "code"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 100,
                         "description": "Unique among the bot's hooks, e.g. send-user-analytics."},
                "type": {"enum": list(HOOK_TYPES),
                         "description": ("When it runs: before_incoming (before NLU), after_incoming (after NLU, "
                                         "before the dialog), before_outgoing (for each reply), after_turn.")},
                "code": {"type": "string", "maxLength": 100000,
                         "description": "JavaScript; `return false` drops the event (incoming) or the reply (outgoing)."},
                "enabled": {"type": "boolean", "default": True},
                "description": {"type": "string"},
            },
        },
        "test": {
            "type": "object",
            "required": ["name", "steps"],
            "additionalProperties": True,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "steps": {"type": "array"},
            },
        },
        "layout": {
            "type": "object",
            "description": "{flowName: {nodeId: [x, y]}}; positions only, never logic.",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {
                    "type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"},
                    "description": "an [x, y] position",
                },
            },
        },
        **_library_schemas(),
        **_agents_schemas(),
        **per_type,
        **hoisted,
    }

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://flowstudio.dev/schemas/flowstudio.bot-1.json",
        "title": f"Flowstudio bot file ({FORMAT})",
        "description": "See docs/bot-format.md. Cross-references (node ids, flow calls, "
                       "variable defaults, layout entries) are checked by flows.botfile.validate.",
        "type": "object",
        "required": ["format", "name"],
        "additionalProperties": False,
        "properties": {
            "format": {"const": FORMAT},
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "description": {"type": "string", "default": ""},
            "settings": {**_ref("settings"), "default": {}},
            "variables": _named_list("botVariable", "User and bot variables."),
            "config": _named_list("configVariable", "Configuration variable names (never values)."),
            "schemas": _named_list("namedSchema", "Named JSON Schemas for variables of type schema."),
            "folders": {
                "type": "array", "default": [], "uniqueItems": True,
                "description": ("The explorer's folders, kept even while no flow is in them; a flow's `folder` "
                                "need not be listed (a folder holding flows shows anyway)."),
                "items": {"type": "string", "maxLength": 100, "pattern": r"^\S(.*\S)?$",
                          "description": "1 to 100 characters, not starting or ending with a space"},
            },
            "flows": {"type": "array", "items": _ref("flow"), "default": []},
            "intents": _named_list("intent", "Library intents: what users want, taught by example utterances."),
            "entities": _named_list("entity", "Library entities: list entities and pattern entities."),
            "tables": _named_list("table", "Tables: typed columns; the rows live in the database (docs/tables.md)."),
            "knowledgeBases": _named_list("knowledgeBase", "Knowledge bases and their sources (docs/knowledge.md); "
                                                           "import creates them, export writes the bot's."),
            "hooks": _named_list("hook", "Hooks: JavaScript run at fixed points of every turn (docs/hooks-and-triggers.md)."),
            "agents": {**_ref("agents"), "default": {}},
            "webchat": {"type": "object", "default": {}},
            "tests": _named_list("test", "Conversation tests."),
            "layout": {**_ref("layout"), "default": {}},
        },
        "$defs": defs,
    }


@lru_cache(maxsize=1)
def live_schema() -> dict:
    """The schema for the card registry loaded in this process (built once)."""
    return build_schema()


def render_schema(schema: dict) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


@lru_cache(maxsize=1)
def committed_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def structure_schema(schema: dict) -> dict:
    """The schema used for the structural pass: card fields are left to the engine.

    The engine's `card_problems` (and `library_problems`) report card and library field
    errors in plain English, so running those schemas as well would report each one twice.
    """
    trimmed = copy.deepcopy(schema)
    trimmed["$defs"]["card"].pop("allOf", None)
    # Library entries are checked by the engine's library models (runtime/engine/nlu/library.py).
    for section in ("intents", "entities"):
        trimmed["properties"][section]["items"] = {"type": "object"}
    return trimmed


def main(argv: list[str]) -> int:
    text = render_schema(build_schema())
    if "--check" in argv:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
        if current != text:
            print(f"{SCHEMA_PATH} is out of date; run python -m flows.botfile.schema", file=sys.stderr)
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
