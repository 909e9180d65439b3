"""The problems panel: where each problem sits in the bot, plus the editor's warnings.

Errors come from the bot-file validator (`flows.botfile`) and block publishing. Warnings
are things a builder wants to know but that do not stop the bot from running: a node no
transition reaches, a variable used but never declared, a custom flow nobody calls.
"""
from __future__ import annotations

import re
from collections import deque

from flows.botfile.problems import Problem, json_path
from runtime.engine import card_transitions

_PATH_TOKEN = re.compile(r'\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')
_ENTRY_KINDS = ("start", "entry", "trigger")
# `scope.name` in templates (`{{ }}`, `@scope.name`), conditions and code. Only the
# declared scopes: session, event, turn and conversation values are not declared anywhere.
_REFERENCE = re.compile(r"(?<![A-Za-z0-9_$.])(workflow|user|bot|env)\s*\.\s*([A-Za-z_$][A-Za-z0-9_$]*)")
_NOT_SCANNED = ("comment",)


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
    """Errors then warnings, each as {severity, path, message, location} for the panel."""
    out = [
        {"severity": "error", "path": p.path, "message": p.message, "location": locate(doc, p.path)}
        for p in errors
    ]
    out += [
        {"severity": "warning", "path": p.path, "message": p.message, "location": locate(doc, p.path)}
        for p in warnings(doc)
    ]
    return out


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
    if not isinstance(doc, dict):
        return []
    return _unreachable_nodes(doc) + _undeclared_variables(doc) + _uncalled_flows(doc)


def _targets(node: dict) -> list[str]:
    out = [node.get("next")]
    for _, card in _cards(node):
        out += list(card_transitions(card).values())
    return [target for target in out if isinstance(target, str)]


def _unreachable_nodes(doc) -> list[Problem]:
    problems = []
    for fi, flow in _flows(doc):
        nodes = _nodes(flow)
        by_id = {node.get("id"): node for _, node in nodes}
        seen = {node.get("id") for _, node in nodes if node.get("kind") in _ENTRY_KINDS}
        queue = deque(seen)
        while queue:
            node = by_id.get(queue.popleft())
            for target in _targets(node) if node else []:
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        for ni, node in nodes:
            if node.get("id") not in seen:
                problems.append(Problem(
                    json_path(["flows", fi, "nodes", ni]),
                    f"node {node.get('name') or node.get('id')!r} is never reached: no transition leads to it",
                ))
    return problems


def _strings(value, parts):
    if isinstance(value, str):
        yield parts, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, parts + [key])
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, parts + [i])


def _names(entries, **match) -> set[str]:
    return {
        entry["name"] for entry in _list(entries)
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
        and all(entry.get(k) == v for k, v in match.items())
    }


def _undeclared_variables(doc) -> list[Problem]:
    declared_by_scope = {
        "user": _names(doc.get("variables"), scope="user"),
        "bot": _names(doc.get("variables"), scope="bot"),
        "env": _names(doc.get("config")),
    }
    problems = []
    for fi, flow in _flows(doc):
        workflow = _names(flow.get("variables"))
        for _, node in _nodes(flow):
            for _, card in _cards(node):
                if card.get("type") == "call" and isinstance(card.get("name"), str):
                    workflow.add(card["name"])  # the call's outputs land in workflow.<name>
        for ni, node in _nodes(flow):
            for ci, card in _cards(node):
                if card.get("type") in _NOT_SCANNED:
                    continue
                reported: set[str] = set()
                fields = {k: v for k, v in card.items() if k not in ("id", "type")}
                for parts, text in _strings(fields, ["flows", fi, "nodes", ni, "cards", ci]):
                    for scope, name in _REFERENCE.findall(text):
                        known = workflow if scope == "workflow" else declared_by_scope[scope]
                        reference = f"{scope}.{name}"
                        if name in known or reference in reported:
                            continue
                        reported.add(reference)
                        where = "this flow's variables" if scope == "workflow" else (
                            "the configuration variables" if scope == "env" else f"the {scope} variables")
                        problems.append(Problem(
                            json_path(parts), f"{reference} is not declared; add it to {where}",
                        ))
    return problems


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
