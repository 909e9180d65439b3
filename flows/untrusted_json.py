"""Decoding JSON that comes from outside: one policy for every surface (the REST API, the
Chat API, the editor, the webchat and emulator sockets and their HTTP fallback, `?tags=`,
bot files from the command line). docs/security.md, "Untrusted input", is the reference.

- at most `MAX_DEPTH` (64) nested objects/arrays: deeper input is refused before anything
  recursive (the validator, deepcopy, the engine) sees it, so no RecursionError;
- no NUL character (U+0000) in any string or key: PostgreSQL cannot store it in text or
  jsonb, and it truncates C strings in logs and tools;
- no lone surrogate (`"\\ud800"`): it is not a character, cannot be encoded as UTF-8, and
  PostgreSQL, orjson and the browser's TextEncoder all refuse or mangle it;
- `NaN`, `Infinity` and `-Infinity` are not JSON numbers;
- the bytes must be UTF-8; a size limit, when the caller gives one, is checked first.

Every refusal is an `UntrustedJSON` error with a JSON path (`$.payload.text`) and a message
that never repeats the offending characters, so each surface can turn it into its own 4xx,
error frame or one-line CLI error. This module imports nothing of the project on purpose:
any room may use it.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Strings (with their escapes) or a bracket: enough to follow nesting without parsing.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]', re.S)


class UntrustedJSON(ValueError):
    """Input refused by the policy above. `kind` is one of: too_large, encoding, syntax,
    too_deep, nul, surrogate, constant."""

    def __init__(self, kind: str, message: str, path: str = "$"):
        super().__init__(f"{path}: {message}")
        self.kind, self.message, self.path = kind, message, path


def decode(data: bytes | bytearray | str, *, max_bytes: int | None = None, max_depth: int = MAX_DEPTH,
           strip_bom: bool = False, what: str = "the JSON") -> Any:
    """The value in `data`, checked against the policy; UntrustedJSON otherwise."""
    if max_bytes is not None:
        size = len(data)
        if isinstance(data, str) and size <= max_bytes < size * 4:  # a character is 1 to 4 bytes
            size = len(data.encode("utf-8", "surrogatepass"))
        if size > max_bytes:
            raise UntrustedJSON("too_large", f"{what} is {size} bytes; the limit is {max_bytes}")
    if isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UntrustedJSON("encoding", f"{what} is not UTF-8 text (byte {exc.start} cannot be decoded)") from None
    else:
        text = data
    if strip_bom:
        text = text.removeprefix("\ufeff")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except _Constant as exc:
        raise UntrustedJSON("constant", f"{exc.args[0]} is not a JSON number") from None
    except json.JSONDecodeError as exc:
        raise UntrustedJSON("syntax", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        # Deeper than Python's stack; find where the limit was crossed without recursing.
        raise _too_deep(_deep_path_in_text(text, max_depth), max_depth) from None
    check(value, max_depth=max_depth)
    return value


def check(value: Any, *, max_depth: int = MAX_DEPTH, root: str = "$") -> None:
    """Apply the policy to an already decoded value (a parser that is not ours, such as a
    form or a library's frame decoder). Iterative, so any depth is safe to walk."""
    # (value, depth, parent entry, key): the path is rebuilt only when something is refused.
    stack = [(value, 1, None, None)]
    while stack:
        entry = stack.pop()
        item, depth = entry[0], entry[1]
        if isinstance(item, str):
            _check_text(item, entry, root)
        elif isinstance(item, dict):
            if depth > max_depth:
                raise _too_deep(_path(entry, root), max_depth)
            for key, child in item.items():
                child_entry = (child, depth + 1, entry, key)
                if isinstance(key, str):
                    _check_text(key, child_entry, root, key=True)
                stack.append(child_entry)
        elif isinstance(item, (list, tuple)):
            if depth > max_depth:
                raise _too_deep(_path(entry, root), max_depth)
            for index, child in enumerate(item):
                stack.append((child, depth + 1, entry, index))
        elif isinstance(item, float) and not math.isfinite(item):
            raise UntrustedJSON("constant", "NaN and Infinity are not JSON numbers", _path(entry, root))


def json_path(parts, root: str = "$") -> str:
    """Keys and indexes as a JSON path; odd keys in brackets, escaped so a path never
    carries a control character or a lone surrogate into a message or a log line."""
    out = root
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(str(part), ensure_ascii=True)}]"
    return out


def _check_text(text: str, entry, root: str, *, key: bool = False) -> None:
    where = "the key" if key else "the string"
    if "\x00" in text:
        raise UntrustedJSON("nul", f"{where} contains the NUL character (\\u0000), which cannot be stored",
                            _path(entry, root))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UntrustedJSON("surrogate", f"{where} contains a lone surrogate (\\ud800-\\udfff), which is not "
                                         "a character", _path(entry, root)) from None


def _path(entry, root: str) -> str:
    parts = []
    while entry is not None and entry[2] is not None:
        parts.append(entry[3])
        entry = entry[2]
    return json_path(reversed(parts), root)


def _too_deep(path: str, max_depth: int) -> UntrustedJSON:
    return UntrustedJSON("too_deep", f"nested deeper than {max_depth} levels (objects and arrays)", path)


def _deep_path_in_text(text: str, max_depth: int) -> str:
    """The path of the first container past `max_depth` in syntactically nested text."""
    parts: list = []  # one entry per open container: an index (array) or the last key (object)
    last_string = None
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            if len(parts) >= max_depth:
                break
            parts.append(0 if token == "[" else None)
        elif token in "]}":
            if parts:
                parts.pop()
        elif token == ",":
            if parts and isinstance(parts[-1], int):
                parts[-1] += 1
        elif token == ":":
            if parts:
                parts[-1] = last_string if last_string is not None else "?"
        else:
            try:
                last_string = json.loads(token)
            except ValueError:
                last_string = "?"
    return json_path([p if p is not None else "?" for p in parts])


class _Constant(ValueError):
    pass


def _refuse_constant(name: str):
    raise _Constant(name)
