"""Capture Information: ask for one typed value, read it out of the answer, check it and
store it in a variable (shared/spec/runtime-semantics.md, "Capture Information").

When the card is reached: skip it if the variable is already filled (and the card says
so), else try the last user messages (extract from history), else send the prompt and
wait. On the answer: cancellation (optionally confirmed), then extraction, then the
card's validation expression. A failed answer uses one retry; when none are left the
failure port fires, or the dialog goes on to the next card with the variable unset.

The retry count and a pending cancel confirmation live in the card's memory in the
frame (`rt.card_memory()`), so they survive the suspension and vanish once the cursor
moves on.
"""
from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, model_validator

from ..errors import BotRuntimeError
from ..expressions import UNDEFINED, compile_expression, js_truthy
from ..extract import KINDS, Extraction, OptionsError, extract
from ..templates import Template, compile_template
from .base import CONTINUE, SUSPEND, Card, CardConfig, CardFamily, Jump, register
from .fields import ExpressionStr, NodeRef, RequiredTemplate, TemplateStr

CANCEL_WORDS = ("cancel", "stop", "quit", "never mind", "nevermind")
# "Choices are only available for Single Choice, Multiple Choice, Boolean, Confirmation
# and Raw Input" (studio inventory 2.6.2).
CHOICE_KINDS = ("single_choice", "multiple_choice", "boolean", "confirmation", "raw")
NEEDS_CHOICES = ("single_choice", "multiple_choice")
DEFAULT_BUTTONS = {
    "boolean": ({"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"}),
    "confirmation": ({"label": "Accept", "value": "accept"}, {"label": "Decline", "value": "decline"}),
}
# The webchat shows more than this many choices as a dropdown instead of buttons.
MAX_BUTTONS = 5
DEFAULT_CONFIRM_CANCEL = "Are you sure you want to cancel?"
YES_NO = [{"label": "Yes", "value": "yes"}, {"label": "No", "value": "no"}]
VARIABLE_REF = r"^(workflow|user|bot|session|conversation)\.[A-Za-z_][A-Za-z0-9_]{0,63}$"
_PUNCTUATION = re.compile(r"[^\w\s']+")


def _normalise(text: str) -> str:
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


class ChoiceItem(CardConfig):
    label: RequiredTemplate
    # A string value may hold `{{ }}` like the label; it defaults to the label.
    value: TemplateStr | int | float | bool | None = None


class CaptureConfig(CardConfig):
    capture: Literal[KINDS]
    variable: str = Field(pattern=VARIABLE_REF)
    prompt: RequiredTemplate
    choices: list[RequiredTemplate | ChoiceItem] | None = None
    choices_from: str | None = Field(default=None, pattern=VARIABLE_REF)
    options: dict[str, Any] = Field(default_factory=dict)
    retries: int = Field(default=2, ge=0, le=10)
    retry_message: TemplateStr | None = None
    validation: ExpressionStr | None = None
    validation_message: TemplateStr | None = None
    extract_from_history: int = Field(default=0, ge=0, le=20)
    skip_if_filled: bool = False
    cancellation: bool = True
    cancel_keywords: list[str] = Field(default_factory=list)
    confirm_cancel: bool = False
    confirm_cancel_message: TemplateStr | None = None
    on_failure: NodeRef
    sensitive: bool = False

    @model_validator(mode="after")
    def _coherent(self):
        has_choices = bool(self.choices) or self.choices_from is not None
        if self.choices is not None and self.choices_from is not None:
            raise ValueError("give either choices or choicesFrom, not both")
        if has_choices and self.capture not in CHOICE_KINDS:
            raise ValueError(f"choices are only available for {', '.join(CHOICE_KINDS)} captures, not {self.capture}")
        if self.capture in NEEDS_CHOICES and not has_choices:
            raise ValueError(f"a {self.capture} capture needs choices or choicesFrom")
        for reserved, field in (("choices", "choices"), ("sensitive", "sensitive")):
            if reserved in self.options:
                raise ValueError(f"options.{reserved} is set by the card's own {field} field; remove it from options")
        if self.sensitive and self.capture != "entity_regex":
            raise ValueError("sensitive only applies to entity_regex captures")
        return self


