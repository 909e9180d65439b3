"""The bot's library as the bot file writes it: intents with example utterances, and custom
entities (list entities with synonyms, pattern entities with a regular expression).

The pydantic models below are the single definition of these entries: the bot-file JSON
Schema is generated from them (the editor builds its forms from that), and
`library_problems` checks a bot's `intents` and `entities` with a JSON path and a plain
reason for every problem. It tolerates any shape, like the rest of the validator.
"""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

MIN_UTTERANCES = 10
MAX_UTTERANCE_CHARS = 280
NAME_PATTERN = r"^[A-Za-z0-9_](?:[A-Za-z0-9_ .-]{0,62}[A-Za-z0-9_.-])?$"
NAME_RULE = "1-64 letters, digits, spaces, '_', '-' or '.', not starting or ending with a space"
NONE_INTENT = "none"
# Types of the system entities (runtime/engine/nlu/entities.py); custom entities may not reuse them.
SYSTEM_ENTITIES = ("email", "url", "phone", "money", "percentage", "datetime", "number")
FUZZY_LEVELS = ("strict", "medium", "loose")


class LibraryEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


def _utterance(text: str) -> str:
    if not text.strip():
        raise ValueError("is empty; write an example of what a user would say")
    if len(text) > MAX_UTTERANCE_CHARS:
        raise ValueError(f"is {len(text)} characters long; an utterance may have at most {MAX_UTTERANCE_CHARS}")
    return text


def _utterances(items: list[str]) -> list[str]:
    if len(items) < MIN_UTTERANCES:
        raise ValueError(f"has {len(items)} utterance{'s' if len(items) != 1 else ''}; "
                         f"an intent needs at least {MIN_UTTERANCES} examples of what users say")
    return items


Utterance = Annotated[str, AfterValidator(_utterance),
                      Field(json_schema_extra={"minLength": 1, "maxLength": MAX_UTTERANCE_CHARS})]
Utterances = Annotated[
    list[Utterance], AfterValidator(_utterances),
    Field(title="Utterances",
          description=f"At least {MIN_UTTERANCES} different ways a user might say it, "
                      f"each at most {MAX_UTTERANCE_CHARS} characters.",
          json_schema_extra={"minItems": MIN_UTTERANCES}),
]


def _intent_name(name: str) -> str:
    if name == NONE_INTENT:
        raise ValueError("'none' is reserved for messages that match no intent; choose another name")
    return name


def _entity_name(name: str) -> str:
    if name in SYSTEM_ENTITIES:
        raise ValueError(f"{name!r} is a system entity; choose another name "
                         f"(system entities: {', '.join(SYSTEM_ENTITIES)})")
    return name


def _name_field(what: str, example: str) -> Any:
    return Field(title="Name", pattern=NAME_PATTERN,
                 description=f"How flows refer to this {what}, e.g. '{example}' ({NAME_RULE}).")


class IntentDef(LibraryEntry):
    """A library intent: what a user wants, taught by example messages."""

    model_config = ConfigDict(title="Intent")

    name: Annotated[str, AfterValidator(_intent_name)] = _name_field("intent", "order_coffee")
    description: str = Field(default="", title="Description", max_length=500)
    utterances: Utterances


class ListValue(LibraryEntry):
    model_config = ConfigDict(title="List value")

    name: str = Field(title="Value", min_length=1, max_length=100,
                      description="The value stored when this entry or one of its synonyms is named.")
    synonyms: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, title="Synonyms", description="Other ways users write the same value.")


class ListEntityDef(LibraryEntry):
    """Named values with synonyms, matched anywhere in a message, typos tolerated."""

    model_config = ConfigDict(title="List entity")

    name: Annotated[str, AfterValidator(_entity_name)] = _name_field("entity", "airport")
    type: Literal["list"] = Field(title="Type", description="A list of values with synonyms.")
    description: str = Field(default="", title="Description", max_length=500)
    fuzzy: Literal["strict", "medium", "loose"] = Field(
        default="medium", title="Fuzzy matching",
        description="strict: no typo; medium: one typo in words of 4+ letters; loose: two.")
    values: list[ListValue] = Field(title="Values", min_length=1)


def _regex(pattern: str) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ValueError(f"is not a valid regular expression: {error}") from None
    if compiled.match(""):
        raise ValueError("matches an empty text, so it would match every message; make it require something")
    return pattern


class PatternEntityDef(LibraryEntry):
    """Text of a known shape (order numbers, SKUs...) found by a regular expression."""

    model_config = ConfigDict(title="Pattern entity")

    name: Annotated[str, AfterValidator(_entity_name)] = _name_field("entity", "sku")
    type: Literal["pattern"] = Field(title="Type", description="A regular expression.")
    description: str = Field(default="", title="Description", max_length=500)
    pattern: Annotated[str, AfterValidator(_regex)] = Field(
        title="Pattern", min_length=1, max_length=1000,
        description="A regular expression (Python syntax), e.g. [A-Z]{3}-[0-9]{4}.")
    ignore_case: bool = Field(default=False, title="Ignore case")
    sensitive: bool = Field(
        default=False, title="Contains sensitive data",
        description="Captured values are masked with * in traces, logs and stored transcripts.")


