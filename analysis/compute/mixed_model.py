"""Crossed random-effects model: does faithfulness predict a rating, beyond who and what?

Model (Baayen, Davidson & Bates 2008, crossed random effects for subjects and items)::

    rating_a = b0 + b_f * faithfulness_e(a) + b_m(a) + u_p(a) + v_i(a) + e_a
    u_p ~ N(0, s2_participant), v_i ~ N(0, s2_item), e_a ~ N(0, s2_residual)

in lme4 notation ``rating ~ faithfulness + method + (1|participant) + (1|item)``;
``b_m`` is treatment-coded against a reference method. Fitted by REML with
statsmodels' ``MixedLM``: one group holding all answers, and the participant and
item intercepts as two variance components with sparse design matrices
(statsmodels' documented way to express crossed effects; Lindstrom & Bates 1988
for the algorithm). Cost grows with (participants + items)^2 and the number of
answers: seconds for a few thousand answers, minutes past a hundred thousand.

Reported honestly:

* fixed effects with Wald standard errors, normal-theory confidence intervals and
  p-values, exactly as statsmodels computes them; these assume the model (normal
  random effects, homoscedastic residuals) and treat the variances as known;
* variance components as estimates only: statsmodels gives no trustworthy interval
  for them (their sampling distribution is skewed and bounded at 0), so none is
  invented here; a component estimated at (near) zero is flagged as on the boundary;
* whether the optimiser converged, and every warning statsmodels raised, verbatim.

Degenerate input is reported, not fitted blindly: constant ratings, a single
participant or item (that variance component is left out, with a note), a
constant faithfulness (the term is left out, with a note).
"""

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

from analysis.compute.answers import RatingAnswers
from analysis.compute.arrays import FloatArray, IntArray, dense_codes, float_array
from analysis.compute.result import Record, finite_or_none

# A variance component below this fraction of the rating variance is "on the boundary".
_BOUNDARY = 1e-6


@dataclass(frozen=True)
class FixedEffect(Record):
    """One fixed-effect coefficient with its Wald interval."""

    term: str
    estimate: float | None
    std_error: float | None
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None


@dataclass(frozen=True)
class VarianceComponent(Record):
    """One variance component (participant, item or residual); no interval, see module."""

    name: str
    variance: float | None
    std_dev: float | None
    share: float | None
    note: str | None = None


@dataclass(frozen=True)
class MixedModelResult(Record):
    """A fitted crossed random-effects model, or why it was not fitted (``reason``)."""

    formula: str
    fixed_effects: tuple[FixedEffect, ...]
    variance_components: tuple[VarianceComponent, ...]
    n_answers: int
    n_participants: int
    n_items: int
    level: float
    estimation: str
    converged: bool | None
    log_likelihood: float | None
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    reason: str | None = None


