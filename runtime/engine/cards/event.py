"""The Send Event card: the bot emits a custom event (not a message) to the conversation.

Its output is `{"type": "event", "payload": {...}}`. The turn service stores and delivers it
like a message; the Chat API shows it as an `event_created` signal from the bot, the webchat
hands it to the page as a custom event. `payload` is an object whose strings are templates,
or one template that gives an object (`{{event.payload}}` passes a custom event through)."""
from __future__ import annotations

from ..errors import BotRuntimeError
from ..events import CUSTOM_EVENT
from ..templates import compile_json_template
from .base import CONTINUE, Card, CardConfig, CardFamily, register
from .fields import ObjectTemplate


class _SendEvent(Card):
    __slots__ = ("payload",)

    def __init__(self, payload):
        self.payload = payload

    def run(self, rt):
        payload = rt.value(self.payload)
        if not isinstance(payload, dict):
            shown = "nothing" if payload is None else type(payload).__name__
            raise BotRuntimeError(f"the payload of sendEvent card {self.id!r} must be an object, got {shown}")
        rt.emit({"type": CUSTOM_EVENT, "payload": payload})
        return CONTINUE


@register
class SendEventCard(CardFamily):
    types = ("sendEvent",)
    label = "Send Event"
    category = "Utilities"

    class Config(CardConfig):
        payload: ObjectTemplate

    def compile(self, card_type, config, ctx):
        return _SendEvent(compile_json_template(config.payload))
