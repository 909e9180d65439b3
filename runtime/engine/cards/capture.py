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

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

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


KIND_LABELS = {
    "single_choice": "Single Choice", "multiple_choice": "Multiple Choice", "boolean": "Boolean",
    "confirmation": "Confirmation", "number": "Number", "email": "Email Address", "phone": "Phone Number",
    "address": "Full Address", "price": "Price", "raw": "Raw Input", "percentage": "Percentage",
    "quantity": "Quantity", "color": "Color", "time_measurement": "Time Measurement",
    "weight": "Weight Measurement", "volume": "Volume Measurement", "temperature": "Temperature Measurement",
    "cron": "Cron Schedule", "operating_system": "Operating System", "people_count": "Quantity of People",
    "person": "Person", "datetime": "Date & Time", "entity_list": "Entity - List", "entity_regex": "Entity - Regex",
}
# The options each kind reads (docs/understanding.md); anything else in `options` is a typo.
OPTION_KEYS = {
    "time_measurement": ("unit",), "weight": ("unit",), "volume": ("unit",), "temperature": ("unit",),
    "phone": ("region",), "price": ("currency",), "entity_list": ("entities", "fuzzy"),
    "entity_regex": ("pattern",),
}
ENTITY_KINDS = {"entity_list": "entities", "entity_regex": "pattern"}  # kind -> option the entity replaces
OPTIONS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "default": {},
    "title": "Options",
    "description": "Settings of some capture types; which ones depends on the type (see x-appliesTo).",
    "properties": {
        "unit": {"type": "string", "title": "Unit", "x-appliesTo": ["time_measurement", "weight", "volume", "temperature"],
                 "description": "The unit the value is stored in: time (ns, ms, s, min, h, d, week, month, year; "
                                "default min), weight (mcg, mg, g, kg, oz, lb, st, mt, t; default kg), volume "
                                "(ml, cl, dl, l, kl, mm3, cm3, m3, tsp, tbsp, fl oz, cup, pint, quart, gallon...; "
                                "default l), temperature (celsius, fahrenheit, kelvin; default celsius)."},
        "region": {"type": "string", "title": "Default country", "pattern": "^[A-Za-z]{2}$", "default": "US",
                   "x-appliesTo": ["phone"],
                   "description": "Two-letter region for numbers written without a country code."},
        "currency": {"type": "string", "title": "Default currency", "pattern": "^[A-Z]{3}$",
                     "x-appliesTo": ["price"],
                     "description": "ISO 4217 code used when the answer names none (and for '$')."},
        "entities": {"type": "array", "title": "Values", "x-appliesTo": ["entity_list"],
                     "description": "The list's values, when the card does not name a library entity.",
                     "items": {"type": "object", "required": ["name"], "additionalProperties": False,
                               "properties": {"name": {"type": "string", "minLength": 1},
                                              "synonyms": {"type": "array", "items": {"type": "string"}}}}},
        "fuzzy": {"enum": ["strict", "medium", "loose"], "default": "medium", "title": "Fuzzy matching",
                  "x-appliesTo": ["entity_list"],
                  "description": "strict: no typo; medium: one typo in words of 4+ letters; loose: two."},
        "pattern": {"type": "string", "title": "Pattern", "x-appliesTo": ["entity_regex"],
                    "description": "A regular expression, when the card does not name a library entity."},
    },
}


class ChoiceItem(CardConfig):
    model_config = ConfigDict(title="Choice")

    label: RequiredTemplate = Field(title="Label", description="What the button shows (at most ~20 characters "
                                                                "display well on every channel).")
    # A string value may hold `{{ }}` like the label; it defaults to the label.
    value: TemplateStr | int | float | bool | None = Field(
        default=None, title="Value", description="What is stored when it is chosen; the label when empty.")


