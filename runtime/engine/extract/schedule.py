"""Schedules as Botpress stores them: `{cron, repeatable}` (Capture_Information.md, Cron
Schedule). A recurring schedule ("every monday at 9am") gives its cron expression
("0 9 * * 1") and repeatable true; a one-time moment ("tomorrow at 3pm") gives the cron
expression of that minute, hour, day and month ("0 15 13 3 *") and repeatable false.

No maintained Python library turns English into cron, so this covers the common
phrasings only (see docs/understanding.md); a raw cron expression is accepted as is
after its fields are range-checked, and is recurring by nature.
"""

from __future__ import annotations

import re

from datetime import datetime

from .base import Context, Extraction, extractor, found, refused
from .dates import datetime_ as one_moment

DAYS = {"sunday": 0, "sun": 0, "monday": 1, "mon": 1, "tuesday": 2, "tue": 2, "tues": 2, "wednesday": 3,
        "wed": 3, "thursday": 4, "thu": 4, "thur": 4, "thurs": 4, "friday": 5, "fri": 5, "saturday": 6, "sat": 6}
MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                      "nov", "dec"], 1)}
FIELD_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
FIELD_NAMES = ["minute", "hour", "day of month", "month", "day of week"]
CRON_TOKEN = re.compile(r"^(\*|\d+(?:-\d+)?)(?:/(\d+))?$")


def check_cron(expression: str) -> str | None:
    """None when valid, else what is wrong."""
    fields = expression.split()
    if len(fields) != 5:
        return f"a cron expression has 5 fields, this one has {len(fields)}"
    for field, (low, high), name in zip(fields, FIELD_RANGES, FIELD_NAMES):
        for part in field.split(","):
            m = CRON_TOKEN.match(part)
            if not m:
                return f"the {name} field {field!r} is not valid cron"
            for number in re.findall(r"\d+", m.group(1)):
                if not low <= int(number) <= high:
                    return f"the {name} field {field!r} is outside {low}-{high}"
    return None


TIME = re.compile(r"\b(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?!\s*(?:minutes?|mins?|hours?|"
                  r"hrs?|days?|weeks?|st|nd|rd|th))\b|\b(noon|midday|midnight)\b")


def _time_of_day(text: str) -> tuple[int, int] | None:
    for m in TIME.finditer(text):
        if m.group(4):
            return (0, 0) if m.group(4) == "midnight" else (0, 12)
        hour, minute, half = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "").replace(".", "")
        # A lone number only reads as a time after "at" ("at 7"), never "every 2".
        if not half and not m.group(2) and not m.group(0).startswith("at"):
            continue
        if half == "pm" and hour < 12:
            hour += 12
        if half == "am" and hour == 12:
            hour = 0
        if hour > 23 or minute > 59:
            return None
        return minute, hour
    return None


def _days_of_week(text: str) -> str | None:
    if re.search(r"\bweekdays?\b|\bworking days?\b|\bbusiness days?\b|monday (?:to|through|-) friday", text):
        return "1-5"
    if re.search(r"\bweekends?\b", text):
        return "0,6"
    found_days = []
    for m in re.finditer(r"\b(" + "|".join(sorted(DAYS, key=len, reverse=True)) + r")s?\b", text):
        day = DAYS[m.group(1)]
        if day not in found_days:
            found_days.append(day)
    return ",".join(str(d) for d in sorted(found_days)) if found_days else None


WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10, "fifteen": 15,
                "twenty": 20, "thirty": 30, "other": 2, "a": 1, "an": 1}


# Words that make a schedule recurring; without one, the answer is read as one moment.
RECURRING = re.compile(
    r"\b(?:every|each|daily|weekly|monthly|yearly|annually|hourly|nightly|weekdays?|weekends?|"
    r"(?:working|business) days|once an? \w+|twice an? \w+|(?:mon|tues|wednes|thurs|fri|satur|sun)days|"
    r"of (?:the|each|every) (?:month|year))\b")


