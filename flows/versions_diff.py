"""What changed between two bot documents (versions, a version and the draft, or two drafts).

Plain data in, plain data out, no database: the REST API's version diff and stale-save
(409) summaries and the editor's "what changed" panel all use `diff_definitions`.
Nodes are matched by (flow, id) and cards by id (card ids are unique bot-wide, so a card
moved to another node shows as changed with `node` among its fields). Layout is reported
only as a flag: positions never change how a bot runs. Drafts may be unfinished, so
anything malformed (a node without an id, a flow that is not an object) is skipped rather
than refused. The result's shape is documented in docs/rest-api.md ("Version diff").
"""
from __future__ import annotations

from typing import Any

# Top-level sections reported by name; the rest are reported as changed keys of the bot.
_NAMED_SECTIONS = ("variables", "config", "schemas", "intents", "entities", "tables", "knowledgeBases",
                   "hooks", "tests")
_SKIPPED = ("flows", "layout", "format")
# Keys added to the format after versions were stored: a version without one had the default.
_ADDED_LATER = {"folders": []}


def diff_definitions(old: dict | None, new: dict | None) -> dict:
    old, new = _as_dict(old), _as_dict(new)
    old_flows, new_flows = _flows(old), _flows(new)
    old_nodes, new_nodes = _nodes(old_flows), _nodes(new_flows)
    old_cards, new_cards = _cards(old_flows), _cards(new_flows)

    nodes = _compare(old_nodes, new_nodes, _node_entry, _node_fields)
    cards = _compare(old_cards, new_cards, _card_entry, _card_fields)
    touched_flows = {entry["flow"] for group in (nodes, cards) for kind in group.values() for entry in kind}
    flows = {
        "added": sorted(set(new_flows) - set(old_flows)),
        "removed": sorted(set(old_flows) - set(new_flows)),
        "changed": sorted(
            name for name in set(old_flows) & set(new_flows)
            if name in touched_flows or _without(old_flows[name], "nodes") != _without(new_flows[name], "nodes")
        ),
    }
    sections = {key: _named_section(old.get(key), new.get(key)) for key in _NAMED_SECTIONS}
    bot_keys = sorted(
        key for key in set(old) | set(new)
        if key not in _SKIPPED and key not in _NAMED_SECTIONS
        and old.get(key, _ADDED_LATER.get(key)) != new.get(key, _ADDED_LATER.get(key))
    )
    result = {
        "bot": {"changed": bot_keys},
        "flows": flows,
        "nodes": nodes,
        "cards": cards,
        **{key: value for key, value in sections.items()},
        "layoutChanged": old.get("layout") != new.get("layout"),
    }
    result["counts"] = _counts(result)
    result["identical"] = all(count == 0 for count in result["counts"].values()) and not result["layoutChanged"]
    return result


def summary_text(diff: dict) -> str:
    """One line for people: "2 nodes added, 1 card changed" (or "no changes")."""
    parts = []
    for section in ("flows", "nodes", "cards"):
        for kind in ("added", "removed", "changed"):
            count = len(diff[section][kind])
            if count:
                noun = section[:-1] if count == 1 else section
                parts.append(f"{count} {noun} {kind}")
    if diff["bot"]["changed"]:
        parts.append("bot " + ", ".join(diff["bot"]["changed"]) + " changed")
    for key in _NAMED_SECTIONS:
        if any(diff[key].values()):
            parts.append(f"{key} changed")
    if diff["layoutChanged"] and not parts:
        parts.append("layout changed")
    return ", ".join(parts) or "no changes"


# --- walking documents ---------------------------------------------------------------------

def _as_dict(doc) -> dict:
    return doc if isinstance(doc, dict) else {}


def _flows(doc: dict) -> dict[str, dict]:
    flows = doc.get("flows")
    found = {}
    for flow in flows if isinstance(flows, list) else []:
        if isinstance(flow, dict) and isinstance(flow.get("name"), str):
            found[flow["name"]] = flow
    return found


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _nodes(flows: dict[str, dict]) -> dict[tuple, dict]:
    found = {}
    for flow_name, flow in flows.items():
        for node in _list(flow.get("nodes")):
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                found[(flow_name, node["id"])] = {"flow": flow_name, "node": node}
    return found


def _cards(flows: dict[str, dict]) -> dict[str, dict]:
    found = {}
    for flow_name, flow in flows.items():
        for node in _list(flow.get("nodes")):
            if not isinstance(node, dict):
                continue
            for card in _list(node.get("cards")):
                if isinstance(card, dict) and isinstance(card.get("id"), str):
                    found[card["id"]] = {"flow": flow_name, "node": node.get("id"), "card": card}
    return found


def _without(value, *keys) -> Any:
    if not isinstance(value, dict):
        return value
    return {key: item for key, item in value.items() if key not in keys}


def _card_ids(node: dict) -> list:
    return [card.get("id") for card in _list(node.get("cards")) if isinstance(card, dict)]


# --- comparing -----------------------------------------------------------------------------

def _compare(old: dict, new: dict, entry, fields) -> dict:
    changed = []
    for key in sorted(set(old) & set(new), key=str):
        differing = fields(old[key], new[key])
        if differing:
            changed.append({**entry(new[key]), "fields": differing, **_moved(old[key], new[key])})
    return {
        "added": [entry(new[key]) for key in sorted(set(new) - set(old), key=str)],
        "removed": [entry(old[key]) for key in sorted(set(old) - set(new), key=str)],
        "changed": changed,
    }


def _node_entry(item: dict) -> dict:
    node = item["node"]
    return {"flow": item["flow"], "id": node["id"], "name": node.get("name"), "kind": node.get("kind")}


def _node_fields(old: dict, new: dict) -> list[str]:
    a, b = old["node"], new["node"]
    differing = sorted(key for key in set(a) | set(b) if key != "cards" and a.get(key) != b.get(key))
    if _card_ids(a) != _card_ids(b):
        differing.append("cards")
    return differing


def _card_entry(item: dict) -> dict:
    return {"flow": item["flow"], "node": item["node"], "id": item["card"]["id"], "type": item["card"].get("type")}


def _card_fields(old: dict, new: dict) -> list[str]:
    a, b = old["card"], new["card"]
    differing = sorted(key for key in set(a) | set(b) if a.get(key) != b.get(key))
    if (old["flow"], old["node"]) != (new["flow"], new["node"]):
        differing.append("node")
    return differing


def _moved(old: dict, new: dict) -> dict:
    if "card" in old and (old["flow"], old["node"]) != (new["flow"], new["node"]):
        return {"from": {"flow": old["flow"], "node": old["node"]}}
    return {}


def _named_items(section) -> dict[str, Any]:
    found = {}
    for item in _list(section):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            key = f"{item['scope']}.{item['name']}" if isinstance(item.get("scope"), str) else item["name"]
            found[key] = item
    return found


def _named_section(old, new) -> dict:
    a, b = _named_items(old), _named_items(new)
    return {
        "added": sorted(set(b) - set(a)),
        "removed": sorted(set(a) - set(b)),
        "changed": sorted(key for key in set(a) & set(b) if a[key] != b[key]),
    }


def _counts(diff: dict) -> dict[str, int]:
    counts = {}
    for section in ("flows", "nodes", "cards", *_NAMED_SECTIONS):
        counts[section] = sum(len(diff[section][kind]) for kind in ("added", "removed", "changed"))
    counts["bot"] = len(diff["bot"]["changed"])
    return counts
