"""The Flowstudio engine: pure Python, no Django. See docs/engine.md.

`flows` and the turn service use only what this module exports."""
from .build import DEFAULT_SETTINGS, RESERVED_FLOWS, BotBuild, compile_bot
from .cards import CARD_TYPES, card_problems, card_transitions
from .errors import BuildError, Problem
from .nlu.bot import train_intent_model
from .sandbox import configure_default_sandbox
from .variables import TYPES as VARIABLE_TYPES
from .turn import STATE_LIMIT_BYTES, TurnInput, TurnResult, run_turn

__all__ = [
    "BotBuild",
    "BuildError",
    "CARD_TYPES",
    "DEFAULT_SETTINGS",
    "Problem",
    "RESERVED_FLOWS",
    "STATE_LIMIT_BYTES",
    "TurnInput",
    "TurnResult",
    "VARIABLE_TYPES",
    "card_problems",
    "card_transitions",
    "compile_bot",
    "configure_default_sandbox",
    "run_turn",
    "train_intent_model",
]
