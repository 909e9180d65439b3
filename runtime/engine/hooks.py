"""Hooks (docs/hooks-and-triggers.md): JavaScript a bot runs at four fixed points of every
turn, in the same sandbox as Execute Code, in the order they are listed in the bot file.

- `before_incoming`: before NLU. Sees `event` and may change it (e.g. `event.payload.text`);
  `return false` drops the event: no NLU, no dialog, no reply.
- `after_incoming`: after NLU (`event.nlu` is filled), before the dialog; may change or drop
  the event the same way.
- `before_outgoing`: once per reply, just before it is stored and sent. Sees `event` (read
  only) and `outgoingEvent` = {type, payload}; may change `outgoingEvent.payload` (it stays
  a message: an object with a string `type`) or `return false` to drop the reply.
- `after_turn`: once, when the turn is done; sees `event` and `outgoing` (the replies), all
  read only: for analytics and calls out (`axios`).

Every hook also reads `user`, `session`, `bot`, `conversation` and `env`; hooks write no
variables. A hook that throws, times out or returns something unusable is logged (level
error, source "hook") and traced (`hook_error`), and the turn goes on as if it had not run.
"""
from __future__ import annotations

from dataclasses import dataclass

HOOK_TYPES = ("before_incoming", "after_incoming", "before_outgoing", "after_turn")


@dataclass(frozen=True, slots=True)
class HookBuild:
    name: str
    type: str
    code: str


def compile_hooks(hooks, problems: list) -> dict[str, tuple[HookBuild, ...]]:
    """{hook type: hooks in file order}, leaving out disabled ones; problems for broken ones."""
    from .errors import Problem
    from .sandbox import syntax_error

    out: dict[str, list[HookBuild]] = {kind: [] for kind in HOOK_TYPES}
    for index, hook in enumerate(hooks or ()):
        path = f"$.hooks[{index}]"
        if not isinstance(hook, dict):
            problems.append(Problem(path, "a hook is an object with a name, a type and code"))
            continue
        kind, code, name = hook.get("type"), hook.get("code"), hook.get("name")
        if kind not in HOOK_TYPES:
            problems.append(Problem(f"{path}.type", f"unknown hook type {kind!r}; use one of: {', '.join(HOOK_TYPES)}"))
            continue
        if not isinstance(code, str):
            problems.append(Problem(f"{path}.code", "a hook needs its JavaScript code as a string"))
            continue
        problem = syntax_error(code) if code.strip() else None
        if problem:
            problems.append(Problem(f"{path}.code", problem))
            continue
        if hook.get("enabled", True) is False or not code.strip():
            continue
        out[kind].append(HookBuild(name=str(name), type=kind, code=code))
    return {kind: tuple(items) for kind, items in out.items() if items}
