"""Escalate to a Human (Botpress's "Escalate to a Human" / "Start HITL" card): the bot hands
the conversation to the people of the workspace.

The card sends its message to the user (when it has one), asks the runtime to escalate (the
turn's result carries `escalation = {"reason", "priority", "card"}`) and suspends the dialog
on itself. From then on the runtime does not run the bot for this conversation: the user's
messages go to the Inbox (runtime/handoff.py, docs/handoff.md).

The dialog leaves the card when the runtime sends the `hitlStopped` event (events.py):
`{"reason": "returned"}` (an agent handed the conversation back) continues at the card after
this one; `{"reason": "ended"}` ends the dialog as an end node does. A user message that
reaches the card while the conversation is back with the bot also continues after it.
"""
from typing import Literal

from pydantic import Field

from ..templates import compile_template
from .base import CONTINUE, SUSPEND, Card, CardConfig, CardFamily, register
from .fields import TemplateStr

PRIORITIES = ("low", "normal", "high", "urgent")


class _Escalate(Card):
    __slots__ = ("reason", "priority", "message")
    suspends = True

    def __init__(self, reason, priority: str, message):
        self.reason = reason
        self.priority = priority
        self.message = message

    def run(self, rt):
        text = rt.render(self.message) if self.message is not None else ""
        if text.strip():
            rt.emit({"type": "text", "text": text})
        rt.escalate(reason=rt.render(self.reason) if self.reason is not None else "", priority=self.priority,
                    card=self.id)
        return SUSPEND

    def resume(self, rt):
        return CONTINUE


@register
class EscalateCard(CardFamily):
    types = ("escalate",)
    label = "Escalate to a Human"
    category = "Flow Logic"

    class Config(CardConfig):
        reason: TemplateStr = Field(default="", max_length=2_000, title="Reason",
                                    description="Why a person should take over; shown in the Inbox.")
        priority: Literal[PRIORITIES] = Field(default="normal", title="Priority",
                                              description="Orders the Inbox queue: urgent first.")
        message: TemplateStr = Field(default="", max_length=4_000, title="Message to the user",
                                     description="Sent to the user before the handoff (empty: nothing is sent).")

    def compile(self, card_type, config, ctx):
        return _Escalate(compile_template(config.reason) if config.reason else None, config.priority,
                         compile_template(config.message) if config.message else None)
