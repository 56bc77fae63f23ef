"""J&W's correlation diagnostic: tau per instance, their gradient and LOO, the summary."""

import numpy as np
import pytest
import torch

from explanations.compute.diagnostics.correlation import (
    JAIN_WALLACE_REFERENCE,
    Correlation,
    jain_wallace_gradient,
    jain_wallace_leave_one_out,
    kendall_per_instance,
    summarise,
)
from explanations.compute.prediction import predict_proba

from .conftest import tiny_batch, tiny_model


def test_kendall_tau_b_by_hand():
    # pairs (1,2) and (1,3) concordant, (2,3) discordant: tau = (2 - 1) / 3
    result = kendall_per_instance(
        [np.array([1.0, 2.0, 3.0]), np.array([0.5]), np.array([1.0, 1.0])],
        [np.array([1.0, 3.0, 2.0]), np.array([2.0]), np.array([3.0, 1.0])],
    )
    assert result.tau[0] == pytest.approx(1 / 3)
    assert 0 < result.p_value[0] <= 1
    assert np.isnan(result.tau[1])
    assert np.isnan(result.tau[2])


def test_mismatched_lengths_name_the_instance():
    with pytest.raises(ValueError, match="gradient: instance 1 has 2 scores for 3 tokens"):
        kendall_per_instance(
            [np.ones(2), np.arange(3.0)], [np.ones(2), np.ones(2)], label="gradient"
        )


def test_summary_by_hand():
    correlation = Correlation(
        tau=np.array([0.5, np.nan, -0.5, 1.0]), p_value=np.array([0.01, np.nan, 0.5, 0.04])
    )
    overall, first, second = summarise(correlation, np.array([0, 0, 1, 1]))
    assert overall.label is None
    assert overall.instances == 3
    assert overall.undefined == 1
    assert overall.mean == pytest.approx(1 / 3)
    assert overall.sd == pytest.approx(np.sqrt(((1 / 6) ** 2 + (5 / 6) ** 2 + (2 / 3) ** 2) / 3))
    assert overall.share_significant == pytest.approx(2 / 3)
    assert (first.label, first.instances, first.undefined, first.mean) == (0, 1, 1, 0.5)
    assert (second.mean, second.sd, second.share_significant) == (0.25, 0.75, 0.5)


def test_reference_figures_are_labelled():
    gradient = {
        f.dataset: (f.mean, f.sd) for f in JAIN_WALLACE_REFERENCE if f.compared_with == "gradient"
    }
    assert gradient["SST"] == (0.34, 0.21)
    assert gradient["20News"] == (0.07, 0.17)
    assert all("Jain & Wallace" in figure.source for figure in JAIN_WALLACE_REFERENCE)


def test_jain_wallace_gradient_matches_finite_differences_with_attention_fixed():
    model = tiny_model().double()
    batch = tiny_batch((4, 6))
    ours = jain_wallace_gradient(model, batch)
    with torch.no_grad():
        embeddings = model.embed(batch)
        weights = model(batch).attention  # held fixed, as J&W's detach

        def probability(values, row, label):
            states = model.encode(values, batch.lengths)
            pooled = torch.bmm(weights.unsqueeze(1), states).squeeze(1)
            return torch.softmax(model.classify(pooled, None), dim=-1)[row, label]

        labels = model(batch).logits.argmax(dim=1)
        step = 1e-6
        for row, length in enumerate(batch.lengths.tolist()):
            for token in range(length):
                total = 0.0
                for dim in range(embeddings.shape[2]):
                    up, down = embeddings.clone(), embeddings.clone()
                    up[row, token, dim] += step
                    down[row, token, dim] -= step
                    slope = (
                        probability(up, row, labels[row]) - probability(down, row, labels[row])
                    ) / (2 * step)
                    total += float(slope) * float(embeddings[row, token, dim])
                assert ours[row][token] == pytest.approx(abs(total), abs=1e-8)


def test_jain_wallace_leave_one_out_is_the_output_tvd():
    model = tiny_model(pair=True)
    seqs = [[4, 5, 6], [7], [8, 9]]
    contexts = [[10, 11], [12], [13, 14, 15]]
    ours = jain_wallace_leave_one_out(model, seqs, contexts)
    for row, seq in enumerate(seqs):
        full = predict_proba(model, [seq], [contexts[row]])[0]
        for token in range(len(seq)):
            shorter = seq[:token] + seq[token + 1 :]
            deleted = predict_proba(model, [shorter], [contexts[row]])[0]
            assert ours[row][token] == pytest.approx(0.5 * np.abs(deleted - full).sum(), abs=1e-7)
    assert jain_wallace_leave_one_out(model, [[]], [[3]])[0].shape == (0,)
