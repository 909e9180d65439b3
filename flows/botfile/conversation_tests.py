"""The shape of conversation tests (`tests` in the bot file), checked step by step so a
broken test is reported with its path instead of failing obscurely when it runs.

A test is `{"name", "description"?, "draft"?, "steps": [...]}`; each step is exactly one of:

    {"user": "text"}                          the user types a message
    {"user": {"type": "choice", ...}}         any other message event (payload fields beside type)
    {"event": {"type": "...", "payload": {}}} a non-message event (custom events, triggers)
    {"timeout": true}                         the inactivity timeout fires
    {"bot": "exact text"}                     the next bot reply is a text with exactly this text
    {"bot": {"regex": "..."}}                 the next reply's text (or preview) matches re.search
    {"bot": {"type": "image", ...}}           the next reply has this type and these fields
    {"variable": "user.name", "equals": v}    a variable holds v (JSON equality) ...
    {"variable": "user.name", "matches": "…"} ... or its text matches a regular expression
"""
from __future__ import annotations

import re

from .problems import Problem, json_path

INPUT_KEYS = ("user", "event", "timeout")
CHECK_KEYS = ("bot", "variable")
STEP_KEYS = INPUT_KEYS + CHECK_KEYS
VARIABLE_SCOPES = ("user", "bot", "session", "workflow", "conversation")
_TEST_KEYS = {"name", "description", "draft", "steps"}


def test_problems(tests) -> list[Problem]:
    if tests is None:
        return []
    if not isinstance(tests, list):
        return []  # the structure pass reports it
    problems = []
    for ti, test in enumerate(tests):
        base = ["tests", ti]
        if not isinstance(test, dict):
            continue  # the structure pass reports it
        for key in sorted(set(test) - _TEST_KEYS):
            problems.append(Problem(json_path(base + [key]), f"unknown key {key!r} in a conversation test"))
        if "description" in test and not isinstance(test["description"], str):
            problems.append(Problem(json_path(base + ["description"]), "description is text"))
        if "draft" in test and not isinstance(test["draft"], bool):
            problems.append(Problem(json_path(base + ["draft"]), "draft is true or false"))
        steps = test.get("steps")
        if not isinstance(steps, list):
            continue  # missing or not a list: the structure pass reports it
        if not steps:
            problems.append(Problem(json_path(base + ["steps"]), "a test needs at least one step"))
            continue
        for si, step in enumerate(steps):
            problems += step_problems(step, base + ["steps", si])
        if not any(isinstance(s, dict) and set(s) & set(INPUT_KEYS) for s in steps):
            problems.append(Problem(json_path(base + ["steps"]),
                                    "a test needs at least one user message, event or timeout step"))
    return problems


def step_problems(step, path: list) -> list[Problem]:
    where = json_path(path)
    if not isinstance(step, dict):
        return [Problem(where, "a step is an object such as {\"user\": \"hello\"} or {\"bot\": \"Hi!\"}")]
    kinds = [key for key in STEP_KEYS if key in step]
    if len(kinds) != 1:
        found = ", ".join(kinds) if kinds else "none"
        return [Problem(where, f"a step has exactly one of {', '.join(STEP_KEYS)} (found: {found})")]
    kind = kinds[0]
    allowed = {"variable": {"variable", "equals", "matches"}}.get(kind, {kind})
    problems = [Problem(json_path(path + [key]), f"unknown key {key!r} in a {kind} step")
                for key in sorted(set(step) - allowed)]
    value = step[kind]
    at = json_path(path + [kind])
    if kind == "user":
        if isinstance(value, dict):
            if not isinstance(value.get("type"), str) or not value["type"]:
                problems.append(Problem(at + ".type", "a user event needs a type such as 'choice'"))
            elif value["type"] == "text" and not isinstance(value.get("text"), str):
                problems.append(Problem(at + ".text", "a text message needs its text"))
        elif not isinstance(value, str):
            problems.append(Problem(at, "the user's message is text, or an object with a type"))
    elif kind == "event":
        if not isinstance(value, dict) or not isinstance(value.get("type"), str) or not value["type"]:
            problems.append(Problem(at, "an event is an object with a type (and an optional payload object)"))
        elif "payload" in value and not isinstance(value["payload"], dict):
            problems.append(Problem(at + ".payload", "an event payload is an object"))
    elif kind == "timeout":
        if value is not True:
            problems.append(Problem(at, "write {\"timeout\": true}"))
    elif kind == "bot":
        problems += _bot_problems(value, at)
    else:
        problems += _variable_problems(step, path)
    return problems


def _bot_problems(value, at: str) -> list[Problem]:
    if isinstance(value, str):
        return []
    if not isinstance(value, dict) or not value:
        return [Problem(at, "an expected reply is text, {\"regex\": ...} or an object with a type")]
    if "regex" in value:
        if set(value) != {"regex"}:
            return [Problem(at, "a regex expectation has only the regex key")]
        return _regex_problems(value["regex"], at + ".regex")
    if not isinstance(value.get("type"), str):
        return [Problem(at + ".type", "an expected reply object needs a type (or use {\"regex\": ...})")]
    return []


def _variable_problems(step: dict, path: list) -> list[Problem]:
    problems = []
    name = step["variable"]
    at = json_path(path + ["variable"])
    scope, _, rest = name.partition(".") if isinstance(name, str) else ("", "", "")
    if scope not in VARIABLE_SCOPES or not rest:
        problems.append(Problem(at, f"name a variable as scope.name, with scope one of {', '.join(VARIABLE_SCOPES)}"))
    checks = [key for key in ("equals", "matches") if key in step]
    if len(checks) != 1:
        problems.append(Problem(json_path(path), "a variable step has exactly one of equals or matches"))
    elif checks == ["matches"]:
        problems += _regex_problems(step["matches"], json_path(path + ["matches"]))
    return problems


def _regex_problems(pattern, at: str) -> list[Problem]:
    if not isinstance(pattern, str):
        return [Problem(at, "a regular expression is text")]
    try:
        re.compile(pattern)
    except re.error as exc:
        return [Problem(at, f"invalid regular expression: {exc}")]
    return []
