"""Simulatability: do explanations help people predict what the model will say?

Forward and counterfactual simulation (Doshi-Velez & Kim 2017; Hase & Bansal
2020): a participant guesses the model's output before (pre) and after (post)
learning from explanations of one method. A guess is *correct when it matches the
model's output*, never the gold label: the question is whether people can simulate
the model, not whether they can do the task.

* accuracy of method ``m`` in phase ``t``: ``acc_mt = sum_a c_a / n_mt`` over its answers;
* simulation effect: ``effect_m = acc_m,post - acc_m,pre`` (Hase & Bansal 2020, eq. 1);
* against a control condition (no explanation, or the ``random`` method):
  ``effect_m - effect_control``, which removes the learning that happens without
  explanations (Hase & Bansal's "explanation effect").

Intervals: two-way cluster bootstrap over participants and items (percentile by
default; :mod:`analysis.compute.bootstrap`). Each resample recomputes the four
accuracies from weighted sums, so the difference keeps its pairing. Estimand: the
change in the probability that a new participant simulates the model correctly on
a new item, for that method.

Whether ratings predict simulation: logistic regression
``logit P(correct) = b0 + b1 rating`` (Hase & Bansal 2020, sect. 5) fitted by
statsmodels, with a two-way cluster-robust covariance (Cameron, Gelbach & Miller
2011: ``V_participant + V_item - V_participant-and-item``, each CRV1 with the
small-sample factor ``G/(G - 1) (N - 1)/(N - K)``).
"""

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
import statsmodels.api as sm
from numpy.typing import ArrayLike, NDArray
from scipy import sparse, stats
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from analysis.compute.arrays import (
    BoolArray,
    FloatArray,
    IntArray,
    bool_array,
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
    clustering_problem,
    estimate_with_ci,
    indicator_columns,
    ratio_or_nan,
    resampled_column_sums,
)
from analysis.compute.result import Record, finite_or_none

ESTIMAND = "post-test minus pre-test accuracy of predicting the model's output (not the gold label)"


@dataclass(frozen=True)
class SimulationAnswers:
    """Simulation-test answers, one row per guess.

    ``method[a]`` indexes ``method_names``: the explanation method of the
    participant's condition. ``post[a]`` is True for the post-test, False for the
    pre-test. ``guess[a]`` and ``model_output[a]`` are label indices; an answer is
    correct when they are equal. ``participant`` and ``item`` identify the clusters.
    """

    participant: IntArray
    item: IntArray
    method: IntArray
    post: BoolArray
    guess: IntArray
    model_output: IntArray
    method_names: tuple[str, ...]
    correct: BoolArray = field(init=False, repr=False)
    participant_code: IntArray = field(init=False, repr=False)
    item_code: IntArray = field(init=False, repr=False)
    n_participants: int = field(init=False)
    n_items: int = field(init=False)

    def __post_init__(self) -> None:
        """Check and coerce the arrays; derive correctness against the model's output."""
        names = tuple(self.method_names)
        method = index_array("method", self.method, bound=len(names))
        check_names("method_names", names, len(names))
        coerced: dict[str, NDArray[np.int64] | BoolArray] = {
            "participant": index_array("participant", self.participant),
            "item": index_array("item", self.item),
            "method": method,
            "post": bool_array("post", self.post),
            "guess": index_array("guess", self.guess),
            "model_output": index_array("model_output", self.model_output),
        }
        same_length(**coerced)
        participant_code, n_participants = dense_codes(coerced["participant"].astype(np.int64))
        item_code, n_items = dense_codes(coerced["item"].astype(np.int64))
        for name, value in (
            *coerced.items(),
            ("method_names", names),
            ("correct", coerced["guess"] == coerced["model_output"]),
            ("participant_code", participant_code),
            ("item_code", item_code),
            ("n_participants", n_participants),
            ("n_items", n_items),
        ):
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class SimulationEffect(Record):
    """Pre and post accuracy and the simulation effect of one method."""

    method: str
    pre_accuracy: Estimate
    post_accuracy: Estimate
    effect: Estimate
    control: str | None
    effect_vs_control: Estimate | None
    n_pre: int
    n_post: int
    n_participants: int
    n_items: int
    estimand: str


