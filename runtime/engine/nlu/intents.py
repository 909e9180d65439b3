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

import hashlib
import io
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from . import encoder
from .encoder import EMBEDDING_DIM, PINNED_SHA256

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
# Utterance embeddings are kept per process so that re-training a draft after a small edit,
# and publishing a draft the emulator already trained, only encode the utterances that
# changed. 20,000 rows of 384 float32 are about 30 MB.
EMBEDDING_CACHE_SIZE = 20_000


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


class _EmbeddingCache:
    def __init__(self, size: int):
        self.size = size
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = {t: self._rows[t] for t in texts if t in self._rows}
            for text in known:
                self._rows.move_to_end(text)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = dict(zip(missing, encoder.encode(missing)))
            known.update(fresh)
            with self._lock:
                self._rows.update(fresh)
                while len(self._rows) > self.size:
                    self._rows.popitem(last=False)
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = known[text]
        return out

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


utterance_cache = _EmbeddingCache(EMBEDDING_CACHE_SIZE)


def training_texts(intents: Sequence[dict]) -> tuple[list[str], list[int], list[str]]:
    """(names, owner of each utterance, utterances): what a model is trained on."""
    names, owners, texts = [], [], []
    for index, intent in enumerate(intents):
        names.append(intent["name"])
        for utterance in intent["utterances"]:
            if utterance.strip():
                owners.append(index)
                texts.append(utterance.strip())
    return names, owners, texts


def fingerprint(intents: Sequence[dict]) -> str:
    """Identifies the training data, so a stored model is only used for the intents it was
    trained on (and with the weights it was trained with)."""
    names, owners, texts = training_texts(intents)
    payload = json.dumps([PINNED_SHA256["model.safetensors"], names, owners, texts], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class IntentModel:
    def __init__(self, names: list[str], owners: np.ndarray, embeddings: np.ndarray, fingerprint: str = ""):
        self.names = names
        self.owners = owners  # index into names for each utterance row
        self.embeddings = embeddings
        self.fingerprint = fingerprint
        self.index = {name: i for i, name in enumerate(names)}
        self._rows = [np.flatnonzero(owners == i) for i in range(len(names))]

    @classmethod
    def train(cls, intents: list[dict]) -> "IntentModel":
        problems = validate_intents(intents)
        if problems:
            raise IntentDefinitionError("; ".join(problems))
        names, owners, texts = training_texts(intents)
        return cls(names, np.array(owners, dtype=np.int32), utterance_cache.encode(texts), fingerprint(intents))

    def scores(self, text: str) -> np.ndarray:
        """Raw per-intent score: mean of the TOP_K best cosine similarities. The one place a
        message is encoded; everything else works on these scores."""
        query = encoder.encode([text])[0]
        similarity = self.embeddings @ query
        result = np.empty(len(self.names), dtype=np.float32)
        for index, rows in enumerate(self._rows):
            own = similarity[rows]
            k = min(TOP_K, own.size)
            result[index] = np.partition(own, own.size - k)[-k:].mean()
        return result

    def decide(self, raw: np.ndarray, threshold: float = DEFAULT_THRESHOLD,
               among: Sequence[int] | None = None) -> NluResult:
        """The best intent among `among` (indexes into names; all when None). Confidence
        is relative to the intents competing, so the same message can be sure among two
        intents and unsure among ten similar ones."""
        pick = np.arange(len(self.names)) if among is None else np.asarray(among, dtype=np.int64)
        if pick.size == 0:
            return NluResult("none", 0.0, [])
        sub = raw[pick].astype(np.float64)
        weights = np.exp((sub - sub.max()) / SOFTMAX_TEMPERATURE)
        share = weights / weights.sum()
        closeness = 1.0 / (1.0 + np.exp(-CLOSENESS_SLOPE * (sub - CLOSENESS_MIDPOINT)))
        confidence = share * closeness
        order = np.argsort(-confidence, kind="stable")
        ranking = [(self.names[pick[i]], round(float(confidence[i]), 4)) for i in order]
        best_name, best = ranking[0]
        return NluResult(best_name if best >= threshold else "none", best, ranking)

    def classify(self, text: str, threshold: float = DEFAULT_THRESHOLD) -> NluResult:
        if not text or not text.strip() or not self.names:
            return NluResult("none", 0.0, [])
        return self.decide(self.scores(text), threshold)

    def to_bytes(self) -> bytes:
        # npz without pickles: safe to load from the database.
        buffer = io.BytesIO()
        header = {"format": FORMAT, "names": self.names, "model": PINNED_SHA256["model.safetensors"],
                  "fingerprint": self.fingerprint}
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
        return cls(list(header["names"]), owners, embeddings, str(header.get("fingerprint") or ""))
