"""Email addresses (email-validator, no DNS) and phone numbers (phonenumbers, E.164)."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from .base import Context, Extraction, OptionsError, extractor, found, refused

CANDIDATE = re.compile(r"[^\s<>(),;:\"']+@[^\s<>(),;:\"']+")
# "john dot smith at gmail dot com", as people type it to dodge spam bots or speak it.
SPOKEN_AT = re.compile(r"\s*(?:\(at\)|\[at\]|\bat\b)\s*", re.IGNORECASE)
SPOKEN_DOT = re.compile(r"\s*(?:\(dot\)|\[dot\]|\bdot\b)\s*", re.IGNORECASE)


def _spoken(text: str) -> str | None:
    if not SPOKEN_DOT.search(text):
        return None
    tail = re.split(r"\b(?:is|its|it's|email|e-mail|address)\b[:\s]*", text, flags=re.IGNORECASE)[-1]
    collapsed = SPOKEN_DOT.sub(".", SPOKEN_AT.sub("@", tail.strip()))
    return collapsed.replace(" ", "") if collapsed.count("@") == 1 else None


@extractor("email")
def email(text: str, ctx: Context) -> Extraction:
    candidates = [m.group().strip(".!?") for m in CANDIDATE.finditer(text)]
    if not candidates:
        spoken = _spoken(text)
        candidates = [spoken] if spoken else []
    if not candidates:
        return refused("no email address (nothing with an @) in the answer")
    problems = []
    for candidate in candidates:
        try:
            checked = validate_email(candidate, check_deliverability=False)
        except EmailNotValidError as error:
            problems.append(f"{candidate!r}: {error}")
            continue
        # The domain is case-insensitive and email-validator lowercases it; the local part
        # is kept as typed because some servers treat it case-sensitively.
        return found(checked.normalized)
    return refused("not a valid email address: " + "; ".join(problems))


@extractor("phone")
def phone(text: str, ctx: Context) -> Extraction:
    region = str((ctx.options or {}).get("region") or "US").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise OptionsError(f"phone: options.region {region!r} is not a known two-letter region code")
    # VALID, not POSSIBLE: a merely "possible" match turns "555-0123" into +15550123.
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        return found(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))
    digits = re.sub(r"\D", "", text)
    if not digits:
        return refused("no phone number in the answer")
    return refused(f"{len(digits)} digits do not make a possible phone number for region {region}")
