"""The Flowstudio engine: pure Python, no Django. See docs/engine.md.

`flows` and the turn service use only what this module exports."""
from .cards.escalate import PRIORITIES as HANDOFF_PRIORITIES
from .build import DEFAULT_SETTINGS, RESERVED_FLOWS, BotBuild, compile_bot
from .cards import CARD_TYPES, card_problems, card_transitions
from .cards.fields import expression_problem
from .errors import BuildError, Problem, TurnBudgetExceeded
from .events import CONVERSATION_STARTED, CUSTOM_EVENT, HITL_REASONS, HITL_STOPPED, MESSAGE_EVENT_TYPES, TRIGGER_TYPES
from .nlu.bot import train_intent_model
from .sandbox import configure_default_sandbox
from .variables import TYPES as VARIABLE_TYPES
from .turn import STATE_LIMIT_BYTES, VARIABLES_LIMIT_BYTES, TurnInput, TurnResult, run_turn

__all__ = [
    "BotBuild",
    "BuildError",
    "CARD_TYPES",
    "CONVERSATION_STARTED",
    "HANDOFF_PRIORITIES",
    "HITL_REASONS",
    "HITL_STOPPED",
    "CUSTOM_EVENT",
    "DEFAULT_SETTINGS",
    "MESSAGE_EVENT_TYPES",
    "Problem",
    "RESERVED_FLOWS",
    "STATE_LIMIT_BYTES",
    "VARIABLES_LIMIT_BYTES",
    "TRIGGER_TYPES",
    "TurnBudgetExceeded",
    "TurnInput",
    "TurnResult",
    "VARIABLE_TYPES",
    "card_problems",
    "card_transitions",
    "compile_bot",
    "configure_default_sandbox",
    "expression_problem",
    "run_turn",
    "train_intent_model",
]
