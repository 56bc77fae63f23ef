"""Saving and loading: same outputs back, SHA-256 checked, clear errors."""

import hashlib
import json

import numpy as np
import pytest

from explanations.compute.prediction import predict_proba
from explanations.compute.serialization import ModelIntegrityError, load_model, save_model
from explanations.compute.vocab import Vocabulary
from tests.explanations.compute.conftest import VOCAB_SIZE


@pytest.fixture
def vocab():
    return Vocabulary.build([[f"w{i}" for i in range(VOCAB_SIZE - 2)]])


@pytest.mark.parametrize(
    "model_name", ["trained_bilstm", "trained_transformer", "trained_pair_bilstm"]
)
def test_round_trip_gives_the_same_model(request, model_name, vocab, tmp_path):
    model = request.getfixturevalue(model_name).model
    digest = save_model(model, model.config, vocab, ["negative", "positive"], tmp_path / "m")
    assert digest == hashlib.sha256((tmp_path / "m" / "weights.pt").read_bytes()).hexdigest()
    loaded, config, loaded_vocab, labels = load_model(tmp_path / "m")
    assert config == model.config
    assert loaded_vocab == vocab
    assert labels == ["negative", "positive"]
    assert not loaded.training
    seqs = [[5, 6, 7], [8], []]
    contexts = [[22], [23, 9], [24]] if model.config["pair"] else None
    np.testing.assert_array_equal(
        predict_proba(loaded, seqs, contexts), predict_proba(model, seqs, contexts)
    )
    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert card["weights_sha256"] == digest


def test_saving_twice_gives_the_same_hash(trained_bilstm, vocab, tmp_path):
    model = trained_bilstm.model
    first = save_model(model, model.config, vocab, ["a", "b"], tmp_path / "one")
    assert save_model(model, model.config, vocab, ["a", "b"], tmp_path / "two") == first


def test_changed_weights_are_refused_naming_the_file(trained_bilstm, vocab, tmp_path):
    model = trained_bilstm.model
    save_model(model, model.config, vocab, ["a", "b"], tmp_path)
    weights = tmp_path / "weights.pt"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="weights.pt: SHA-256 .* does not match"):
        load_model(tmp_path)


def test_missing_or_broken_card_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no model card"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ValueError, match="model.json: not valid JSON"):
        load_model(tmp_path)
    (tmp_path / "model.json").write_text("{}")
    with pytest.raises(ValueError, match="missing field 'format_version'"):
        load_model(tmp_path)


def test_vocabulary_and_labels_must_fit_the_config(trained_bilstm, tmp_path):
    model = trained_bilstm.model
    with pytest.raises(ValueError, match="vocabulary has 3 entries"):
        save_model(model, model.config, Vocabulary.build([["x"]]), ["a", "b"], tmp_path)
    small = Vocabulary.build([[f"w{i}" for i in range(VOCAB_SIZE - 2)]])
    with pytest.raises(ValueError, match="1 label names"):
        save_model(model, model.config, small, ["a"], tmp_path)