def a_kind(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _check_options(kind: str, options: dict) -> None:
    allowed = OPTION_KEYS.get(kind, ())
    for key in options:
        if key in ("choices", "sensitive"):
            raise ValueError(f"options.{key} is set by the card's own {key} field; remove it from options")
        if key not in allowed:
            uses = f"uses only {', '.join(allowed)}" if allowed else "has no options"
            raise ValueError(f"options.{key} is not an option of {a_kind(kind)} capture (it {uses})")
    currency = options.get("currency")
    if currency is not None and (not isinstance(currency, str) or currency not in _currencies()):
        raise ValueError(f"options.currency {currency!r} is not an ISO 4217 currency code such as USD or EUR")
    if options:
        try:  # the extractor checks its own options first; an answer is not needed for that
            extract(kind, "x", options)
        except OptionsError as exc:
            raise ValueError(str(exc).removeprefix(f"{kind}: ")) from None


def _currencies() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


class CaptureConfig(CardConfig):
    capture: Literal[KINDS] = Field(
        title="Type", description="What to capture; decides how the answer is read and what is stored.",
        json_schema_extra={"x-enumLabels": KIND_LABELS})
    variable: str = Field(pattern=VARIABLE_REF, title="Variable",
                          description="Where the value is stored, e.g. workflow.email or user.name.",
                          json_schema_extra={"x-options": "variables"})
    prompt: RequiredTemplate = Field(title="Prompt message", description="The question sent to the user.")
    choices: list[RequiredTemplate | ChoiceItem] | None = Field(
        default=None, title="Choices",
        description="Buttons offered with the prompt (single/multiple choice, boolean, confirmation, raw input). "
                    "More than 5 show as a dropdown.")
    choices_from: str | None = Field(
        default=None, pattern=VARIABLE_REF, title="Choices from a variable",
        description="A variable holding a list of strings or {label, value} objects, instead of fixed choices.",
        json_schema_extra={"x-options": "variables"})
    entity: str | None = Field(
        default=None, title="Entity",
        description="A library entity: a list entity for Entity - List, a pattern entity for Entity - Regex.",
        json_schema_extra={"x-options": "entities", "x-appliesTo": list(ENTITY_KINDS)})
    options: dict[str, Any] = Field(default_factory=dict, json_schema_extra=OPTIONS_SCHEMA)
    retries: int = Field(default=2, ge=0, le=10, title="Number of retries",
                         description="How often the question is asked again after an answer that does not fit.")
    retry_message: TemplateStr | None = Field(
        default=None, title="Retry message", description="Sent after an answer that does not fit; the prompt "
                                                         "when empty.")
    validation: ExpressionStr | None = Field(
        default=None, title="Validation",
        description="A JavaScript condition the answer must meet; `value` is what was extracted, `input` the "
                    "raw text. Example: value >= 18")
    validation_message: TemplateStr | None = Field(
        default=None, title="Validation failed message", description="Sent when the validation fails.")
    extract_from_history: int = Field(
        default=0, ge=0, le=20, title="Extract from history",
        description="How many recent user messages to read the value from before asking (the message that "
                    "led here counts as the first). 0 = always ask.")
    skip_if_filled: bool = Field(default=False, title="Skip if variable is already filled")
    cancellation: bool = Field(default=True, title="User can cancel the capture",
                               description="'cancel', 'stop', 'quit', 'never mind' (plus your keywords) cancel it.")
    cancel_keywords: list[str] = Field(default_factory=list, title="Cancel keywords",
                                       description="More words or phrases that cancel the capture.")
    confirm_cancel: bool = Field(default=False, title="Confirm before cancelling")
    confirm_cancel_message: TemplateStr | None = Field(
        default=None, title="Confirm cancel message",
        description=f"Asked before cancelling; '{DEFAULT_CONFIRM_CANCEL}' when empty.")
    on_failure: NodeRef = Field(
        default=None, title="Transition to handle failure",
        description="The node taken when the user cancels or the retries run out; without it the flow goes on "
                    "to the next card with the variable unset.")
    knowledge: bool = Field(default=False, title="Answer questions from the knowledge bases",
                            description="A question asked instead of an answer is answered from the knowledge "
                                        "bases (with confidence only) and the card keeps waiting; no retry is used.")
    knowledge_bases: list[str] = Field(default_factory=list, max_length=50, title="Knowledge bases to search",
                                       description="KB names; empty: all of the bot's.",
                                       json_schema_extra={"x-options": "knowledgeBases"})
    sensitive: bool = Field(default=False, title="Contains sensitive data",
                            description="Entity - Regex only: the value is masked with * in traces and logs.")

    @field_validator("entity")
    @classmethod
    def _entity_kind(cls, entity, info: ValidationInfo):
        kind = info.data.get("capture")
        if entity is not None and kind is not None and kind not in ENTITY_KINDS:
            raise ValueError(f"entity only applies to entity_list and entity_regex captures, not {kind}")
        return entity

    @field_validator("options")
    @classmethod
    def _options(cls, options, info: ValidationInfo):
        if info.data.get("capture") is not None:
            _check_options(info.data["capture"], options)
        return options

    @model_validator(mode="after")
    def _coherent(self):
        has_choices = bool(self.choices) or self.choices_from is not None
        if self.choices is not None and self.choices_from is not None:
            raise ValueError("give either choices or choicesFrom, not both")
        if has_choices and self.capture not in CHOICE_KINDS:
            raise ValueError(f"choices are only available for {', '.join(CHOICE_KINDS)} captures, not {self.capture}")
        if self.capture in NEEDS_CHOICES and not has_choices:
            raise ValueError(f"a {self.capture} capture needs choices or choicesFrom")
        replaced = ENTITY_KINDS.get(self.capture)
        if replaced is not None and (self.entity is None) == (replaced not in self.options):
            raise ValueError(f"{a_kind(self.capture)} capture needs either entity (a library entity) or "
                             f"options.{replaced}, not both and not neither")
        if self.sensitive and self.capture != "entity_regex":
            raise ValueError("sensitive only applies to entity_regex captures")
        return self


# A reply that reads as a question: ends with "?" or starts with a question word.
_QUESTION = re.compile(r"\?\s*$|^\s*(what|when|where|which|who|whom|whose|why|how|can|could|do|does|did|is|are|"
                       r"will|would|should|may)\b", re.IGNORECASE)


class _Capture(Card):
    __slots__ = (
        "kind", "variable", "prompt", "choices", "choices_from", "options", "retries", "retry_message",
        "validation", "validation_message", "from_history", "skip_if_filled", "cancel_words",
        "confirm_cancel", "confirm_message", "on_failure", "sensitive", "knowledge", "knowledge_bases",
    )
    suspends = True

    def __init__(self, c: CaptureConfig, entity=None):
        self.kind = c.capture
        self.variable = c.variable
        self.prompt = compile_template(c.prompt)
        self.choices = None if c.choices is None else tuple(_compile_choice(item) for item in c.choices)
        self.choices_from = c.choices_from
        self.options = {**dict(c.options), **_entity_options(entity)}
        sensitive = c.sensitive or bool(getattr(entity, "sensitive", False))
        if sensitive:
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
        self.sensitive = sensitive
        self.knowledge = c.knowledge
        self.knowledge_bases = tuple(c.knowledge_bases)

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
                self._store(rt, value, source="history", text=text)
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
            self._store(rt, value, source="answer", text=text)
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
        """When the card's KB option is on and the reply is a question the knowledge bases
        answer with confidence (runtime/engine/cards/knowledge.py), that answer; the card then
        asks again and keeps waiting. A sensitive capture never sends the reply to a search."""
        if not self.knowledge or self.sensitive or not _QUESTION.search(text or ""):
            return None
        from .knowledge import CONFIDENT_SIMILARITY, ask_knowledge

        result = ask_knowledge(rt, self.id, text, knowledge_bases=self.knowledge_bases, limit=3,
                               min_similarity=CONFIDENT_SIMILARITY)
        if not result["responded"]:
            return None
        rt.add_trace("capture_answered_question", variable=self.variable)
        return result["answer"]

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

    def _store(self, rt, value, *, source: str, text: str) -> None:
        if self.sensitive and text == rt.user_text():
            # The answer itself holds the secret: the stored transcript gets it starred out.
            pattern = re.compile(self.options["pattern"])
            rt.mask_input([m.span() for m in pattern.finditer(text) if m.end() > m.start()])
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


def _entity_options(entity) -> dict:
    """A library entity (runtime/engine/nlu/library.py) as the extractor's options."""
    if entity is None:
        return {}
    if entity.type == "list":
        return {"entities": [{"name": v.name, "synonyms": list(v.synonyms)} for v in entity.values],
                "fuzzy": entity.fuzzy}
    return {"pattern": ("(?i)" if entity.ignore_case else "") + entity.pattern}


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
        entity = ctx.entities.get(config.entity) if ctx is not None and config.entity else None
        return _Capture(config, entity)
