"""Occlusion against Captum's FeatureAblation; omission against deleting tokens by hand."""

import numpy as np
import pytest
import torch
from captum.attr import FeatureAblation

from explanations.compute.attribution import explain
from explanations.compute.batching import make_batch
from explanations.compute.prediction import predict_proba
from tests.explanations.compute.conftest import (
    assert_matches,
    embedding_forward,
    predicted,
)

CASES = [
    ("trained_bilstm", "sentiment_batch"),
    ("trained_transformer", "sentiment_batch"),
    ("trained_pair_bilstm", "pair_batch"),
    ("trained_pair_transformer", "pair_batch"),
]


@pytest.fixture(params=CASES, ids=[case[0] for case in CASES])
def case(request):
    """Return (model, batch) for each architecture, single and pair."""
    model_name, batch_name = request.param
    return request.getfixturevalue(model_name).model, request.getfixturevalue(batch_name)


def _sequences(batch):
    lengths = batch.lengths.tolist()
    seqs = [batch.input_ids[row, :n].tolist() for row, n in enumerate(lengths)]
    contexts = None
    if batch.context_ids is not None:
        context_lengths = batch.context_mask.sum(dim=1).tolist()
        contexts = [batch.context_ids[row, :n].tolist() for row, n in enumerate(context_lengths)]
    return seqs, contexts


def test_occlusion_matches_captum_feature_ablation_one_feature_per_token(case):
    model, batch = case
    embeddings, forward = embedding_forward(model, batch)
    width = embeddings.shape[1]
    feature_mask = torch.arange(width)[None, :, None].expand_as(embeddings)
    ablation = FeatureAblation(lambda values: torch.softmax(forward(values), dim=-1))
    attributions = ablation.attribute(
        embeddings,
        baselines=0.0,
        target=predicted(model, batch),
        feature_mask=feature_mask,
        perturbations_per_eval=1,
    )
    reference = attributions[:, :, 0].detach().numpy()
    assert_matches(explain(model, batch, "occlusion"), reference, batch)


def test_omission_is_the_probability_drop_when_each_token_is_deleted(case):
    model, batch = case
    seqs, contexts = _sequences(batch)
    full = predict_proba(model, seqs, contexts)
    target = full.argmax(axis=1)
    deleted, owners, context_rows = [], [], []
    for row, seq in enumerate(seqs):
        for position in range(len(seq)):
            deleted.append(seq[:position] + seq[position + 1 :])
            owners.append(row)
            if contexts is not None:
                context_rows.append(contexts[row])
    erased = predict_proba(model, deleted, context_rows if contexts is not None else None)
    reference = np.zeros(batch.input_ids.shape)
    cursor = 0
    for row, seq in enumerate(seqs):
        for position in range(len(seq)):
            reference[row, position] = full[row, target[row]] - erased[cursor, target[row]]
            cursor += 1
    assert cursor == len(owners)
    assert_matches(explain(model, batch, "omission"), reference, batch)


@pytest.mark.parametrize("model_name", ["trained_bilstm", "trained_transformer"])
def test_omitting_the_only_token_uses_the_empty_input(request, model_name):
    model = request.getfixturevalue(model_name).model
    batch = make_batch([[5], [3, 14, 40]])
    [single, _] = explain(model, batch, "omission")
    probabilities = predict_proba(model, [[5], []])
    target = single.target
    assert single.scores == pytest.approx(
        [probabilities[0, target] - probabilities[1, target]], abs=1e-6
    )
