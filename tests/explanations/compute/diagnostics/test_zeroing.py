"""Serrano & Smith's zeroing, checked on the hand-set model and against a one-at-a-time loop."""

import numpy as np
import pytest
import torch

from explanations.compute.diagnostics.intervention import BiLSTMIntervention, instance_generator
from explanations.compute.diagnostics.metrics import jsd
from explanations.compute.diagnostics.zeroing import (
    GRADIENT_ORDERS,
    ORDERS,
    flip_search,
    order_positions,
    single_weight_zeroing,
    zeroing_diagnostics,
)

from .conftest import hand_intervention, hand_probabilities, tiny_batch, tiny_model

VALUES = [3.0, 1.0, -2.0, -4.0]
ATTENTION = [0.4, 0.3, 0.2, 0.1]


def _hand_jsd(p, q):
    m = (p + q) / 2
    return 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))


def test_single_weight_zeroing_by_hand():
    intervention = hand_intervention(VALUES, ATTENTION)
    rng = instance_generator(0, 0)
    result = single_weight_zeroing(intervention, [rng])
    expected_random = 1 + int(instance_generator(0, 0).integers(3))  # any position but the top (0)
    base = hand_probabilities(VALUES, ATTENTION)  # pooled 0.7: class 1
    top = hand_probabilities(VALUES, [0, 0.5, 1 / 3, 1 / 6])  # pooled -0.833: class 0
    others = np.array(ATTENTION)
    others[expected_random] = 0
    random = hand_probabilities(VALUES, others / others.sum())
    assert result.top_position[0] == 0
    assert result.top_weight[0] == pytest.approx(0.4)
    assert result.random_position[0] == expected_random
    assert result.top_jsd[0] == pytest.approx(_hand_jsd(top, base), abs=1e-6)
    assert result.random_jsd[0] == pytest.approx(_hand_jsd(random, base), abs=1e-6)
    assert result.top_flipped[0]
    assert not result.random_flipped[0]
    assert result.jsd_difference[0] == pytest.approx(result.top_jsd[0] - result.random_jsd[0])


def test_flip_search_by_hand():
    intervention = hand_intervention(VALUES, ATTENTION)
    positions = order_positions(intervention, ORDERS, [instance_generator(0, 0)])
    by_attention = flip_search(intervention, "attention", positions["attention"])
    # removing token 0 leaves (0.3, 0.2, 0.1) / 0.6: pooled -0.833 + 0.5 < 0, class 0
    assert by_attention.flipped[0]
    assert by_attention.items[0] == 1
    assert by_attention.fraction[0] == pytest.approx(0.25)
    assert by_attention.mass[0] == pytest.approx(0.4)
    # reverse order: pooled 1.22, 2.14, 3, then a zero context (logit 0.5): never flips
    reverse = flip_search(intervention, "reverse_attention", positions["reverse_attention"])
    assert not reverse.flipped[0]
    assert np.isnan(reverse.items[0])
    assert np.isnan(reverse.mass[0])
    # dp_1/da_i = p_1 p_0 s_i: gradient order follows s; g*a = p_1 p_0 (1.2, .3, -.4, -.4);
    # sign(g) a = (.4, .3, -.2, -.1)
    np.testing.assert_array_equal(positions["gradient"][0], [0, 1, 2, 3])
    np.testing.assert_array_equal(positions["gradient_x_attention"][0], [0, 1, 2, 3])
    np.testing.assert_array_equal(positions["sign_gradient_x_attention"][0], [0, 1, 3, 2])
    np.testing.assert_array_equal(positions["reverse_attention"][0], [3, 2, 1, 0])


def test_flip_search_when_the_second_item_flips():
    # base pooled 1.7 (class 1); without token 0: (0.8, 0.2) gives 4.4; without 0 and 1: -2
    intervention = hand_intervention([-1.0, 6.0, -2.0], [0.5, 0.4, 0.1], bias=0.0)
    positions = order_positions(intervention, ["attention"], [instance_generator(0, 0)])
    result = flip_search(intervention, "attention", positions["attention"])
    assert result.items[0] == 2
    assert result.fraction[0] == pytest.approx(2 / 3)
    assert result.mass[0] == pytest.approx(0.9)


def _loop_flip(model, batch, row, order):
    """Serrano & Smith's loop: zero one weight, renormalise the current weights, rerun."""
    alone = BiLSTMIntervention(model, batch.select(torch.tensor([row])))
    weights = alone.attention.clone()
    base = int(alone.probabilities.argmax())
    for count, position in enumerate(order, start=1):
        weights[0, position] = 0
        total = weights.sum()
        weights = weights / total if total > 0 else weights
        with torch.no_grad():
            label = int(alone.probabilities_for(weights[:, None, :]).argmax())
        if label != base:
            return count, float(alone.attention[0, order[:count]].sum())
    return None, None


def test_batched_flip_search_equals_the_one_at_a_time_loop():
    model = tiny_model()
    batch = tiny_batch((5, 1, 7, 3, 9, 4, 8, 6))
    result = zeroing_diagnostics(model, batch, seed=4, chunk_size=3)
    for row in range(batch.size):
        alone = BiLSTMIntervention(model, batch.select(torch.tensor([row])))
        rng = instance_generator(4, row)
        single_weight_zeroing(alone, [rng])  # the same draws in the same sequence
        positions = order_positions(alone, ORDERS, [rng])
        for name in ORDERS:
            count, mass = _loop_flip(model, batch, row, positions[name][0])
            search = result.flips[name]
            if count is None:
                assert not search.flipped[row], (name, row)
            else:
                assert search.items[row] == count, (name, row)
                assert search.mass[row] == pytest.approx(mass, abs=1e-6)


def test_transformer_gets_the_attention_orders_and_says_why_not_the_others():
    model = tiny_model("transformer")
    result = zeroing_diagnostics(model, tiny_batch())
    assert set(result.flips) == set(ORDERS) - set(GRADIENT_ORDERS)
    assert set(result.skipped) == set(GRADIENT_ORDERS)
    assert np.isfinite(result.single.top_jsd).all()
    with pytest.raises(ValueError, match="gradient"):
        zeroing_diagnostics(model, tiny_batch(), orders=["gradient"])


def test_unknown_order_is_named():
    with pytest.raises(ValueError, match="unknown sideways"):
        zeroing_diagnostics(tiny_model(), tiny_batch(), orders=["sideways"])


def test_top_jsd_uses_natural_log():
    intervention = hand_intervention([2.0, -2.0], [0.5, 0.5], bias=0.0)
    result = single_weight_zeroing(intervention, [instance_generator(0, 0)])
    base = torch.tensor(hand_probabilities([2, -2], [0.5, 0.5], 0.0))
    top = torch.tensor(hand_probabilities([2, -2], [0, 1], 0.0))
    assert result.top_jsd[0] == pytest.approx(float(jsd(top, base)), abs=1e-6)
