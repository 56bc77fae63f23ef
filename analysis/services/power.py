"""Power analysis of a plausibility-rating study: estimate the model from a pilot, simulate sizes.

From a pilot study's included answers (the rows the analysis itself uses,
:mod:`analysis.services.inputs`), the crossed random-effects model the analysis fits
(:func:`analysis.compute.mixed_model.crossed_random_effects`, faithfulness per standard
deviation, methods against the ``random`` control when the study has it) gives the
effects and variance components; :mod:`analysis.compute.power` then simulates the study
at every size of a grid. Assumed values replace any pilot estimate, or stand alone.

One adjustment: a pilot's ratings are whole scale points, so its residual variance
includes the rounding, about 1/12 of a point squared (Sheppard's correction); the
simulation rounds again, so 1/12 is taken off the residual variance it simulates with.
Clipping at the scale's ends is not undone (it matters only when ratings pile up there).
"""

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

from analysis.compute.answers import RatingAnswers
from analysis.compute.arrays import FloatArray
from analysis.compute.mixed_model import MixedModelResult, crossed_random_effects
from analysis.compute.power import (
    FAITHFULNESS_TEST,
    OMNIBUS_TEST,
    PowerDesign,
    PowerModel,
    Progress,
    method_test,
    power_grid,
    recommend,
)
from analysis.compute.result import json_safe
from studies.models import Study

from .inputs import CONTROL_METHOD, headline_metrics, included_rows, method_order, rating_data
from .tables import study_tables

RATING_STUDY = "plausibility_rating"
# Variance of the rounding error of a whole-point rating (uniform on +-0.5).
ROUNDING_VARIANCE = 1.0 / 12.0


@dataclass(frozen=True)
class Pilot:
    """What a pilot study says about the generative model, and the design it ran."""

    study_id: int
    metric: str | None
    model: PowerModel
    n_participants: int
    n_items: int
    items_per_participant: int
    n_answers: int
    fit: MixedModelResult
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the pilot as a JSON-safe dict."""
        converted: dict[str, Any] = json_safe(self)
        return converted


def power_pilot_estimate(*, study: Study, metric: str | None = None) -> Pilot:
    """Return the generative model estimated from ``study``'s included ratings.

    ``metric`` names the faithfulness metric (default: the first one the study shows).
    Raise ``ValidationError`` naming the field when the study cannot serve as a pilot.
    """
    if study.study_type != RATING_STUDY:
        raise ValidationError(
            {
                "study": f"study {study.pk} is a {study.study_type} study; power analysis "
                f"needs a {RATING_STUDY} study as pilot"
            }
        )
    responses = study_tables(study).responses
    rows = [
        r
        for r in included_rows(responses)
        if r.get("rating") is not None and r.get("explanation_id") is not None
    ]
    if not rows:
        raise ValidationError({"study": f"study {study.pk} has no included ratings yet"})
    metrics = headline_metrics(responses)
    available = [c.metric for c in metrics]
    if metric is not None and metric not in available:
        raise ValidationError(
            {"metric": f"{metric!r} is not a faithfulness metric of this study; it has {available}"}
        )
    chosen = [c for c in metrics if metric is None or c.metric == metric][:1]
    study_methods = list(study.methods.values_list("name", flat=True))
    methods = method_order([*study_methods, *(r["method"] for r in rows)])
    data = rating_data(rows, chosen, methods)
    answers = data.answers
    answered = sorted(set(np.unique(answers.method).tolist()))
    names = tuple(methods[k] for k in answered)
    reference = CONTROL_METHOD if CONTROL_METHOD in names else names[0]
    name = chosen[0].metric if chosen else None
    scores = data.faithfulness[name] if name is not None else None
    fit = crossed_random_effects(
        answers,
        scores,
        faithfulness_name=name or "faithfulness",
        reference_method=reference,
        standardize=True,
    )
    if fit.reason is not None:
        raise ValidationError({"study": f"the pilot's mixed model was not fitted: {fit.reason}"})
    fixed = {effect.term: effect.estimate for effect in fit.fixed_effects}
    components = {c.name: c.variance for c in fit.variance_components}
    notes = list(fit.notes)
    for needed in ("participant", "item"):
        if components.get(needed) is None:
            raise ValidationError(
                {"study": f"the pilot gives no {needed} variance (it needs 2 or more {needed}s)"}
            )
    low, high = int(rows[0]["scale_min"]), int(rows[0]["scale_max"])
    residual = float(components["residual"] or 0.0)
    if residual > 2 * ROUNDING_VARIANCE:
        residual -= ROUNDING_VARIANCE
        notes.append("residual variance reduced by 1/12 for the rounding to whole points")
    slope_term = next((t for t in fixed if name is not None and t.startswith(name)), None)
    slope = fixed.get(slope_term) if slope_term else None
    if slope is None:
        notes.append("no faithfulness coefficient in the pilot: its slope is taken as 0")
    mean, spread = _faithfulness_distribution(answers, answered, scores)
    effects = tuple(
        0.0 if m == reference else float(fixed.get(method_test(m, reference)) or 0.0) for m in names
    )
    model = PowerModel(
        method_names=names,
        reference_method=reference,
        intercept=float(fixed.get("Intercept") or 0.0),
        method_effects=effects,
        faithfulness_slope=float(slope or 0.0),
        faithfulness_mean=mean,
        faithfulness_sd=spread,
        sd_participant=float(np.sqrt(max(components["participant"] or 0.0, 0.0))),
        sd_item=float(np.sqrt(max(components["item"] or 0.0, 0.0))),
        sd_residual=float(np.sqrt(residual)),
        scale=(low, high),
    )
    return Pilot(
        study_id=study.pk,
        metric=name,
        model=model,
        n_participants=answers.n_participants,
        n_items=int(study.n_items),
        items_per_participant=int(study.items_per_participant or study.n_items),
        n_answers=answers.n_answers,
        fit=fit,
        notes=tuple(notes),
    )


def _faithfulness_distribution(
    answers: RatingAnswers, answered: list[int], scores: FloatArray | None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Return per-method mean and sd of the score in the units the model uses.

    The analysis divides the score by its standard deviation over the answers; the same
    divisor is used here, and mean and sd are taken over each method's rated explanations.
    """
    if scores is None:
        return (0.0,) * len(answered), (1.0,) * len(answered)
    per_answer = scores[answers.explanation]
    used = per_answer[np.isfinite(per_answer)]
    divisor = float(used.std()) if used.size and used.std() > 0 else 1.0
    _, counts = answers.explanation_means()
    standard = scores / divisor
    rated = (counts > 0) & np.isfinite(standard)
    pooled = [float(v) for v in standard[rated]]
    pooled_sd = statistics.pstdev(pooled) if len(pooled) > 1 else 1.0
    means, sds = [], []
    for k in answered:
        values = [float(v) for v in standard[rated & (answers.explanation_method == k)]]
        means.append(statistics.fmean(values) if values else 0.0)
        sd = statistics.pstdev(values) if len(values) > 1 else 0.0
        sds.append(sd if sd > 0 else pooled_sd)
    return tuple(means), tuple(sds)


