"""A tiny conversation driver for engine tests: keeps state, user and bot variables
between turns the way the turn service does, with no database."""
from __future__ import annotations

import itertools

from runtime.engine import TurnInput, compile_bot, run_turn

_ids = itertools.count(1)


def node(id, *cards, next=None, kind="standard", name=None):
    n = {"id": id, "kind": kind, "cards": list(cards), "next": next}
    if name:
        n["name"] = name
    return n


def card(type, **fields):
    return {"id": fields.pop("id", f"c{next(_ids)}"), "type": type, **fields}


def text(t, **kw):
    return card("text", text=t, **kw)


def flow(name, *nodes, variables=()):
    return {"name": name, "variables": list(variables), "nodes": list(nodes)}


def bot(*flows, variables=(), settings=None, **extra):
    doc = {"format": "flowstudio.bot/1", "name": "test", "flows": list(flows), "variables": list(variables)}
    if settings:
        doc["settings"] = settings
    doc.update(extra)
    return doc


def main(*nodes, start_next, variables=()):
    return flow("main", node("start", kind="start", next=start_next), *nodes, variables=variables)


class Chat:
    def __init__(self, definition, *, env=None, user=None, bot_vars=None, sandbox=None, llm=None, llm_token_budget=None,
                 tools=None, tables=None):
        self.build = compile_bot(definition)
        self.state: dict = {}
        self.user = dict(user or self.build.user_defaults())
        self.bot = dict(bot_vars or self.build.bot_defaults())
        self.env = env or {}
        self.sandbox = sandbox
        self.last = None
        self.llm, self.llm_token_budget = llm, llm_token_budget
        self.tools = tools  # a ToolHost (TurnInput.tools)
        self.tables = tables  # a TableHost (TurnInput.tables)
        self.streamed: list[tuple[str, str]] = []
        self.discarded: list[str] = []  # stream ids the turn took back
        # Earlier user messages, as the turn service passes them (TurnInput.history).
        self.history: list[str] = []

    def send(self, event: dict):
        result = run_turn(self.build, TurnInput(self.state, event, self.user, self.bot, self.env, self.sandbox,
                                                llm=self.llm, llm_token_budget=self.llm_token_budget, tools=self.tools,
                                                tables=self.tables,
                                                history=list(self.history),
                                                on_stream=lambda sid, delta: self.streamed.append((sid, delta)),
                                                on_stream_discard=self.discarded.append))
        if isinstance(event.get("preview"), str) and event.get("type") == "text":
            self.history.append(event["preview"])
        self.state = result.state
        self.user = result.user
        for name, value in result.bot_changes.items():
            if value is None:
                self.bot.pop(name, None)
            else:
                self.bot[name] = value
        self.last = result
        return result

    def say(self, message: str) -> list[str]:
        result = self.send({"type": "text", "payload": {"text": message}, "preview": message})
        return [o.get("text") or o.get("markdown") or o["type"] for o in result.outputs]

    def timeout(self) -> list[str]:
        result = self.send({"type": "timeout", "payload": {}})
        return [o.get("text") or o["type"] for o in result.outputs]

    def trace_types(self) -> list[str]:
        return [t["type"] for t in self.last.trace]
