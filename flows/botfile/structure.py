"""The structural pass: JSON Schema errors turned into plain English at the right path."""
from __future__ import annotations

import difflib
import json
from functools import lru_cache

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .problems import Problem, json_path, kind_of
from .schema import live_schema, structure_schema

_TYPE_NAMES = {
    "object": "an object", "array": "a list", "string": "a string", "number": "a number",
    "integer": "a whole number", "boolean": "true or false", "null": "null",
}


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(structure_schema(live_schema()))


def structure_problems(doc) -> list[Problem]:
    problems: list[Problem] = []
    for error in _validator().iter_errors(doc):
        problems.extend(_translate(error))
    return problems



def _show(value) -> str:
    # strings in single quotes, like the rest of the validator's messages
    text = f"'{value}'" if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_card_type(parts: list) -> bool:
    return len(parts) >= 2 and parts[-1] == "type" and isinstance(parts[-2], int) \
        and len(parts) >= 3 and parts[-3] == "cards"


def _in_config(parts: list) -> bool:
    return bool(parts) and parts[0] == "config"


def _translate(error: ValidationError) -> list[Problem]:
    parts = list(error.absolute_path)
    path = json_path(parts)
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance

    if keyword == "required":
        present = value if isinstance(value, dict) else {}
        return [
            Problem(json_path(parts + [key]), f"required field '{key}' is missing")
            for key in error.validator_value if key not in present
        ]
    if keyword == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        problems = []
        for key in value:
            if key in allowed:
                continue
            if _in_config(parts) and key == "value":
                continue  # reported by the semantic pass with a dedicated message
            problems.append(Problem(json_path(parts + [key]), _unknown_key_message(key, allowed, parts)))
        return problems
    if keyword == "type":
        expected = error.validator_value
        expected = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(name, name) for name in expected)
        return [Problem(path, f"must be {wanted}, not {kind_of(value)}")]
    if keyword == "enum":
        options = ", ".join(str(option) for option in error.validator_value)
        if _is_card_type(parts):
            return [Problem(path, f"unknown card type {_show(value)}; known card types: {options}")]
        return [Problem(path, f"{_show(value)} is not allowed; use one of: {options}")]
    if keyword == "const":
        return [Problem(path, f"must be {_show(error.validator_value)}, not {_show(value)}")]
    if keyword == "pattern":
        rule = schema.get("description") or f"must match {error.validator_value}"
        return [Problem(path, f"{_show(value)} is not valid: {rule}")]
    if keyword == "minLength":
        if error.validator_value == 1:
            return [Problem(path, "must not be empty")]
        return [Problem(path, f"must be at least {error.validator_value} characters long")]
    if keyword == "maxLength":
        return [Problem(path, f"must be at most {error.validator_value} characters long (has {len(value)})")]
    if keyword in ("minimum", "maximum"):
        bound = "at least" if keyword == "minimum" else "at most"
        return [Problem(path, f"must be {bound} {error.validator_value}, not {_show(value)}")]
    if keyword in ("minItems", "maxItems") and schema.get("description"):
        return [Problem(path, f"must be {schema['description']}, not {_show(value)}")]
    if keyword == "minItems":
        if error.validator_value == 1:
            return [Problem(path, "must not be empty")]
        return [Problem(path, f"must have at least {error.validator_value} items")]
    if keyword == "maxItems":
        return [Problem(path, f"must have at most {error.validator_value} items")]
    if keyword == "uniqueItems":
        return [Problem(path, "must not repeat an item")]
    return [Problem(path, error.message)]


def _unknown_key_message(key: str, allowed: list[str], parts: list) -> str:
    where = "top-level key" if not parts else "field"
    message = f"unknown {where} '{key}'"
    guess = difflib.get_close_matches(key, allowed, n=1)
    if guess:
        message += f"; did you mean '{guess[0]}'?"
    elif allowed:
        message += f"; allowed: {', '.join(allowed)}"
    return message
