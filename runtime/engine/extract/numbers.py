"""Numbers written in digits or English words, and the `number` and `percentage` kinds.

No maintained library turns English number words into values offline (babel formats,
it does not parse words), so `find_numbers` is hand-written: digits with thousands
separators and k/m suffixes, and word sequences such as "two hundred and five".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .base import Context, Extraction, extractor, found, refused

UNITS = {
    "zero": 0, "oh": 0, "nil": 0, "none": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19,
}
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
# Frequent misspellings seen in chat answers.
TYPOS = {
    "fourty": "forty", "ninty": "ninety", "tweleve": "twelve", "twelf": "twelve", "fiveteen": "fifteen",
    "eightteen": "eighteen", "nineten": "nineteen", "thrity": "thirty", "tirty": "thirty",
    "seventeeen": "seventeen", "hundered": "hundred", "hundrad": "hundred", "thousend": "thousand",
    "thousands": "thousand", "hundreds": "hundred", "millions": "million",
}
# Words that stand for a count on their own ("a dozen", "a couple", "half").
COUNT_WORDS = {"dozen": 12, "couple": 2, "pair": 2, "half": 0.5, "quarter": 0.25}
ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}
SUFFIX_SCALES = {"k": 1_000, "m": 1_000_000, "mm": 1_000_000, "bn": 1_000_000_000, "b": 1_000_000_000}

DIGITS = re.compile(
    r"(?<![\w.])(?P<sign>[-+−])?(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?:\.(?P<frac>\d+))?"
    r"(?:\s?(?P<suffix>k|mm|m|bn|b)\b|\s+(?P<scale>thousand|million|billion|hundred)\b)?",
    re.IGNORECASE,
)
FRACTION = re.compile(r"(?<![\w/])(\d+)\s*/\s*(\d+)(?![\w/])")
WORD = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class NumberMatch:
    value: float | int
    start: int
    end: int


def tidy(value: float) -> float | int:
    """Integral values come back as int so they store and render as `3`, not `3.0`."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return round(value, 10) if isinstance(value, float) else value


def _digit_numbers(text: str) -> list[NumberMatch]:
    matches = []
    for m in DIGITS.finditer(text):
        if m.group("int") is None and m.group("frac") is None:
            continue
        # "2025-03-01" or phone-like runs are not amounts; a dash right after a digit
        # is a range or a date separator, never a minus sign.
        start = m.start()
        sign = m.group("sign")
        if sign and start > 0 and text[start - 1].isalnum():
            start += 1
            sign = None
        whole = (m.group("int") or "0").replace(",", "")
        value = float(f"{whole}.{m.group('frac')}") if m.group("frac") else int(whole)
        if m.group("suffix"):
            value = value * SUFFIX_SCALES[m.group("suffix").lower()]
        elif m.group("scale"):
            value = value * SCALES[m.group("scale").lower()]
        if sign in ("-", "−"):
            value = -value
        matches.append(NumberMatch(tidy(float(value)), start, m.end()))
    return matches


def _word_numbers(text: str) -> list[NumberMatch]:
    words = [(TYPOS.get(m.group().lower(), m.group().lower()), m.start(), m.end()) for m in WORD.finditer(text)]
    matches: list[NumberMatch] = []
    i = 0
    while i < len(words):
        word, start, _ = words[i]
        is_article = word in ("a", "an") and i + 1 < len(words) and words[i + 1][0] in (*SCALES, *COUNT_WORDS)
        if not (word in UNITS or word in TENS or word in SCALES or word in COUNT_WORDS or is_article):
            i += 1
            continue
        # "none", "oh" and "nil" only count when they are the whole answer.
        if word in ("oh", "nil", "none") and len(words) > 1:
            i += 1
            continue
        total, current, end, j, seen = 0.0, 0.0, start, i, False
        while j < len(words):
            w, _, w_end = words[j]
            between = text[end:words[j][1]] if j > i else ""
            if j > i and between.strip(" -") not in ("",):
                break
            if w in ("a", "an") and j + 1 < len(words) and words[j + 1][0] in (*SCALES, *COUNT_WORDS):
                current = current or 1
            elif w in UNITS:
                if seen and current % 10 != 0 and current < 100 and current % 100 != 0:
                    break  # "two three" is two numbers, not one
                current += UNITS[w]
            elif w in TENS:
                if seen and current % 100 != 0:
                    break
                current += TENS[w]
            elif w == "hundred":
                current = (current or 1) * 100
            elif w in SCALES:
                total += (current or 1) * SCALES[w]
                current = 0
            elif w in COUNT_WORDS:
                if w == "half" and seen and current:
                    current += 0.5  # "two and a half"
                else:
                    current = (current or 1) * COUNT_WORDS[w]
            elif w == "and" and seen and j + 1 < len(words) and (
                words[j + 1][0] in UNITS or words[j + 1][0] in TENS or words[j + 1][0] in ("a",)
            ):
                pass
            else:
                break
            if w not in ("and", "a", "an"):
                seen = True
            end = w_end
            j += 1
        if seen:
            # "and" or "a" dangling at the end belongs to the sentence, not the number.
            matches.append(NumberMatch(tidy(total + current), start, end))
            i = j
        else:
            i += 1
    negatives = []
    for m in matches:
        before = text[:m.start].rstrip().lower()
        if before.endswith("minus") or before.endswith("negative"):
            negatives.append(NumberMatch(-m.value, m.start, m.end))
        else:
            negatives.append(m)
    return negatives


def find_numbers(text: str) -> list[NumberMatch]:
    """Every number in the text, in reading order, digits and words alike."""
    taken: list[NumberMatch] = []
    for m in FRACTION.finditer(text):
        denominator = int(m.group(2))
        if denominator:
            taken.append(NumberMatch(tidy(int(m.group(1)) / denominator), m.start(), m.end()))
    for m in _digit_numbers(text) + _word_numbers(text):
        if not any(m.start < t.end and t.start < m.end for t in taken):
            taken.append(m)
    return sorted(taken, key=lambda m: m.start)


def first_number(text: str) -> NumberMatch | None:
    numbers = find_numbers(text)
    return numbers[0] if numbers else None


@extractor("number")
def number(text: str, ctx: Context) -> Extraction:
    numbers = find_numbers(text)
    if not numbers:
        return refused("no number found in the answer")
    distinct = {n.value for n in numbers}
    if len(distinct) > 1 and re.search(r"\bbetween\b", text[:numbers[0].start], re.IGNORECASE):
        return refused("the answer gives a range; expected one number")
    if len(distinct) > 1 and re.search(r"\b(or|and|to)\b|-", text[numbers[0].end:numbers[1].start]):
        return refused("the answer gives a range or several numbers; expected one number")
    return found(numbers[0].value)


PERCENT = re.compile(r"%|\bper\s?cent\b|\bpercent(?:age)?\b|\bpct\b", re.IGNORECASE)


@extractor("percentage")
def percentage(text: str, ctx: Context) -> Extraction:
    numbers = find_numbers(text)
    if not numbers:
        if re.search(r"\b(all of it|everything|full)\b", text, re.IGNORECASE):
            return found(100)
        return refused("no percentage found in the answer")
    for n in numbers:
        if PERCENT.match(text[n.end:].lstrip()):
            return found(n.value)
    if len(numbers) == 1:
        n = numbers[0]
        if isinstance(n.value, float) and n.value in (0.5, 0.25) and "half" in text.lower() or "quarter" in text.lower():
            return found(tidy(n.value * 100))
        # A bare number answering "what percentage?" is the percentage itself.
        return found(n.value)
    return refused("several numbers and none marked with % or 'percent'")