@dataclass(frozen=True)
class LogisticResult(Record):
    """Logistic regression of simulation correctness on a rating, with robust intervals."""

    predictor: str
    intercept: float | None
    coefficient: float | None
    std_error: float | None
    ci_lower: float | None
    ci_upper: float | None
    odds_ratio: float | None
    odds_ratio_lower: float | None
    odds_ratio_upper: float | None
    p_value: float | None
    covariance: str
    n_answers: int
    n_participants: int
    n_items: int
    level: float
    warnings: tuple[str, ...] = ()
    reason: str | None = None


def simulation_effects(
    answers: SimulationAnswers,
    *,
    control_method: str | None = None,
    n_resamples: int = 1000,
    level: float = 0.95,
    resampling: str = "two_way",
    interval: str = "percentile",
    seed: int = 0,
) -> tuple[SimulationEffect, ...]:
    """Return every method's pre and post accuracy and simulation effect (post - pre).

    With ``control_method``, also each method's effect minus the control's. Formulas,
    intervals and estimand in the module docstring (Hase & Bansal 2020).
    """
    check_resampling(resampling, n_resamples, level, interval)
    names = answers.method_names
    if control_method is not None and control_method not in names:
        raise ValueError(f"control_method: {control_method!r} is not one of {names}")
    n_methods = len(names)
    # Columns: correct-and-post, post, correct-and-pre, pre; each one per method.
    parts = [
        answers.correct & answers.post,
        answers.post,
        answers.correct & ~answers.post,
        ~answers.post,
    ]
    values = sparse.hstack(
        [indicator_columns(answers.method, n_methods, part.astype(np.float64)) for part in parts],
        format="csc",
    )
    totals = np.asarray(values.sum(axis=0)).reshape(4, n_methods)
    problem = clustering_problem(
        resampling,
        n_participants=answers.n_participants,
        n_items=answers.n_items,
        n_answers=int(answers.correct.size),
        n_resamples=n_resamples,
    )
    samples = None
    if problem is None:
        resampled = resampled_column_sums(
            answers.participant_code,
            answers.item_code,
            values,
            n_participants=answers.n_participants,
            n_items=answers.n_items,
            n_resamples=n_resamples,
            resampling=resampling,
            seed=seed,
        ).reshape(n_resamples, 4, n_methods)
        samples = np.stack(
            [
                ratio_or_nan(resampled[:, 2], resampled[:, 3]),
                ratio_or_nan(resampled[:, 0], resampled[:, 1]),
            ]
        )  # (phase: pre, post; resample; method)
    point = np.stack([ratio_or_nan(totals[2], totals[3]), ratio_or_nan(totals[0], totals[1])])
    control = names.index(control_method) if control_method is not None else None

    def with_ci(value: float, draws: FloatArray | None, bounds: tuple[float, float]) -> Estimate:
        return estimate_with_ci(
            finite_or_none(value),
            draws,
            problem=problem,
            level=level,
            resampling=resampling,
            interval=interval,
            seed=seed,
            bounds=bounds,
        )

    results = []
    for k, name in enumerate(names):
        mine = answers.method == k
        effect_draws = None if samples is None else samples[1, :, k] - samples[0, :, k]
        versus = None
        if control is not None and k != control:
            control_effect = point[1, control] - point[0, control]
            versus = with_ci(
                point[1, k] - point[0, k] - control_effect,
                None
                if samples is None or effect_draws is None
                else effect_draws - (samples[1, :, control] - samples[0, :, control]),
                (-2.0, 2.0),
            )
        results.append(
            SimulationEffect(
                method=name,
                pre_accuracy=with_ci(
                    point[0, k], None if samples is None else samples[0, :, k], (0.0, 1.0)
                ),
                post_accuracy=with_ci(
                    point[1, k], None if samples is None else samples[1, :, k], (0.0, 1.0)
                ),
                effect=with_ci(point[1, k] - point[0, k], effect_draws, (-1.0, 1.0)),
                control=control_method if versus is not None else None,
                effect_vs_control=versus,
                n_pre=int(totals[3, k]),
                n_post=int(totals[1, k]),
                n_participants=int(np.unique(answers.participant_code[mine]).size),
                n_items=int(np.unique(answers.item_code[mine]).size),
                estimand=ESTIMAND
                if problem
                else f"{ESTIMAND}; interval: {RESAMPLING_DESCRIPTION[resampling]}",
            )
        )
    return tuple(results)


