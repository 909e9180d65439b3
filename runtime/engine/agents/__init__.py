"""The bot's agents (bot file `agents`, docs/ai.md "Agents"): behaviour around every turn
rather than a card in a flow. The turn calls them at three places only:

- `before_understanding`: the Translator Agent translates the user's message before NLU;
- `call_llm`: the Policy Agent's gate on every free-text answer of the model;
- `after_turn`: the Summary Agent records the turn, then the Translator Agent translates
  the turn's outgoing texts.

An agent's trouble (its model call failed) is logged and never fails the turn, with one
exception: a policy that cannot be checked fails the answer, like a failed model call
(the card's failure port, else the error flow), because an unchecked answer must not pass."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..errors import BotRuntimeError
from ..llm import LLMRequest, LLMResponse
from . import policy, summary, translator
from .config import AGENTS_OFF, AgentsBuild, AgentsConfig, agent_problems, compile_agents

__all__ = ["AGENTS_OFF", "AgentsBuild", "AgentsConfig", "after_turn", "agent_problems", "before_understanding",
           "call_llm", "compile_agents"]


def before_understanding(rt) -> None:
    agents: AgentsBuild = rt.build.agents
    if agents.translator is not None:
        _quietly(rt, "translator", translator.translate_incoming, agents.translator)


def call_llm(rt, request: LLMRequest, on_token: Callable[[str], None] | None) -> LLMResponse:
    agents: AgentsBuild = rt.build.agents
    gated = agents.policy is not None and policy.applies(request)
    if gated or (agents.translator is not None and translator.translating(rt, agents.translator)):
        # The user must not watch a text that may still be replaced or is in the wrong language.
        request, on_token = replace(request, stream=False), None
    response = rt.call_model(request, on_token)
    return policy.gate(rt, agents.policy, request, response) if gated else response


def after_turn(rt) -> None:
    agents: AgentsBuild = rt.build.agents
    if agents.summary is not None:
        _quietly(rt, "summary", summary.record_turn, agents.summary)
    if agents.translator is not None:
        _quietly(rt, "translator", translator.translate_outgoing, agents.translator)


def _quietly(rt, name: str, run, config) -> None:
    # An agent variable the bot declared with another type, or a state at its size limit:
    # the agent skips this turn, the dialog goes on.
    try:
        run(rt, config)
    except BotRuntimeError as exc:
        rt.log("warn", f"{name.capitalize()} Agent skipped this turn: {exc}", source=f"agent:{name}")
