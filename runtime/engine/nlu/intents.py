"""Intent classification by nearest utterances in MiniLM embedding space.

Method (numbers in docs/understanding.md):
  1. At publish time every training utterance is embedded once (`IntentModel.train`).
  2. A message is embedded and compared (cosine) with every utterance. An intent's
     score is the mean of its TOP_K best similarities, which is steadier than the single
     best match and does not punish intents with many varied utterances.
  3. Confidence = share * closeness, where share is the intent's softmax weight among
     intents (low when two intents are equally close) and closeness is a logistic curve
     over the raw score (low when the message is far from every utterance). Below the
     caller's threshold the result is "none".
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .encoder import PINNED_SHA256, encode

TOP_K = 3
SOFTMAX_TEMPERATURE = 0.05
# Logistic over the raw score: 0.5 at a mean top-3 cosine of 0.30, 0.88 at 0.40, 0.12 at
# 0.20. On the benchmark, in-scope messages score 0.38 or more in 95% of cases and
# off-topic ones 0.09-0.38.
CLOSENESS_MIDPOINT = 0.30
CLOSENESS_SLOPE = 20.0
DEFAULT_THRESHOLD = 0.5
MIN_UTTERANCES = 10
MAX_UTTERANCE_CHARS = 280
FORMAT = "flowstudio-intents/1"


class IntentDefinitionError(ValueError):
    """An intent list that cannot be trained; the message names the intent and utterance."""


@dataclass(frozen=True)
class NluResult:
    intent: str
    confidence: float
    ranking: list[tuple[str, float]]


def validate_intents(intents: Iterable[dict]) -> list[str]:
    """Every problem with the intents, as 'intents[i] (name): what is wrong'; [] when fine."""
    problems = []
    seen = set()
    for index, intent in enumerate(intents):
        where = f"intents[{index}]"
        name = intent.get("name") if isinstance(intent, dict) else None
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}: needs a non-empty name")
            continue
        where = f"{where} ({name})"
        if name == "none":
            problems.append(f"{where}: 'none' is reserved for messages that match no intent")
        if name in seen:
            problems.append(f"{where}: the name is used by another intent")
        seen.add(name)
        utterances = intent.get("utterances")
        if not isinstance(utterances, list) or not all(isinstance(u, str) for u in utterances):
            problems.append(f"{where}: utterances must be a list of strings")
            continue
        filled = [u for u in utterances if u.strip()]
        if len(filled) < MIN_UTTERANCES:
            problems.append(f"{where}: has {len(filled)} utterances, needs at least {MIN_UTTERANCES}")
        for u_index, utterance in enumerate(utterances):
            if len(utterance) > MAX_UTTERANCE_CHARS:
                problems.append(
                    f"{where}.utterances[{u_index}]: {len(utterance)} characters, the limit is {MAX_UTTERANCE_CHARS}"
                )
    return problems


class IntentModel:
    def __init__(self, names: list[str], owners: np.ndarray, embeddings: np.ndarray):
        self.names = names
        self.owners = owners  # index into names for each utterance row
        self.embeddings = embeddings

    @classmethod
    def train(cls, intents: list[dict]) -> "IntentModel":
        problems = validate_intents(intents)
        if problems:
            raise IntentDefinitionError("; ".join(problems))
        names, owners, texts = [], [], []
        for index, intent in enumerate(intents):
            names.append(intent["name"])
            for utterance in intent["utterances"]:
                if utterance.strip():
                    owners.append(index)
                    texts.append(utterance.strip())
        return cls(names, np.array(owners, dtype=np.int32), encode(texts))

    def scores(self, text: str) -> np.ndarray:
        """Raw per-intent score: mean of the TOP_K best cosine similarities."""
        query = encode([text])[0]
        similarity = self.embeddings @ query
        result = np.empty(len(self.names), dtype=np.float32)
        for index in range(len(self.names)):
            own = similarity[self.owners == index]
            k = min(TOP_K, own.size)
            result[index] = np.partition(own, own.size - k)[-k:].mean()
        return result

    def classify(self, text: str, threshold: float = DEFAULT_THRESHOLD) -> NluResult:
        if not text or not text.strip() or not self.names:
            return NluResult("none", 0.0, [])
        raw = self.scores(text).astype(np.float64)
        weights = np.exp((raw - raw.max()) / SOFTMAX_TEMPERATURE)
        share = weights / weights.sum()
        closeness = 1.0 / (1.0 + np.exp(-CLOSENESS_SLOPE * (raw - CLOSENESS_MIDPOINT)))
        confidence = share * closeness
        order = np.argsort(-confidence)
        ranking = [(self.names[i], round(float(confidence[i]), 4)) for i in order]
        best_name, best = ranking[0]
        return NluResult(best_name if best >= threshold else "none", best, ranking)

    def to_bytes(self) -> bytes:
        # npz without pickles: safe to load from the database.
        buffer = io.BytesIO()
        header = {"format": FORMAT, "names": self.names, "model": PINNED_SHA256["model.safetensors"]}
        np.savez(buffer, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                 owners=self.owners, embeddings=self.embeddings)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "IntentModel":
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                header = json.loads(archive["header"].tobytes().decode())
                owners, embeddings = archive["owners"], archive["embeddings"]
        except (ValueError, KeyError, OSError) as error:
            raise IntentDefinitionError(f"stored intent model is unreadable: {error}") from error
        if header.get("format") != FORMAT:
            raise IntentDefinitionError(f"stored intent model has format {header.get('format')!r}, expected {FORMAT}")
        if header.get("model") != PINNED_SHA256["model.safetensors"]:
            raise IntentDefinitionError("stored intent model was trained with different encoder weights; retrain it")
        return cls(list(header["names"]), owners, embeddings)
