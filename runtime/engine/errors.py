"""Errors the engine reports. Bot errors become trace entries and run the error flow;
they never escape `run_turn`. Build errors carry every problem with its JSON path."""
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    path: str  # JSON path from the root, e.g. "$.flows[1].nodes[2].cards[0].next"
    message: str
    # Ways to fix it, each {"label": "Declare user.name as object", "patch": [JSON Patch ops on
    # the bot file]}; not part of what the problem is, so equal problems stay equal.
    fixes: tuple = field(default=(), compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class BuildError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems[:5]))


class BotRuntimeError(Exception):
    """An error inside a turn that routes to the error flow (code threw, bad expression,
    loop guard, type mismatch, misconfigured card...)."""


class LLMFailure(BotRuntimeError):
    """A model call failed and nothing caught it: the error flow's `event.error` gets the
    provider and the HTTP status besides the message."""

    def __init__(self, message: str, *, provider: str = "", status: int | None = None):
        super().__init__(message)
        self.provider, self.status = provider, status


class VariableTypeError(BotRuntimeError):
    pass


class StateLimitError(BotRuntimeError):
    pass


class TurnBudgetExceeded(Exception):
    """The turn ran past its time budget (`TurnInput.budget_ms`). Not a bot error: the error
    flow would need time the turn no longer has, so it escapes `run_turn` and the caller
    fails the turn (nothing of it is stored)."""
