"""Log and Comment cards: neither sends anything to the user. A Log card writes a line
to the bot's logs (shown in the debugger); a Comment is a note for builders."""
from typing import Literal

from pydantic import Field

from ..templates import compile_template
from .base import CONTINUE, Card, CardConfig, CardFamily, register
from .fields import RequiredTemplate


class _Log(Card):
    __slots__ = ("level", "message")

    def __init__(self, level, message):
        self.level = level
        self.message = message

    def run(self, rt):
        rt.log(self.level, rt.render(self.message), source="log")
        return CONTINUE


class _Noop(Card):
    __slots__ = ()

    def run(self, rt):
        return CONTINUE


@register
class LogCard(CardFamily):
    types = ("log",)
    label = "Log"
    category = "Utilities"

    class Config(CardConfig):
        level: Literal["info", "warn", "error"] = Field(default="info", title="Level")
        message: RequiredTemplate = Field(title="Message", description="Written to the bot's logs, never sent.")

    def compile(self, card_type, config, ctx):
        return _Log(config.level, compile_template(config.message))


@register
class CommentCard(CardFamily):
    types = ("comment",)
    label = "Comment"
    category = "Utilities"

    class Config(CardConfig):
        text: str = Field(default="", max_length=10_000, title="Note", description="For builders; sends nothing.")

    def compile(self, card_type, config, ctx):
        return _Noop()
