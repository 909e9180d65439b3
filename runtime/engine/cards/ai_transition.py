"""AI Transition card: a condition in plain words with its own port, like the Expression
card. The AI Transition cards that follow one another in a node are decided together, in one
call: the model picks the one condition that holds, or none, and says why. The chosen card's
port fires; with none, the node goes on (its next card, or its own transition: the "else").
The choice and its reason are in the trace."""
from __future__ import annotations

import json

from pydantic import Field

from ..errors import BotRuntimeError
from ..llm import LLMRequest
from .ai_prompt import AIConfig, memory_messages
from .base import CONTINUE, Card, CardFamily, Jump, register
from .fields import NodeRef, TemplateStr

DECISION_SCHEMA = {
    "type": "object",
    "properties": {"choice": {"type": "integer", "minimum": 0}, "reason": {"type": "string"}},
    "required": ["choice", "reason"], "additionalProperties": False,
}


class _Transition(Card):
    __slots__ = ("config",)

    def __init__(self, config):
        self.config = config

    def _group(self, rt) -> list["_Transition"]:
        frame = rt.frames[-1]
        node = rt.build.flows[frame["flow"]].nodes[frame["node"]]
        group = []
        for card in node.cards[frame["card"]:]:
            if not isinstance(card, _Transition):
                break
            group.append(card)
        return group

    def _decide(self, rt, group) -> str | None:
        conditions = "\n".join(f"{i}. {card.config.condition}" for i, card in enumerate(group, 1))
        messages = [{"role": "system", "content":
                     "Decide which one of these conditions holds for the conversation, judging by the "
                     "user's last message. Answer with JSON: {\"choice\": <number of the condition, or 0 if "
                     "none holds>, \"reason\": <one sentence>}.\nConditions:\n" + conditions}]
        if self.config.use_memory:
            messages.extend(memory_messages(rt))
        messages.append({"role": "user", "content": rt.user_text()})
        response = rt.call_llm(LLMRequest(messages=tuple(messages), model=self.config.model,
                                          temperature=self.config.temperature, max_tokens=self.config.max_tokens,
                                          response_schema=DECISION_SCHEMA, card=self.id, purpose="ai_transition"))
        try:
            answer = json.loads(response.text)
            choice, reason = answer["choice"], str(answer.get("reason", ""))
            if isinstance(choice, bool) or not isinstance(choice, int) or not 0 <= choice <= len(group):
                raise ValueError(f"choice {choice!r} is not a number from 0 to {len(group)}")
        except (ValueError, KeyError, TypeError) as exc:
            raise BotRuntimeError(f"AI Transition {self.id!r}: the model's answer {response.text[:200]!r} "
                                  f"is not a decision ({exc})") from None
        chosen = group[choice - 1].id if choice else None
        rt.add_trace("ai_transition", chosen=chosen, reason=reason,
                     conditions=[card.config.condition for card in group])
        return chosen

    def run(self, rt):
        decisions = rt.scratch.setdefault("ai_transition", {})
        key = rt.node_visit()
        if self.id not in decisions.get(key, {}).get("group", ()):
            group = self._group(rt)
            decisions[key] = {"group": [card.id for card in group], "chosen": self._decide(rt, group)}
        if decisions[key]["chosen"] == self.id and self.config.next is not None:
            return Jump(self.config.next)
        return CONTINUE


@register
class AITransitionCard(CardFamily):
    types = ("ai_transition",)
    label = "AI Transition"
    category = "AI"
    transition_fields = ("next",)

    class Config(AIConfig):
        condition: TemplateStr = Field(min_length=1, max_length=2_000, title="Condition",
                                       description="In plain words, e.g. 'The user wants to talk to a person'.")
        next: NodeRef = Field(default=None, title="Transition", description="The node taken when the condition holds.")
        label: str | None = Field(default=None, max_length=200, title="Label")

    def compile(self, card_type, config, ctx):
        return _Transition(config)
