"""Durations, weights, volumes, temperatures and plain quantities.

Each answer may hold several "number unit" parts ("1 hour 30 minutes", "5 lb 3 oz");
they are summed in a base unit and converted to the unit configured on the card
(options.unit). A bare number is taken to already be in that unit.
"""

from __future__ import annotations

import re

from .base import Context, Extraction, OptionsError, extractor, found, refused
from .numbers import NumberMatch, find_numbers, tidy

# Factors to the base unit (seconds, grams, litres). Months and years are calendar
# averages (30.436875 days, 365.2425 days), as in most duration libraries.
TIME = {
    "ns": 1e-9, "nanosecond": 1e-9, "mu": 1e-6, "us": 1e-6, "µs": 1e-6, "microsecond": 1e-6,
    "ms": 1e-3, "millisecond": 1e-3, "msec": 1e-3, "s": 1, "sec": 1, "secs": 1, "second": 1,
    "min": 60, "mins": 60, "minute": 60, "m": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600,
    "d": 86400, "day": 86400, "week": 604800, "wk": 604800, "w": 604800, "fortnight": 1209600,
    "month": 2629746, "mo": 2629746, "year": 31556952, "yr": 31556952, "y": 31556952,
}
WEIGHT = {
    "mcg": 1e-6, "µg": 1e-6, "ug": 1e-6, "microgram": 1e-6, "mg": 1e-3, "milligram": 1e-3,
    "g": 1, "gr": 1, "gram": 1, "gramme": 1, "kg": 1000, "kgs": 1000, "kilo": 1000, "kilogram": 1000,
    "oz": 28.349523125, "ounce": 28.349523125, "lb": 453.59237, "lbs": 453.59237, "pound": 453.59237,
    "st": 6350.29318, "stone": 6350.29318, "mt": 1e6, "tonne": 1e6, "metric ton": 1e6,
    "t": 907184.74, "ton": 907184.74, "short ton": 907184.74,
}
VOLUME = {
    "mm3": 1e-6, "cubic millimeter": 1e-6, "cm3": 1e-3, "cc": 1e-3, "cubic centimeter": 1e-3, "ml": 1e-3,
    "milliliter": 1e-3, "millilitre": 1e-3, "cl": 1e-2, "centiliter": 1e-2, "centilitre": 1e-2,
    "dl": 0.1, "deciliter": 0.1, "decilitre": 0.1, "l": 1, "liter": 1, "litre": 1, "ltr": 1, "lt": 1,
    "kl": 1000, "kiloliter": 1000, "kilolitre": 1000, "m3": 1000, "cubic meter": 1000, "cubic metre": 1000,
    "km3": 1e12, "cubic kilometer": 1e12, "tsp": 0.00492892159375, "teaspoon": 0.00492892159375,
    "tbs": 0.01478676478125, "tbsp": 0.01478676478125, "tablespoon": 0.01478676478125,
    "in3": 0.016387064, "cubic inch": 0.016387064, "fl-oz": 0.0295735295625, "fl oz": 0.0295735295625,
    "floz": 0.0295735295625, "fluid ounce": 0.0295735295625, "oz": 0.0295735295625, "ounce": 0.0295735295625,
    "cup": 0.2365882365, "pnt": 0.473176473, "pt": 0.473176473, "pint": 0.473176473,
    "qt": 0.946352946, "quart": 0.946352946, "gal": 3.785411784, "gallon": 3.785411784,
    "ft3": 28.316846592, "cubic foot": 28.316846592, "cubic feet": 28.316846592,
    "yd3": 764.554857984, "cubic yard": 764.554857984,
}
TEMPERATURE_UNITS = {
    "c": "celsius", "°c": "celsius", "celsius": "celsius", "centigrade": "celsius", "celcius": "celsius",
    "f": "fahrenheit", "°f": "fahrenheit", "fahrenheit": "fahrenheit", "farenheit": "fahrenheit",
    "fahrenheight": "fahrenheit", "k": "kelvin", "kelvin": "kelvin", "kelvins": "kelvin",
}
# Card unit names as the docs list them ("min", "h", "d", "week", "C", "K", "F"), with the
# spelled-out forms accepted too.
CARD_UNIT_ALIASES = {"minutes": "min", "hours": "h", "days": "d", "weeks": "week", "months": "month",
                     "years": "year", "seconds": "s", "milliseconds": "ms", "microseconds": "mu",
                     "nanoseconds": "ns", "grams": "g", "kilograms": "kg", "pounds": "lb", "ounces": "oz",
                     "liters": "l", "litres": "l", "milliliters": "ml", "gallons": "gal", "cups": "cup",
                     "tons": "t", "tonnes": "mt"}


def _plural_forms(table: dict[str, float]) -> dict[str, float]:
    forms = dict(table)
    for name, factor in table.items():
        if len(name) >= 3 and name.isalpha() or " " in name:
            forms.setdefault(name + "s", factor)
            if name.endswith("foot"):
                forms.setdefault(name[:-4] + "feet", factor)
    return forms


def _unit_pattern(units: dict) -> re.Pattern:
    names = sorted(units, key=len, reverse=True)
    return re.compile(r"\s*(?:of\s+(?:an?\s+)?)?(" + "|".join(re.escape(n) for n in names) + r")(?![a-z0-9])",
                      re.IGNORECASE)


