"""Attention weights and attention rollout."""

import numpy as np
import pytest
import torch

from explanations.compute.attribution import explain
from explanations.compute.attribution.attention import rollout


@pytest.mark.parametrize(
    ("model_name", "batch_name"),
    [("trained_bilstm", "sentiment_batch"), ("trained_pair_bilstm", "pair_batch")],
)
def test_bilstm_attention_sums_to_one_over_real_tokens(request, model_name, batch_name):
    model = request.getfixturevalue(model_name).model
    batch = request.getfixturevalue(batch_name)
    results = explain(model, batch, "attention")
    for result, length in zip(results, batch.lengths.tolist(), strict=True):
        assert len(result.scores) == length
        assert result.scores.sum() == pytest.approx(1.0, abs=1e-6)
        assert (result.scores >= 0).all()
    with torch.no_grad():
        padded = model(batch).attention
    assert float(padded[~batch.mask].abs().max()) == 0.0


@pytest.mark.parametrize(
    ("model_name", "batch_name"),
    [("trained_transformer", "sentiment_batch"), ("trained_pair_transformer", "pair_batch")],
)
def test_transformer_attention_is_the_last_layer_cls_row_averaged_over_heads(
    request, model_name, batch_name
):
    model = request.getfixturevalue(model_name).model
    batch = request.getfixturevalue(batch_name)
    results = explain(model, batch, "attention")
    with torch.no_grad():
        maps = model(batch).layer_attentions
    last = maps[-1].mean(dim=1).numpy()  # [B, S, S]
    key_mask = torch.cat([torch.ones(batch.size, 1, dtype=torch.bool), batch.mask], dim=1)
    for row, (result, n) in enumerate(zip(results, batch.lengths.tolist(), strict=True)):
        np.testing.assert_allclose(result.scores, last[row, 0, 1 : n + 1], atol=1e-7)
        # the CLS row sums to 1 over all non-padding keys: tokens plus CLS, SEP, context
        assert result.scores.sum() + result.extras["attention_elsewhere"] == pytest.approx(
            1.0, abs=1e-6
        )
        if batch.context_ids is None:
            assert last[row, 0][key_mask[row].numpy()].sum() == pytest.approx(1.0, abs=1e-6)


def test_rollout_by_hand():
    """Abnar & Zuidema with r = 0.5 on two 2x2 one-head layers, multiplied out by hand."""
    first = torch.tensor([[[[0.2, 0.8], [0.6, 0.4]]]], dtype=torch.float64)
    second = torch.tensor([[[[0.9, 0.1], [0.5, 0.5]]]], dtype=torch.float64)
    # Ahat_1 = [[.6, .4], [.3, .7]], Ahat_2 = [[.95, .05], [.25, .75]], rollout = Ahat_2 Ahat_1
    expected = [[0.585, 0.415], [0.375, 0.625]]
    np.testing.assert_allclose(rollout([first, second], 0.5)[0].numpy(), expected, atol=1e-12)


def test_attention_rollout_matches_a_numpy_product_of_the_layers(
    trained_transformer, sentiment_batch
):
    model = trained_transformer.model
    results = explain(model, sentiment_batch, "attention_rollout")
    with torch.no_grad():
        maps = [m.double().numpy() for m in model(sentiment_batch).layer_attentions]
    for row, (result, n) in enumerate(zip(results, sentiment_batch.lengths.tolist(), strict=True)):
        product = np.eye(maps[0].shape[-1])
        for layer in maps:
            mixed = 0.5 * layer[row].mean(axis=0) + 0.5 * np.eye(layer.shape[-1])
            product = (mixed / mixed.sum(axis=1, keepdims=True)) @ product
        np.testing.assert_allclose(result.scores, product[0, 1 : n + 1], atol=1e-6)
        assert result.scores.sum() + result.extras["attention_elsewhere"] == pytest.approx(
            1.0, abs=1e-6
        )
