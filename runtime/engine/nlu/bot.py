"""A bot's understanding of user messages: its intent model (library intents plus the
inline intents of its Intent cards) and its entities, applied to one message per turn.

The model's utterance embeddings are computed once: at publish (stored with the version)
or when a draft build is compiled. A turn encodes only the user's message, once, and every
Intent card of the turn reuses those scores.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

import numpy as np

from .custom_entities import matcher_for
from .entities import extract_system_entities
from .intents import IntentDefinitionError, IntentModel, NluResult, fingerprint
from .library import NONE_INTENT, IntentDef, parse_library

INLINE_PREFIX = "inline:"
RANKING_SIZE = 5  # how many runner-up intents event.nlu.intents lists


def inline_intent_name(card_id: str) -> str:
    """The model's name for an Intent card's own utterances. ':' cannot occur in a library
    intent name, so the two never collide."""
    return INLINE_PREFIX + card_id


def _intent_cards(definition: dict) -> Iterable[dict]:
    for flow in definition.get("flows") or ():
        for node in (flow.get("nodes") or ()) if isinstance(flow, dict) else ():
            for card in (node.get("cards") or ()) if isinstance(node, dict) else ():
                if isinstance(card, dict) and card.get("type") == "intent" and card.get("utterances"):
                    yield card


def training_set(definition: dict, intents: Sequence[IntentDef] | None = None) -> list[dict]:
    """What the bot's intent model is trained on, in a fixed order: library intents as the
    file lists them, then inline intents in flow, node and card order."""
    if intents is None:
        intents, _, problems = parse_library(definition)
        if problems:
            raise IntentDefinitionError("; ".join(f"{path}: {message}" for path, message in problems))
    out = [{"name": i.name, "utterances": list(i.utterances)} for i in intents]
    for card in _intent_cards(definition):
        out.append({"name": inline_intent_name(card["id"]), "utterances": list(card["utterances"])})
    return out


def train_intent_model(definition: dict) -> bytes | None:
    """The stored form of a (valid) bot's intent model; None when it has no intents."""
    data = training_set(definition)
    return IntentModel.train(data).to_bytes() if data else None


class Analysis:
    """What the bot understood of one message."""

    __slots__ = ("_nlu", "_raw", "entities")

    def __init__(self, nlu: "BotNlu", raw: np.ndarray | None, entities: list[dict]):
        self._nlu = nlu
        self._raw = raw
        self.entities = entities

    def best(self, among: Sequence[str]) -> NluResult:
        """The winning intent when `among` compete ("none" below the bot's threshold)."""
        model = self._nlu.model
        if self._raw is None or model is None:
            return NluResult(NONE_INTENT, 0.0, [])
        indexes = [model.index[name] for name in among if name in model.index]
        return model.decide(self._raw, self._nlu.threshold, indexes)

    def event_value(self) -> dict:
        """`event.nlu`: the library intent, its confidence, the runners-up, the entities."""
        result = self.best(self._nlu.library_intents)
        return {
            "intent": result.intent,
            "confidence": round(result.confidence, 4),
            "intents": [{"name": n, "confidence": c} for n, c in result.ranking[:RANKING_SIZE]],
            "entities": self.entities,
        }


class BotNlu:
    def __init__(self, model: IntentModel | None, library_intents: tuple[str, ...], matchers: tuple,
                 threshold: float):
        self.model = model
        self.library_intents = library_intents
        self.matchers = matchers
        self.threshold = threshold

    @classmethod
    def build(cls, definition: dict, intents: Sequence[IntentDef], entities: Sequence, threshold: float,
              stored: IntentModel | bytes | None = None) -> "BotNlu | None":
        """None when the bot has no intents and no entities: its turns skip understanding.

        `stored` is the model saved at publish; it is used when it was trained on exactly
        this bot's intents with these weights, otherwise the model is trained here."""
        data = training_set(definition, intents)
        if not data and not entities:
            return None
        model = None
        if data:
            if isinstance(stored, (bytes, bytearray, memoryview)):
                try:
                    stored = IntentModel.from_bytes(bytes(stored))
                except IntentDefinitionError:
                    stored = None  # unreadable or from other weights: train again below
            model = stored if isinstance(stored, IntentModel) and stored.fingerprint == fingerprint(data) \
                else IntentModel.train(data)
        return cls(model, tuple(i.name for i in intents), tuple(matcher_for(e) for e in entities), float(threshold))

    def analyse(self, text: str, *, now: datetime, tz: str) -> Analysis:
        raw = self.model.scores(text) if self.model is not None and text.strip() else None
        custom = [entity for matcher in self.matchers for entity in matcher.find(text)]
        found = [{**entity, "source": "system"} for entity in extract_system_entities(text, now=now, tz=tz)
                 if entity["type"] not in VAGUE_SYSTEM_TYPES or not _inside_any(entity, custom)]
        found.extend(custom)
        found.sort(key=lambda e: (e["start"], -e["end"]))
        return Analysis(self, raw, found)


# A custom entity is more specific than a number or a date read out of the same characters
# ("1234" in the SKU "ABC-1234"), and a sensitive one must not leak through them.
VAGUE_SYSTEM_TYPES = ("number", "datetime")


def _inside_any(entity: dict, others: list[dict]) -> bool:
    return any(entity["start"] < o["end"] and o["start"] < entity["end"] for o in others)
