"""System entities found anywhere in a message (event.nlu.entities), reusing the extractors."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import phonenumbers
from dateparser.search import search_dates
from email_validator import EmailNotValidError, validate_email

from ..extract.numbers import find_numbers
from ..extract.dates import zone
from ..extract.money import currency_of

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)]", re.IGNORECASE)
MONEY = re.compile(r"(?P<pre>[$€£¥₹])\s?(?P<a>\d[\d,]*(?:\.\d+)?)|(?P<b>\d[\d,]*(?:\.\d+)?)\s?(?P<post>"
                   r"dollars?|bucks|euros?|pounds|usd|eur|gbp|cad|€)\b", re.IGNORECASE)
PERCENT = re.compile(r"(?P<n>-?\d+(?:\.\d+)?)\s?(?:%|percent\b|per cent\b)", re.IGNORECASE)


def _entity(kind: str, value, start: int, end: int, text: str) -> dict:
    return {"type": kind, "value": value, "start": start, "end": end, "text": text[start:end]}


def extract_system_entities(text: str, *, now: datetime | None = None, tz: str = "UTC",
                            region: str = "US") -> list[dict]:
    """Entities of type email, url, phone, money, percentage, datetime and number, in text
    order. A span claimed by a more specific type (a phone, a price) is not also a number."""
    found: list[dict] = []

    def free(start: int, end: int) -> bool:
        return not any(start < e["end"] and e["start"] < end for e in found)

    for m in EMAIL.finditer(text):
        try:
            value = validate_email(m.group(), check_deliverability=False).normalized
        except EmailNotValidError:
            continue
        found.append(_entity("email", value, m.start(), m.end(), text))
    for m in URL.finditer(text):
        if free(m.start(), m.end()):
            found.append(_entity("url", m.group(), m.start(), m.end(), text))
    for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        if free(m.start, m.end):
            e164 = phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
            found.append(_entity("phone", e164, m.start, m.end, text))
    for m in MONEY.finditer(text):
        if free(m.start(), m.end()):
            amount = float((m.group("a") or m.group("b")).replace(",", ""))
            symbol = m.group("pre") or m.group("post")
            found.append(_entity("money", {"amount": amount, "currency": currency_of(text, symbol, None)},
                                 m.start(), m.end(), text))
    for m in PERCENT.finditer(text):
        if free(m.start(), m.end()):
            found.append(_entity("percentage", float(m.group("n")) if "." in m.group("n") else int(m.group("n")),
                                 m.start(), m.end(), text))
    # Times the user types are in the bot's time zone, like the datetime capture kind.
    base = (now or datetime.now(timezone.utc)).astimezone(zone(tz)).replace(tzinfo=None)
    settings = {"RELATIVE_BASE": base, "TIMEZONE": tz, "TO_TIMEZONE": tz, "RETURN_AS_TIMEZONE_AWARE": True,
                "PREFER_DATES_FROM": "future"}
    # Blank out what is already claimed so a phone number does not join the date phrase.
    masked = list(text)
    for e in found:
        masked[e["start"]:e["end"]] = "." * (e["end"] - e["start"])
    masked_text = "".join(masked)
    for phrase, when in search_dates(masked_text, languages=["en"], settings=settings) or []:
        phrase = re.sub(r"^(?:[.\s]+|(?:before|after|by|until|till|from|on)\s+)+", "", phrase).strip(". ")
        # Bare numbers and stray words ("we", "may") are not dates on their own.
        if not re.search(r"[a-z]", phrase, re.I) or not re.search(
                r"\d|day|week|month|year|tomorrow|tonight|noon|midnight", phrase, re.I):
            continue
        start = masked_text.find(phrase)
        if start >= 0 and free(start, start + len(phrase)):
            found.append(_entity("datetime", when.replace(microsecond=0).isoformat(), start, start + len(phrase), text))
    for n in find_numbers(text):
        if free(n.start, n.end):
            found.append(_entity("number", n.value, n.start, n.end, text))
    return sorted(found, key=lambda e: e["start"])
