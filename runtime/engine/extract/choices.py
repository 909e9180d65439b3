"""Choices (single and multiple), booleans and confirmations.

Typed text is matched against each choice's label or value: exactly (case-insensitive),
then as words inside the answer, then with typos (one per word of four letters or more,
two for long words), then by position ("2", "the second one", "the last one").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .base import Context, Extraction, OptionsError, extractor, found, refused
from .fuzzy import find_phrase, normalise, words
from .numbers import ORDINALS, UNITS


@dataclass(frozen=True)
class Choice:
    label: str
    value: Any


def parse_choices(options: Any, kind: str) -> list[Choice]:
    raw = (options or {}).get("choices")
    if not raw:
        raise OptionsError(f"{kind}: options.choices is required and must be a non-empty list")
    if not isinstance(raw, (list, tuple)):
        raise OptionsError(f"{kind}: options.choices must be a list, got {type(raw).__name__}")
    choices = []
    for index, item in enumerate(raw):
        if isinstance(item, str):
            choices.append(Choice(item, item))
        elif isinstance(item, dict) and ("label" in item or "value" in item):
            label = item.get("label", item.get("value"))
            choices.append(Choice(str(label), item.get("value", label)))
        else:
            raise OptionsError(
                f"{kind}: options.choices[{index}] must be a string or {{label, value}}, got {item!r}"
            )
    return choices


def _names(choice: Choice) -> list[list[str]]:
    names = [words(choice.label)]
    value_words = words(str(choice.value))
    if value_words and value_words != names[0]:
        names.append(value_words)
    return [n for n in names if n]


POSITION = re.compile(
    r"^(?:(?:i(?:'ll| will)? (?:take|choose|pick|want)|give me|let'?s go with|go with|number|option|choice|#)\s*)?"
    r"(?:the\s+)?(?P<pos>\d+|[a-z]+)(?:st|nd|rd|th)?(?:\s+(?:one|option|choice))?(?:\s+please)?$"
)


def _by_position(text: str, choices: list[Choice]) -> Choice | None:
    m = POSITION.match(normalise(text))
    if not m:
        return None
    token = m.group("pos")
    if token == "last":
        return choices[-1]
    index = int(token) if token.isdigit() else ORDINALS.get(token) or UNITS.get(token)
    if index and 1 <= index <= len(choices):
        return choices[index - 1]
    return None


def _scan(text: str, choices: list[Choice], level: str) -> list[tuple[int, int, Choice]]:
    """(typos, position, choice) for every choice named somewhere in the text."""
    said = words(text)
    hits = []
    for choice in choices:
        best = None
        for name in _names(choice):
            hit = find_phrase(name, said, level)
            if hit and (best is None or hit < best):
                best = hit
        if best is not None:
            hits.append((best[0], best[1], choice))
    # A choice whose words sit inside a longer named choice ("red" in "dark red") is not
    # a separate mention.
    kept = []
    for typos, pos, choice in hits:
        length = max(len(n) for n in _names(choice))
        shadowed = any(
            other is not choice
            and o_typos <= typos
            and o_pos <= pos
            and pos + length <= o_pos + max(len(n) for n in _names(other))
            and max(len(n) for n in _names(other)) > length
            for o_typos, o_pos, other in hits
        )
        if not shadowed:
            kept.append((typos, pos, choice))
    return kept


def match_one(text: str, choices: list[Choice]) -> Choice | None | str:
    said = normalise(text)
    for choice in choices:
        if said in (normalise(choice.label), normalise(str(choice.value))):
            return choice
    positional = _by_position(text, choices)
    if positional:
        return positional
    for level in ("strict", "medium", "loose"):
        hits = _scan(text, choices, level)
        if len(hits) == 1:
            return hits[0][2]
        if len(hits) > 1:
            best = min(h[0] for h in hits)
            exact = [h for h in hits if h[0] == best]
            if len(exact) == 1:
                return exact[0][2]
            return "ambiguous: " + ", ".join(repr(h[2].label) for h in sorted(hits, key=lambda h: h[1]))
    return None


@extractor("single_choice")
def single_choice(text: str, ctx: Context) -> Extraction:
    choices = parse_choices(ctx.options, "single_choice")
    result = match_one(text, choices)
    if isinstance(result, Choice):
        return found(result.value)
    if isinstance(result, str):
        return refused(f"the answer names more than one choice ({result[len('ambiguous: '):]})")
    return refused("the answer matches none of the choices: " + ", ".join(c.label for c in choices))


SPLIT = re.compile(r"\s*(?:,|;|/|&|\+|\band\b|\bplus\b|\bwith\b|\balso\b)\s*", re.IGNORECASE)
ALL = re.compile(r"^(?:all|all of them|everything|all of the above|every one|the lot)$")


@extractor("multiple_choice")
def multiple_choice(text: str, ctx: Context) -> Extraction:
    choices = parse_choices(ctx.options, "multiple_choice")
    if ALL.match(normalise(text)):
        return found([c.value for c in choices])
    picked: list[tuple[int, Choice]] = []
    for level in ("medium", "loose"):
        hits = _scan(text, choices, level)
        if hits:
            picked = [(pos, choice) for _, pos, choice in hits]
            break
    if not picked:
        # Positions only make sense piece by piece: "1 and 3", "the first and the last".
        for piece in SPLIT.split(text):
            choice = _by_position(piece, choices) if piece.strip() else None
            if choice:
                picked.append((len(picked), choice))
    if not picked:
        return refused("the answer matches none of the choices: " + ", ".join(c.label for c in choices))
    values = []
    for _, choice in sorted(picked, key=lambda p: p[0]):
        if choice.value not in values:
            values.append(choice.value)
    return found(values)


YES = [
    "yes", "y", "yeah", "yea", "yep", "yup", "ya", "yah", "ye", "yess", "yesss", "ys", "sure", "ok", "okay", "k",
    "alright", "all right", "true", "correct", "right", "absolutely", "of course", "definitely", "certainly",
    "affirmative", "agree", "i agree", "accept", "i accept", "confirm", "confirmed", "i do", "do it",
    "please do", "go ahead", "sounds good", "that's right", "thats right", "exactly", "indeed", "yes please",
    "sure thing", "why not", "no problem", "no worries", "totally", "for sure", "you bet", "deal", "perfect",
    "that works", "works for me", "fine", "good", "great", "on", "enable", "enabled", "1", "👍", "✅", "positive",
    "aye", "si", "oui", "roger", "by all means", "let's do it", "lets do it", "go for it", "proceed",
]
NO = [
    "no", "n", "nope", "nah", "na", "nay", "noo", "nooo", "false", "never", "negative", "not really",
    "no thanks", "no thank you", "decline", "i decline", "disagree", "i disagree", "don't", "dont",
    "i don't", "i dont", "do not", "not at all", "no way", "incorrect", "wrong", "reject", "refuse",
    "off", "disable", "disabled", "0", "👎", "❌", "absolutely not", "definitely not", "of course not",
    "not now", "not today", "rather not", "i'd rather not", "no sir", "not interested", "cancel", "stop",
    "nevermind", "never mind", "non", "nein", "not right", "that's wrong", "thats wrong",
]
# Answers that contain a yes or no word but commit to neither.
UNSURE = [
    "not sure", "maybe", "perhaps", "i don't know", "i dont know", "dunno", "idk", "no idea", "not certain",
    "possibly", "might", "who knows", "can't decide", "cant decide", "unsure", "depends", "it depends",
]


VOCABULARY = sorted(
    {normalise(p): meaning for vocabulary, meaning in ((YES, True), (NO, False), (UNSURE, None)) for p in vocabulary
     if normalise(p)}.items(),
    key=lambda item: len(item[0]),
    reverse=True,
)


def _meanings(text: str) -> list[bool | None]:
    """The yes/no/unsure phrases in the text, longest first so "not sure" hides "sure"."""
    said = " " + normalise(text) + " "
    meanings = []
    for phrase, meaning in VOCABULARY:
        key = " " + phrase + " "
        while key in said:
            meanings.append(meaning)
            said = said.replace(key, " # ", 1)
    return meanings


def polarity(text: str, custom: list[Choice] | None = None) -> bool | str:
    """True/False, or a reason string when the answer is unclear."""
    if custom:
        said = normalise(text)
        for choice, meaning in zip(custom, (True, False)):
            if said in (normalise(choice.label), normalise(str(choice.value))):
                return meaning
    stripped = text.strip()
    if stripped in ("👍", "✅"):
        return True
    if stripped in ("👎", "❌"):
        return False
    if not normalise(text):
        return "the answer is empty"
    meanings = _meanings(text)
    if None in meanings:
        return "the answer is unsure, neither yes nor no"
    if True in meanings and False in meanings:
        return "the answer says both yes and no"
    if meanings:
        return meanings[0]
    return "the answer is neither yes nor no"


def _yes_no(kind: str, text: str, ctx: Context) -> Extraction:
    custom = parse_choices(ctx.options, kind) if (ctx.options or {}).get("choices") else None
    result = polarity(text, custom)
    if isinstance(result, bool):
        return found(result)
    return refused(result)


@extractor("boolean")
def boolean(text: str, ctx: Context) -> Extraction:
    return _yes_no("boolean", text, ctx)


@extractor("confirmation")
def confirmation(text: str, ctx: Context) -> Extraction:
    return _yes_no("confirmation", text, ctx)
