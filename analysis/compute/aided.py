"""Aided task: do explanations help people do the task, and do they over-rely on the model?

Per condition (e.g. no explanation, attention, integrated gradients), over its answers:

* accuracy ``= mean [answer = gold]``;
* agreement with the model ``= mean [answer = model output]`` (reliance);
* agreement when the model is right ``= sum [answer = output][output = gold] /
  sum [output = gold]`` (appropriate reliance) and when it is wrong, ``... [output != gold]``
  (over-reliance): Bansal et al. (2021), "Does the whole exceed its parts?", CHI;
  Schemmer et al. (2023), "Appropriate reliance on AI advice", IUI;
* median seconds per answer (answers without a recorded time are left out); the
  median of the repeated data under resampling weights, i.e. the mean of the values
  at 0-based positions ``floor((N - 1) / 2)`` and ``ceil((N - 1) / 2)`` of the sorted
  resample of size ``N``, as ``numpy.median``.

Intervals: two-way cluster bootstrap (participants and items) by default, so a
condition's interval generalises to new participants and new items; differences to
a reference condition use the same resamples. Estimand: the population value of
each statistic in that condition.
"""

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from analysis.compute.arrays import (
    BoolArray,
    FloatArray,
    IntArray,
    check_names,
    dense_codes,
    float_array,
    index_array,
    same_length,
)
from analysis.compute.bootstrap import (
    RESAMPLING_DESCRIPTION,
    Estimate,
    check_resampling,
    chunk_size_for,
    clustering_problem,
    estimate_with_ci,
    indicator_columns,
    iter_resamples,
    ratio_or_nan,
    resampled_column_sums,
)
from analysis.compute.result import Record, finite_or_none

STATISTICS = (
    "accuracy",
    "agreement_with_model",
    "agreement_when_model_right",
    "agreement_when_model_wrong",
    "median_seconds",
)
_BOUNDS: dict[str, tuple[float, float] | None] = {
    "accuracy": (0.0, 1.0),
    "agreement_with_model": (0.0, 1.0),
    "agreement_when_model_right": (0.0, 1.0),
    "agreement_when_model_wrong": (0.0, 1.0),
    "median_seconds": (0.0, np.inf),
}


@dataclass(frozen=True)
class AidedAnswers:
    """Aided-task answers, one row per trial.

    ``condition[a]`` indexes ``condition_names``; ``answer``, ``gold`` and
    ``model_output`` are label indices; ``seconds`` is the time on the trial (NaN if
    not recorded).
    """

    participant: IntArray
    item: IntArray
    condition: IntArray
    answer: IntArray
    gold: IntArray
    model_output: IntArray
    seconds: FloatArray
    condition_names: tuple[str, ...]
    participant_code: IntArray = field(init=False, repr=False)
    item_code: IntArray = field(init=False, repr=False)
    n_participants: int = field(init=False)
    n_items: int = field(init=False)

    def __post_init__(self) -> None:
        """Check and coerce the arrays; number participants and items densely."""
        names = tuple(self.condition_names)
        check_names("condition_names", names, len(names))
        coerced: dict[str, IntArray | FloatArray] = {
            "participant": index_array("participant", self.participant),
            "item": index_array("item", self.item),
            "condition": index_array("condition", self.condition, bound=len(names)),
            "answer": index_array("answer", self.answer),
            "gold": index_array("gold", self.gold),
            "model_output": index_array("model_output", self.model_output),
            "seconds": float_array("seconds", self.seconds, allow_nan=True),
        }
        same_length(**coerced)
        if np.any(coerced["seconds"] < 0):
            raise ValueError("seconds: times must be >= 0")
        participant_code, n_participants = dense_codes(coerced["participant"].astype(np.int64))
        item_code, n_items = dense_codes(coerced["item"].astype(np.int64))
        for name, value in (
            *coerced.items(),
            ("condition_names", names),
            ("participant_code", participant_code),
            ("item_code", item_code),
            ("n_participants", n_participants),
            ("n_items", n_items),
        ):
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class ConditionSummary(Record):
    """Accuracy, reliance and time in one condition, and differences to the reference."""

    condition: str
    accuracy: Estimate
    agreement_with_model: Estimate
    agreement_when_model_right: Estimate
    agreement_when_model_wrong: Estimate
    median_seconds: Estimate
    reference: str | None
    differences: dict[str, Estimate]
    n_answers: int
    n_timed: int
    n_participants: int
    n_items: int
    estimand: str


