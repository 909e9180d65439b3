"""Postal addresses, best effort ({number, street, city, zip, country}).

Without a geocoder or an address model offline, this is a heuristic for addresses
written the usual North American / UK / European way: "number street, city, [state] zip,
country". Fields it cannot find are None. Limits are listed in docs/understanding.md.
"""

from __future__ import annotations

import re

from babel import Locale

from .base import Context, Extraction, extractor, found, refused

COUNTRIES = {name.lower(): name for code, name in Locale("en").territories.items() if code.isalpha()}
COUNTRIES.update({"usa": "United States", "us": "United States", "u.s.": "United States",
                  "u.s.a.": "United States", "america": "United States", "uk": "United Kingdom",
                  "u.k.": "United Kingdom", "england": "United Kingdom", "scotland": "United Kingdom",
                  "wales": "United Kingdom", "great britain": "United Kingdom", "holland": "Netherlands",
                  "deutschland": "Germany"})
STATES = set("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
             "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC QC ON BC AB MB NS NB NL PE SK NSW VIC QLD TAS ACT NT".split())
ZIP = re.compile(r"\b(\d{5}(?:-\d{4})?|[A-Z]\d[A-Z]\s?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|\d{4})\b",
                 re.IGNORECASE)
STREET_START = re.compile(r"^\s*(?:(?:i live at|my address is|address:?|it'?s|ship (?:it )?to|send (?:it )?to)\s+)?"
                          r"(?P<number>\d+[a-z]?(?:-\d+)?)\s*,?\s+(?P<street>[^,\n]+)", re.IGNORECASE)
EUROPEAN = re.compile(r"^\s*(?P<street>[^\d,\n]+?)\s+(?P<number>\d+[a-z]?)\s*(?:,|$)", re.IGNORECASE)


@extractor("address")
def address(text: str, ctx: Context) -> Extraction:
    text = text.strip().rstrip(".")
    parts = [p.strip() for p in re.split(r",|\n", text) if p.strip()]
    street_match = STREET_START.match(parts[0]) if parts else None
    if street_match:
        number, street = street_match.group("number"), street_match.group("street").strip()
    else:
        euro = EUROPEAN.match(parts[0]) if parts else None
        if not euro:
            return refused("no street address found (expected a house number and a street)")
        number, street = euro.group("number"), euro.group("street").strip()
    rest = parts[1:]
    country = None
    if rest and rest[-1].lower().strip(". ") in COUNTRIES:
        country = COUNTRIES[rest.pop().lower().strip(". ")]
    zip_code = None
    city = None
    for index in range(len(rest) - 1, -1, -1):
        m = ZIP.search(rest[index])
        if m:
            zip_code = m.group(1).upper()
            before = rest[index][:m.start()].strip()
            words = [w for w in before.split() if w.upper().strip(".") not in STATES]
            after = rest[index][m.end():].strip()
            if words:
                city = " ".join(words)
            elif after:
                city = after  # "10115 Berlin": the zip comes first in much of Europe
            elif index > 0:
                city = rest[index - 1]
            break
    if city is None and rest:
        candidate = rest[0]
        tokens = [w for w in candidate.split() if w.upper().strip(".") not in STATES]
        city = " ".join(tokens) or None
    if not rest and not zip_code:
        # One line with no commas: "221B Baker Street London" cannot be split reliably.
        return found({"number": number, "street": street, "city": None, "zip": None, "country": country})
    return found({"number": number, "street": street, "city": city, "zip": zip_code, "country": country})
