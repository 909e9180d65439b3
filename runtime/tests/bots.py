"""Small bot files the runtime tests talk to, and helpers to store them like the studio does."""
import copy

from flows import services


def create_bot(definition: dict, *, publish: bool = True):
    bot = services.import_bot(copy.deepcopy(definition), workspace=services.default_workspace())
    if publish:
        services.publish(bot)
    return bot


def replace_and_publish(bot, definition: dict):
    services.replace_draft(bot, copy.deepcopy(definition), base_revision=None)
    return services.publish(bot)


def _flow(name, nodes, variables=()):
    return {"name": name, "variables": list(variables), "nodes": nodes}


def _bot(name, flows, *, variables=(), settings=None):
    return {
        "format": "flowstudio.bot/1",
        "name": name,
        "settings": {"inactivityTimeoutMinutes": 30, **(settings or {})},
        "variables": list(variables),
        "flows": flows,
    }


def echo_bot(name="Echo", *, reply="got {{event.preview}}", timeout_minutes=30):
    """Replies to every message and remembers them all: user.seen (list), user.count,
    bot.total. The dialog never ends, it waits again after each reply."""
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "loop"},
            {"id": "loop", "kind": "standard", "cards": [
                {"id": "remember", "type": "code", "code": (
                    "user.seen = (user.seen || []).concat([event.preview]);"
                    "user.count = (user.count || 0) + 1;"
                    "bot.total = (bot.total || 0) + 1;"
                )},
                {"id": "reply", "type": "text", "text": reply},
                {"id": "again", "type": "wait"},
            ], "next": "loop"},
        ]),
        _flow("timeout", [
            {"id": "entry", "kind": "entry", "next": "bye"},
            {"id": "bye", "kind": "standard", "cards": [
                {"id": "bye-text", "type": "text", "text": "Are you still there? Starting over."},
            ], "next": "exit"},
            {"id": "exit", "kind": "exit"},
        ]),
    ], variables=[
        {"scope": "user", "name": "seen", "type": "array"},
        {"scope": "user", "name": "count", "type": "number"},
        {"scope": "bot", "name": "total", "type": "number"},
    ], settings={"inactivityTimeoutMinutes": timeout_minutes})


def two_step_bot(name="Steps", *, label="v1"):
    """A two-message dialog that then ends: greets (tagged with `label`), waits, answers, ends."""
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "hello"},
            {"id": "hello", "kind": "standard", "cards": [
                {"id": "greet", "type": "text", "text": f"{label}: hello"},
                {"id": "w", "type": "wait"},
                {"id": "answer", "type": "text", "text": f"{label}: you said {{{{event.preview}}}}"},
            ], "next": "end"},
            {"id": "end", "kind": "end"},
        ]),
    ])


def variables_bot(name="Vars"):
    """Each message: user.visits += 1, bot.hits += 1, bot.last = the text; replies with both counts."""
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "count"},
            {"id": "count", "kind": "standard", "cards": [
                {"id": "c", "type": "code", "code": (
                    "user.visits = (user.visits || 0) + 1; bot.hits = (bot.hits || 0) + 1;"
                    "bot.last = event.preview;"
                )},
                {"id": "t", "type": "text", "text": "visits={{user.visits}} hits={{bot.hits}}"},
            ]},
        ]),
    ], variables=[
        {"scope": "user", "name": "visits", "type": "number", "default": 0},
        {"scope": "bot", "name": "hits", "type": "number", "default": 0},
        {"scope": "bot", "name": "last", "type": "string"},
        {"scope": "bot", "name": "other", "type": "string"},
    ])


def rich_bot(name="Rich"):
    """Sends one message of several types, then ends."""
    return _bot(name, [
        _flow("main", [
            {"id": "start", "kind": "start", "next": "show"},
            {"id": "show", "kind": "standard", "cards": [
                {"id": "t", "type": "text", "text": "Here you go, {{event.preview}}"},
                {"id": "i", "type": "image", "url": "https://example.org/p.png", "title": "Pizza"},
                {"id": "c", "type": "card", "title": "Menu", "subtitle": "Today",
                 "actions": [{"action": "say", "label": "Small", "value": "s"},
                             {"action": "say", "label": "Large", "value": "l"}]},
            ]},
        ]),
    ])
