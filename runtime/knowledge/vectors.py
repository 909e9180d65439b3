"""Chunk vectors: MiniLM sentence embeddings (runtime/engine/nlu/encoder.py, offline),
stored as 384 float16 values (768 bytes a chunk, half of float32; cosine scores move by
less than 1e-3, far below the gaps that order passages)."""
from __future__ import annotations

import numpy as np

from runtime.engine.nlu.encoder import EMBEDDING_DIM, encode

BATCH = 32


def embed(texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return np.concatenate([encode(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)])


def to_bytes(vector: np.ndarray) -> bytes:
    return vector.astype("<f2").tobytes()


def from_bytes(blobs: list[bytes]) -> np.ndarray:
    if not blobs:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return np.frombuffer(b"".join(bytes(b) for b in blobs), dtype="<f2").reshape(len(blobs), EMBEDDING_DIM) \
        .astype(np.float32)