def aided_task_summary(
    answers: AidedAnswers,
    *,
    reference_condition: str | None = None,
    n_resamples: int = 1000,
    level: float = 0.95,
    resampling: str = "two_way",
    interval: str = "percentile",
    seed: int = 0,
) -> tuple[ConditionSummary, ...]:
    """Return accuracy, reliance and median time per condition, with bootstrap intervals.

    With ``reference_condition``, ``differences`` holds each statistic minus the
    reference's. Formulas, intervals and references in the module docstring.
    """
    check_resampling(resampling, n_resamples, level, interval)
    names = answers.condition_names
    if reference_condition is not None and reference_condition not in names:
        raise ValueError(f"reference_condition: {reference_condition!r} is not one of {names}")
    point, draws = _ratio_statistics(
        answers, n_resamples=n_resamples, resampling=resampling, seed=seed
    )
    point_median, draws_median = _median_seconds(
        answers, n_resamples=n_resamples, resampling=resampling, seed=seed
    )
    point["median_seconds"] = point_median
    draws["median_seconds"] = draws_median
    reference = names.index(reference_condition) if reference_condition is not None else None
    results = []
    for k, name in enumerate(names):
        mine = answers.condition == k
        problem = clustering_problem(
            resampling,
            n_participants=int(np.unique(answers.participant_code[mine]).size),
            n_items=int(np.unique(answers.item_code[mine]).size),
            n_answers=int(mine.sum()),
            n_resamples=n_resamples,
        )

        estimate = functools.partial(
            _estimate,
            problem=problem,
            level=level,
            resampling=resampling,
            interval=interval,
            seed=seed,
            use_samples=n_resamples > 0,
        )
        stats = {s: estimate(point[s][k], draws[s][:, k], _BOUNDS[s]) for s in STATISTICS}
        differences = {}
        if reference is not None and k != reference:
            for s in STATISTICS:
                differences[s] = estimate(
                    point[s][k] - point[s][reference], draws[s][:, k] - draws[s][:, reference], None
                )
        results.append(
            ConditionSummary(
                condition=name,
                accuracy=stats["accuracy"],
                agreement_with_model=stats["agreement_with_model"],
                agreement_when_model_right=stats["agreement_when_model_right"],
                agreement_when_model_wrong=stats["agreement_when_model_wrong"],
                median_seconds=stats["median_seconds"],
                reference=reference_condition if differences else None,
                differences=differences,
                n_answers=int(mine.sum()),
                n_timed=int((mine & np.isfinite(answers.seconds)).sum()),
                n_participants=int(np.unique(answers.participant_code[mine]).size),
                n_items=int(np.unique(answers.item_code[mine]).size),
                estimand=f"population value per condition; interval: "
                f"{RESAMPLING_DESCRIPTION[resampling]}",
            )
        )
    return tuple(results)


def _estimate(
    value: float,
    samples: FloatArray,
    bounds: tuple[float, float] | None,
    *,
    problem: str | None,
    level: float,
    resampling: str,
    interval: str,
    seed: int,
    use_samples: bool,
) -> Estimate:
    """Return ``value`` with its bootstrap interval (see :func:`estimate_with_ci`)."""
    return estimate_with_ci(
        finite_or_none(value),
        samples if use_samples else None,
        problem=problem,
        level=level,
        resampling=resampling,
        interval=interval,
        seed=seed,
        bounds=bounds,
    )


