"""Weighted rank correlations equal scipy's on the data repeated by weight."""

import numpy as np
import pytest
from scipy import stats

from analysis.compute.rank import kendall_tau_b_repeated, weighted_spearman


def _repeat(values, weights):
    return np.repeat(values, weights.astype(int))


@pytest.mark.parametrize("seed", range(10))
def test_weighted_spearman_matches_scipy_on_repeated_data(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, size=(5, 25)).astype(float)  # many ties
    y = rng.normal(size=25).round(1)
    weights = rng.integers(0, 3, size=(5, 25)).astype(float)
    x[weights == 0] = np.where(rng.random(int((weights == 0).sum())) < 0.5, np.nan, 2.0)
    result = weighted_spearman(x, y, weights)
    for b in range(5):
        expected = stats.spearmanr(_repeat(x[b], weights[b]), _repeat(y, weights[b])).statistic
        assert result[b] == pytest.approx(expected, abs=1e-12)


def test_unit_weights_are_plain_spearman():
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(1, 40)), rng.normal(size=40)
    assert weighted_spearman(x, y, np.ones((1, 40)))[0] == pytest.approx(
        stats.spearmanr(x[0], y).statistic, abs=1e-12
    )


def test_constant_or_empty_rows_are_nan():
    x = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    weights = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    result = weighted_spearman(x, np.array([1.0, 2.0, 3.0]), weights)
    assert np.isnan(result).all()


def test_kendall_tau_b_by_hand():
    # Pairs of (1,1), (2,3), (3,2): concordant 2, discordant 1, no ties -> (2 - 1) / 3.
    assert kendall_tau_b_repeated(
        np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0]), np.array([1, 1, 1])
    ) == pytest.approx(1 / 3)
    # Repeating the first element twice adds one pair tied on both variables and two
    # concordant pairs: n0 = 6, n1 = n2 = 1, C - D = 4 - 1 -> 3 / 5.
    assert kendall_tau_b_repeated(
        np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0]), np.array([2, 1, 1])
    ) == pytest.approx(3 / 5)


def test_kendall_constant_is_nan():
    assert np.isnan(
        kendall_tau_b_repeated(np.array([1.0, 1.0]), np.array([1.0, 2.0]), np.array([1, 1]))
    )