def _card_unit(ctx: Context, table: dict, default: str, kind: str) -> str:
    unit = str((ctx.options or {}).get("unit") or default)
    key = CARD_UNIT_ALIASES.get(unit.lower(), unit.lower())
    if key not in table and unit not in table:
        raise OptionsError(f"{kind}: options.unit {unit!r} is not one of {', '.join(sorted(set(table)))}")
    return key if key in table else unit


def _measured(text: str, numbers: list[NumberMatch], units: dict) -> list[tuple[float, float]]:
    """(number, factor) for each number that is followed by a unit."""
    pattern = _unit_pattern(units)
    parts = []
    for n in numbers:
        m = pattern.match(text, n.end)
        if m:
            parts.append((float(n.value), units[m.group(1).lower()]))
    return parts


def _sum_measure(text: str, ctx: Context, table: dict, default: str, kind: str, noun: str) -> Extraction:
    target = _card_unit(ctx, table, default, kind)
    units = _plural_forms(table)
    lowered = text.lower()
    # "an hour", "a week", "half an hour": an article standing for one.
    lowered = re.sub(r"\bhalf an? (?=[a-z])", "0.5 ", lowered)
    lowered = re.sub(r"(\d+(?:\.\d+)?) and a half\b", lambda m: str(float(m.group(1)) + 0.5), lowered)
    lowered = re.sub(r"\ba half\b", "0.5", lowered)
    unit_names = "|".join(re.escape(n) for n in sorted(units, key=len, reverse=True))
    lowered = re.sub(rf"(?<![\w.])an? (?=(?:{unit_names})\b)", "1 ", lowered)
    lowered = re.sub(r"(\d)([a-zµ°])", r"\1 \2", lowered)  # "70kg"
    lowered = re.sub(r"\b(h|hr|hrs)(\d)", r"\1 \2", lowered)  # "2h30"
    numbers = find_numbers(lowered)
    if not numbers:
        return refused(f"no {noun} found in the answer")
    parts = _measured(lowered, numbers, units)
    if parts:
        total = sum(value * factor for value, factor in parts)
        # "1 hour 30" / "2h30": a trailing bare number after hours means minutes.
        last = numbers[-1]
        half = re.search(r"\band (?:a )?0\.5\b", lowered) and len(parts) == 1 and len(numbers) == 2
        if not half and kind == "time_measurement" and parts[-1][1] == 3600 and len(numbers) == len(parts) + 1 \
                and last.start > numbers[-2].start:
            total += float(last.value) * 60
        # "an hour and a half", "2 and a half days" count the half in the unit before it.
        if half:
            total += 0.5 * parts[0][1]
    elif len(numbers) == 1:
        total = float(numbers[0].value) * table[target]
    else:
        return refused(f"several numbers without units; expected one {noun}")
    if total < 0:
        return refused(f"a {noun} cannot be negative")
    return found(tidy(round(total / table[target], 6)))


@extractor("time_measurement")
def time_measurement(text: str, ctx: Context) -> Extraction:
    return _sum_measure(text, ctx, TIME, "min", "time_measurement", "duration")


@extractor("weight")
def weight(text: str, ctx: Context) -> Extraction:
    return _sum_measure(text, ctx, WEIGHT, "kg", "weight", "weight")


@extractor("volume")
def volume(text: str, ctx: Context) -> Extraction:
    return _sum_measure(text, ctx, VOLUME, "l", "volume", "volume")


def _to_celsius(value: float, scale: str) -> float:
    return {"celsius": value, "fahrenheit": (value - 32) * 5 / 9, "kelvin": value - 273.15}[scale]


def _from_celsius(value: float, scale: str) -> float:
    return {"celsius": value, "fahrenheit": value * 9 / 5 + 32, "kelvin": value + 273.15}[scale]


TEMPERATURE_AFTER = re.compile(
    r"\s*(?:°|º|deg(?:rees?)?|degs?)?\s*(" + "|".join(sorted(TEMPERATURE_UNITS, key=len, reverse=True)) + r")?(?![a-z])",
    re.IGNORECASE,
)


@extractor("temperature")
def temperature(text: str, ctx: Context) -> Extraction:
    unit = str((ctx.options or {}).get("unit") or "celsius").lower()
    target = TEMPERATURE_UNITS.get(unit)
    if not target:
        raise OptionsError(f"temperature: options.unit {unit!r} must be celsius, fahrenheit or kelvin (C, F, K)")
    lowered = text.lower().replace("minus ", "-").replace("negative ", "-")
    numbers = find_numbers(lowered)
    if not numbers:
        return refused("no temperature found in the answer")
    n = numbers[0]
    m = TEMPERATURE_AFTER.match(lowered, n.end)
    scale = TEMPERATURE_UNITS[m.group(1).lower()] if m and m.group(1) else target
    celsius = _to_celsius(float(n.value), scale)
    if celsius < -273.15:
        return refused("the temperature is below absolute zero")
    return found(tidy(round(_from_celsius(celsius, target), 2)))


@extractor("quantity")
def quantity(text: str, ctx: Context) -> Extraction:
    # The number is the value; whatever follows ("5 boxes", "3 kg") is not converted.
    lowered = re.sub(r"(\d)([a-z])", r"\1 \2", text.lower())
    lowered = re.sub(r"(?<![\w.])an? (?=(?!(?:few|lot|bunch|couple|dozen|half)\b)[a-z]+s?\b)", "1 ", lowered)
    numbers = find_numbers(lowered)
    if not numbers:
        return refused("no quantity found in the answer")
    value = numbers[0].value
    if value < 0:
        return refused("a quantity cannot be negative")
    return found(value)
