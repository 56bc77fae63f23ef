"""Mean plausibility rating per method, with two-way cluster-bootstrap intervals.

Estimate for method ``m``: the mean over its answers, ``sum_a r_a / n_m``.
Under resampling each answer counts ``m_p * m_i`` times (participant and item
multiplicities, :mod:`analysis.compute.bootstrap`), so a resample's mean is
``sum_a m_p m_i r_a / sum_a m_p m_i``, computed for all methods and resamples with
sparse products instead of a loop.

Estimand of the two-way interval: the expected rating of method ``m``'s
explanation by a new participant on a new item from the same populations. The
difference to a reference method (e.g. the ``random`` control) uses the same
resamples for both means, so its interval accounts for their correlation.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from analysis.compute.answers import RatingAnswers
from analysis.compute.arrays import FloatArray
from analysis.compute.bootstrap import (
    RESAMPLING_DESCRIPTION,
    BootstrapCI,
    bootstrap_ci,
    check_resampling,
    clustering_problem,
    indicator_columns,
    ratio_or_nan,
    resampled_column_sums,
)
from analysis.compute.result import Record, finite_or_none

ESTIMAND = "mean rating of the method's explanations over answers"
DIFFERENCE_ESTIMAND = "difference of mean ratings, method minus reference"


@dataclass(frozen=True)
class MethodMean(Record):
    """Mean rating of one method (or its difference to the reference method)."""

    method: str
    estimate: float | None
    ci: BootstrapCI | None
    n_answers: int
    n_participants: int
    n_items: int
    estimand: str
    reference: str | None = None
    reason: str | None = None


def method_mean_ratings(
    answers: RatingAnswers,
    *,
    reference_method: str | None = None,
    n_resamples: int = 1000,
    level: float = 0.95,
    resampling: str = "two_way",
    interval: str = "percentile",
    seed: int = 0,
) -> tuple[MethodMean, ...]:
    """Return every method's mean rating and, given a reference, each difference to it.

    Formula: ``mean_m = sum_{a in m} r_a / n_m``; differences ``mean_m - mean_ref``.
    Intervals: percentile, two-way cluster bootstrap by default (Owen 2007; Efron &
    Tibshirani 1993, ch. 13). The means come first in method order, then the
    differences (reference excluded).
    """
    check_resampling(resampling, n_resamples, level, interval)
    names = answers.method_names
    if reference_method is not None and reference_method not in names:
        raise ValueError(f"reference_method: {reference_method!r} is not one of {names}")
    method = answers.method
    n_methods = len(names)
    counts = np.bincount(method, minlength=n_methods).astype(np.float64)
    sums = np.bincount(method, weights=answers.rating, minlength=n_methods).astype(np.float64)
    estimates = ratio_or_nan(sums, counts)
    samples = np.full((n_resamples, n_methods), np.nan)
    problems: list[str | None] = []
    sizes: list[tuple[int, int, int]] = []
    for index in range(n_methods):
        mine = method == index
        n_p = int(np.unique(answers.participant_code[mine]).size)
        n_i = int(np.unique(answers.item_code[mine]).size)
        sizes.append((int(mine.sum()), n_p, n_i))
        problems.append(
            clustering_problem(
                resampling,
                n_participants=n_p,
                n_items=n_i,
                n_answers=int(mine.sum()),
                n_resamples=n_resamples,
            )
        )
    if n_resamples and any(problem is None for problem in problems):
        samples = _resampled_means(
            answers, n_resamples=n_resamples, resampling=resampling, seed=seed
        )
    results: list[MethodMean] = []
    for index, name in enumerate(names):
        n_answers, n_p, n_i = sizes[index]
        if n_answers == 0:
            reason: str | None = f"no answers rate method {name!r}"
        else:
            reason = problems[index]
        ci = None
        if n_answers and problems[index] is None:
            ci = bootstrap_ci(
                samples[:, index],
                estimate=finite_or_none(estimates[index]),
                level=level,
                resampling=resampling,
                interval=interval,
                seed=seed,
            )
            reason = ci.note if ci.lower is None else None
        results.append(
            MethodMean(
                method=name,
                estimate=finite_or_none(estimates[index]),
                ci=ci,
                n_answers=n_answers,
                n_participants=n_p,
                n_items=n_i,
                estimand=_estimand(ESTIMAND, resampling, ci),
                reason=reason,
            )
        )
    if reference_method is None:
        return tuple(results)
    ref = names.index(reference_method)
    for index in range(n_methods):
        if index == ref:
            continue
        difference = dataclasses.replace(
            results[index],
            estimate=finite_or_none(estimates[index] - estimates[ref]),
            ci=None,
            estimand=_estimand(DIFFERENCE_ESTIMAND, resampling, None),
            reference=reference_method,
            n_answers=results[index].n_answers + results[ref].n_answers,
        )
        if results[index].ci is not None and results[ref].ci is not None:
            ci = bootstrap_ci(
                samples[:, index] - samples[:, ref],
                estimate=difference.estimate,
                level=level,
                resampling=resampling,
                interval=interval,
                seed=seed,
            )
            difference = dataclasses.replace(
                difference,
                ci=ci,
                estimand=_estimand(DIFFERENCE_ESTIMAND, resampling, ci),
                reason=ci.note if ci.lower is None else None,
            )
        else:
            difference = dataclasses.replace(
                difference, reason=results[index].reason or results[ref].reason
            )
        results.append(difference)
    return tuple(results)


def _estimand(base: str, resampling: str, ci: BootstrapCI | None) -> str:
    """Return the estimand text, naming the resampling when there is an interval."""
    if ci is None:
        return base
    return f"{base}; interval: {RESAMPLING_DESCRIPTION[resampling]}"


def _resampled_means(
    answers: RatingAnswers, *, n_resamples: int, resampling: str, seed: int
) -> FloatArray:
    """Return the ``(n_resamples, n_methods)`` resampled mean ratings (NaN if no answer drawn)."""
    n_methods = len(answers.method_names)
    values = sparse.hstack(
        [
            indicator_columns(answers.method, n_methods, answers.rating),
            indicator_columns(answers.method, n_methods),
        ],
        format="csc",
    )
    totals = resampled_column_sums(
        answers.participant_code,
        answers.item_code,
        values,
        n_participants=answers.n_participants,
        n_items=answers.n_items,
        n_resamples=n_resamples,
        resampling=resampling,
        seed=seed,
    )
    return ratio_or_nan(totals[:, :n_methods], totals[:, n_methods:])
