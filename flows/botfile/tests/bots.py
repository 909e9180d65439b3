"""A small valid bot that the malformed-file tests each break in one place."""
from __future__ import annotations


def base_bot() -> dict:
    return {
        "format": "flowstudio.bot/1",
        "name": "Base",
        "variables": [
            {"scope": "user", "name": "firstName", "type": "string"},
            {"scope": "bot", "name": "size", "type": "enum", "values": ["s", "m", "l"], "default": "m"},
        ],
        "config": [{"name": "API_KEY", "description": "key for the shop"}],
        "flows": [
            {
                "name": "main",
                "nodes": [
                    {"id": "start", "kind": "start", "next": "ask"},
                    {
                        "id": "ask",
                        "kind": "standard",
                        "cards": [
                            {"id": "hello", "type": "text", "text": "Hi {{user.firstName}}"},
                            {"id": "big", "type": "expression", "condition": "bot.size === 'l'", "next": "done"},
                            {"id": "pay", "type": "call", "flow": "checkout", "name": "checkout",
                             "inputs": {"amount": "{{12}}"}},
                            {"id": "pause", "type": "wait"},
                            {"id": "is-track", "type": "intent", "intent": "track_order", "next": "done"},
                            {"id": "get-size", "type": "capture", "capture": "entity_list",
                             "variable": "workflow.size", "prompt": "Which size?", "entity": "size"},
                        ],
                        "next": "done",
                    },
                    {"id": "done", "kind": "standard",
                     "cards": [{"id": "bye", "type": "text", "text": "Paid: {{workflow.checkout.paid}}"}],
                     "next": "end"},
                    {"id": "end", "kind": "end"},
                ],
            },
            {
                "name": "checkout",
                "variables": [
                    {"name": "amount", "type": "number", "input": True},
                    {"name": "paid", "type": "boolean", "default": False, "output": True},
                ],
                "nodes": [
                    {"id": "entry", "kind": "entry", "next": "charge"},
                    {"id": "charge", "kind": "standard",
                     "cards": [{"id": "charge-code", "type": "code", "code": "workflow.paid = workflow.amount < 100"}],
                     "next": "exit"},
                    {"id": "exit", "kind": "exit"},
                ],
            },
            {
                "name": "error",
                "nodes": [
                    {"id": "entry", "kind": "entry", "next": "sorry"},
                    {"id": "sorry", "kind": "standard",
                     "cards": [{"id": "sorry-text", "type": "text", "text": "Oops"}]},
                ],
            },
        ],
        "intents": [{"name": "track_order", "utterances": [
            "where is my order", "track my package", "when will my order arrive", "has my order shipped",
            "order status", "where's my parcel", "is my delivery late", "tracking number please",
            "my package hasn't come", "when does my stuff get here"]}],
        "entities": [
            {"name": "sku", "type": "pattern", "pattern": "[A-Z]{3}-[0-9]{4}"},
            {"name": "size", "type": "list", "values": [{"name": "large", "synonyms": ["big", "xl"]}]},
        ],
        "layout": {"main": {"start": [0, 0], "ask": [240, 0]}, "checkout": {"entry": [0, 0]}},
    }


def main_flow(bot: dict) -> dict:
    return bot["flows"][0]


def ask_cards(bot: dict) -> list:
    return bot["flows"][0]["nodes"][1]["cards"]


def add_flow(bot: dict, name: str, cards: list, variables: list | None = None) -> dict:
    flow = {
        "name": name,
        "variables": variables or [],
        "nodes": [
            {"id": "entry", "kind": "entry", "next": "work"},
            {"id": "work", "kind": "standard", "cards": cards, "next": "exit"},
            {"id": "exit", "kind": "exit"},
        ],
    }
    bot["flows"].append(flow)
    return flow
