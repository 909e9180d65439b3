"""Custom entities found anywhere in a message (event.nlu.entities): list entities (values
and synonyms, typos tolerated as the entity's fuzzy level allows) and pattern entities."""
from __future__ import annotations

import re

from ..extract.fuzzy import allowed_errors, edit_distance, normalise, phrase_distance
from .library import ListEntityDef, PatternEntityDef

TOKEN = re.compile(r"[\w']+")


def _tokens(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in TOKEN.finditer(text):
        word = normalise(m.group())
        if word:
            out.append((m.start(), m.end(), word))
    return out


class ListMatcher:
    def __init__(self, entity: ListEntityDef):
        self.name = entity.name
        self.level = entity.fuzzy
        self.phrases: list[tuple[str, list[str]]] = []
        for value in entity.values:
            for said in (value.name, *value.synonyms):
                words = normalise(said).split()
                if words:
                    self.phrases.append((value.name, words))

    def find(self, text: str) -> list[dict]:
        tokens = _tokens(text)
        said = [t[2] for t in tokens]
        candidates = []  # (first token, token count, typos, value)
        for start in range(len(said)):
            for value, words in self.phrases:
                size = len(words)
                window = said[start:start + size]
                if len(window) == size:
                    typos = phrase_distance(words, window, self.level)
                    if typos is not None:
                        candidates.append((start, size, typos, value))
                if size > 1:  # "newyork" typed for "new york"
                    joined = "".join(words)
                    limit = allowed_errors(joined, self.level)
                    typos = edit_distance(joined, said[start], limit)
                    if typos <= limit:
                        candidates.append((start, 1, typos, value))
        # Longer and closer matches first; a token belongs to one match of this entity.
        candidates.sort(key=lambda c: (-c[1], c[2], c[0]))
        taken: set[int] = set()
        found = []
        for start, size, typos, value in candidates:
            span = set(range(start, start + size))
            if span & taken:
                continue
            taken |= span
            begin, end = tokens[start][0], tokens[start + size - 1][1]
            found.append({"type": self.name, "source": "list", "value": value, "start": begin, "end": end,
                          "text": text[begin:end], "typos": typos})
        return sorted(found, key=lambda e: e["start"])


class PatternMatcher:
    def __init__(self, entity: PatternEntityDef):
        self.name = entity.name
        self.sensitive = entity.sensitive
        self.regex = re.compile(entity.pattern, re.IGNORECASE if entity.ignore_case else 0)

    def find(self, text: str) -> list[dict]:
        found = []
        for m in self.regex.finditer(text):
            if m.end() == m.start():
                continue
            entry = {"type": self.name, "source": "pattern", "value": m.group(0), "start": m.start(),
                     "end": m.end(), "text": m.group(0)}
            if self.sensitive:
                entry["sensitive"] = True
            found.append(entry)
        return found


def matcher_for(entity) -> ListMatcher | PatternMatcher:
    return ListMatcher(entity) if isinstance(entity, ListEntityDef) else PatternMatcher(entity)
