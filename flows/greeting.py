"""Does this bot greet when the chat opens? One plain answer, read from the bot file alone.

A channel that opens a conversation (the webchat widget) sends `conversation_started`; the
engine runs the first trigger node of that type (main's first, then the other flows in file
order, docs/engine.md) whose condition holds. The bot greets when such a trigger leads, before
anything waits for the user, to a card or node that speaks. The webchat settings preview, the
share page and the widget show a hint instead of an empty chat when it does not
(docs/webchat.md, "When nothing greets").

Pure: a bot file (dict) in, a bool out; no Django, no database, nothing compiled. A file that
is not valid yet answers as best it can and never raises.
"""
from __future__ import annotations

from collections.abc import Iterator

CONVERSATION_STARTED = "conversation_started"

# What the builder reads when the chat opens silent, in the editor's own words (the node kind
# is "Trigger node"; the emulator's trace calls the event "Conversation started").
NO_GREETING_HINT = ("This bot says nothing when the chat opens. To greet on open, add a Trigger node "
                    "of type Conversation started to the main flow and connect it to a node that sends a message.")
# What a visitor reads instead: builders' instructions are not for a customer's site.
VISITOR_PROMPT = "Send a message to start the conversation."

# Cards whose run puts something in front of the user: every Send Messages card, the capture's
# prompt, the AI text generator (it sends unless told not to).
_SPEAKING_CARDS = {"text", "image", "audio", "video", "file", "location", "card", "carousel",
                   "choice", "dropdown", "bloc", "capture"}
# Cards that stop the turn until the user says something: what follows is not a greeting.
_WAITING_CARDS = {"wait"}
# Card fields that name another node of the same flow (besides the node's own `next`).
_TRANSITION_FIELDS = ("next", "onFailure")


def greets_on_open(document) -> bool:
    """True when opening a conversation makes the bot say something (see the module doc)."""
    flows = _flows(document)
    for flow in _in_trigger_order(flows):
        for node in _nodes(flow):
            trigger = node.get("trigger")
            if node.get("kind") != "trigger" or not isinstance(trigger, dict) or trigger.get("type") != CONVERSATION_STARTED:
                continue
            if _speaks_from(flows, flow, node.get("next")):
                return True
            if not trigger.get("condition"):
                # It always matches, so no later trigger ever runs on conversation start.
                return False
    return False


def _flows(document) -> dict[str, dict]:
    flows = document.get("flows") if isinstance(document, dict) else None
    if not isinstance(flows, list):
        return {}
    return {f["name"]: f for f in flows if isinstance(f, dict) and isinstance(f.get("name"), str)}


def _in_trigger_order(flows: dict[str, dict]) -> Iterator[dict]:
    if "main" in flows:
        yield flows["main"]
    yield from (flow for name, flow in flows.items() if name != "main")


def _nodes(flow: dict) -> list[dict]:
    nodes = flow.get("nodes")
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def _speaks_from(flows: dict[str, dict], flow: dict, first) -> bool:
    """Whether some path from node `first` of `flow` speaks before it waits. Follows every
    branch (a condition may go either way) and the flows its Workflow cards call."""
    seen: set[tuple[str, str]] = set()
    todo = [(flow.get("name", ""), first)]
    while todo:
        flow_name, node_id = todo.pop()
        if not isinstance(node_id, str) or (flow_name, node_id) in seen:
            continue
        seen.add((flow_name, node_id))
        node = next((n for n in _nodes(flows.get(flow_name, {})) if n.get("id") == node_id), None)
        if node is None:
            continue
        if node.get("kind") == "autonomous":
            return True  # the model answers the user
        waited = False
        cards = node.get("cards") if isinstance(node.get("cards"), list) else []
        for card in cards:
            if not isinstance(card, dict):
                continue
            kind = card.get("type")
            if kind in _SPEAKING_CARDS or (kind == "ai_generate_text" and card.get("sendToUser", True)):
                return True
            if kind in _WAITING_CARDS:
                waited = True
                break
            todo.extend((flow_name, card.get(field)) for field in _TRANSITION_FIELDS)
            if kind == "call" and isinstance(card.get("flow"), str):
                called = flows.get(card["flow"], {})
                todo.extend((card["flow"], n.get("id")) for n in _nodes(called) if n.get("kind") == "entry")
        if not waited:
            todo.append((flow_name, node.get("next")))
    return False