ENTITY_MODELS: dict[str, type[LibraryEntry]] = {"list": ListEntityDef, "pattern": PatternEntityDef}


# ---- validation ------------------------------------------------------------------------------
def _path(base: str, loc: tuple) -> str:
    out = base
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _message(error: dict, what: str) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return f"is not a field of {what}"
    if kind == "string_pattern_mismatch":
        return f"{error.get('input')!r} is not a valid name: {NAME_RULE}"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "literal_error":
        return f"must be one of: {ctx.get('expected')}"
    message = error.get("msg") or "is invalid"
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    return message[0].lower() + message[1:]


ENTRY_NAMES = {"Intent": "an intent", "List entity": "a list entity", "Pattern entity": "a pattern entity"}


def _entry_problems(model: type[LibraryEntry], item: dict, base: str) -> tuple[Any, list[tuple[str, str]]]:
    what = ENTRY_NAMES.get(model.model_config.get("title"), "this entry")
    try:
        return model.model_validate(item), []
    except ValidationError as exc:
        return None, [(_path(base, e["loc"]), _message(e, what)) for e in exc.errors(include_url=False)]


def _duplicates(items, section: str, what: str) -> list[tuple[str, str]]:
    seen: dict[str, int] = {}
    problems = []
    for index, item in items:
        name = item.get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.append((f"$.{section}[{index}].name",
                             f"duplicate {what} name {name!r} (first used at $.{section}[{seen[name]}])"))
        else:
            seen[name] = index
    return problems


def _objects(value) -> list[tuple[int, dict]]:
    return [(i, v) for i, v in enumerate(value) if isinstance(v, dict)] if isinstance(value, list) else []


def parse_library(definition: dict) -> tuple[list[IntentDef], list[LibraryEntry], list[tuple[str, str]]]:
    """The bot's intents and entities, and every problem as (JSON path, reason)."""
    problems: list[tuple[str, str]] = []
    intents, entities = [], []
    raw_intents = _objects(definition.get("intents"))
    for index, item in raw_intents:
        parsed, found = _entry_problems(IntentDef, item, f"$.intents[{index}]")
        problems += found
        if parsed is not None:
            intents.append(parsed)
    problems += _duplicates(raw_intents, "intents", "intent")
    raw_entities = _objects(definition.get("entities"))
    for index, item in raw_entities:
        base = f"$.entities[{index}]"
        model = ENTITY_MODELS.get(item.get("type"))
        if model is None:
            kinds = " or ".join(repr(k) for k in ENTITY_MODELS)
            problems.append((base + ".type", f"must be {kinds}, not {item.get('type')!r}" if "type" in item
                             else f"is required: {kinds}"))
            continue
        parsed, found = _entry_problems(model, item, base)
        problems += found
        if parsed is not None:
            entities.append(parsed)
    problems += _duplicates(raw_entities, "entities", "entity")
    return intents, entities, problems


def library_problems(definition: dict) -> list[tuple[str, str]]:
    return parse_library(definition)[2] if isinstance(definition, dict) else []


# ---- cards that name library entries -----------------------------------------------------------
# A capture of these kinds may name a library entity of the matching type instead of
# spelling out its values or pattern on the card.
CAPTURE_ENTITY_TYPES = {"entity_list": "list", "entity_regex": "pattern"}


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _each_card(definition: dict):
    for fi, flow in _objects(definition.get("flows")):
        for ni, node in _objects(flow.get("nodes")):
            for ci, card in _objects(node.get("cards")):
                yield f"$.flows[{fi}].nodes[{ni}].cards[{ci}]", card


def card_reference_problems(definition: dict) -> list[tuple[str, str]]:
    """Intent cards naming an intent, and capture cards naming an entity, that the library
    does not have (or has with the wrong type)."""
    if not isinstance(definition, dict):
        return []
    intents = [i["name"] for _, i in _objects(definition.get("intents")) if isinstance(i.get("name"), str)]
    entities: dict[str, Any] = {}
    for _, e in _objects(definition.get("entities")):
        if isinstance(e.get("name"), str):
            entities.setdefault(e["name"], e.get("type"))
    problems = []
    for path, card in _each_card(definition):
        name = card.get("intent")
        if card.get("type") == "intent" and isinstance(name, str) and name != NONE_INTENT and name not in intents:
            known = ", ".join(intents) or "none yet"
            problems.append((f"{path}.intent", f"no intent {name!r} in the library (intents: {known})"))
        name = card.get("entity")
        if card.get("type") == "capture" and isinstance(name, str):
            wanted = CAPTURE_ENTITY_TYPES.get(card.get("capture"))
            if wanted is None:
                continue  # the card's own check says entity only goes with entity_list / entity_regex
            fitting = [n for n, t in entities.items() if t == wanted]
            if name not in entities:
                problems.append((f"{path}.entity", f"no entity {name!r} in the library "
                                                   f"({wanted} entities: {', '.join(fitting) or 'none yet'})"))
            elif entities[name] != wanted:
                problems.append((f"{path}.entity", f"entity {name!r} is a {entities[name]} entity; "
                                                   f"{_a(card.get('capture'))} capture needs a {wanted} entity "
                                                   f"({', '.join(fitting) or 'none yet'})"))
    return problems
