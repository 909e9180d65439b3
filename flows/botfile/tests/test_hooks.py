"""Hooks in the bot file: valid ones pass and keep a fixed key order; broken ones name
their place and the reason."""
import copy

import pytest

from flows.botfile import canonical_bot, validate_bot

from .bots import base_bot


def with_hooks(*hooks):
    bot = base_bot()
    bot["hooks"] = list(hooks)
    return bot


def test_valid_hooks_pass_and_keep_their_key_order():
    bot = with_hooks({"code": "return false;", "type": "before_incoming", "name": "skip-pings", "enabled": False},
                     {"name": "analytics", "type": "after_turn", "code": "console.log(outgoing.length)",
                      "description": "counts replies"})
    assert validate_bot(bot) == []
    canonical = canonical_bot(copy.deepcopy(bot))
    assert list(canonical["hooks"][0]) == ["name", "type", "enabled", "code"]
    assert list(canonical["hooks"][1]) == ["name", "type", "description", "code"]
    assert canonical_bot(canonical) == canonical


@pytest.mark.parametrize("hook, path, phrase", [
    ({"name": "a", "type": "sometimes", "code": ""}, "$.hooks[0].type", "'sometimes' is not allowed; use one of: before_incoming"),
    ({"name": "a", "type": "after_turn"}, "$.hooks[0].code", "required field 'code' is missing"),
    ({"name": "a", "type": "after_turn", "code": "if ("}, "$.hooks[0].code", "SyntaxError"),
    ({"name": "a", "type": "after_turn", "code": "", "colour": "red"}, "$.hooks[0].colour", "unknown field 'colour'"),
])
def test_broken_hooks(hook, path, phrase):
    problems = validate_bot(with_hooks(hook))
    assert any(p.path == path and phrase in p.message for p in problems), [str(p) for p in problems]


def test_hook_names_are_unique():
    hook = {"name": "a", "type": "after_turn", "code": ""}
    problems = validate_bot(with_hooks(hook, dict(hook)))
    assert any(p.path.startswith("$.hooks[1]") and "a" in p.message for p in problems), [str(p) for p in problems]
