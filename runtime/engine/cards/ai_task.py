"""AI Task card: instructions and an input → structured output written into variables. The
answer's shape is a JSON Schema built from the output variables' declared types (a `schema`
variable brings its named schema), sent to the model as its structured-output format. An
answer that is not JSON or fails the schema or a variable's type is sent back once with the
error; a second bad answer fails the card (failure port, else the error flow). Nothing is
written unless every output is valid."""
from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ..llm import LLMError, LLMRequest
from ..templates import compile_template
from ..variables import VarSpec, type_problem
from .ai_prompt import AIConfig, failure_step, memory_messages
from .base import CONTINUE, Card, CardFamily, register
from .capture import VARIABLE_REF
from .fields import NodeRef, RequiredTemplate, TemplateStr

RETRIES = 1


class Output(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)
    variable: str = Field(pattern=VARIABLE_REF, title="Variable")
    description: str = Field(default="", max_length=2_000, title="What it holds")


def _json_type(spec: VarSpec | None) -> dict:
    if spec is None:
        return {}
    t = spec.type
    if t in ("string", "number", "boolean", "object", "array"):
        return {"type": t}
    if t == "date":
        return {"type": "string", "format": "date-time"}
    if t == "enum":
        return {"type": "string", "enum": list(spec.values)}
    if t == "pattern" and spec.pattern is not None:
        return {"type": "string", "pattern": spec.pattern.pattern}
    if t == "schema" and spec.schema is not None:
        return dict(getattr(spec.schema, "schema", {}) or {})
    return {}


class _Task(Card):
    __slots__ = ("instructions", "input", "config")

    def __init__(self, instructions, input_, config):
        self.instructions, self.input, self.config = instructions, input_, config

    def schema(self, rt) -> dict:
        properties = {}
        for out in self.config.outputs:
            prop = _json_type(rt.variable_spec(out.variable))
            if out.description:
                prop = {**prop, "description": out.description}
            properties[out.variable.partition(".")[2]] = prop
        return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}

    def problems(self, rt, text: str) -> tuple[dict, list[str]]:
        try:
            answer = json.loads(text)
        except ValueError as exc:
            return {}, [f"the answer is not JSON ({exc})"]
        if not isinstance(answer, dict):
            return {}, ["the answer is not a JSON object"]
        values, problems = {}, []
        for out in self.config.outputs:
            name = out.variable.partition(".")[2]
            if name not in answer:
                problems.append(f"{name}: missing")
                continue
            spec = rt.variable_spec(out.variable)
            problem = type_problem(spec, answer[name]) if spec is not None else None
            if problem:
                problems.append(f"{name}: {problem}")
            values[out.variable] = answer[name]
        return values, problems

    def run(self, rt):
        c = self.config
        schema = self.schema(rt)
        system = rt.render(self.instructions) + (
            "\n\nAnswer with one JSON object only, following this JSON Schema:\n" + json.dumps(schema))
        messages = [{"role": "system", "content": system}]
        if c.use_memory:
            messages.extend(memory_messages(rt))
        messages.append({"role": "user", "content": rt.render(self.input) if self.input is not None else rt.user_text()})
        try:
            for attempt in range(RETRIES + 1):
                response = rt.call_llm(LLMRequest(
                    messages=tuple(messages), model=c.model, temperature=c.temperature, max_tokens=c.max_tokens,
                    response_schema=schema, card=self.id, purpose="ai_task"))
                values, problems = self.problems(rt, response.text)
                if not problems:
                    break
                rt.add_trace("ai_task_invalid", attempt=attempt + 1, problems=problems)
                messages += [{"role": "assistant", "content": response.text},
                             {"role": "user", "content": "That answer is invalid: " + "; ".join(problems)
                              + ". Answer again with one JSON object that follows the schema."}]
            else:
                raise LLMError(f"AI Task {self.id!r}: the model's answer is still invalid after "
                               f"{RETRIES + 1} tries: " + "; ".join(problems), provider=response.provider)
        except LLMError as exc:
            return failure_step(rt, exc, c.on_failure)
        for ref, value in values.items():
            rt.set_variable(ref, value)
        return CONTINUE


@register
class AITaskCard(CardFamily):
    types = ("ai_task",)
    label = "AI Task"
    category = "AI"
    transition_fields = ("onFailure",)

    class Config(AIConfig):
        instructions: RequiredTemplate = Field(max_length=20_000, title="Task instructions",
                                               description="What to extract or decide, e.g. 'Extract the order number'.")
        input: TemplateStr | None = Field(default=None, max_length=20_000, title="Input",
                                          description="What the task reads; empty: the user's message.")
        outputs: list[Output] = Field(min_length=1, max_length=50, title="Outputs",
                                      description="Variables the answer fills, each typed by its declaration.")
        on_failure: NodeRef = Field(default=None, title="On failure",
                                    description="The node taken when the model fails or answers invalidly twice.")

    def compile(self, card_type, config, ctx):
        input_ = compile_template(config.input) if config.input else None
        return _Task(compile_template(config.instructions), input_, config)
