"""The Policy Agent: a gate between the model and the bot. Every free-text answer of the turn
(an AI card's text, the autonomous node's) is checked before the card sees it: blocked
keywords and patterns offline, then the plain-language policies with one model call. An
answer that breaks a rule is replaced by the agent's message, and the trace says which rule.

Structured answers (a request with a `response_schema`: AI Task's values, AI Transition's
decision) are not checked: they are data the bot's logic reads, and replacing them would
only turn them invalid. The agents' own calls (purpose "agent:...") are not checked either.

A checked answer is never streamed: the user must not see a text before it has passed."""
from __future__ import annotations

import json
from dataclasses import dataclass, replace

from ..llm import LLMError, LLMRequest, LLMResponse
from .config import PolicyBuild

VERDICT_SCHEMA = {
    "type": "object",
    "properties": {"violated": {"type": "integer", "minimum": 0}, "reason": {"type": "string"}},
    "required": ["violated", "reason"], "additionalProperties": False,
}


@dataclass(frozen=True)
class Violation:
    kind: str  # "keyword", "pattern" or "policy"
    rule: str  # the keyword, pattern or policy as the bot file writes it
    reason: str = ""


def applies(request: LLMRequest) -> bool:
    return request.response_schema is None and not request.purpose.startswith("agent:")


def _ask_policies(rt, policy: PolicyBuild, request: LLMRequest, text: str) -> Violation | None:
    rules = policy.config.policies
    listed = "\n".join(f"{i}. {rule}" for i, rule in enumerate(rules, 1))
    messages = (
        {"role": "system", "content":
         "You check a chatbot's answer against the rules below before the user sees it. Answer with "
         "JSON: {\"violated\": <the number of the first rule the answer breaks, or 0 if it breaks none>, "
         "\"reason\": <one sentence>}.\nRules:\n" + listed},
        {"role": "user", "content": f"The user wrote:\n{rt.user_text()}\n\nThe chatbot's answer:\n{text}"},
    )
    response = rt.call_model(LLMRequest(messages=messages, model=policy.config.model, response_schema=VERDICT_SCHEMA,
                                        card=request.card, purpose="agent:policy"))
    try:
        verdict = json.loads(response.text)
        violated = verdict["violated"]
        if isinstance(violated, bool) or not isinstance(violated, int) or not 0 <= violated <= len(rules):
            raise ValueError(f"violated {violated!r} is not a number from 0 to {len(rules)}")
    except (ValueError, KeyError, TypeError) as exc:
        # Not knowing is not passing: the card's failure port (or the error flow) takes it.
        raise LLMError(f"the Policy Agent could not check the answer: its verdict {response.text[:200]!r} "
                       f"is not one ({exc})", provider=response.provider) from None
    if violated == 0:
        return None
    return Violation("policy", rules[violated - 1], str(verdict.get("reason", "")))


def violation(rt, policy: PolicyBuild, request: LLMRequest, text: str) -> Violation | None:
    for keyword, regex in policy.keywords:
        if regex.search(text):
            return Violation("keyword", keyword)
    for pattern, regex in policy.patterns:
        if regex.search(text):
            return Violation("pattern", pattern)
    if policy.config.policies:
        try:
            return _ask_policies(rt, policy, request, text)
        except LLMError as exc:
            raise LLMError(f"Policy Agent check: {exc.message}", provider=exc.provider, status=exc.status,
                           retryable=exc.retryable) from None
    return None


def gate(rt, policy: PolicyBuild, request: LLMRequest, response: LLMResponse) -> LLMResponse:
    """The answer, or the agent's message in its place when it breaks a rule."""
    if not response.text:
        return response
    found = violation(rt, policy, request, response.text)
    if found is None:
        return response
    rt.add_trace("policy_blocked", agent="policy", requestCard=request.card, purpose=request.purpose,
                 ruleKind=found.kind, rule=found.rule, reason=found.reason)
    rt.log("warn", f"Policy Agent: an answer was replaced; it breaks {found.kind} {found.rule!r}",
           source="agent:policy")
    return replace(response, text=policy.config.message)
