"""Chunk vectors: MiniLM sentence embeddings (runtime/engine/nlu/encoder.py, offline),
stored as 384 float16 values (768 bytes a chunk, half of float32; cosine scores move by
less than 1e-3, far below the gaps that order passages).

Texts are embedded in batches of about `BATCH_TOKENS` tokens, shortest first: a batch pads
every text to its longest, and the numpy forward pass is bound by memory traffic, not by
arithmetic, once a batch's activations outgrow the CPU's caches (measured, bench/knowledge.py:
a fixed batch of 32 passages of ~150 tokens embedded about 4x slower per CPU-second than one
at a time). So a full passage goes alone, and short texts (a table's rows, a question)
share a batch."""
from __future__ import annotations

import numpy as np

from runtime.engine.nlu.encoder import EMBEDDING_DIM, encode, get_encoder

BATCH_TOKENS = 256


def embed(texts: list[str]) -> np.ndarray:
    out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
    if not texts:
        return out
    lengths = [sum(e.attention_mask) for e in get_encoder().tokenizer.encode_batch(list(texts))]
    batch: list[int] = []
    for index in sorted(range(len(texts)), key=lengths.__getitem__):
        if batch and (len(batch) + 1) * lengths[index] > BATCH_TOKENS:
            out[batch] = encode([texts[i] for i in batch])
            batch = []
        batch.append(index)
    out[batch] = encode([texts[i] for i in batch])
    return out


def to_bytes(vector: np.ndarray) -> bytes:
    return vector.astype("<f2").tobytes()


def from_bytes(blobs: list[bytes]) -> np.ndarray:
    if not blobs:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return np.frombuffer(b"".join(bytes(b) for b in blobs), dtype="<f2").reshape(len(blobs), EMBEDDING_DIM) \
        .astype(np.float32)
