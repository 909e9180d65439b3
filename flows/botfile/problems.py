"""The one shape every bot-file complaint takes: where it is and what is wrong."""
from __future__ import annotations

import re

# One problem type for the engine's compiler and the bot-file validator.
from runtime.engine import Problem

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class BotFileInvalid(Exception):
    """Raised when a bot file cannot be accepted; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(self._describe())

    def _describe(self) -> str:
        count = len(self.problems)
        head = f"the bot file has {count} problem{'s' if count != 1 else ''}"
        return "\n".join([head + ":"] + [f"  {problem}" for problem in self.problems])

    def __str__(self) -> str:
        return self._describe()


def json_path(parts) -> str:
    """Render a sequence of keys and indexes as a JSON path rooted at `$`.

    Keys that are not plain identifiers (flow names may hold '-') use bracket
    notation so the path stays unambiguous.
    """
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}"
        else:
            escaped = part.replace("\\", "\\\\").replace('"', '\\"')
            out += f'["{escaped}"]'
    return out


def kind_of(value) -> str:
    """How a JSON value's type reads in a message ("a string", "a list", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
