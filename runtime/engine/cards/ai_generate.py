"""AI Generate Text card: a prompt to the model, its answer into a variable and, unless
told otherwise, sent to the user. Streamed to clients that listen (webchat, emulator) as it
is generated; the stored message is the whole text. A failing model takes the failure port
when it is connected, else the error flow."""
from __future__ import annotations

from pydantic import Field

from ..llm import LLMError, LLMRequest
from ..templates import compile_template
from .ai_prompt import AIConfig, failure_step, memory_messages
from .base import CONTINUE, Card, CardFamily, register
from .capture import VARIABLE_REF
from .fields import NodeRef, RequiredTemplate, TemplateStr


class _Generate(Card):
    __slots__ = ("instructions", "prompt", "config")

    def __init__(self, instructions, prompt, config):
        self.instructions, self.prompt, self.config = instructions, prompt, config

    def run(self, rt):
        c = self.config
        messages = []
        instructions = rt.render(self.instructions) if self.instructions is not None else ""
        if instructions:
            messages.append({"role": "system", "content": instructions})
        if c.use_memory:
            messages.extend(memory_messages(rt))
        messages.append({"role": "user", "content": rt.render(self.prompt)})
        stream = c.send_to_user and c.stream
        request = LLMRequest(messages=tuple(messages), model=c.model, temperature=c.temperature,
                             max_tokens=c.max_tokens, stream=stream, card=self.id, purpose="ai_generate_text")
        stream_id = f"{self.id}:{len(rt.outputs)}"
        try:
            response = rt.call_llm(request, (lambda delta: rt.stream(stream_id, delta)) if stream else None)
        except LLMError as exc:
            return failure_step(rt, exc, c.on_failure)
        text = response.text
        if c.variable:
            rt.set_variable(c.variable, text)
        if c.send_to_user and text:
            message = {"type": "text", "text": text}
            if stream:
                message["streamId"] = stream_id
            rt.emit(message)
        return CONTINUE


@register
class AIGenerateTextCard(CardFamily):
    types = ("ai_generate_text",)
    label = "AI Generate Text"
    category = "AI"
    transition_fields = ("onFailure",)

    class Config(AIConfig):
        instructions: TemplateStr | None = Field(default=None, max_length=20_000, title="Instructions",
                                                 description="The system prompt: who the bot is and how it answers.")
        prompt: RequiredTemplate = Field(title="Prompt", max_length=20_000,
                                         description="What to ask, e.g. 'Answer briefly: {{event.preview}}'.")
        variable: str | None = Field(default=None, pattern=VARIABLE_REF, title="Store the answer in",
                                     description="A variable that receives the generated text.")
        send_to_user: bool = Field(default=True, title="Send to the user")
        stream: bool = Field(default=True, title="Stream", description="Show the answer growing as it is written.")
        on_failure: NodeRef = Field(default=None, title="On failure",
                                    description="The node taken when the model fails; unconnected: the error flow.")

    def compile(self, card_type, config, ctx):
        instructions = compile_template(config.instructions) if config.instructions else None
        return _Generate(instructions, compile_template(config.prompt), config)
