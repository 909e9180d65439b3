"""Webchat cards: the bot drives the widget on the page (Botpress "Webchat" card category).

None of them sends a message. Each emits a custom event (`{"type": "event", "payload":
{...}}`, like the Send Event card) that the webchat understands; other channels store and
pass it on like any event. The payload types the widget acts on:

| card | payload | what the widget does |
| --- | --- | --- |
| `webchatConfigure` | `{"type": "webchat:configure", "configuration": {...}}` | merges it into its configuration |
| `webchatShow` / `webchatHide` / `webchatToggle` | `{"type": "webchat:show"}` ... | opens / closes / toggles the chat window |
| `webchatSendEvent` | the card's object | hands it to the page: `botpress.on("customEvent")` |

`webchatGetUserData` reads what the page said about the user (`botpress.updateUser`,
`init({user})`, a signed identity). The webchat sends it with every event as
`event.metadata.webchat.user`; the card copies it (`{id, name, pictureUrl, data}`) into a
variable, or stores null outside the webchat.
"""
from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ..errors import BotRuntimeError
from ..events import CUSTOM_EVENT
from ..templates import compile_json_template
from .base import CONTINUE, Card, CardConfig, CardFamily, register
from .fields import ObjectTemplate

CONFIGURE = "webchat:configure"
SHOW = "webchat:show"
HIDE = "webchat:hide"
TOGGLE = "webchat:toggle"
VARIABLE_REF = r"^(workflow|user|bot|session|conversation)\.[A-Za-z_][A-Za-z0-9_]{0,63}$"
# What Configure Webchat may change at run time (docs/webchat.md, "Configuration").
CONFIGURABLE = frozenset({
    "botName", "botAvatar", "botDescription", "composerPlaceholder", "color", "themeMode",
    "fontFamily", "showButton", "showTimestamp", "allowFileUpload", "additionalStylesheet",
    "website", "email", "phone", "termsOfService", "privacyPolicy",
})


class _Emit(Card):
    """Emit one custom event whose payload is a JSON template (or a fixed object)."""

    __slots__ = ("payload", "wrap")

    def __init__(self, payload, wrap: str | None = None):
        self.payload = payload
        self.wrap = wrap

    def run(self, rt):
        value = rt.value(self.payload) if self.payload is not None else {}
        if not isinstance(value, dict):
            shown = "nothing" if value is None else type(value).__name__
            raise BotRuntimeError(f"{self.type} card {self.id!r} needs an object, got {shown}")
        if self.wrap == CONFIGURE:
            unknown = sorted(set(value) - CONFIGURABLE)
            if unknown:
                raise BotRuntimeError(f"{self.type} card {self.id!r}: {', '.join(unknown)} cannot be configured "
                                      f"(allowed: {', '.join(sorted(CONFIGURABLE))})")
            value = {"type": CONFIGURE, "configuration": value}
        elif self.wrap is not None:
            value = {"type": self.wrap}
        rt.emit({"type": CUSTOM_EVENT, "payload": value})
        return CONTINUE


@register
class ConfigureWebchatCard(CardFamily):
    types = ("webchatConfigure",)
    label = "Configure Webchat"
    category = "Webchat"

    class Config(CardConfig):
        configuration: ObjectTemplate

        @field_validator("configuration")
        @classmethod
        def _known_keys(cls, value: Any):
            if isinstance(value, dict):
                unknown = sorted(set(value) - CONFIGURABLE)
                if unknown:
                    raise ValueError(f"{', '.join(unknown)} cannot be configured; "
                                     f"use {', '.join(sorted(CONFIGURABLE))}")
            return value

    def compile(self, card_type, config, ctx):
        return _Emit(compile_json_template(config.configuration), wrap=CONFIGURE)


@register
class WebchatVisibilityCard(CardFamily):
    types = ("webchatShow", "webchatHide", "webchatToggle")
    label = "Show / Hide / Toggle Webchat"
    category = "Webchat"

    class Config(CardConfig):
        pass

    def compile(self, card_type, config, ctx):
        return _Emit(None, wrap={"webchatShow": SHOW, "webchatHide": HIDE, "webchatToggle": TOGGLE}[card_type])


@register
class WebchatSendEventCard(CardFamily):
    types = ("webchatSendEvent",)
    label = "Send Custom Event"
    category = "Webchat"

    class Config(CardConfig):
        event: ObjectTemplate

    def compile(self, card_type, config, ctx):
        return _Emit(compile_json_template(config.event))


class _GetUserData(Card):
    __slots__ = ("variable",)

    def __init__(self, variable: str):
        self.variable = variable

    def run(self, rt):
        metadata = rt.event.get("metadata")
        webchat = metadata.get("webchat") if isinstance(metadata, dict) else None
        found = webchat.get("user") if isinstance(webchat, dict) else None
        if isinstance(found, dict):
            value = {
                "id": found.get("id") or rt.event.get("userId"),
                "name": found.get("name"),
                "pictureUrl": found.get("pictureUrl"),
                "data": found.get("data") if isinstance(found.get("data"), dict) else {},
            }
        else:
            value = None
        rt.set_variable(self.variable, value)
        return CONTINUE


@register
class GetUserDataCard(CardFamily):
    types = ("webchatGetUserData",)
    label = "Get User Data"
    category = "Webchat"

    class Config(CardConfig):
        variable: str = Field(pattern=VARIABLE_REF, description="where to store {id, name, pictureUrl, data}")

    def compile(self, card_type, config, ctx):
        return _GetUserData(config.variable)
