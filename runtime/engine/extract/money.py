"""Prices: amount and currency, via price-parser, with amounts in words as a fallback."""

from __future__ import annotations

import re

from babel.numbers import list_currencies
from price_parser import Price

from .base import Context, Extraction, extractor, found, refused
from .numbers import find_numbers

# price-parser reports the symbol or word as typed; the stored value uses ISO 4217 codes.
# "$" is taken as US dollars unless the card says otherwise (options.currency).
SYMBOLS = {
    "$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "buck": "USD", "bucks": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "£": "GBP", "gbp": "GBP", "pound": "GBP",
    "pounds": "GBP", "quid": "GBP", "¥": "JPY", "yen": "JPY", "₹": "INR", "rs": "INR", "rs.": "INR",
    "rupee": "INR", "rupees": "INR", "c$": "CAD", "ca$": "CAD", "cad": "CAD", "a$": "AUD", "au$": "AUD",
    "chf": "CHF", "francs": "CHF", "₩": "KRW", "won": "KRW", "₽": "RUB", "r$": "BRL", "reais": "BRL",
    "kr": "SEK", "zł": "PLN", "₺": "TRY", "cents": "USD", "cent": "USD",
}
CURRENCY_WORD = re.compile(
    r"(?<!\w)(" + "|".join(re.escape(k) for k in sorted(SYMBOLS, key=len, reverse=True) if k[0].isalpha())
    + r")(?!\w)",
    re.IGNORECASE,
)
ISO_CODES = set(list_currencies())


def currency_of(text: str, symbol: str | None, default: str | None) -> str | None:
    if symbol:
        key = symbol.strip().lower()
        if key.upper() in ISO_CODES:
            return key.upper()
        if key in SYMBOLS:
            return default if key == "$" and default else SYMBOLS[key]
    for m in CURRENCY_WORD.finditer(text):
        key = m.group(1).lower()
        if key.upper() in ISO_CODES and len(key) == 3:
            return key.upper()
        return SYMBOLS[key]
    return default


@extractor("price")
def price(text: str, ctx: Context) -> Extraction:
    default = (ctx.options or {}).get("currency")
    parsed = Price.fromstring(text)
    currency = currency_of(text, parsed.currency, default)
    if parsed.amount is not None and re.search(r"\d", text):
        amount = float(parsed.amount)
        if re.search(r"\d\s*k\b", text, re.IGNORECASE) and amount < 1000:
            amount *= 1000  # "$3k"
    else:
        numbers = find_numbers(text)
        if not numbers:
            return refused("no amount found in the answer")
        amount = float(numbers[0].value)
    if re.search(r"\bcents?\b", text, re.IGNORECASE) and not re.search(r"[$.]|dollar", text, re.IGNORECASE):
        amount = amount / 100
    if amount < 0:
        return refused("a price cannot be negative")
    return found({"amount": round(amount, 2), "currency": currency})