class _Capture(Card):
    __slots__ = (
        "kind", "variable", "prompt", "choices", "choices_from", "options", "retries", "retry_message",
        "validation", "validation_message", "from_history", "skip_if_filled", "cancel_words",
        "confirm_cancel", "confirm_message", "on_failure", "sensitive",
    )
    suspends = True

    def __init__(self, c: CaptureConfig):
        self.kind = c.capture
        self.variable = c.variable
        self.prompt = compile_template(c.prompt)
        self.choices = None if c.choices is None else tuple(_compile_choice(item) for item in c.choices)
        self.choices_from = c.choices_from
        self.options = dict(c.options)
        if c.sensitive:
            self.options["sensitive"] = True
        self.retries = c.retries
        self.retry_message = compile_template(c.retry_message) if c.retry_message else None
        self.validation = compile_expression(c.validation) if c.validation else None
        self.validation_message = compile_template(c.validation_message) if c.validation_message else None
        self.from_history = c.extract_from_history
        self.skip_if_filled = c.skip_if_filled
        words = (*CANCEL_WORDS, *c.cancel_keywords) if c.cancellation else ()
        self.cancel_words = frozenset(n for n in map(_normalise, words) if n)
        self.confirm_cancel = c.confirm_cancel
        self.confirm_message = compile_template(c.confirm_cancel_message or DEFAULT_CONFIRM_CANCEL)
        self.on_failure = c.on_failure
        self.sensitive = c.sensitive

    # ---- reaching the card ------------------------------------------------------------------
    def run(self, rt):
        rt.card_memory().clear()
        if self.skip_if_filled and rt.get_variable(self.variable) not in (None, "", [], {}):
            rt.add_trace("capture_skipped", variable=self.variable, reason="the variable is already filled")
            return CONTINUE
        rt.add_trace("capture_started", variable=self.variable, capture=self.kind)
        for text in self._recent_messages(rt):
            value, problem = self._read(rt, text)
            if problem is None:
                self._store(rt, value, source="history")
                return CONTINUE
        self._ask(rt, self.prompt)
        return SUSPEND

    def _recent_messages(self, rt) -> list[str]:
        """The last N user messages, newest first. Botpress counts the message that led
        here (this turn's event) as the first one back, which is what makes prompt chaining
        work: several cards in a row each read the same answer."""
        if not self.from_history:
            return []
        current = rt.user_text()
        earlier = rt.history()
        if earlier and current and earlier[-1] == current:
            earlier = earlier[:-1]  # the turn service may already have filed the current message
        newest_first = ([current] if current.strip() else []) + earlier[::-1]
        return newest_first[: self.from_history]

    # ---- the answer ---------------------------------------------------------------------------
    def resume(self, rt):
        mem = rt.card_memory()
        text = rt.user_text()
        if mem.pop("confirmingCancel", False):
            answer = extract("confirmation", text)
            if answer.ok and answer.value:
                return self._cancelled(rt)
            self._ask(rt, self.prompt)
            return SUSPEND
        if _normalise(text) in self.cancel_words:
            if self.confirm_cancel:
                mem["confirmingCancel"] = True
                rt.emit({"type": "choice", "text": rt.render(self.confirm_message), "options": list(YES_NO)})
                return SUSPEND
            return self._cancelled(rt)
        answer = self._knowledge_answer(rt, text)
        if answer is not None:  # a question answered does not use a retry
            rt.emit({"type": "text", "text": answer})
            return SUSPEND
        value, problem = self._read(rt, text)
        if problem is None:
            self._store(rt, value, source="answer")
            return CONTINUE
        failures = mem.get("failures", 0) + 1
        mem["failures"] = failures
        reason, by_validation = problem
        if failures > self.retries:
            rt.add_trace("capture_failed", variable=self.variable,
                         reason=f"{reason}; reached the limit of retries ({self.retries})")
            return Jump(self.on_failure) if self.on_failure else CONTINUE
        rt.add_trace("capture_failed", variable=self.variable, reason=reason, retriesLeft=self.retries - failures + 1)
        message = (self.validation_message if by_validation else None) or self.retry_message or self.prompt
        self._ask(rt, message)
        return SUSPEND

    def _knowledge_answer(self, rt, text: str) -> str | None:
        """Seam for the knowledge base: when the card's KB option is on and the answer is a
        question the KB answers with confidence, return that answer and the card keeps
        waiting. There is no knowledge base in the engine yet, so nothing is answered."""
        return None

    def _cancelled(self, rt):
        rt.add_trace("capture_failed", variable=self.variable, reason="cancelled by the user")
        return Jump(self.on_failure) if self.on_failure else CONTINUE

    def _read(self, rt, text: str) -> tuple[Any, tuple[str, bool] | None]:
        """(value, None) for a usable answer, else (None, (reason, failed_validation))."""
        extraction = self._extract(rt, text)
        if not extraction.ok:
            return None, (extraction.reason or "no value found in the answer", False)
        if self.validation is not None:
            if not js_truthy(rt.evaluate(self.validation, {"value": extraction.value, "input": text})):
                return None, (f"the answer failed the card's validation `{self.validation.source}`", True)
        return extraction.value, None

    def _extract(self, rt, text: str) -> Extraction:
        choices = self._choices(rt)
        if self.kind == "raw" and choices:
            # Raw input keeps any text, but a clicked or typed choice stores that choice's value.
            said = _normalise(text)
            for choice in choices:
                if said in (_normalise(choice["label"]), _normalise(str(choice["value"]))):
                    return Extraction(value=choice["value"], ok=True, reason=None)
        options = dict(self.options)
        if choices and self.kind in CHOICE_KINDS and not self._default_buttons():
            options["choices"] = choices
        try:
            return extract(self.kind, text, options, now=rt.now(), tz=rt.bot_timezone())
        except OptionsError as exc:
            raise BotRuntimeError(f"capture card {self.id!r}: {exc}") from None

    def _store(self, rt, value, *, source: str) -> None:
        shown = "*" * len(str(value)) if self.sensitive else value
        rt.set_variable(self.variable, value, shown=shown)
        rt.add_trace("captured", variable=self.variable, value=shown, source=source)

    # ---- asking -------------------------------------------------------------------------------
    def _default_buttons(self) -> bool:
        return self.choices is None and self.choices_from is None and self.kind in DEFAULT_BUTTONS

    def _choices(self, rt) -> list[dict]:
        if self._default_buttons():
            return [dict(c) for c in DEFAULT_BUTTONS[self.kind]]
        if self.choices is not None:
            return [{"label": rt.render(label), "value": _choice_value(rt, value)} for label, value in self.choices]
        if self.choices_from is not None:
            return _choices_from_variable(self.choices_from, rt.get_variable(self.choices_from))
        return []

    def _ask(self, rt, template) -> None:
        text = rt.render(template)
        choices = self._choices(rt)
        if not choices:
            rt.emit({"type": "text", "text": text})
            return
        kind = "choice" if len(choices) <= MAX_BUTTONS else "dropdown"
        rt.emit({"type": kind, "text": text, "options": choices})


