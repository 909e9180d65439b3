"""Send Messages cards: each renders its templates and emits one typed message.

Payload shapes follow the Botpress Chat API message types, so every channel can pass
them through unchanged (`text`, `markdown`, `image`, `audio`, `video`, `file`, `location`,
`card`, `carousel`)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..templates import compile_template
from .base import CONTINUE, Card, CardConfig, CardFamily, register
from .fields import RequiredTemplate, TemplateStr


class _Rendered(Card):
    """A card whose output is a dict of templates rendered at run time."""

    __slots__ = ("message_type", "fields", "static")

    def __init__(self, message_type: str, fields: dict, static: dict | None = None):
        self.message_type = message_type
        self.fields = fields  # name -> Template
        self.static = static or {}

    def run(self, rt):
        msg = {"type": self.message_type}
        for name, template in self.fields.items():
            msg[name] = rt.render(template)
        msg.update(self.static)
        rt.emit(msg)
        return CONTINUE


@register
class TextCard(CardFamily):
    types = ("text",)
    label = "Text"
    category = "Send Messages"

    class Config(CardConfig):
        text: RequiredTemplate = Field(title="Message", description="The text sent; {{ }} and @scope.name are "
                                                                      "replaced by values.")
        markdown: bool = Field(default=False, title="Markdown", description="Format the text as Markdown.")

    def compile(self, card_type, config, ctx):
        if config.markdown:
            return _Rendered("markdown", {"markdown": compile_template(config.text)})
        return _Rendered("text", {"text": compile_template(config.text)})


class _MediaConfig(CardConfig):
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
        )


@register
class LocationCard(CardFamily):
    types = ("location",)
    label = "Location"
    category = "Send Messages"

    class Config(CardConfig):
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
        return _Rendered("location", fields, {"latitude": config.latitude, "longitude": config.longitude})


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
    __slots__ = ("items", "carousel")

    def __init__(self, items: list[CardItem], carousel: bool):
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
            rt.emit({"type": "carousel", "items": [{"type": "card", **i} for i in rendered]})
        else:
            rt.emit({"type": "card", **rendered[0]})
        return CONTINUE


@register
class RichCard(CardFamily):
    types = ("card",)
    label = "Card"
    category = "Send Messages"
    Config = CardItem

    def compile(self, card_type, config, ctx):
        return _RichCard([config], carousel=False)


@register
class CarouselCard(CardFamily):
    types = ("carousel",)
    label = "Carousel"
    category = "Send Messages"

    class Config(CardConfig):
        items: list[CardItem] = Field(min_length=1, title="Cards", description="Shown side by side; at least one.")

    def compile(self, card_type, config, ctx):
        return _RichCard(config.items, carousel=True)
