"""Intent card: a transition that fires when the user's message means a given intent.

The intent is a library intent (by name), the special "none" (the message matched no
intent), or an inline intent: utterances written on the card itself. Like the Expression
card it is evaluated when the cursor reaches it, on the current event, and the first
transition card of a node that holds fires; a card whose port is not connected is skipped.

Which intents compete: the library intents plus the inline intents of the cards of the
same node. An inline intent is thereby limited to its node (Library.md: "limited to
specific scenarios"), and two inline intents of one node are told apart from each other.
The winner must reach the bot's `intentConfidence`; below it the result is "none".
"""
from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from ..nlu.bot import inline_intent_name
from ..nlu.library import NAME_PATTERN, NONE_INTENT, Utterances
from .base import CONTINUE, Card, CardConfig, CardFamily, Jump, register
from .fields import NodeRef


class IntentConfig(CardConfig):
    intent: str | None = Field(
        default=None, title="Intent", pattern=NAME_PATTERN,
        description="A library intent, or 'none' for a message that matches no intent. "
                    "Leave empty to write an inline intent (utterances) instead.",
        json_schema_extra={"x-options": "intents"},
    )
    utterances: Utterances | None = Field(
        default=None, title="Inline intent",
        description="Utterances of an intent that exists only on this card (at least 10). "
                    "Leave empty to use a library intent.",
    )
    next: NodeRef = Field(default=None, title="Transition", description="The node taken when the intent matches.")
    label: str | None = Field(default=None, max_length=200, title="Label",
                              description="A short name shown on the card's port.")

    @model_validator(mode="after")
    def _one_intent(self):
        if (self.intent is None) == (self.utterances is None):
            raise ValueError("give either intent (a library intent or 'none') or utterances (an inline intent), "
                             "not both and not neither")
        return self


class _Intent(Card):
    __slots__ = ("name", "shown", "among", "target")

    def __init__(self, name: str, shown: str, among: tuple[str, ...], target: str | None):
        self.name = name  # the model's name for it; "none" for the no-match card
        self.shown = shown
        self.among = among
        self.target = target

    def run(self, rt) -> Any:
        if self.target is None:
            return CONTINUE
        analysis = rt.nlu_analysis()
        result = analysis.best(self.among) if analysis is not None else None
        matched = result.intent if result is not None else NONE_INTENT
        holds = matched == self.name
        rt.add_trace("intent_checked", intent=self.shown, matched=_shown(matched),
                     confidence=round(result.confidence, 4) if result else 0.0, fired=holds)
        return Jump(self.target) if holds else CONTINUE


def _shown(name: str) -> str:
    return "inline" if name.startswith("inline:") else name


@register
class IntentCard(CardFamily):
    types = ("intent",)
    label = "Intent"
    category = "Flow Logic"
    transition_fields = ("next",)
    Config = IntentConfig

    def compile(self, card_type, config: IntentConfig, ctx):
        among = (*ctx.library_intents, *ctx.node_intents)
        if config.utterances is not None:
            name = inline_intent_name(ctx.card_id)
            shown = "inline" if not config.label else f"inline ({config.label})"
        else:
            name = shown = config.intent
        return _Intent(name, shown, among, config.next)
