"""Agreement between methods: Kendall tau-b and Jensen-Shannon divergence."""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from explanations.compute.faithfulness import faithfulness_scores
from explanations.compute.faithfulness.agreement import (
    absolute_distribution,
    jensen_shannon_divergence,
    rank_agreement,
)
from tests.explanations.compute.toy_probabilities import CountingModel


def test_worked_example():
    a, b = np.array([1.0, -1.0, 2.0]), np.array([2.0, 1.0, 1.0])
    p, q = absolute_distribution(a), absolute_distribution(b)
    np.testing.assert_allclose(p, [0.25, 0.25, 0.5])
    np.testing.assert_allclose(q, [0.5, 0.25, 0.25])
    # m = (0.375, 0.25, 0.375); KL(p||m) = KL(q||m) = 0.25 ln(2/3) + 0.5 ln(4/3).
    expected = 0.25 * math.log(2 / 3) + 0.5 * math.log(4 / 3)
    assert jensen_shannon_divergence(p, q) == pytest.approx(expected)
    # |a| = (1, 1, 2), |b| = (2, 1, 1): one discordant pair, one tie in each -> -1/2.
    assert rank_agreement(a, b) == pytest.approx(-0.5)


def test_jsd_is_the_square_of_scipys_distance():
    rng = np.random.default_rng(0)
    for _ in range(5):
        a, b = rng.normal(size=12), rng.normal(size=12)
        a[3] = 0.0  # a zero-probability token
        p, q = absolute_distribution(a), absolute_distribution(b)
        assert jensen_shannon_divergence(p, q) == pytest.approx(jensenshannon(p, q) ** 2)


def test_jsd_bounds():
    assert jensen_shannon_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == (
        pytest.approx(math.log(2))
    )
    p = np.array([0.2, 0.3, 0.5])
    assert jensen_shannon_divergence(p, p) == pytest.approx(0.0, abs=1e-15)


def test_agreement_for_every_pair_of_methods():
    rng = np.random.default_rng(1)
    explanations = {name: [rng.normal(size=6)] for name in ("gradient", "occlusion", "random")}
    explanations["zero"] = [np.zeros(6)]
    result = faithfulness_scores(
        CountingModel(),
        [[1, 0, 1, 1, 0, 2]],
        explanations,
        metrics=["agreement_tau", "agreement_jsd"],
    )
    g, o = explanations["gradient"][0], explanations["occlusion"][0]
    tau = stats.kendalltau(np.abs(g), np.abs(o)).statistic
    jsd = jensenshannon(np.abs(g), np.abs(o)) ** 2
    for one, other in (("gradient", "occlusion"), ("occlusion", "gradient")):
        values = result[one][0].values
        assert values[f"agreement_tau:{other}"] == pytest.approx(tau)
        assert values[f"agreement_jsd:{other}"] == pytest.approx(jsd)
    assert set(result["random"][0].values) == {
        f"agreement_{m}:{other}"
        for m in ("tau", "jsd")
        for other in ("gradient", "occlusion", "zero")
    }
    zero = result["zero"][0]
    assert zero.values["agreement_jsd:gradient"] is None
    assert "all zero" in zero.reasons["agreement_jsd:gradient"]
    assert zero.values["agreement_tau:gradient"] is None
