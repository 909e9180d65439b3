"""The problems panel: where each problem sits in the bot, plus the editor's warnings.

Errors come from the bot-file validator and the type-flow checker (`flows.botfile`) and
block publishing. Warnings are things a builder wants to know but that do not stop the bot
from running: a node no transition reaches, a variable used but never declared or written,
a field an object does not have, a loop that never waits, a custom flow nobody calls.
"""
from __future__ import annotations

import re

from flows.botfile import typeflow
from flows.botfile.problems import Problem, json_path

_PATH_TOKEN = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def path_parts(path: str) -> list[str | int]:
    """`$.flows[0].nodes["a-b"]` -> ["flows", 0, "nodes", "a-b"]; stops at what it cannot read."""
    parts: list[str | int] = []
    if not path.startswith("$"):
        return parts
    pos = 1
    while pos < len(path):
        match = _PATH_TOKEN.match(path, pos)
        if not match:
            break
        name, index, quoted = match.groups()
        if name is not None:
            parts.append(name)
        elif index is not None:
            parts.append(int(index))
        else:
            parts.append(re.sub(r"\\(.)", r"\1", quoted))
        pos = match.end()
    return parts


def _item(container, key):
    if isinstance(key, int) and isinstance(container, list) and 0 <= key < len(container):
        return container[key]
    if isinstance(key, str) and isinstance(container, dict):
        return container.get(key)
    return None


def locate(doc: dict, path: str) -> dict:
    """What a problem path points at, in the editor's terms.

    {"flow": name, "node": id, "card": id, "field": "text", "section": "flows"}; keys
    that do not apply are left out. Paths under `$.layout` name the flow and node by key.
    """
    parts = path_parts(path)
    where: dict = {"section": parts[0] if parts and isinstance(parts[0], str) else "bot"}
    if len(parts) >= 2 and parts[0] == "flows":
        flow = _item(doc.get("flows"), parts[1])
        if isinstance(flow, dict) and isinstance(flow.get("name"), str):
            where["flow"] = flow["name"]
        rest = parts[2:]
        if len(rest) >= 2 and rest[0] == "nodes":
            node = _item(flow.get("nodes") if isinstance(flow, dict) else None, rest[1])
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                where["node"] = node["id"]
            rest = rest[2:]
            if len(rest) >= 2 and rest[0] == "cards":
                card = _item(node.get("cards") if isinstance(node, dict) else None, rest[1])
                if isinstance(card, dict) and isinstance(card.get("id"), str):
                    where["card"] = card["id"]
                rest = rest[2:]
        elif len(rest) >= 2 and rest[0] == "variables":
            variable = _item(flow.get("variables") if isinstance(flow, dict) else None, rest[1])
            if isinstance(variable, dict) and isinstance(variable.get("name"), str):
                where["variable"] = variable["name"]
            rest = rest[2:]
        if rest and isinstance(rest[0], str):
            where["field"] = rest[0]
    elif parts and parts[0] == "layout":
        if len(parts) >= 2 and isinstance(parts[1], str):
            where["flow"] = parts[1]
        if len(parts) >= 3 and isinstance(parts[2], str):
            where["node"] = parts[2]
    elif len(parts) >= 2 and parts[0] == "variables":
        variable = _item(doc.get("variables"), parts[1])
        if isinstance(variable, dict) and isinstance(variable.get("name"), str):
            where["variable"] = variable["name"]
    return where


def report(doc: dict, errors: list[Problem]) -> list[dict]:
    """Errors then warnings, each as {severity, path, message, location} for the panel, plus
    `fixes` ([{label, patch}], JSON Patch on the bot file) when the problem has any."""
    flow = typeflow.check(doc)
    seen = set(errors)
    errors = list(errors) + [p for p in flow.errors if p not in seen]
    return [_entry(doc, "error", p) for p in errors] + [
        _entry(doc, "warning", p) for p in flow.warnings + _uncalled_flows(doc)]


def _entry(doc: dict, severity: str, problem: Problem) -> dict:
    entry = {"severity": severity, "path": problem.path, "message": problem.message,
             "location": locate(doc, problem.path)}
    if problem.fixes:
        entry["fixes"] = [dict(fix) for fix in problem.fixes]
    return entry


# ---- warnings -------------------------------------------------------------------------------

def _list(value) -> list:
    return value if isinstance(value, list) else []


def _flows(doc) -> list[tuple[int, dict]]:
    return [(i, f) for i, f in enumerate(_list(doc.get("flows"))) if isinstance(f, dict)]


def _nodes(flow) -> list[tuple[int, dict]]:
    return [(i, n) for i, n in enumerate(_list(flow.get("nodes"))) if isinstance(n, dict)]


def _cards(node) -> list[tuple[int, dict]]:
    return [(i, c) for i, c in enumerate(_list(node.get("cards"))) if isinstance(c, dict)]


def warnings(doc) -> list[Problem]:
    """The type-flow checker's warnings (flows/botfile/typeflow.py: unreachable nodes,
    undeclared or unwritten variables, unknown fields, loops that never wait) and flows
    nobody calls."""
    if not isinstance(doc, dict):
        return []
    return typeflow.check(doc).warnings + _uncalled_flows(doc)


def _uncalled_flows(doc) -> list[Problem]:
    from flows.botfile.schema import RESERVED_FLOWS

    called = set()
    for _, flow in _flows(doc):
        for _, node in _nodes(flow):
            for _, card in _cards(node):
                if card.get("type") == "call" and isinstance(card.get("flow"), str):
                    called.add(card["flow"])
    return [
        Problem(json_path(["flows", fi]), f"flow {flow['name']!r} is never called: no Workflow card uses it")
        for fi, flow in _flows(doc)
        if isinstance(flow.get("name"), str) and flow["name"] not in RESERVED_FLOWS and flow["name"] not in called
    ]
