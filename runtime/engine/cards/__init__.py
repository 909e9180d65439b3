"""Card families register themselves on import; importing this package loads them all.
A new family is one new module here plus its line below."""
from . import (  # noqa: F401
    ai_generate, ai_task, ai_transition, call, capture, code, escalate, event, expression, intent, knowledge, log, send,
    tables, track, wait, webchat, workflows,
)
from .base import CARD_TYPES, card_problems, card_transitions, parse_config

__all__ = ["CARD_TYPES", "card_problems", "card_transitions", "parse_config"]