def power_model_override(model: PowerModel, assumed: Mapping[str, Any]) -> PowerModel:
    """Return ``model`` with the assumed values in ``assumed`` put in (keys are fields).

    ``method_effects`` may be a mapping of method name to its difference to the reference.
    An assumed ``faithfulness_slope`` (without an assumed intercept) moves the intercept
    with it, so the mean rating at the pilot's mean faithfulness stays the pilot's: the
    faithfulness is not centred (its mean may be many SDs from 0), and a new slope on the
    old intercept would push every simulated rating to an end of the scale.
    Raise ``ValidationError`` naming the field for an unknown method or a bad value.
    """
    changes = dict(assumed)
    if "faithfulness_slope" in changes and "intercept" not in changes:
        centre = float(np.mean(model.faithfulness_mean))
        changes["intercept"] = model.intercept + centre * (
            model.faithfulness_slope - float(changes["faithfulness_slope"])
        )
    effects = changes.pop("method_effects", None)
    if effects is not None:
        unknown = sorted(set(effects) - set(model.method_names))
        if unknown:
            raise ValidationError(
                {"method_effects": f"unknown methods {unknown}; the model has {model.method_names}"}
            )
        changes["method_effects"] = tuple(
            float(effects.get(m, model.method_effects[k])) for k, m in enumerate(model.method_names)
        )
    try:
        return replace(model, **changes)
    except (ValueError, TypeError) as exc:
        field, _, message = str(exc).partition(": ")
        if field in changes:
            raise ValidationError({field: message}) from None
        raise ValidationError({"model": str(exc)}) from None


def power_designs(
    *,
    participants: Sequence[int],
    items_per_participant: Sequence[int],
    n_items: int | None,
    n_methods: int,
) -> list[PowerDesign]:
    """Return the grid of designs; each has ``max(n_items, items per participant)`` items.

    ``n_items`` None: every participant rates every item (one block).
    """
    designs = []
    for n_participants in participants:
        for per in items_per_participant:
            try:
                designs.append(
                    PowerDesign(
                        n_participants=n_participants,
                        items_per_participant=per,
                        n_items=max(n_items or per, per),
                        n_methods=n_methods,
                    )
                )
            except ValueError as exc:
                raise ValidationError({"designs": str(exc)}) from None
    return designs


def power_analysis_run(
    *,
    model: PowerModel,
    designs: Sequence[PowerDesign],
    n_studies: int = 1000,
    alpha: float = 0.05,
    target: float = 0.8,
    seed: int = 0,
    pilot: Pilot | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Return the power of every test at every design and the recommended sizes (JSON-safe).

    Recommendations: one per test, and ``primary`` for the faithfulness test together
    with the method test (the omnibus test with three or more methods).
    """
    if not 0.0 < target < 1.0:
        raise ValidationError({"target": f"expected a power in (0, 1), got {target}"})
    if not 0.0 < alpha < 1.0:
        raise ValidationError({"alpha": f"expected a level in (0, 1), got {alpha}"})
    if n_studies < 1:
        raise ValidationError({"n_studies": f"expected at least 1, got {n_studies}"})
    if not designs:
        raise ValidationError({"designs": "expected at least one design to simulate"})
    cells = power_grid(
        model, designs, n_studies=n_studies, alpha=alpha, seed=seed, progress=progress
    )
    tests = [t.test for t in cells[0].tests]
    primary = [FAITHFULNESS_TEST, OMNIBUS_TEST if OMNIBUS_TEST in tests else tests[-1]]
    if len(model.method_names) < 2:
        primary = [FAITHFULNESS_TEST]
    recommendations = {
        "primary": recommend(cells, tests=primary, target=target).to_dict(),
        **{test: recommend(cells, tests=[test], target=target).to_dict() for test in tests},
    }
    return json_safe(
        {
            "model": model.to_dict(),
            "pilot": pilot.to_dict() if pilot else None,
            "alpha": alpha,
            "target": target,
            "n_studies": n_studies,
            "seed": seed,
            "tests": tests,
            "statistic": (
                "Wald tests of rating ~ faithfulness (per SD) + method + (1|participant) + "
                "(1|item): GLS with moment estimates of the variance components, the fast "
                "equivalent of the analysis's REML fit (analysis.compute.crossed_wald)"
            ),
            "cells": [cell.to_dict() for cell in cells],
            "recommendations": recommendations,
        }
    )