def _ratio_statistics(
    answers: AidedAnswers, *, n_resamples: int, resampling: str, seed: int
) -> tuple[dict[str, FloatArray], dict[str, FloatArray]]:
    """Return point values ``(K,)`` and resampled values ``(B, K)`` of the four rates."""
    correct = answers.answer == answers.gold
    agrees = answers.answer == answers.model_output
    model_right = answers.model_output == answers.gold
    parts: list[BoolArray] = [
        correct,
        np.ones(correct.size, dtype=bool),
        agrees,
        agrees & model_right,
        model_right,
        agrees & ~model_right,
        ~model_right,
    ]
    n_conditions = len(answers.condition_names)
    values = sparse.hstack(
        [indicator_columns(answers.condition, n_conditions, p.astype(np.float64)) for p in parts],
        format="csc",
    )
    totals = np.asarray(values.sum(axis=0)).reshape(len(parts), n_conditions)
    if n_resamples:
        resampled = resampled_column_sums(
            answers.participant_code,
            answers.item_code,
            values,
            n_participants=answers.n_participants,
            n_items=answers.n_items,
            n_resamples=n_resamples,
            resampling=resampling,
            seed=seed,
        ).reshape(n_resamples, len(parts), n_conditions)
    else:
        resampled = np.zeros((0, len(parts), n_conditions))

    def rates(t: FloatArray) -> dict[str, FloatArray]:
        """Map statistic names to numerator/denominator ratios along the parts axis."""
        return {
            "accuracy": ratio_or_nan(t[..., 0, :], t[..., 1, :]),
            "agreement_with_model": ratio_or_nan(t[..., 2, :], t[..., 1, :]),
            "agreement_when_model_right": ratio_or_nan(t[..., 3, :], t[..., 4, :]),
            "agreement_when_model_wrong": ratio_or_nan(t[..., 5, :], t[..., 6, :]),
        }

    return rates(totals), rates(resampled)


def weighted_median(sorted_values: FloatArray, weights: FloatArray) -> FloatArray:
    """Return, per row of ``weights``, the median of ``sorted_values`` repeated by weight.

    Formula in the module docstring; NaN for a row of total weight 0.
    """
    cumulative = np.cumsum(weights, axis=1)
    total = cumulative[:, -1] if cumulative.shape[1] else np.zeros(weights.shape[0])
    low = np.floor((total - 1.0) / 2.0)
    high = np.ceil((total - 1.0) / 2.0)
    last = max(sorted_values.size - 1, 0)
    low_index = np.minimum((cumulative <= low[:, None]).sum(axis=1), last)
    high_index = np.minimum((cumulative <= high[:, None]).sum(axis=1), last)
    if sorted_values.size == 0:
        return np.full(weights.shape[0], np.nan)
    median: FloatArray = (sorted_values[low_index] + sorted_values[high_index]) / 2.0
    return np.where(total > 0, median, np.nan)


def _median_seconds(
    answers: AidedAnswers, *, n_resamples: int, resampling: str, seed: int
) -> tuple[FloatArray, FloatArray]:
    """Return the median seconds per condition ``(K,)`` and its resamples ``(B, K)``.

    The resamples are drawn once and shared by every condition.
    """
    n_conditions = len(answers.condition_names)
    point = np.full(n_conditions, np.nan)
    draws = np.full((n_resamples, n_conditions), np.nan)
    timed = np.isfinite(answers.seconds)
    groups: list[tuple[int, IntArray]] = []  # (condition, its timed rows by seconds)
    for k in range(n_conditions):
        rows = np.flatnonzero(timed & (answers.condition == k))
        if rows.size == 0:
            continue
        rows = rows[np.argsort(answers.seconds[rows], kind="stable")]
        point[k] = float(np.median(answers.seconds[rows]))
        groups.append((k, rows))
    if not groups:
        return point, draws
    done = 0
    for chunk in iter_resamples(
        resampling,
        n_participants=answers.n_participants,
        n_items=answers.n_items,
        n_answers=answers.seconds.size,
        n_resamples=n_resamples,
        seed=seed,
        chunk_size=chunk_size_for(max(answers.seconds.size, 1), n_resamples),
    ):
        for k, rows in groups:
            if chunk.answer is not None:
                weights = chunk.answer[:, rows]
            else:
                weights = (
                    chunk.participant[:, answers.participant_code[rows]]
                    * chunk.item[:, answers.item_code[rows]]
                )
            draws[done : done + chunk.size, k] = weighted_median(answers.seconds[rows], weights)
        done += chunk.size
    return point, draws
