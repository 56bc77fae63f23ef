"""J&W's adversarial attention: the objective by hand, the constraint, batching."""

import numpy as np
import pytest
import torch

from explanations.compute.diagnostics.adversarial import (
    AdversarialSettings,
    adversarial_attention,
    adversarial_loss,
)
from explanations.compute.diagnostics.intervention import BiLSTMIntervention

from .conftest import hand_intervention, hand_probabilities, tiny_batch, tiny_model

FAST = AdversarialSettings(steps=60)


def _jsd(p, q):
    p, q = np.asarray(p), np.asarray(q)
    m = (p + q) / 2
    return 0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))


def test_objective_by_hand():
    values, attention = [3.0, 1.0, -2.0], [0.5, 0.3, 0.2]
    intervention = hand_intervention(values, attention)
    candidates = [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]
    weights = torch.tensor([candidates])
    with torch.no_grad():
        outputs = intervention.probabilities_for(weights)
        ours = float(adversarial_loss(weights, outputs, intervention, AdversarialSettings()))
    base = hand_probabilities(values, attention)
    expected = 0.0
    for candidate in candidates:
        distance = 0.5 * np.abs(hand_probabilities(values, candidate) - base).sum()
        expected += -_jsd(candidate, attention) + 500 * max(distance - 0.01, 0.0)
    cross = [_jsd(a, b) if a != b else 0.0 for a in candidates for b in candidates]
    expected -= np.mean(cross)  # mean over all K x K ordered pairs
    assert ours == pytest.approx(expected, rel=1e-5)


def test_every_kept_candidate_satisfies_the_constraint_and_most_move():
    model = tiny_model(seed=3)
    batch = tiny_batch((5, 7, 3, 9, 4, 6, 8, 5), seed=2)
    result = adversarial_attention(model, batch, settings=FAST, seed=1)
    kept = [row for row in range(batch.size) if result.feasible[row]]
    assert len(kept) >= 6
    for row in kept:
        distribution = result.kept[row]
        assert distribution is not None
        assert distribution.shape == (batch.lengths[row].item(),)
        assert distribution.sum() == pytest.approx(1.0, abs=1e-5)
        assert result.tvd[row] <= FAST.tvd_threshold
        assert result.jsd[row] == pytest.approx(
            result.candidate_jsd[row].max(where=result.candidate_tvd[row] <= 0.05, initial=-1)
        )
    assert np.mean(result.jsd[kept] > 1e-3) >= 0.75
    # the kept weights really give that output: recompute through the model's own layers
    intervention = BiLSTMIntervention(model, batch)
    row = kept[0]
    weights = torch.zeros(1, 1, batch.input_ids.shape[1])
    weights[0, 0, : len(result.kept[row])] = torch.from_numpy(result.kept[row]).float()
    with torch.no_grad():
        pooled = torch.bmm(weights, intervention.states[row : row + 1])[:, 0]
        output = torch.softmax(model.classify(pooled, None), dim=-1)[0].double()
    distance = 0.5 * (output - intervention.probabilities[row].double()).abs().sum()
    assert float(distance) == pytest.approx(result.tvd[row], abs=1e-6)


def test_no_feasible_candidate_is_its_own_outcome():
    model = tiny_model(seed=3)
    batch = tiny_batch((5, 4), seed=2)
    settings = AdversarialSettings(steps=5, tvd_threshold=0.0)
    result = adversarial_attention(model, batch, settings=settings)
    assert not result.feasible.any()
    assert np.isnan(result.jsd).all()
    assert result.kept == [None, None]
    assert all(len(values) == 5 for values in result.candidate_tvd)


def test_all_at_once_equals_one_instance_at_a_time():
    model = tiny_model(seed=3)
    batch = tiny_batch((5, 7, 3, 9), seed=2)
    together = adversarial_attention(model, batch, settings=FAST, seed=7)
    for row in range(batch.size):
        alone = adversarial_attention(
            model, batch.select(torch.tensor([row])), settings=FAST, seed=7, keys=[row]
        )
        np.testing.assert_allclose(alone.candidate_jsd[0], together.candidate_jsd[row], atol=1e-6)
        np.testing.assert_allclose(alone.candidate_tvd[0], together.candidate_tvd[row], atol=1e-6)


def test_model_is_left_untouched():
    model = tiny_model(seed=3)
    before = {name: value.clone() for name, value in model.state_dict().items()}
    adversarial_attention(model, tiny_batch((4,)), settings=AdversarialSettings(steps=3))
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, before[name], rtol=0, atol=0)
    assert all(parameter.grad is None for parameter in model.parameters())


@pytest.mark.parametrize(
    ("field", "value"), [("candidates", 0), ("steps", -1), ("learning_rate", float("nan"))]
)
def test_bad_settings_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        AdversarialSettings(**{field: value})
