"""Library entities used by capture cards: list entities (with synonyms, typo-tolerant) and
pattern (regex) entities, with masking for sensitive patterns."""

from __future__ import annotations

import re
from typing import Any

from .base import Context, Extraction, OptionsError, extractor, found, refused
from .fuzzy import TOLERANCE, find_phrase, words


def parse_entities(options: Any) -> list[tuple[str, list[list[str]]]]:
    raw = (options or {}).get("entities")
    if not raw or not isinstance(raw, list):
        raise OptionsError("entity_list: options.entities must be a non-empty list of {name, synonyms}")
    entries = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise OptionsError(f"entity_list: options.entities[{index}] needs a non-empty 'name'")
        synonyms = item.get("synonyms") or []
        if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
            raise OptionsError(f"entity_list: options.entities[{index}].synonyms must be a list of strings")
        entries.append((item["name"], [w for w in (words(s) for s in [item["name"], *synonyms]) if w]))
    return entries


def find_list_entities(text: str, entries: list[tuple[str, list[list[str]]]], level: str) -> list[tuple[int, int, str]]:
    """(position, typos, entry name) for each entry named in the text, in reading order."""
    said = words(text)
    hits = []
    for name, phrases in entries:
        best = None
        for phrase in phrases:
            hit = find_phrase(phrase, said, level)
            # Longer phrases win ties so "new york city" beats "york".
            if hit and (best is None or (hit[0], -len(phrase)) < (best[0], -best[2])):
                best = (hit[0], hit[1], len(phrase))
        if best:
            hits.append((best[1], best[0], name))
    return sorted(hits)


@extractor("entity_list")
def entity_list(text: str, ctx: Context) -> Extraction:
    entries = parse_entities(ctx.options)
    level = str((ctx.options or {}).get("fuzzy") or "medium").lower()
    if level not in TOLERANCE:
        raise OptionsError(f"entity_list: options.fuzzy {level!r} must be strict, medium or loose")
    hits = find_list_entities(text, entries, level)
    if not hits:
        return refused("the answer names none of: " + ", ".join(name for name, _ in entries))
    exact = [h for h in hits if h[1] == 0]
    return found((exact or hits)[0][2])


def compile_pattern(pattern: Any) -> re.Pattern:
    if not isinstance(pattern, str) or not pattern:
        raise OptionsError("entity_regex: options.pattern must be a non-empty string")
    try:
        return re.compile(pattern)
    except re.error as error:
        raise OptionsError(f"entity_regex: options.pattern {pattern!r} is not a valid regex: {error}") from error


def mask_sensitive(text: str, pattern: str) -> str:
    """The text with every match of `pattern` replaced by as many `*`."""
    return compile_pattern(pattern).sub(lambda m: "*" * len(m.group(0)), text)


@extractor("entity_regex")
def entity_regex(text: str, ctx: Context) -> Extraction:
    options = ctx.options or {}
    compiled = compile_pattern(options.get("pattern"))
    m = compiled.search(text)
    if not m:
        return refused(f"the answer does not match the pattern {compiled.pattern}")
    masked = mask_sensitive(text, compiled.pattern) if options.get("sensitive") else None
    return found(m.group(0), masked=masked)
