"""Expert review: criteria ratings, flags and adjudicated outcomes, per method.

Expert studies are small (a handful of reviewers), so these are descriptive
summaries with counts next to every fraction, not inferential statistics:

* criteria: per criterion and method, the mean and standard deviation (``ddof=1``)
  of the ratings, and Krippendorff's alpha among reviewers with explanations as
  units (ordinal by default; Krippendorff 2011) to show whether the experts agree;
* flags: per method and flag, how many flags were raised, on how many of the
  method's reviewed explanations, and the fraction of reviewed explanations flagged
  at least once;
* adjudication: per method, the count and fraction of each final outcome.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from analysis.compute.agreement import AlphaResult, krippendorff_alpha_long
from analysis.compute.arrays import check_names, float_array, index_array, same_length
from analysis.compute.result import Record, finite_or_none


@dataclass(frozen=True)
class CriterionSummary(Record):
    """Ratings on one criterion for one method (``method`` None: all methods)."""

    criterion: str
    method: str | None
    mean: float | None
    std_dev: float | None
    n_ratings: int
    n_explanations: int
    n_reviewers: int
    agreement: AlphaResult


@dataclass(frozen=True)
class FlagSummary(Record):
    """How often one flag was raised on one method's explanations."""

    method: str
    flag: str
    n_flags: int
    n_explanations_flagged: int
    n_reviewed: int
    fraction_flagged: float | None
    n_reviewers: int
    reason: str | None = None


@dataclass(frozen=True)
class AdjudicationSummary(Record):
    """Final outcomes of one method's adjudicated explanations."""

    method: str
    n_adjudicated: int
    counts: dict[str, int]
    fractions: dict[str, float | None]
    reason: str | None = None


def criteria_by_method(
    reviewer: ArrayLike,
    explanation: ArrayLike,
    criterion: ArrayLike,
    value: ArrayLike,
    explanation_method: ArrayLike,
    method_names: Sequence[str],
    criterion_names: Sequence[str],
    *,
    level: str = "ordinal",
) -> tuple[CriterionSummary, ...]:
    """Return mean, spread and reviewer agreement per criterion, overall and per method.

    One row per rating: ``reviewer``, ``explanation`` (index into
    ``explanation_method``), ``criterion`` (index into ``criterion_names``) and
    ``value``. Formulas in the module docstring.
    """
    methods_of = index_array("explanation_method", explanation_method)
    names = tuple(method_names)
    criteria_names = tuple(criterion_names)
    check_names("method_names", names, int(methods_of.max(initial=-1)) + 1)
    check_names("criterion_names", criteria_names, len(criteria_names))
    who = index_array("reviewer", reviewer)
    what = index_array("explanation", explanation, bound=methods_of.size)
    which = index_array("criterion", criterion, bound=len(criteria_names))
    values = float_array("value", value)
    same_length(reviewer=who, explanation=what, criterion=which, value=values)
    keys = np.column_stack([who, what, which])
    if np.unique(keys, axis=0).shape[0] != keys.shape[0]:
        raise ValueError("a reviewer rated the same explanation on the same criterion twice")
    method = methods_of[what]
    results = []
    scopes: list[tuple[str | None, int | None]] = [(None, None)]
    scopes += [(name, k) for k, name in enumerate(names)]
    for c, criterion_name in enumerate(criteria_names):
        for method_name, k in scopes:
            rows = (which == c) if k is None else (which == c) & (method == k)
            chosen = values[rows]
            results.append(
                CriterionSummary(
                    criterion=criterion_name,
                    method=method_name,
                    mean=finite_or_none(chosen.mean()) if chosen.size else None,
                    std_dev=finite_or_none(chosen.std(ddof=1)) if chosen.size > 1 else None,
                    n_ratings=int(chosen.size),
                    n_explanations=int(np.unique(what[rows]).size),
                    n_reviewers=int(np.unique(who[rows]).size),
                    agreement=krippendorff_alpha_long(what[rows], chosen, level),
                )
            )
    return tuple(results)


