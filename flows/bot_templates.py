"""The templates a new bot starts from (the New Bot dialog): each is a bot file in
`examples/templates/`, with its own conversation tests, so a template is checked like any
example bot and a builder can read it as one."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "examples" / "templates"


@dataclass(frozen=True)
class BotTemplate:
    key: str
    title: str
    summary: str
    needs_llm: bool = False

    @property
    def path(self) -> Path:
        return TEMPLATES_DIR / f"{self.key}.bot.json"


# The dialog's order.
TEMPLATES = (
    BotTemplate("blank", "Blank", "A main flow from Start to End, and an error flow that apologises when a turn fails."),
    BotTemplate("lead-capture", "Lead capture",
                "Asks for name, email and company, stores them in user variables and confirms."),
    BotTemplate("faq", "FAQ", "Recognises a few questions with intents and answers them; a fallback answer for the rest."),
    BotTemplate("faq-knowledge", "FAQ with a knowledge base",
                "Answers questions from a knowledge base of FAQ answers with a Query Knowledge Bases card (the best "
                "answer as written, or a language model's when the bot has one); a fallback when nothing matches."),
    BotTemplate("ai-assistant", "AI assistant",
                "An autonomous node follows your instructions and stores the visitor's email with a capture card "
                "it calls as a tool.", needs_llm=True),
    BotTemplate("order-status", "Order status with a table",
                "Asks for an order number, finds it in an Orders table with a Find Records card and says where "
                "the order is; asks again for a number it does not know."),
    BotTemplate("support-handoff", "Support with handoff",
                "Answers password and billing questions and, when the visitor asks for a person, hands the "
                "conversation to your team's Inbox with an Escalate card."),
)
BY_KEY = {template.key: template for template in TEMPLATES}


class UnknownTemplate(ValueError):
    pass


@lru_cache(maxsize=None)
def _read(key: str) -> dict:
    return json.loads(BY_KEY[key].path.read_text(encoding="utf-8"))


def template_document(key: str) -> dict:
    """A fresh copy of the template's bot file (its tests included, so the new bot's
    conversation tests run from the first minute)."""
    if key not in BY_KEY:
        known = ", ".join(BY_KEY)
        raise UnknownTemplate(f"there is no bot template {key!r} (the templates are {known})")
    return copy.deepcopy(_read(key))
