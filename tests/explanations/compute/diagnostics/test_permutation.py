"""J&W's permutation diagnostic: the median output TVD, worked out with numpy."""

import numpy as np
import pytest
import torch

from explanations.compute.diagnostics.intervention import BiLSTMIntervention, instance_generator
from explanations.compute.diagnostics.permutation import permutation_indices, permutation_test

from .conftest import tiny_batch, tiny_model


def _numpy_reference(model, batch, row, permutations, seed):
    """Permute the weights with the instance's generator; rerun the output layer in numpy."""
    alone = BiLSTMIntervention(model, batch.select(torch.tensor([row])))
    states = alone.states[0].double().numpy()
    attention = alone.attention[0].double().numpy()
    weight = model.output.weight.detach().double().numpy()
    bias = model.output.bias.detach().double().numpy()

    def probabilities(weights):
        logits = weight @ (weights @ states) + bias
        return np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()

    n = attention.shape[0]
    rng = instance_generator(seed, row)
    base = probabilities(attention)
    distances = [
        0.5 * np.abs(probabilities(attention[np.argsort(rng.random(n))]) - base).sum()
        for _ in range(permutations)
    ]
    return float(np.median(distances)), float(attention.max())


def test_median_tvd_matches_a_numpy_computation():
    model = tiny_model()
    batch = tiny_batch()
    result = permutation_test(model, batch, permutations=20, seed=5, chunk_size=4)
    for row in range(batch.size):
        median, top = _numpy_reference(model, batch, row, 20, 5)
        assert result.median_tvd[row] == pytest.approx(median, abs=1e-6)
        assert result.max_attention[row] == pytest.approx(top, abs=1e-7)
        assert result.tvd[row].shape == (20,)
    assert result.median_tvd[1] == 0  # one token: every permutation is the identity
    assert (result.median_tvd[[0, 2, 3, 4, 5]] > 0).all()


def test_median_of_a_hand_list():
    # an even count: the mean of the two middle values, as np.median in J&W's plot
    model = tiny_model()
    batch = tiny_batch((6,))
    result = permutation_test(model, batch, permutations=4, seed=0)
    values = np.sort(result.tvd[0])
    assert result.median_tvd[0] == pytest.approx((values[1] + values[2]) / 2)


def test_padding_keeps_zero_weight():
    index = permutation_indices(3, 6, 5, np.random.default_rng(0))
    np.testing.assert_array_equal(index[:, 3:], np.tile([3, 4, 5], (5, 1)))
    for row in index:
        assert sorted(row[:3]) == [0, 1, 2]


def test_result_does_not_depend_on_the_batch_around_an_instance():
    model = tiny_model()
    batch = tiny_batch()
    whole = permutation_test(model, batch, permutations=10, seed=2)
    alone = permutation_test(
        model, batch.select(torch.tensor([4])), permutations=10, seed=2, keys=[4]
    )
    np.testing.assert_allclose(alone.tvd[0], whole.tvd[4], atol=1e-6)


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="permutations"):
        permutation_test(tiny_model(), tiny_batch(), permutations=0)
    with pytest.raises(ValueError, match="keys"):
        permutation_test(tiny_model(), tiny_batch(), keys=[1, 2])
