"""What every AI card sends besides its own prompt: the model choice, and the conversation's
memory when the card asks for it (the Summary Agent's summary when the bot has one, and
the last user messages). Shared by the AI card families; not a card itself."""
from __future__ import annotations

from pydantic import Field

from ..llm import LLMError
from .base import CardConfig, Jump

# How many earlier user messages "use memory" sends when the bot has no Summary Agent.
MEMORY_TURNS = 3


class AIConfig(CardConfig):
    model: str = Field(default="", max_length=200, title="Model",
                       description="A model id or a label of the workspace's models (Fast, Best); "
                                   "empty for the bot's default model.")
    temperature: float | None = Field(default=None, ge=0, le=2, title="Temperature")
    max_tokens: int | None = Field(default=None, ge=1, le=100_000, title="Max tokens")
    use_memory: bool = Field(default=False, title="Use memory",
                             description="Send the conversation's summary and last turns with the prompt.")


def memory_messages(rt) -> list[dict]:
    """The conversation so far, as chat messages: the Summary Agent's rolling summary when
    there is one, then the last user messages (newest last)."""
    messages = []
    agent = rt.scopes()["conversation"].get("SummaryAgent")
    summary = agent.get("summary") if isinstance(agent, dict) else None
    if isinstance(summary, str) and summary:
        messages.append({"role": "system", "content": f"Summary of the conversation so far: {summary}"})
    transcript = agent.get("transcript") if isinstance(agent, dict) else None
    if isinstance(transcript, list) and transcript:
        for line in transcript[-2 * MEMORY_TURNS:]:
            if isinstance(line, dict) and line.get("role") in ("user", "assistant") and isinstance(line.get("content"), str):
                messages.append({"role": line["role"], "content": line["content"]})
    else:
        messages.extend({"role": "user", "content": text} for text in rt.history()[-MEMORY_TURNS:])
    return messages


def failure_step(rt, exc: LLMError, on_failure: str | None) -> Jump:
    """The failure port of an AI card for a model that failed; re-raised (the error flow)
    when the port is not connected."""
    if on_failure is None:
        raise exc
    rt.add_trace("llm_failed", message=str(exc), provider=exc.provider, status=exc.status)
    return Jump(on_failure)
