"""The bootstrap CI of a mean, checked against scipy.stats.bootstrap (percentile method)."""

import numpy as np
import pytest
from scipy import stats

from explanations.compute.summary import mean_with_bootstrap_ci


def test_matches_scipy_percentile_bootstrap():
    values = np.random.default_rng(3).normal(0.4, 0.2, size=300)
    ours = mean_with_bootstrap_ci(values, n_resamples=20000, seed=1)
    ref = stats.bootstrap(
        (values,), np.mean, n_resamples=20000, method="percentile", rng=np.random.default_rng(2)
    )
    assert ours.mean == pytest.approx(values.mean())
    # Different random streams: the bounds agree to Monte Carlo error.
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.003)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.003)


def test_undefined_values_are_dropped_and_counted():
    result = mean_with_bootstrap_ci([1.0, None, 3.0, float("nan")])
    assert (result.mean, result.n, result.n_undefined) == (2.0, 2, 2)


def test_degenerate_inputs_give_none_not_nan():
    assert mean_with_bootstrap_ci([]).mean is None
    single = mean_with_bootstrap_ci([0.5])
    assert (single.mean, single.low, single.high) == (0.5, None, None)
