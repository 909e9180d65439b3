"""Passages are embedded in length-sorted batches of a token budget (vectors.py): the
vectors come back in the order of the texts, equal to embedding each text alone."""
import numpy as np

from runtime.engine.nlu.encoder import encode
from runtime.knowledge import vectors


def test_batched_embedding_keeps_the_order_and_the_vectors():
    texts = ["Mug", "A porcelain teapot for six cups of loose leaf tea. " * 12, "Kettle Pro", "",
             "Returns are accepted within 30 days of delivery for a full refund.", "Mug"]
    got = vectors.embed(texts)
    alone = np.concatenate([encode([t]) for t in texts])
    assert got.shape == (6, 384) and got.dtype == np.float32
    assert np.abs(got - alone).max() < 1e-5
    assert np.array_equal(got[0], got[5])


def test_no_texts_no_vectors():
    assert vectors.embed([]).shape == (0, 384)
