"""Rank correlations and explanation order, against hand-worked examples and scipy."""

import numpy as np
import pytest
from scipy import stats

from explanations.compute.faithfulness.ranking import (
    as_scores,
    average_ranks,
    explanation_order,
    kendall_tau_b,
    spearman_rho,
)


def test_explanation_order_is_descending_and_stable_on_ties():
    scores = np.array([0.2, 0.9, 0.2, -1.0, 0.9, 0.0])
    assert explanation_order(scores).tolist() == [1, 4, 0, 2, 5, 3]


def test_kendall_tau_b_worked_example():
    # Pairs of (1,2,3,4) vs (1,3,2,4): only (2,3) is discordant, 5 concordant.
    tau = kendall_tau_b(np.array([1.0, 2, 3, 4]), np.array([1.0, 3, 2, 4]))
    assert tau == pytest.approx((5 - 1) / 6)


def test_kendall_tau_b_worked_example_with_ties():
    # x = (1,1,2), y = (2,1,1): pair (0,2) discordant, (0,1) tied in x, (1,2) tied in y.
    # tau_b = (0 - 1) / sqrt((3 - 1) * (3 - 1)) = -1/2.
    assert kendall_tau_b(np.array([1.0, 1, 2]), np.array([2.0, 1, 1])) == pytest.approx(-0.5)


@pytest.mark.parametrize(("n", "seed"), [(2, 0), (7, 1), (40, 2), (300, 3), (1500, 4)])
def test_kendall_tau_b_matches_scipy(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, n).astype(float)  # many ties
    y = x + rng.normal(0, 2, n).round(0)
    if np.all(x == x[0]) or np.all(y == y[0]):
        pytest.skip("constant draw")
    expected = stats.kendalltau(x, y).statistic
    assert kendall_tau_b(x, y) == pytest.approx(expected, abs=1e-12)


def test_kendall_tau_b_continuous_matches_scipy():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=60), rng.normal(size=60)
    assert kendall_tau_b(x, y) == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)


def test_correlations_are_none_when_undefined():
    constant = np.array([0.5, 0.5, 0.5])
    varying = np.array([0.1, 0.2, 0.3])
    assert kendall_tau_b(constant, varying) is None
    assert kendall_tau_b(varying, constant) is None
    assert kendall_tau_b(np.array([1.0]), np.array([2.0])) is None
    assert spearman_rho(constant, varying) is None
    assert spearman_rho(np.array([]), np.array([])) is None


def test_average_ranks_match_scipy():
    x = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0])
    np.testing.assert_allclose(average_ranks(x), stats.rankdata(x))


def test_spearman_worked_example():
    # ranks (1,3,2,4) and (2,1,4,3): sum of squared rank differences 10,
    # rho = 1 - 6 * 10 / (4 * (16 - 1)) = 0.
    assert spearman_rho(np.array([0.1, 0.5, 0.3, 0.9]), np.array([0.2, 0.1, 0.4, 0.3])) == (
        pytest.approx(0.0, abs=1e-12)
    )


@pytest.mark.parametrize("seed", range(5))
def test_spearman_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 5, 30).astype(float)
    y = rng.normal(size=30).round(1)
    assert spearman_rho(x, y) == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)


def test_as_scores_rejects_wrong_length_and_nan():
    with pytest.raises(ValueError, match=r"m\[2\]: expected 3 scores"):
        as_scores([0.1, 0.2], 3, label="m[2]")
    with pytest.raises(ValueError, match="finite"):
        as_scores([0.1, float("nan")], 2, label="m[0]")