def crossed_random_effects(
    answers: RatingAnswers,
    faithfulness: ArrayLike | None = None,
    *,
    faithfulness_name: str = "faithfulness",
    reference_method: str | None = None,
    standardize: bool = False,
    level: float = 0.95,
    reml: bool = True,
) -> MixedModelResult:
    """Fit ``rating ~ faithfulness + method + (1|participant) + (1|item)`` and report it.

    ``faithfulness`` has one score per explanation (NaN: the answers on that
    explanation are left out); None fits ``rating ~ method + (1|participant) +
    (1|item)``. ``standardize`` divides the score by its standard deviation over the
    answers used, so ``b_f`` is per standard deviation. The reference method
    defaults to the first method with answers. Model, estimation and reference in
    the module docstring.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: expected a confidence level in (0, 1), got {level}")
    names = answers.method_names
    if reference_method is not None and reference_method not in names:
        raise ValueError(f"reference_method: {reference_method!r} is not one of {names}")
    keep = np.ones(answers.n_answers, dtype=bool)
    score: FloatArray | None = None
    notes: list[str] = []
    if faithfulness is not None:
        scores = float_array(faithfulness_name, faithfulness, allow_nan=True)
        if scores.size != answers.n_explanations:
            raise ValueError(
                f"{faithfulness_name}: expected {answers.n_explanations} scores "
                f"(one per explanation), got {scores.size}"
            )
        score = scores[answers.explanation]
        keep = np.isfinite(score)
        if not keep.all():
            notes.append(
                f"{int((~keep).sum())} answers without a {faithfulness_name} score left out"
            )
    rating = answers.rating[keep]
    participant, n_participants = dense_codes(answers.participant_code[keep])
    item, n_items = dense_codes(answers.item_code[keep])
    method = answers.method[keep]
    terms = [faithfulness_name] if score is not None else []
    formula = " + ".join(["rating ~ 1", *terms, "method", "(1|participant)", "(1|item)"])
    empty = MixedModelResult(
        formula=formula,
        fixed_effects=(),
        variance_components=(),
        n_answers=int(rating.size),
        n_participants=n_participants,
        n_items=n_items,
        level=level,
        estimation="REML" if reml else "ML",
        converged=None,
        log_likelihood=None,
        warnings=(),
        notes=tuple(notes),
    )
    if rating.size < 3:
        return dataclasses.replace(
            empty, reason=f"only {rating.size} answers; a mixed model needs more"
        )
    if np.all(rating == rating[0]):
        return dataclasses.replace(
            empty, reason="every rating is the same; there is nothing to model"
        )
    columns: list[FloatArray] = [np.ones(rating.size)]
    column_names = ["Intercept"]
    if score is not None:
        used = score[keep]
        spread = float(used.std())
        if spread == 0.0:
            notes.append(f"{faithfulness_name} is constant; its term is left out")
        else:
            columns.append(used / spread if standardize else used)
            per = " (per standard deviation)" if standardize else ""
            column_names.append(f"{faithfulness_name}{per}")
    present = np.unique(method)
    reference = names.index(reference_method) if reference_method else int(present[0])
    if reference not in present:
        return dataclasses.replace(
            empty, reason=f"no answers rate the reference method {names[reference]!r}"
        )
    for index in present:
        if index != reference:
            columns.append((method == index).astype(np.float64))
            column_names.append(f"method[{names[index]}] - method[{names[reference]}]")
    components: list[tuple[str, IntArray, int]] = []
    for label, codes, count in (
        ("participant", participant, n_participants),
        ("item", item, n_items),
    ):
        if count < 2:
            notes.append(f"only one {label}: the {label} variance component is left out")
        else:
            components.append((label, codes, count))
    if not components:
        return dataclasses.replace(
            empty,
            notes=tuple(notes),
            reason="one participant and one item: no random effect can be estimated",
        )
    return _fit(
        dataclasses.replace(empty, notes=tuple(notes)),
        rating,
        np.column_stack(columns),
        column_names,
        components,
        reml=reml,
    )


def _fit(
    base: MixedModelResult,
    rating: FloatArray,
    exog: FloatArray,
    column_names: list[str],
    components: list[tuple[str, IntArray, int]],
    *,
    reml: bool,
) -> MixedModelResult:
    """Fit the model with statsmodels and turn its result into a record."""
    n = rating.size
    rows = np.arange(n)
    vc = VCSpec(
        [label for label, _, _ in components],
        [[[f"{label}{j}" for j in range(count)]] for label, _, count in components],
        [
            [sparse.csr_array((np.ones(n), (rows, codes)), shape=(n, count))]
            for _, codes, count in components
        ],
    )
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        try:
            model = MixedLM(rating, exog, groups=np.zeros(n), exog_vc=vc)
            fitted = model.fit(reml=reml)
        except (np.linalg.LinAlgError, ValueError) as error:
            caught = [str(record.message) for record in records]
            return dataclasses.replace(
                base, warnings=tuple(caught), reason=f"statsmodels could not fit: {error}"
            )
    caught = list(dict.fromkeys(str(record.message) for record in records))
    alpha = 1.0 - base.level
    k = exog.shape[1]
    bounds = np.asarray(fitted.conf_int(alpha=alpha))[:k]
    std_errors = np.asarray(fitted.bse_fe)
    p_values = np.asarray(fitted.pvalues)[:k]
    fixed = tuple(
        FixedEffect(
            term=column_names[j],
            estimate=finite_or_none(fitted.fe_params[j]),
            std_error=finite_or_none(std_errors[j]),
            ci_lower=finite_or_none(bounds[j, 0]),
            ci_upper=finite_or_none(bounds[j, 1]),
            p_value=finite_or_none(p_values[j]),
        )
        for j in range(k)
    )
    variances = [
        (label, float(v)) for (label, _, _), v in zip(components, fitted.vcomp, strict=True)
    ]
    variances.append(("residual", float(fitted.scale)))
    total = sum(v for _, v in variances)
    threshold = _BOUNDARY * float(np.var(rating))
    components_out = tuple(
        VarianceComponent(
            name=label,
            variance=finite_or_none(v),
            std_dev=finite_or_none(np.sqrt(v)) if v >= 0 else None,
            share=finite_or_none(v / total) if total > 0 else None,
            note=(
                "estimated at the boundary (about zero): this source of variation was not "
                "detected, which is not evidence that it is absent"
                if label != "residual" and v <= threshold
                else None
            ),
        )
        for label, v in variances
    )
    return dataclasses.replace(
        base,
        fixed_effects=fixed,
        variance_components=components_out,
        converged=bool(fitted.converged),
        log_likelihood=finite_or_none(fitted.llf),
        warnings=tuple(caught),
    )
