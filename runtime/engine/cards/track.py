"""The Track Event card: counts a custom analytics event (Botpress's "Track Analytics").

It sends nothing and changes no variable: it writes a `tracked` trace entry with the event's
`name`, an optional numeric `value` and optional `properties`. When the turn is stored the
runtime copies name and value into the event's analytics facts (runtime.analytics.turn_facts)
and the daily rollup counts them per name and day, with the sum of the values; the Analytics
page draws them as custom events per day (docs/dashboard.md). Properties stay in the turn's
trace (the transcript's turn view shows them) and are not aggregated: a property per user
would make a counter per user.

The name is a fixed identifier, not a template, so the counters stay a short, known list."""
from __future__ import annotations

import math

from pydantic import Field

from ..errors import BotRuntimeError
from ..templates import compile_json_template, compile_template
from .base import CONTINUE, Card, CardConfig, CardFamily, register
from .fields import ObjectTemplate, TemplateStr

EVENT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class _TrackEvent(Card):
    __slots__ = ("name", "value", "properties")

    def __init__(self, name: str, value, properties):
        self.name = name
        self.value = value
        self.properties = properties

    def run(self, rt):
        entry = {"name": self.name}
        if self.value is not None:
            entry["value"] = self._number(rt.render(self.value))
        if self.properties is not None:
            properties = rt.value(self.properties)
            if not isinstance(properties, dict):
                shown = "nothing" if properties is None else type(properties).__name__
                raise BotRuntimeError(f"the properties of trackEvent card {self.id!r} must be an object, got {shown}")
            entry["properties"] = properties
        rt.add_trace("tracked", **entry)
        return CONTINUE

    def _number(self, text: str) -> float | None:
        text = text.strip()
        if not text:
            return None  # a template that gave nothing: the event is counted without a value
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise BotRuntimeError(f"the value of trackEvent card {self.id!r} must be a number, got {text[:80]!r}")
        return number


@register
class TrackEventCard(CardFamily):
    types = ("trackEvent",)
    label = "Track Event"
    category = "Utilities"

    class Config(CardConfig):
        name: str = Field(pattern=EVENT_NAME_PATTERN, title="Event name",
                          description="Counted per day on the Analytics page (letters, digits, _ . : -; up to 64).")
        value: TemplateStr = Field(default="", max_length=2_000, title="Value",
                                   description="A number added up per day, e.g. {{workflow.total}} (empty: none).")
        properties: ObjectTemplate = Field(default_factory=dict, title="Properties",
                                           description="An object kept with the turn's trace; not aggregated.")

    def compile(self, card_type, config, ctx):
        return _TrackEvent(config.name, compile_template(config.value) if config.value.strip() else None,
                           compile_json_template(config.properties) if config.properties not in ({}, "") else None)
