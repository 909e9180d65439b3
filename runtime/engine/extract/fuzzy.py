"""Typo-tolerant word matching shared by choices, entity lists and colours."""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import OSA

WORD = re.compile(r"[\w']+|[^\w\s]", re.UNICODE)


def normalise(text: str) -> str:
    """Lower case, accents folded, punctuation turned into spaces, spaces collapsed."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    folded = re.sub(r"[^\w\s']", " ", folded).replace("'", "")
    return " ".join(folded.split())


def words(text: str) -> list[str]:
    return normalise(text).split()


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance in its optimal-string-alignment form (an adjacent swap
    counts once, no substring is edited twice), or `limit + 1` when it is above `limit`."""
    return OSA.distance(a, b, score_cutoff=limit)


# Botpress' list-entity levels: strict allows no error; medium one error and loose two,
# both only in words of four characters or more (short words must match exactly).
TOLERANCE = {"strict": 0, "medium": 1, "loose": 2}


def allowed_errors(word: str, level: str) -> int:
    return TOLERANCE[level] if len(word) >= 4 else 0


def phrase_distance(candidate: list[str], window: list[str], level: str) -> int | None:
    """Total typos between two word lists of equal length, or None if any word is too far."""
    total = 0
    for expected, said in zip(candidate, window):
        limit = allowed_errors(expected, level)
        distance = edit_distance(expected, said, limit)
        if distance > limit:
            return None
        total += distance
    return total


def find_phrase(candidate: list[str], said: list[str], level: str) -> tuple[int, int] | None:
    """Best (typos, position) of `candidate` inside the words `said`, or None."""
    size = len(candidate)
    best: tuple[int, int] | None = None
    if not size:
        return None
    for start in range(0, len(said) - size + 1):
        distance = phrase_distance(candidate, said[start:start + size], level)
        if distance is not None and (best is None or distance < best[0]):
            best = (distance, start)
    # Also accept a phrase typed without its spaces ("newyork" for "new york").
    if size > 1:
        joined = "".join(candidate)
        for start, word in enumerate(said):
            limit = allowed_errors(joined, level)
            if edit_distance(joined, word, limit) <= limit and (best is None or best[0] > 0):
                best = (edit_distance(joined, word, limit), start)
    return best
