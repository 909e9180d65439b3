"""Typed variables: declarations from the bot file and the type check applied on every write."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import VariableTypeError

TYPES = ("string", "number", "boolean", "date", "object", "array", "enum", "pattern", "schema")


@dataclass(frozen=True)
class VarSpec:
    name: str
    type: str
    default: Any = None
    values: tuple[str, ...] = ()
    pattern: re.Pattern | None = None
    schema: Any = None  # a jsonschema validator for named schemas
    input: bool = False
    output: bool = False

    @classmethod
    def from_decl(cls, decl: dict, schemas: dict[str, Any]) -> "VarSpec":
        pattern = decl.get("pattern")
        return cls(
            name=decl["name"],
            type=decl.get("type", "string"),
            default=decl.get("default"),
            values=tuple(decl.get("values") or ()),
            pattern=re.compile(pattern) if pattern else None,
            schema=schemas.get(decl.get("schema")) if decl.get("type") == "schema" else None,
            input=bool(decl.get("input")),
            output=bool(decl.get("output")),
        )


def _js_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def type_problem(spec: VarSpec, value: Any) -> str | None:
    """None if `value` may be stored in a variable declared as `spec`, else why not.
    null (unset) is always allowed."""
    if value is None:
        return None
    given = _js_type(value)
    t = spec.type
    if t in ("string", "number", "boolean", "object", "array"):
        return None if given == t else f"expected {t}, got {given}"
    if t == "date":
        if given != "string":
            return f"expected date (ISO 8601 string), got {given}"
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return f"expected date (ISO 8601 string), got {value!r}"
        return None
    if t == "enum":
        if given != "string" or value not in spec.values:
            return f"expected one of {', '.join(spec.values)}, got {value!r}"
        return None
    if t == "pattern":
        if given != "string" or not spec.pattern or not spec.pattern.fullmatch(value):
            return f"expected a string matching /{spec.pattern.pattern if spec.pattern else ''}/, got {value!r}"
        return None
    if t == "schema":
        if spec.schema is None:
            return None
        errors = sorted(spec.schema.iter_errors(value), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in e.path)
            return f"does not match its schema at {where or 'the top'}: {e.message}"
        return None
    return None


def check_write(scope: str, specs: dict[str, VarSpec], name: str, value: Any) -> None:
    spec = specs.get(name)
    if spec is None:
        return
    problem = type_problem(spec, value)
    if problem:
        raise VariableTypeError(f"{scope}.{name}: {problem}")


def defaults(specs: dict[str, VarSpec]) -> dict[str, Any]:
    return {name: s.default for name, s in specs.items() if s.default is not None}
