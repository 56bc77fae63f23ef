"""Weighted rank correlations equal scipy's on the data repeated by weight."""

import numpy as np
import pytest
from scipy import stats

from analysis.compute.rank import (
    group_orders,
    row_order,
    weighted_kendall_tau_b,
    weighted_spearman,
)


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


def _kendall(x, y, counts):
    return weighted_kendall_tau_b(np.array([x], float), np.array(y, float), np.array([counts]))[0]


def test_kendall_tau_b_by_hand():
    # Pairs of (1,1), (2,3), (3,2): concordant 2, discordant 1, no ties -> (2 - 1) / 3.
    assert _kendall([1, 2, 3], [1, 3, 2], [1, 1, 1]) == pytest.approx(1 / 3)
    # Repeating the first element twice adds one pair tied on both variables and two
    # concordant pairs: n0 = 6, n1 = n2 = 1, C - D = 4 - 1 -> 3 / 5.
    assert _kendall([1, 2, 3], [1, 3, 2], [2, 1, 1]) == pytest.approx(3 / 5)


@pytest.mark.parametrize("seed", range(12))
def test_weighted_kendall_matches_scipy_on_repeated_data(seed):
    """Ties in x, in y and in both, zero weights with NaN behind them, large multiplicities."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    x = rng.integers(0, 5 if seed % 2 else 50, size=(8, n)).astype(float)
    y = rng.integers(0, 4, size=n).astype(float) if seed % 3 == 0 else rng.normal(size=n)
    weights = rng.integers(0, 3 if seed < 6 else 40, size=(8, n)).astype(float)
    x[weights == 0] = np.where(rng.random(int((weights == 0).sum())) < 0.5, np.nan, 2.0)
    result = weighted_kendall_tau_b(x, y, weights)
    for b in range(8):
        xs, ys = _repeat(x[b], weights[b]), _repeat(y, weights[b])
        if xs.size < 2 or np.all(xs == xs[0]) or np.all(ys == ys[0]):
            assert np.isnan(result[b])
        else:
            expected = stats.kendalltau(xs, ys, variant="b").statistic
            assert result[b] == pytest.approx(expected, abs=1e-12)


def test_weighted_kendall_on_many_rows_uses_the_threads_and_keeps_row_order():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(64, 300)), rng.normal(size=300)
    weights = rng.integers(0, 3, size=(64, 300)).astype(float)
    result = weighted_kendall_tau_b(x, y, weights)
    for b in (0, 17, 63):
        expected = stats.kendalltau(_repeat(x[b], weights[b]), _repeat(y, weights[b])).statistic
        assert result[b] == pytest.approx(expected, abs=1e-12)


def test_kendall_constant_or_too_short_is_nan():
    assert np.isnan(_kendall([1, 1], [1, 2], [1, 1]))
    assert np.isnan(_kendall([1, 2], [3, 3], [1, 1]))
    assert np.isnan(_kendall([1, 2], [1, 2], [1, 0]))
    assert np.isnan(_kendall([1, 2], [1, 2], [0, 0]))


@pytest.mark.parametrize("statistic", [weighted_spearman, weighted_kendall_tau_b])
@pytest.mark.parametrize(
    ("x", "weights", "message"),
    [
        ([[1.0, 2.0, 3.0]], [[1.0, 0.5, 1.0]], "whole, non-negative"),
        ([[1.0, 2.0, 3.0]], [[1.0, -1.0, 1.0]], "whole, non-negative"),
        ([[1.0, np.nan, 3.0]], [[1.0, 1.0, 1.0]], "NaN where the weight is positive"),
        ([[1.0, 2.0, 3.0]], [[1.0, 3e9, 1.0]], None),
    ],
)
def test_refused_inputs_name_what_is_wrong(statistic, x, weights, message):
    x, weights, y = np.array(x), np.array(weights), np.array([1.0, 2.0, 3.0])
    if message is None:  # only Kendall's integer pair counts have a ceiling
        if statistic is weighted_spearman:
            expected = stats.spearmanr([1, 2, 2, 3], [1, 2, 2, 3]).statistic
            assert statistic(x, y, weights)[0] == pytest.approx(expected)
            return
        message = "reaches 2\\^31"
    with pytest.raises(ValueError, match=message):
        statistic(x, y, weights)


@pytest.mark.parametrize("statistic", [weighted_spearman, weighted_kendall_tau_b])
def test_an_order_that_misses_a_column_in_use_is_refused(statistic):
    rng = np.random.default_rng(4)
    x, y, weights = rng.normal(size=(3, 12)), rng.normal(size=12), np.ones((3, 12))
    group_of = np.arange(12) % 2
    first_group = group_orders(row_order(x), group_of, 2)[0]
    with pytest.raises(ValueError, match="x_order"):
        statistic(x, y, weights, first_group)  # all 12 columns in use, the order holds 6


def test_group_orders_split_the_row_order_by_group():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, size=(4, 30)).astype(float)
    group_of = rng.integers(0, 3, size=30)
    order = row_order(x)
    for g, grouped in enumerate(group_orders(order, group_of, 3)):
        members = np.flatnonzero(group_of == g)
        assert grouped.shape == (4, members.size)
        for b in range(4):
            assert set(grouped[b]) == set(members)
            assert np.all(np.diff(x[b, grouped[b]]) >= 0)  # still sorted by x
        y = rng.normal(size=30)
        weights = rng.integers(0, 3, size=(4, 30)).astype(float)
        np.testing.assert_allclose(
            weighted_kendall_tau_b(x, y, weights, grouped, columns=members),
            weighted_kendall_tau_b(x[:, members], y[members], weights[:, members]),
            atol=1e-12,
        )
