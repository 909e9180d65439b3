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
    {"llm": {"card"?, "request": {...}, "answer": {...} | "error": {...}}}
                                              a recorded LLM call of the turn of the input
                                              before it (runtime/engine/llm_replay.py)
    {"tools": {"servers": [...], "list": [...] | "error": {...}}}
                                              a tool list the turn's MCP servers gave
    {"tool": {"name", "arguments", "result" | "error"}}
                                              an MCP tool call of the turn and its answer
                                              (runtime/engine/tool_replay.py)
"""
from __future__ import annotations

import re

from .problems import Problem, json_path

INPUT_KEYS = ("user", "event", "timeout")
CHECK_KEYS = ("bot", "variable")
RECORDING_KEYS = ("llm", "tools", "tool")
STEP_KEYS = INPUT_KEYS + CHECK_KEYS + RECORDING_KEYS
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
        seen_input = False
        for si, step in enumerate(steps):
            problems += step_problems(step, base + ["steps", si])
            recording = [key for key in RECORDING_KEYS if isinstance(step, dict) and key in step]
            if recording and not seen_input:
                what = "LLM call" if recording[0] == "llm" else "MCP tool exchange"
                problems.append(Problem(json_path(base + ["steps", si]),
                                        f"a recorded {what} belongs to the input before it: "
                                        "it cannot come before the first input"))
            seen_input = seen_input or (isinstance(step, dict) and bool(set(step) & set(INPUT_KEYS)))
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
    elif kind == "llm":
        problems += _llm_problems(value, at)
    elif kind == "tools":
        problems += _tools_problems(value, at)
    elif kind == "tool":
        problems += _tool_problems(value, at)
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


_LLM_KEYS = {"card", "request", "answer", "error"}
_REQUEST_KEYS = {"model", "provider", "messages", "tools", "toolChoice", "responseSchema", "temperature", "maxTokens"}


def _llm_problems(value, at: str) -> list[Problem]:
    if not isinstance(value, dict):
        return [Problem(at, "a recorded LLM call is an object with request and answer (or error)")]
    problems = [Problem(f"{at}.{key}", f"unknown key {key!r} in a recorded LLM call")
                for key in sorted(set(value) - _LLM_KEYS)]
    if "card" in value and not isinstance(value["card"], str):
        problems.append(Problem(f"{at}.card", "card is a card id"))
    request = value.get("request")
    if not isinstance(request, dict):
        problems.append(Problem(f"{at}.request", "a recorded LLM call needs its request (an object)"))
    else:
        problems += [Problem(f"{at}.request.{key}", f"unknown key {key!r} in a recorded request")
                     for key in sorted(set(request) - _REQUEST_KEYS)]
        messages = request.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, dict) and isinstance(m.get("role"), str)
                                                     for m in messages):
            problems.append(Problem(f"{at}.request.messages", "a list of messages, each with a role"))
    if ("answer" in value) == ("error" in value):
        problems.append(Problem(at, "a recorded LLM call has exactly one of answer or error"))
    elif "answer" in value:
        answer = value["answer"]
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
            problems.append(Problem(f"{at}.answer", "an answer is an object with its text"))
        elif "toolCalls" in answer and not (isinstance(answer["toolCalls"], list) and all(
                isinstance(c, dict) and isinstance(c.get("name"), str) for c in answer["toolCalls"])):
            problems.append(Problem(f"{at}.answer.toolCalls", "a list of tool calls, each with a name"))
    elif not isinstance(value["error"], dict) or not isinstance(value["error"].get("message"), str):
        problems.append(Problem(f"{at}.error", "an error is an object with its message"))
    return problems


_TOOLS_KEYS = {"servers", "list", "error"}
_TOOL_KEYS = {"name", "arguments", "result", "error"}


def _tools_problems(value, at: str) -> list[Problem]:
    if not isinstance(value, dict):
        return [Problem(at, "a recorded tool list is an object with servers and list (or error)")]
    problems = [Problem(f"{at}.{key}", f"unknown key {key!r} in a recorded tool list")
                for key in sorted(set(value) - _TOOLS_KEYS)]
    servers = value.get("servers")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) and s for s in servers):
        problems.append(Problem(f"{at}.servers", "the MCP servers asked, a list of their names"))
    if ("list" in value) == ("error" in value):
        problems.append(Problem(at, "a recorded tool list has exactly one of list or error"))
    elif "list" in value:
        tools = value["list"]
        if not isinstance(tools, list):
            problems.append(Problem(f"{at}.list", 'a list of tools, each {"type": "function", "function": {...}}'))
        else:
            for i, tool in enumerate(tools):
                function = tool.get("function") if isinstance(tool, dict) else None
                if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
                    problems.append(Problem(f"{at}.list[{i}].function.name",
                                            'a tool needs its name ("<server>.<tool>")'))
                elif "parameters" in function and not isinstance(function["parameters"], dict):
                    problems.append(Problem(f"{at}.list[{i}].function.parameters",
                                            "a tool's parameters are a JSON Schema object"))
    else:
        problems += _error_problems(value["error"], f"{at}.error")
    return problems


def _tool_problems(value, at: str) -> list[Problem]:
    if not isinstance(value, dict):
        return [Problem(at, "a recorded tool call is an object with name, arguments and result (or error)")]
    problems = [Problem(f"{at}.{key}", f"unknown key {key!r} in a recorded tool call")
                for key in sorted(set(value) - _TOOL_KEYS)]
    if not isinstance(value.get("name"), str) or not value["name"]:
        problems.append(Problem(f"{at}.name", "a tool call needs the tool's name (\"<server>.<tool>\")"))
    if not isinstance(value.get("arguments"), dict):
        problems.append(Problem(f"{at}.arguments", "a tool call's arguments are an object"))
    if ("result" in value) == ("error" in value):
        problems.append(Problem(at, "a recorded tool call has exactly one of result or error"))
    elif "result" in value:
        result = value["result"]
        if not (isinstance(result, str) or isinstance(result, list) and all(isinstance(line, str) for line in result)):
            problems.append(Problem(f"{at}.result", "a tool's result is text (or the list of its lines)"))
    else:
        problems += _error_problems(value["error"], f"{at}.error")
    return problems


def _error_problems(error, at: str) -> list[Problem]:
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return [Problem(at, "an error is an object with its message")]
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