def rating_predicts_simulation(
    correct: ArrayLike,
    rating: ArrayLike,
    participant: ArrayLike,
    item: ArrayLike,
    *,
    level: float = 0.95,
) -> LogisticResult:
    """Return the logistic regression of simulation correctness on the rating given.

    ``correct[a]``: the guess matched the model's output; ``rating[a]``: the
    participant's plausibility rating of the explanation shown on that trial.
    Model ``logit P(correct) = b0 + b1 rating`` with two-way cluster-robust
    intervals (Cameron, Gelbach & Miller 2011), one-way if only one participant or
    one item; ``odds_ratio = exp(b1)`` per rating point.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: expected a confidence level in (0, 1), got {level}")
    outcome = bool_array("correct", correct)
    x = float_array("rating", rating)
    participant_code, n_participants = dense_codes(index_array("participant", participant))
    item_code, n_items = dense_codes(index_array("item", item))
    same_length(correct=outcome, rating=x, participant=participant_code, item=item_code)
    base = LogisticResult(
        predictor="rating",
        intercept=None,
        coefficient=None,
        std_error=None,
        ci_lower=None,
        ci_upper=None,
        odds_ratio=None,
        odds_ratio_lower=None,
        odds_ratio_upper=None,
        p_value=None,
        covariance="",
        n_answers=int(outcome.size),
        n_participants=n_participants,
        n_items=n_items,
        level=level,
    )
    if outcome.size < 3:
        return dataclasses.replace(base, reason=f"only {outcome.size} answers")
    if outcome.all() or not outcome.any():
        state = "correct" if outcome.all() else "incorrect"
        return dataclasses.replace(
            base, reason=f"every answer is {state}: nothing for the rating to predict"
        )
    if np.all(x == x[0]):
        return dataclasses.replace(
            base, reason="every rating is the same: its coefficient is not identified"
        )
    groups, covariance = _cluster_groups(participant_code, item_code, n_participants, n_items)
    exog = np.column_stack([np.ones(x.size), x])
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        try:
            model = sm.Logit(outcome.astype(np.float64), exog)
            if groups is None:
                fitted = model.fit(disp=0)
            else:
                fitted = model.fit(disp=0, cov_type="cluster", cov_kwds={"groups": groups})
        except (PerfectSeparationError, np.linalg.LinAlgError) as error:
            return dataclasses.replace(base, reason=f"statsmodels could not fit: {error}")
    caught = tuple(dict.fromkeys(str(record.message) for record in records))
    params = np.asarray(fitted.params)
    std_error = float(np.sqrt(fitted.cov_params()[1, 1])) if fitted.cov_params()[1, 1] > 0 else None
    result = dataclasses.replace(
        base,
        intercept=finite_or_none(params[0]),
        coefficient=finite_or_none(params[1]),
        odds_ratio=finite_or_none(np.exp(params[1])),
        covariance=covariance,
        warnings=caught,
    )
    if std_error is None:
        return dataclasses.replace(
            result,
            reason="the cluster-robust variance of the slope is not positive (two-way "
            "combination V_p + V_i - V_pi can be negative with few clusters); no interval",
        )
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    lower, upper = params[1] - z * std_error, params[1] + z * std_error
    return dataclasses.replace(
        result,
        std_error=std_error,
        ci_lower=finite_or_none(lower),
        ci_upper=finite_or_none(upper),
        odds_ratio_lower=finite_or_none(np.exp(lower)),
        odds_ratio_upper=finite_or_none(np.exp(upper)),
        p_value=finite_or_none(2.0 * stats.norm.sf(abs(params[1]) / std_error)),
    )


def _cluster_groups(
    participant: IntArray, item: IntArray, n_participants: int, n_items: int
) -> tuple[IntArray | None, str]:
    """Return the cluster ids statsmodels needs and a description of the covariance."""
    if n_participants >= 2 and n_items >= 2:
        both: IntArray = np.column_stack([participant, item])
        return both, "two-way cluster-robust (participants and items; CGM 2011, CRV1)"
    if n_participants >= 2:
        return participant, "cluster-robust by participant (one item only; CRV1)"
    if n_items >= 2:
        return item, "cluster-robust by item (one participant only; CRV1)"
    return None, "model-based (one participant and one item: no clustering possible)"
