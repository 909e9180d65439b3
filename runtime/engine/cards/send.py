"""Send Messages cards: each renders its templates and emits one typed message.

Payload shapes follow the Botpress Chat API message types, so every channel can pass
them through unchanged (`text`, `markdown`, `image`, `audio`, `video`, `file`, `location`,
`card`, `carousel`, `choice`, `dropdown`, `bloc`).

Every one of them takes an optional `metadata`: an object (its strings are templates) or
one template that gives an object, such as `{{event.metadata}}`. It travels beside the
payload as the message's `metadata` (the Chat API's field), never inside it.
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from ..errors import BotRuntimeError
from ..templates import compile_json_template, compile_template
from .base import CONTINUE, Card, CardConfig, CardFamily, register
from .fields import ObjectTemplate, RequiredTemplate, TemplateStr


class _WithMetadata(CardConfig):
    metadata: ObjectTemplate | None = None


def _metadata(config):
    return compile_json_template(config.metadata) if config.metadata is not None else None


def emit_with_metadata(rt, card: Card, message: dict, metadata) -> None:
    """Emit `message`, with the card's metadata evaluated beside it (left out when unset)."""
    if metadata is not None:
        value = rt.value(metadata)
        if value is not None:
            if not isinstance(value, dict):
                raise BotRuntimeError(
                    f"metadata of card {card.id!r} must be an object, got {type(value).__name__}"
                )
            message["metadata"] = value
    rt.emit(message)


class _Rendered(Card):
    """A card whose output is a dict of templates rendered at run time."""

    __slots__ = ("message_type", "fields", "static", "metadata")

    def __init__(self, message_type: str, fields: dict, static: dict | None = None, metadata=None):
        self.message_type = message_type
        self.fields = fields  # name -> Template
        self.static = static or {}
        self.metadata = metadata

    def run(self, rt):
        msg = {"type": self.message_type}
        for name, template in self.fields.items():
            msg[name] = rt.render(template)
        msg.update(self.static)
        emit_with_metadata(rt, self, msg, self.metadata)
        return CONTINUE


@register
class TextCard(CardFamily):
    types = ("text",)
    label = "Text"
    category = "Send Messages"

    class Config(_WithMetadata):
        text: RequiredTemplate = Field(title="Message", description="The text sent; {{ }} and @scope.name are "
                                                                      "replaced by values.")
        markdown: bool = Field(default=False, title="Markdown", description="Format the text as Markdown.")

    def compile(self, card_type, config, ctx):
        if config.markdown:
            return _Rendered("markdown", {"markdown": compile_template(config.text)}, metadata=_metadata(config))
        return _Rendered("text", {"text": compile_template(config.text)}, metadata=_metadata(config))


class _MediaConfig(_WithMetadata):
    url: RequiredTemplate = Field(title="URL", description="Where the file is (https://...).")
    title: RequiredTemplate = Field(title="Title", description="Shown with the file, and to screen readers.")


@register
class MediaCard(CardFamily):
    types = ("image", "audio", "video", "file")
    label = "Media"
    category = "Send Messages"
    Config = _MediaConfig

    def compile(self, card_type, config, ctx):
        return _Rendered(
            card_type,
            {f"{card_type}Url": compile_template(config.url), "title": compile_template(config.title)},
            metadata=_metadata(config),
        )


@register
class LocationCard(CardFamily):
    types = ("location",)
    label = "Location"
    category = "Send Messages"

    class Config(_WithMetadata):
        latitude: float = Field(ge=-90, le=90, title="Latitude")
        longitude: float = Field(ge=-180, le=180, title="Longitude")
        title: TemplateStr | None = Field(default=None, title="Title")
        address: TemplateStr | None = Field(default=None, title="Address")

    def compile(self, card_type, config, ctx):
        fields = {}
        for name in ("title", "address"):
            value = getattr(config, name)
            if value:
                fields[name] = compile_template(value)
        return _Rendered("location", fields, {"latitude": config.latitude, "longitude": config.longitude},
                         metadata=_metadata(config))


class CardAction(CardConfig):
    action: Literal["url", "postback", "say"] = Field(
        title="Action", description="url: open a link; postback: send the value without showing it; say: send "
                                    "the value as if the user typed it.")
    label: RequiredTemplate = Field(title="Label")
    value: RequiredTemplate = Field(title="Value", description="The link (url) or what is sent (postback, say).")


class CardItem(CardConfig):
    title: RequiredTemplate = Field(title="Title")
    subtitle: TemplateStr | None = Field(default=None, title="Subtitle")
    image_url: TemplateStr | None = Field(default=None, title="Image URL")
    actions: list[CardAction] = Field(default_factory=list, title="Buttons")


