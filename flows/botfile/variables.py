"""Rules for variable declarations that JSON Schema cannot say: which keys go with
which type, and whether a default fits its type."""
from __future__ import annotations

import re
from datetime import date, datetime

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .problems import Problem, json_path, kind_of

_ONLY_FOR = {"values": "enum", "pattern": "pattern", "schema": "schema"}


def variable_problems(variable: dict, parts: list, schemas: dict[str, dict]) -> list[Problem]:
    """Problems of one variable declaration (bot or flow level) at `parts`."""
    problems: list[Problem] = []
    var_type = variable.get("type")
    name = variable.get("name")
    label = f"variable '{name}'" if isinstance(name, str) else "this variable"

    for key, owner in _ONLY_FOR.items():
        if key in variable and var_type != owner:
            problems.append(Problem(
                json_path(parts + [key]),
                f"'{key}' is only for variables of type {owner}; {label} has type {var_type}",
            ))
        if var_type == owner and key not in variable:
            problems.append(Problem(
                json_path(parts + [key]),
                f"{label} has type {owner} and needs '{key}'",
            ))

    compiled_pattern = None
    if var_type == "pattern" and isinstance(variable.get("pattern"), str):
        try:
            compiled_pattern = re.compile(variable["pattern"])
        except re.error as exc:
            problems.append(Problem(json_path(parts + ["pattern"]), f"is not a valid regular expression: {exc}"))

    named_schema = None
    if var_type == "schema" and isinstance(variable.get("schema"), str):
        named_schema = schemas.get(variable["schema"])
        if named_schema is None:
            known = ", ".join(sorted(schemas)) or "none are defined"
            problems.append(Problem(
                json_path(parts + ["schema"]),
                f"no schema named '{variable['schema']}' in $.schemas (known: {known})",
            ))

    if variable.get("default") is not None:
        message = _default_mismatch(variable, var_type, compiled_pattern, named_schema)
        if message:
            problems.append(Problem(json_path(parts + ["default"]), message))
    return problems


def _default_mismatch(variable: dict, var_type, pattern, named_schema) -> str | None:
    value = variable["default"]
    if var_type == "string" and not isinstance(value, str):
        return f"must be a string for a variable of type string, not {kind_of(value)}"
    if var_type == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"must be a number for a variable of type number, not {kind_of(value)}"
    if var_type == "boolean" and not isinstance(value, bool):
        return f"must be true or false for a variable of type boolean, not {kind_of(value)}"
    if var_type == "object" and not isinstance(value, dict):
        return f"must be an object for a variable of type object, not {kind_of(value)}"
    if var_type == "array" and not isinstance(value, list):
        return f"must be a list for a variable of type array, not {kind_of(value)}"
    if var_type == "date" and not _is_iso_date(value):
        return f"must be an ISO 8601 date or date-time (e.g. 2026-01-31 or 2026-01-31T09:30:00Z), not {value!r}"
    if var_type == "enum":
        values = variable.get("values")
        if isinstance(values, list) and value not in values:
            return f"{value!r} is not one of the enum's values: {', '.join(map(str, values))}"
    if var_type == "pattern":
        if not isinstance(value, str):
            return f"must be a string for a variable of type pattern, not {kind_of(value)}"
        if pattern is not None and not pattern.fullmatch(value):
            return f"{value!r} does not match the pattern {pattern.pattern!r}"
    if var_type == "schema" and isinstance(named_schema, dict):
        try:
            error = next(Draft202012Validator(named_schema).iter_errors(value), None)
        except SchemaError:
            return None  # the schema itself is reported where it is defined
        if error is not None:
            return f"does not match schema '{variable['schema']}': {error.message}"
    return None


def _is_iso_date(value) -> bool:
    if not isinstance(value, str):
        return False
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(value.replace("Z", "+00:00") if parse is datetime.fromisoformat else value)
            return True
        except ValueError:
            continue
    return False

