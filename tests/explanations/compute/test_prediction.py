"""predict_proba: input order, sorting and padding do not change any probability."""

import numpy as np
import pytest
import torch

from explanations.compute.batching import Batch, make_batch
from explanations.compute.prediction import predict_proba


def _one_by_one(model, seqs, contexts=None):
    rows = []
    with torch.no_grad():
        for index, seq in enumerate(seqs):
            batch = make_batch([seq], None if contexts is None else [contexts[index]])
            rows.append(torch.softmax(model(batch).logits[0].double(), dim=-1).numpy())
    return np.array(rows)


@pytest.mark.parametrize("model_name", ["trained_bilstm", "trained_transformer"])
def test_probabilities_match_unpadded_one_at_a_time_in_input_order(request, model_name):
    model = request.getfixturevalue(model_name).model
    seqs = [[5, 40, 60, 3], [], [12], [33, 34, 35, 36, 37, 38, 39, 40, 41], [2, 2]]
    result = predict_proba(model, seqs, batch_size=2)
    assert result.shape == (5, 2)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, _one_by_one(model, seqs), atol=1e-6)
    np.testing.assert_allclose(result.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("model_name", ["trained_pair_bilstm", "trained_pair_transformer"])
def test_pairs_keep_their_contexts(request, model_name):
    model = request.getfixturevalue(model_name).model
    seqs = [[40, 22, 50], [41], [], [22, 23, 60, 61]]
    contexts = [[22, 70], [23, 71, 72], [22], []]
    result = predict_proba(model, seqs, contexts, batch_size=3)
    np.testing.assert_allclose(result, _one_by_one(model, seqs, contexts), atol=1e-6)


def test_mismatched_contexts_are_refused(trained_pair_bilstm):
    with pytest.raises(ValueError, match="1 contexts for 2 sequences"):
        predict_proba(trained_pair_bilstm.model, [[3], [4]], [[5]])


def test_model_mode_is_restored(trained_bilstm):
    model = trained_bilstm.model
    model.train()
    try:
        predict_proba(model, [[3, 4]])
        assert model.training
    finally:
        model.eval()


def _spy_on_batch_moves(monkeypatch) -> list[torch.device]:
    """Record the device of every Batch.to call (there is no accelerator to move to here)."""
    moves: list[torch.device] = []
    original = Batch.to

    def recording(self, device):
        moves.append(torch.device(device))
        return original(self, device)

    monkeypatch.setattr(Batch, "to", recording)
    return moves


def test_batches_go_to_the_models_device(monkeypatch, trained_pair_bilstm):
    moves = _spy_on_batch_moves(monkeypatch)
    model = trained_pair_bilstm.model
    seqs, contexts = [[40, 22], [41], [22, 23, 60]], [[22], [23, 71], []]
    result = predict_proba(model, seqs, contexts, batch_size=2)
    assert moves == [torch.device("cpu")] * 2
    np.testing.assert_allclose(result, _one_by_one(model, seqs, contexts), atol=1e-6)
