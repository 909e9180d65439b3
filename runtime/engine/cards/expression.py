"""Expression card: a JavaScript condition with its own output port. The first
transition card in a node whose condition holds fires; the rest of the node is skipped.
A card whose port is not connected is skipped (the problems panel warns about it)."""
from pydantic import Field

from ..expressions import compile_expression, js_truthy
from .base import CONTINUE, Card, CardConfig, CardFamily, Jump, register
from .fields import ExpressionStr, NodeRef


class _Expression(Card):
    __slots__ = ("condition", "target")

    def __init__(self, condition, target):
        self.condition = condition
        self.target = target

    def run(self, rt):
        if self.target is None:
            return CONTINUE
        if js_truthy(rt.evaluate(self.condition)):
            return Jump(self.target)
        return CONTINUE


@register
class ExpressionCard(CardFamily):
    types = ("expression",)
    label = "Expression"
    category = "Flow Logic"
    transition_fields = ("next",)

    class Config(CardConfig):
        condition: ExpressionStr = Field(title="Condition", description="A JavaScript condition, e.g. "
                                                                        "workflow.size === 'l' && user.age >= 18.")
        next: NodeRef = Field(default=None, title="Transition", description="The node taken when the condition holds.")
        label: str | None = Field(default=None, max_length=200, title="Label",
                                  description="A short name shown on the card's port.")

    def compile(self, card_type, config, ctx):
        return _Expression(compile_expression(config.condition), config.next)
