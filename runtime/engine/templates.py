"""Text templates: `{{ expression }}` and the `@scope.path` shorthand.

Compiled once at build time into literal strings and `Expression`s, so rendering a template
without markers is a constant and a fast expression costs microseconds.
"""
from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from .expressions import UNDEFINED, Expression, ExpressionError, _canonical_index, compile_expression, js_number_to_string
from .sandbox import SCOPE_NAMES

if TYPE_CHECKING:
    from .sandbox import JSSandbox

# `@` after a word character is an e-mail address or a handle, not a reference; a trailing
# dot ends the sentence rather than the path because every segment must start with a letter.
_SHORTHAND = re.compile(
    r"(?<![\w@])@(" + "|".join(SCOPE_NAMES) + r")((?:\.[A-Za-z_$][A-Za-z0-9_$]*)+)(?![A-Za-z0-9_$])"
)
_STRING_IN_EXPR = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)


def js_to_text(value: Any) -> str:
    """How a value reads in a message: JSON.stringify for objects, String() otherwise,
    with undefined and null as the empty string."""
    if isinstance(value, str):
        return value
    if value is None or value is UNDEFINED:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return js_number_to_string(value)
    if isinstance(value, (dict, list)):
        return _json(value)
    return str(value)


def _json(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None or value is UNDEFINED:
        return "null"
    if isinstance(value, (int, float)):
        return "null" if isinstance(value, float) and (math.isnan(value) or math.isinf(value)) else js_number_to_string(value)
    if isinstance(value, list):
        return "[" + ",".join(_json(v) for v in value) + "]"
    if isinstance(value, dict):
        # JavaScript lists integer-like keys first, in numeric order, then the rest in insertion order.
        keys = list(value)
        indexes = sorted((k for k in keys if _canonical_index(str(k)) is not None), key=lambda k: int(k))
        ordered = indexes + [k for k in keys if _canonical_index(str(k)) is None]
        return "{" + ",".join(
            json.dumps(str(k), ensure_ascii=False) + ":" + _json(value[k]) for k in ordered if value[k] is not UNDEFINED
        ) + "}"
    return json.dumps(str(value), ensure_ascii=False)


class Template:
    __slots__ = ("source", "parts", "is_fast", "_single")

    def __init__(self, source: str, parts: tuple[str | Expression, ...], single: Expression | None):
        self.source = source
        self.parts = parts
        self._single = single
        self.is_fast = all(isinstance(p, str) or p.is_fast for p in parts)

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    @property
    def is_literal(self) -> bool:
        return all(isinstance(p, str) for p in self.parts)

    def render(self, scopes: dict, sandbox: JSSandbox | None, bot_key: str) -> str:
        parts = self.parts
        if len(parts) == 1 and isinstance(parts[0], str):
            return parts[0]
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(js_to_text(part.evaluate(scopes, sandbox, bot_key)))
        return "".join(out)

    def value(self, scopes: dict, sandbox: JSSandbox | None, bot_key: str) -> Any:
        if self._single is not None:
            return self._single.evaluate(scopes, sandbox, bot_key)
        return self.render(scopes, sandbox, bot_key)


def compile_template(text: str) -> Template:
    if not isinstance(text, str):
        raise ExpressionError(f"a template must be text, not {type(text).__name__}", kind="syntax")
    parts: list[str | Expression] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            _add_shorthands(parts, text[pos:])
            break
        _add_shorthands(parts, text[pos:start])
        end = _closing_braces(text, start + 2)
        if end < 0:
            raise ExpressionError(
                f"`{{{{` at position {start + 1} has no matching `}}}}`: {_excerpt(text, start)}", kind="syntax"
            )
        inner = text[start + 2: end]
        if not inner.strip():
            raise ExpressionError(f"empty `{{{{ }}}}` at position {start + 1}", kind="syntax")
        try:
            parts.append(compile_expression(inner.strip()))
        except ExpressionError as exc:
            raise ExpressionError(f"in `{text[start:end + 2]}`: {exc.message}", kind=exc.kind) from None
        pos = end + 2
    merged: list[str | Expression] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    if not merged:
        merged = [""]
    single = None
    expressions = [p for p in merged if not isinstance(p, str)]
    if len(expressions) == 1 and all(isinstance(p, Expression) or not p.strip() for p in merged):
        single = expressions[0]
    return Template(text, tuple(merged), single)


def _closing_braces(text: str, pos: int) -> int:
    """Index of the `}}` that ends the expression starting at pos, skipping quoted strings."""
    while pos < len(text):
        if text.startswith("}}", pos):
            return pos
        if text[pos] in "'\"":
            m = _STRING_IN_EXPR.match(text, pos)
            if m is None:
                return -1
            pos = m.end()
            continue
        pos += 1
    return -1


def _add_shorthands(parts: list[str | Expression], text: str) -> None:
    pos = 0
    for m in _SHORTHAND.finditer(text):
        parts.append(text[pos: m.start()])
        parts.append(compile_expression(m.group(1) + m.group(2)))
        pos = m.end()
    parts.append(text[pos:])


def _excerpt(text: str, start: int) -> str:
    snippet = text[start: start + 30]
    return f"`{snippet}{'…' if len(text) > start + 30 else ''}`"


class JsonTemplate:
    """Any JSON value whose strings are templates: `{"order": "{{workflow.id}}", "n": 2}`.
    Each string is evaluated with `Template.value`, so a string that is exactly one
    `{{ expr }}` keeps the expression's type (an object stays an object); everything else
    is copied as it is. A bare string is one template (`"{{event.payload}}"`)."""

    __slots__ = ("source", "_tree")

    def __init__(self, source: Any):
        self.source = source
        self._tree = _compile_json(source)

    def __repr__(self) -> str:
        return f"JsonTemplate({self.source!r})"

    def value(self, scopes: dict, sandbox: JSSandbox | None, bot_key: str) -> Any:
        return _evaluate_json(self._tree, scopes, sandbox, bot_key)


def compile_json_template(source: Any) -> JsonTemplate:
    return JsonTemplate(source)


def _compile_json(node: Any) -> Any:
    if isinstance(node, str):
        return compile_template(node)
    if isinstance(node, dict):
        return {str(k): _compile_json(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_compile_json(v) for v in node]
    return node


def _evaluate_json(node: Any, scopes: dict, sandbox: JSSandbox | None, bot_key: str) -> Any:
    if isinstance(node, Template):
        value = node.value(scopes, sandbox, bot_key)
        return None if value is UNDEFINED else value
    if isinstance(node, dict):
        out = {}
        for key, item in node.items():
            value = _evaluate_json(item, scopes, sandbox, bot_key)
            if value is not None:  # an unset variable leaves its key out, as JSON.stringify does
                out[key] = value
        return out
    if isinstance(node, list):
        return [_evaluate_json(v, scopes, sandbox, bot_key) for v in node]
    return node
