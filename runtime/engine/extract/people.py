"""A person's name ({first, last}) and how many people ("a table for four" -> 4)."""

from __future__ import annotations

import re

from .base import Context, Extraction, extractor, found, refused
from .numbers import find_numbers

INTRO = re.compile(
    r"^(?:(?:hi|hello|hey|well|ok|okay|sure|yes|yeah)[,!.]?\s+)*"
    r"(?:(?:my|the) (?:full )?name(?:'s| is)|name(?:'s| is)?:?|i'?m|i am|it'?s|it is|this is|call me|"
    r"they call me|you can call me|people call me|i go by)\s+",
    re.IGNORECASE,
)
TRAILER = re.compile(r"\s*(?:[,.!]|\bthanks\b|\bthank you\b|\bhere\b|\bspeaking\b|\bby the way\b).*$", re.IGNORECASE)
PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "del", "della", "la", "le", "du", "st", "st.", "bin", "al",
             "mac", "dos", "das", "ter", "ten"}
NOT_NAMES = {"yes", "no", "ok", "okay", "what", "why", "who", "none", "nobody", "idk", "dunno", "hello", "hi",
             "not", "telling", "you", "the", "a", "and", "or", "is", "are", "prefer", "secret", "none of your"}


def _capitalise(word: str) -> str:
    if word.lower() in PARTICLES:
        return word.lower()
    if word != word.lower() and word != word.upper():
        return word  # already mixed case: McDonald, DeShawn
    return "-".join("'".join(p[:1].upper() + p[1:].lower() for p in part.split("'")) for part in word.split("-"))


@extractor("person")
def person(text: str, ctx: Context) -> Extraction:
    said = INTRO.sub("", text.strip())
    said = TRAILER.sub("", said).strip()
    if not said:
        return refused("no name in the answer")
    if re.search(r"[\d@#$%&*=+<>/\\]", said):
        return refused("a name cannot contain digits or symbols")
    tokens = said.split()
    if len(tokens) > 5:
        return refused("too many words for a name; expected first and last name")
    if any(t.lower().strip("?!") in NOT_NAMES for t in tokens) or said.endswith("?"):
        return refused("the answer does not look like a name")
    tokens = [_capitalise(t) for t in tokens]
    if len(tokens) == 1:
        return found({"first": tokens[0], "last": None})
    # "Ludwig van Beethoven": the last name starts at the first particle; otherwise
    # middle names are dropped and the last word is the last name.
    for index in range(1, len(tokens)):
        if tokens[index] in PARTICLES:
            return found({"first": tokens[0], "last": " ".join(tokens[index:])})
    return found({"first": tokens[0], "last": tokens[-1]})


ALONE = re.compile(r"\b(?:just me|only me|myself|me alone|by myself|on my own|solo|alone|one person|party of one|"
                   r"table for one|just one)\b", re.IGNORECASE)
COUPLE = re.compile(r"\b(?:a couple|the two of us|two of us|me and my (?:wife|husband|partner|girlfriend|boyfriend|"
                    r"friend|son|daughter|mom|mother|dad|father|brother|sister|colleague|fiance|fiancee|date)|"
                    r"my (?:wife|husband|partner) and (?:i|me)|both of us|us two)\b", re.IGNORECASE)
PEOPLE_NOUN = re.compile(r"^\s*(?:people|persons?|guests?|adults?|kids?|children|child|of us|pax|ppl|"
                         r"seats?|diners?|friends?|colleagues?|others?|more|babies|baby|teens?|infants?)\b",
                         re.IGNORECASE)


@extractor("people_count")
def people_count(text: str, ctx: Context) -> Extraction:
    numbers = [n for n in find_numbers(text) if isinstance(n.value, int)]
    me_plus = re.search(r"\b(?:me|myself|i)\s+(?:and|plus|\+|with)\s+", text, re.IGNORECASE)
    if numbers:
        counted = [n for n in numbers if PEOPLE_NOUN.match(text[n.end:])]
        total = sum(n.value for n in counted) if len(counted) > 1 else (counted or numbers)[0].value
        if me_plus and numbers[0].start > me_plus.start():
            total += 1  # "me and 3 friends"
        if total <= 0:
            return refused("the number of people must be at least one")
        if total > 10000:
            return refused(f"{total} people is not a plausible group size")
        return found(total)
    if COUPLE.search(text):
        return found(2)
    if ALONE.search(text):
        return found(1)
    return refused("no number of people in the answer")