def flags_by_method(
    reviewer: ArrayLike,
    explanation: ArrayLike,
    flag: ArrayLike,
    reviewed_explanations: ArrayLike,
    explanation_method: ArrayLike,
    method_names: Sequence[str],
    flag_names: Sequence[str],
) -> tuple[FlagSummary, ...]:
    """Return, per method and flag, the flags raised and the fraction of explanations flagged.

    One row per flag raised: ``reviewer``, ``explanation``, ``flag`` (index into
    ``flag_names``). ``reviewed_explanations`` lists every explanation that was
    reviewed (flagged or not): the denominator of the fraction.
    """
    methods_of = index_array("explanation_method", explanation_method)
    names = tuple(method_names)
    flags = tuple(flag_names)
    check_names("method_names", names, int(methods_of.max(initial=-1)) + 1)
    check_names("flag_names", flags, len(flags))
    who = index_array("reviewer", reviewer)
    what = index_array("explanation", explanation, bound=methods_of.size)
    kind = index_array("flag", flag, bound=len(flags))
    same_length(reviewer=who, explanation=what, flag=kind)
    reviewed = np.unique(
        index_array("reviewed_explanations", reviewed_explanations, bound=methods_of.size)
    )
    not_listed = np.setdiff1d(what, reviewed)
    if not_listed.size:
        raise ValueError(
            f"explanation: {not_listed.size} flagged explanation(s) are not in "
            f"reviewed_explanations, e.g. {int(not_listed[0])}"
        )
    results = []
    for k, method_name in enumerate(names):
        n_reviewed = int((methods_of[reviewed] == k).sum())
        for f, flag_name in enumerate(flags):
            rows = (kind == f) & (methods_of[what] == k)
            flagged = int(np.unique(what[rows]).size)
            results.append(
                FlagSummary(
                    method=method_name,
                    flag=flag_name,
                    n_flags=int(rows.sum()),
                    n_explanations_flagged=flagged,
                    n_reviewed=n_reviewed,
                    fraction_flagged=flagged / n_reviewed if n_reviewed else None,
                    n_reviewers=int(np.unique(who[rows]).size),
                    reason=None if n_reviewed else f"no explanation of {method_name} was reviewed",
                )
            )
    return tuple(results)


def adjudications_by_method(
    explanation: ArrayLike,
    outcome: ArrayLike,
    explanation_method: ArrayLike,
    method_names: Sequence[str],
    outcome_names: Sequence[str],
) -> tuple[AdjudicationSummary, ...]:
    """Return the count and fraction of each adjudicated outcome per method.

    One row per adjudicated explanation: ``explanation`` and its final ``outcome``
    (index into ``outcome_names``); an explanation may be adjudicated only once.
    """
    methods_of = index_array("explanation_method", explanation_method)
    names = tuple(method_names)
    outcomes = tuple(outcome_names)
    check_names("method_names", names, int(methods_of.max(initial=-1)) + 1)
    check_names("outcome_names", outcomes, len(outcomes))
    what = index_array("explanation", explanation, bound=methods_of.size)
    result_of = index_array("outcome", outcome, bound=len(outcomes))
    same_length(explanation=what, outcome=result_of)
    if np.unique(what).size != what.size:
        raise ValueError("explanation: an explanation has more than one adjudicated outcome")
    results = []
    for k, method_name in enumerate(names):
        mine = result_of[methods_of[what] == k]
        counts = np.bincount(mine, minlength=len(outcomes))
        total = int(mine.size)
        results.append(
            AdjudicationSummary(
                method=method_name,
                n_adjudicated=total,
                counts={o: int(counts[j]) for j, o in enumerate(outcomes)},
                fractions={
                    o: (float(counts[j]) / total if total else None) for j, o in enumerate(outcomes)
                },
                reason=None if total else f"no explanation of {method_name} was adjudicated",
            )
        )
    return tuple(results)
