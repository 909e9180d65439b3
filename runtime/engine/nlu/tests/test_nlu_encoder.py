import shutil

import numpy as np
import pytest

from runtime.engine.nlu.encoder import Encoder, ModelFilesError, encode, model_dir


def test_embeddings_are_unit_vectors_of_384_floats():
    vectors = encode(["hello world", "where is my parcel?"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_matches_the_reference_model_output():
    # First five values of all-MiniLM-L6-v2("hello world") as published in fastembed's
    # canonical-vector tests (computed there with the original model).
    expected = [-0.034478, 0.03102, 0.00673, 0.02611, -0.039362]
    assert encode(["hello world"])[0, :5] == pytest.approx(expected, abs=2e-4)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence():
    a, paraphrase, unrelated = encode(
        ["How do I reset my password?", "I forgot my password, how can I change it?", "The cat sat on the mat."]
    )
    assert a @ paraphrase > 0.6
    assert a @ paraphrase > a @ unrelated + 0.4


def test_batching_and_padding_do_not_change_a_sentence_embedding():
    alone = encode(["short one"])[0]
    batched = encode(["short one", "a much longer sentence that forces padding of the short one"])[0]
    assert alone == pytest.approx(batched, abs=1e-5)


def test_a_modified_model_file_is_refused(tmp_path):
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        (tmp_path / name).symlink_to(model_dir() / name)
    (tmp_path / "tokenizer.json").unlink()
    shutil.copy(model_dir() / "tokenizer.json", tmp_path / "tokenizer.json")
    with (tmp_path / "tokenizer.json").open("a") as handle:
        handle.write(" ")
    with pytest.raises(ModelFilesError, match=r"tokenizer\.json has sha256 .* expected be50c362"):
        Encoder(tmp_path)


def test_a_missing_model_file_is_named(tmp_path):
    with pytest.raises(ModelFilesError, match="model.safetensors"):
        Encoder(tmp_path)
