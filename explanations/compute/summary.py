"""Summaries of per-instance scores: the mean with a percentile bootstrap CI."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MeanCI:
    """Mean of the defined values with a percentile bootstrap CI; None where undefined."""

    mean: float | None
    low: float | None
    high: float | None
    n: int
    n_undefined: int


def mean_with_bootstrap_ci(
    values: np.ndarray | list[float | None],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> MeanCI:
    """Return the mean of ``values`` (None/NaN dropped) and its percentile bootstrap CI.

    Instances are resampled with replacement ``n_resamples`` times; the CI is the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the resampled
    means (Efron & Tibshirani 1993, percentile method). With fewer than two defined
    values the CI is undefined (None).
    """
    array = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    defined = array[~np.isnan(array)]
    n_undefined = int(array.size - defined.size)
    if defined.size == 0:
        return MeanCI(None, None, None, 0, n_undefined)
    mean = float(defined.mean())
    if defined.size < 2:
        return MeanCI(mean, None, None, 1, n_undefined)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, defined.size, size=(n_resamples, defined.size))
    means = defined[draws].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return MeanCI(mean, float(low), float(high), int(defined.size), n_undefined)
