"""Execute Code card: JavaScript in the V8 sandbox. Scope writes are applied only when
the code returns; a throw, a timeout or a memory overrun applies none and routes to the
error flow."""
from pydantic import Field

from .base import CONTINUE, Card, CardConfig, CardFamily, register
from .fields import CodeStr


class _Code(Card):
    __slots__ = ("code",)

    def __init__(self, code: str):
        self.code = code

    def run(self, rt):
        rt.run_code(self.code)
        return CONTINUE


@register
class CodeCard(CardFamily):
    types = ("code",)
    label = "Execute Code"
    category = "Execute"

    class Config(CardConfig):
        code: CodeStr = Field(title="Code", description="JavaScript. Reads and writes workflow, user, bot, session, "
                                                         "conversation and turn; reads event and env; each table "
                                                         "is <Name>Table, e.g. await OrdersTable.findRecords"
                                                         "({filter: {status: 'open'}}).")

    def compile(self, card_type, config, ctx):
        return _Code(config.code)