def _compile_choice(item) -> tuple:
    """(label template, value) where value is a template or a literal."""
    if isinstance(item, str):
        template = compile_template(item)
        return template, template
    label = compile_template(item.label)
    if item.value is None:
        return label, label
    if isinstance(item.value, str):
        return label, compile_template(item.value)
    return label, item.value


def _choice_value(rt, value):
    if not isinstance(value, Template):
        return value
    resolved = rt.value(value)
    return None if resolved is UNDEFINED else resolved


def _choices_from_variable(ref: str, raw: Any) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise BotRuntimeError(
            f"choicesFrom {ref} must hold a non-empty list of strings or {{label, value}} objects, got {raw!r}"
        )
    out = []
    for index, item in enumerate(raw):
        if isinstance(item, str):
            out.append({"label": item, "value": item})
        elif isinstance(item, dict) and ("label" in item or "value" in item):
            label = item.get("label", item.get("value"))
            out.append({"label": str(label), "value": item.get("value", label)})
        else:
            raise BotRuntimeError(
                f"choicesFrom {ref}[{index}] must be a string or {{label, value}} object, got {item!r}"
            )
    return out


@register
class CaptureCard(CardFamily):
    types = ("capture",)
    label = "Capture Information"
    category = "Capture Information"
    transition_fields = ("onFailure",)
    Config = CaptureConfig

    def compile(self, card_type, config, ctx):
        return _Capture(config)