class _RichCard(Card):
    __slots__ = ("items", "carousel", "metadata")

    def __init__(self, items: list[CardItem], carousel: bool, metadata=None):
        self.metadata = metadata
        self.items = [
            {
                "title": compile_template(i.title),
                "subtitle": compile_template(i.subtitle) if i.subtitle else None,
                "imageUrl": compile_template(i.image_url) if i.image_url else None,
                "actions": [
                    {"action": a.action, "label": compile_template(a.label), "value": compile_template(a.value)}
                    for a in i.actions
                ],
            }
            for i in items
        ]
        self.carousel = carousel

    def _render_item(self, rt, item):
        out = {"title": rt.render(item["title"])}
        if item["subtitle"] is not None:
            out["subtitle"] = rt.render(item["subtitle"])
        if item["imageUrl"] is not None:
            out["imageUrl"] = rt.render(item["imageUrl"])
        out["actions"] = [
            {"action": a["action"], "label": rt.render(a["label"]), "value": rt.render(a["value"])}
            for a in item["actions"]
        ]
        return out

    def run(self, rt):
        rendered = [self._render_item(rt, i) for i in self.items]
        if self.carousel:
            message = {"type": "carousel", "items": [{"type": "card", **i} for i in rendered]}
        else:
            message = {"type": "card", **rendered[0]}
        emit_with_metadata(rt, self, message, self.metadata)
        return CONTINUE


@register
class RichCard(CardFamily):
    types = ("card",)
    label = "Card"
    category = "Send Messages"

    class Config(CardItem, _WithMetadata):
        pass

    def compile(self, card_type, config, ctx):
        return _RichCard([config], carousel=False, metadata=_metadata(config))


@register
class CarouselCard(CardFamily):
    types = ("carousel",)
    label = "Carousel"
    category = "Send Messages"

    class Config(_WithMetadata):
        items: list[CardItem] = Field(min_length=1, title="Cards", description="Shown side by side; at least one.")

    def compile(self, card_type, config, ctx):
        return _RichCard(config.items, carousel=True, metadata=_metadata(config))


class ChoiceOption(CardConfig):
    label: RequiredTemplate
    value: RequiredTemplate


class _Choice(Card):
    __slots__ = ("message_type", "text", "options", "metadata")

    def __init__(self, message_type, text, options, metadata):
        self.message_type = message_type
        self.text = compile_template(text)
        self.options = [(compile_template(o.label), compile_template(o.value)) for o in options]
        self.metadata = metadata

    def run(self, rt):
        message = {
            "type": self.message_type,
            "text": rt.render(self.text),
            "options": [{"label": rt.render(label), "value": rt.render(value)} for label, value in self.options],
        }
        emit_with_metadata(rt, self, message, self.metadata)
        return CONTINUE


@register
class ChoiceCard(CardFamily):
    """Buttons (`choice`) or a list (`dropdown`) the user picks from. Nothing waits for the
    answer: the click arrives as the next user message (a Capture card both asks and waits)."""

    types = ("choice", "dropdown")
    label = "Choice"
    category = "Send Messages"

    class Config(_WithMetadata):
        text: RequiredTemplate
        options: list[ChoiceOption] = Field(min_length=1)

    def compile(self, card_type, config, ctx):
        return _Choice(card_type, config.text, config.options, _metadata(config))


# Bloc items are written in the bot file exactly as the Chat API sends them.
class _BlocText(CardConfig):
    type: Literal["text"]
    text: RequiredTemplate


class _BlocMarkdown(CardConfig):
    type: Literal["markdown"]
    markdown: RequiredTemplate


class _BlocImage(CardConfig):
    type: Literal["image"]
    image_url: RequiredTemplate


class _BlocAudio(CardConfig):
    type: Literal["audio"]
    audio_url: RequiredTemplate


class _BlocVideo(CardConfig):
    type: Literal["video"]
    video_url: RequiredTemplate


class _BlocFile(CardConfig):
    type: Literal["file"]
    file_url: RequiredTemplate
    title: TemplateStr | None = None


class _BlocLocation(CardConfig):
    type: Literal["location"]
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    title: TemplateStr | None = None
    address: TemplateStr | None = None


BlocItem = Annotated[
    Union[_BlocText, _BlocMarkdown, _BlocImage, _BlocAudio, _BlocVideo, _BlocFile, _BlocLocation],
    Field(discriminator="type"),
]


class _Bloc(Card):
    __slots__ = ("items", "metadata")

    def __init__(self, items, metadata):
        # (type, {field: Template}, {field: number}): text fields render as text, coordinates stay numbers
        self.items = []
        for item in items:
            fields = item.model_dump(by_alias=True, exclude_none=True)
            item_type = fields.pop("type")
            texts = {k: compile_template(v) for k, v in fields.items() if isinstance(v, str)}
            static = {k: v for k, v in fields.items() if not isinstance(v, str)}
            self.items.append((item_type, texts, static))
        self.metadata = metadata

    def run(self, rt):
        items = [{"type": item_type, **{k: rt.render(t) for k, t in texts.items()}, **static}
                 for item_type, texts, static in self.items]
        emit_with_metadata(rt, self, {"type": "bloc", "items": items}, self.metadata)
        return CONTINUE


@register
class BlocCard(CardFamily):
    """Several text, markdown, media or location items sent as one message."""

    types = ("bloc",)
    label = "Bloc"
    category = "Send Messages"

    class Config(_WithMetadata):
        items: list[BlocItem] = Field(min_length=1)

    def compile(self, card_type, config, ctx):
        return _Bloc(config.items, _metadata(config))
