"""The card registry. Each card family is one module in this package declaring its
pydantic config, the fields that hold transitions, and how it compiles and runs.

A compiled card's `run(rt)` returns one of the steps below; the turn loop in `turn.py`
acts on it. Cards never touch the cursor themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel


class CardConfig(BaseModel):
    # camelCase in the bot file, snake_case in Python; unknown fields are typos, so refused.
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


# ---- steps a card returns -------------------------------------------------------------
class _Continue:
    __slots__ = ()

    def __repr__(self) -> str:
        return "CONTINUE"


class _Suspend:
    __slots__ = ()

    def __repr__(self) -> str:
        return "SUSPEND"


CONTINUE = _Continue()
SUSPEND = _Suspend()


@dataclass(frozen=True, slots=True)
class Jump:
    target: str


@dataclass(frozen=True, slots=True)
class Call:
    flow: str
    name: str
    inputs: dict[str, Any]


# ---- compiled cards and families -----------------------------------------------------------
class Card:
    """A compiled, immutable card. `id` and `type` are set by the compiler."""

    __slots__ = ("id", "type")
    suspends: ClassVar[bool] = False

    def run(self, rt) -> Any:
        raise NotImplementedError

    def resume(self, rt) -> Any:  # only called on cards that suspend
        return CONTINUE


class CardFamily:
    types: ClassVar[tuple[str, ...]] = ()
    label: ClassVar[str] = ""
    category: ClassVar[str] = ""
    Config: ClassVar[type[CardConfig]] = CardConfig
    transition_fields: ClassVar[tuple[str, ...]] = ()

    def compile(self, card_type: str, config: CardConfig, ctx) -> Card:
        raise NotImplementedError


CARD_TYPES: dict[str, CardFamily] = {}


def register(family_cls: type[CardFamily]) -> type[CardFamily]:
    family = family_cls()
    for t in family_cls.types:
        if t in CARD_TYPES:
            raise RuntimeError(f"card type {t!r} registered twice")
        CARD_TYPES[t] = family
    return family_cls


# ---- validation helpers used by the compiler and the bot-file validator --------------------
def _loc_to_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _plain(err: dict, card_type: str) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return f"is not a field of a {card_type} card"
    msg = err.get("msg") or "is invalid"
    if msg.startswith("Value error, "):  # our own validators' words, e.g. "SyntaxError: ..."
        return msg.removeprefix("Value error, ")
    return msg[0].lower() + msg[1:]


def parse_config(card: dict) -> tuple[CardFamily, CardConfig]:
    """Raise ValueError(list[(path, message)]) when the card is not valid for its type."""
    card_type = card.get("type")
    family = CARD_TYPES.get(card_type) if isinstance(card_type, str) else None
    if family is None:
        known = ", ".join(sorted(CARD_TYPES))
        raise ValueError([(".type", f"unknown card type {card_type!r}; known types: {known}")])
    fields = {k: v for k, v in card.items() if k not in ("id", "type")}
    try:
        return family, family.Config.model_validate(fields)
    except ValidationError as exc:
        raise ValueError(
            [(_loc_to_path(e["loc"]), _plain(e, card_type)) for e in exc.errors(include_url=False)]
        ) from None


def card_problems(card: dict) -> list[tuple[str, str]]:
    """Field problems of one card as (relative JSON path, plain message); [] when valid."""
    try:
        parse_config(card)
    except ValueError as exc:
        return list(exc.args[0])
    return []


def card_transitions(card: dict) -> dict[str, str | None]:
    """The transition fields of a card (field name -> target node id or None)."""
    family = CARD_TYPES.get(card.get("type"))
    if family is None:
        return {}
    return {f: card.get(f) for f in family.transition_fields}