def _schedule(expression: str, repeatable: bool) -> Extraction:
    return found({"cron": expression, "repeatable": repeatable})


@extractor("cron")
def cron(text: str, ctx: Context) -> Extraction:
    raw = text.strip()
    if re.fullmatch(r"[\d*/,\-]+(?:\s+[\d*/,\-]+){4}", raw):
        problem = check_cron(raw)
        return refused(problem) if problem else _schedule(" ".join(raw.split()), True)
    if not RECURRING.search(text.lower()):
        moment = one_moment(text, ctx)
        if not moment.ok:
            return refused("no schedule recognised (try 'every monday at 9am', 'tomorrow at 3pm' or a cron "
                           "expression)")
        when = datetime.fromisoformat(moment.value)
        return _schedule(f"{when.minute} {when.hour} {when.day} {when.month} *", False)
    expression = _recurring(text)
    return expression if isinstance(expression, Extraction) else _schedule(expression, True)


def _recurring(text: str) -> str | Extraction:
    """The cron expression of a recurring schedule, or a refusal."""
    said = " " + re.sub(r"\s+", " ", text.lower()) + " "
    if re.search(r"\bevery (?:other|second|2nd) (?:week|" + "|".join(DAYS) + r")", said) or re.search(
            r"\blast (?:" + "|".join(DAYS) + r"|day|week)", said):
        # Cron has no "every second week" or "last friday": refuse rather than store a wrong schedule.
        return refused("standard cron cannot express that schedule (every other week / last weekday of a month)")
    said = said.replace("every other", "every 2")
    for word, number in WORD_NUMBERS.items():
        said = re.sub(rf"\bevery {word}\b(?= (?:minute|hour|day|week|month))", f"every {number}", said)
    interval = re.search(r"\bevery (\d+) ?(minutes?|mins?|hours?|hrs?|days?)\b", said)
    if interval:
        n, unit = int(interval.group(1)), interval.group(2)[0]
        if unit == "m":
            return f"*/{n} * * * *" if n > 1 else "* * * * *"
        if unit == "h":
            return f"0 */{n} * * *" if n > 1 else "0 * * * *"
        at = _time_of_day(said) or (0, 0)
        return f"{at[0]} {at[1]} */{n} * *" if n > 1 else f"{at[0]} {at[1]} * * *"
    if re.search(r"\bevery minute\b", said):
        return "* * * * *"
    if re.search(r"\b(every hour|hourly|each hour)\b", said):
        return "0 * * * *"
    at = _time_of_day(said)
    minute, hour = at if at else (0, 0)
    month_day = re.search(r"\b(?:on the )?(\d{1,2})(?:st|nd|rd|th)\b", said)
    month = re.search(r"\b(" + "|".join(MONTHS) + r")[a-z]*\b", said)
    days = _days_of_week(said)
    if re.search(r"\b(every year|yearly|annually|each year)\b", said) or (month and month_day):
        if not (month and month_day):
            return f"{minute} {hour} 1 1 *"
        return f"{minute} {hour} {int(month_day.group(1))} {MONTHS[month.group(1)[:3]]} *"
    if re.search(r"\b(every month|monthly|each month|of (?:the|each|every) month)\b", said):
        day = int(month_day.group(1)) if month_day else 1
        if not 1 <= day <= 31:
            return refused("a day of the month must be between 1 and 31")
        return f"{minute} {hour} {day} * *"
    if days:
        return f"{minute} {hour} * * {days}"
    if re.search(r"\b(every week|weekly|each week)\b", said):
        return f"{minute} {hour} * * 0"
    if re.search(r"\b(every ?day|daily|each day|every night|every morning|nightly|each night)\b", said) or at:
        if not at:
            if "morning" in said:
                minute, hour = 0, 9
            elif "night" in said:
                minute, hour = 0, 21
        return f"{minute} {hour} * * *"
    return refused("no recurring schedule recognised (try 'every monday at 9am' or a cron expression)")
