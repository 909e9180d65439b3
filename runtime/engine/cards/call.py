"""Workflow card: calls another flow. The callee starts at its entry node with fresh
workflow variables (defaults) plus the inputs bound here; at its exit node its output
variables land in the caller as `workflow.<name>.<var>` and the caller continues after
this card."""
from pydantic import Field

from ..templates import compile_template
from .base import Call, Card, CardConfig, CardFamily, register
from .fields import IDENTIFIER_PATTERN, TemplateStr


class _Call(Card):
    __slots__ = ("flow", "name", "inputs")

    def __init__(self, flow, name, inputs):
        self.flow = flow
        self.name = name
        self.inputs = inputs

    def run(self, rt):
        # A template that is exactly one {{expr}} keeps its type (a number stays a number).
        return Call(self.flow, self.name, {k: rt.value(t) for k, t in self.inputs.items()})


@register
class CallCard(CardFamily):
    types = ("call",)
    label = "Workflow"
    category = "Flow Logic"

    class Config(CardConfig):
        flow: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", title="Workflow", description="The flow to call.",
                          json_schema_extra={"x-options": "flows"})
        name: str = Field(pattern=IDENTIFIER_PATTERN, title="Name",
                          description="The called flow's outputs land in workflow.<name>.<output>.")
        inputs: dict[str, TemplateStr] = Field(
            default_factory=dict, title="Inputs",
            description="A value for each input variable of the called flow; {{ expr }} alone keeps its type.")

    def compile(self, card_type, config, ctx):
        return _Call(config.flow, config.name, {k: compile_template(v) for k, v in config.inputs.items()})
