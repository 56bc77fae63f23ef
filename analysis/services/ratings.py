"""Results of a plausibility-rating study: agreement, ratings per method, and their link
to faithfulness (rank correlations with cluster-bootstrap intervals, mixed models).

Every statistic is computed by :mod:`analysis.compute`; this module only chooses the
inputs and arranges the results (and the data of their plots) as JSON-safe dicts.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

from analysis.compute.agreement import krippendorff_alpha_long
from analysis.compute.correlation import plausibility_faithfulness_correlations
from analysis.compute.mixed_model import crossed_random_effects
from analysis.compute.ratings import method_mean_ratings
from analysis.compute.result import json_safe
from studies.models import Study

from .inputs import (
    CONTROL_METHOD,
    RatingData,
    control_status,
    headline_metrics,
    included_rows,
    method_order,
    rating_data,
)
from .options import AnalysisOptions
from .tables import Table, metric_slug

# A scale with more points than this is treated as continuous (interval alpha).
MAX_ORDINAL_POINTS = 11


def _agreement(data: RatingData, level: str) -> list[dict[str, Any]]:
    """Return Krippendorff's alpha over all explanations, then within each method."""
    answers = data.answers
    unit = answers.explanation
    method = answers.method
    scopes: list[tuple[str | None, Any]] = [(None, np.ones(answers.n_answers, dtype=bool))]
    scopes += [(name, method == k) for k, name in enumerate(answers.method_names)]
    rows = []
    for name, mask in scopes:
        if name is not None and not mask.any():
            continue
        result = krippendorff_alpha_long(unit[mask], answers.rating[mask], level)
        rows.append({"method": name, **result.to_dict()})
    return rows


def _scatter(
    data: RatingData, metric: str, correlations: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Return the data of one plausibility-vs-faithfulness scatter plot."""
    means, counts = data.answers.explanation_means()
    scores = data.faithfulness[metric]
    names = data.answers.method_names
    points: dict[str, list[list[float]]] = {}
    for e in range(data.answers.n_explanations):
        if counts[e] > 0 and np.isfinite(scores[e]):
            method = names[int(data.answers.explanation_method[e])]
            points.setdefault(method, []).append(
                [float(scores[e]), float(means[e]), float(counts[e])]
            )
    spearman = {
        c["method"]: c
        for c in correlations
        if c["metric"] == metric and c["statistic"] == "spearman"
    }
    return {
        "kind": "scatter",
        "title": f"Plausibility vs {metric}",
        "x_label": f"faithfulness: {metric} (computed on the model)",
        "y_label": "mean plausibility rating per explanation (people)",
        "methods": list(names),
        "points": points,
        "overall": spearman.get(None),
        "per_method": {m: spearman[m] for m in names if m in spearman},
        "statistic": "Spearman's rho",
    }


def rating_section(
    *, study: Study, responses: Table, study_methods: Sequence[str], options: AnalysisOptions
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Return the rating results and the data of their plots (keyed by plot name)."""
    rows = [
        r
        for r in included_rows(responses)
        if r.get("rating") is not None and r.get("explanation_id") is not None
    ]
    methods = method_order([*study_methods, *(r["method"] for r in rows)])
    control_present = CONTROL_METHOD in methods
    metric_columns = headline_metrics(responses)
    section: dict[str, Any] = {
        "methods": list(methods),
        "control": control_status(
            methods,
            "no method can be compared with a floor; add it when designing the next study",
        ),
        "metrics": [c.metric for c in metric_columns],
        "n_answers": len(rows),
    }
    if not rows:
        section["message"] = (
            "No included ratings yet: nothing to analyse until participants answer test trials."
        )
        return section, {}
    low, high = rows[0]["scale_min"], rows[0]["scale_max"]
    points = int(high) - int(low) + 1
    level = "ordinal" if points <= MAX_ORDINAL_POINTS else "interval"
    data = rating_data(rows, metric_columns, methods)
    answers = data.answers
    answered = set(np.unique(answers.method).tolist())
    reference = (
        CONTROL_METHOD if control_present and methods.index(CONTROL_METHOD) in answered else None
    )
    means = method_mean_ratings(
        answers,
        reference_method=reference,
        n_resamples=options.n_resamples,
        level=options.level,
        resampling=options.resampling,
        interval=options.interval,
        seed=options.seed,
    )
    correlations = (
        [
            c.to_dict()
            for c in plausibility_faithfulness_correlations(
                answers,
                data.faithfulness,
                n_resamples=options.n_resamples,
                level=options.level,
                resampling=options.resampling,
                interval=options.interval,
                seed=options.seed,
            )
        ]
        if data.faithfulness
        else []
    )
    if data.faithfulness:
        models = [
            {
                "metric": metric,
                **crossed_random_effects(
                    answers,
                    scores,
                    faithfulness_name=metric,
                    reference_method=reference,
                    standardize=True,
                    level=options.level,
                ).to_dict(),
            }
            for metric, scores in data.faithfulness.items()
        ]
    else:
        models = [
            {
                "metric": None,
                **crossed_random_effects(
                    answers, None, reference_method=reference, level=options.level
                ).to_dict(),
            }
        ]
    explanation_means, counts = answers.explanation_means()
    section.update(
        {
            "scale": {"min": low, "max": high, "points": points},
            "n_participants": answers.n_participants,
            "n_items": answers.n_items,
            "n_explanations": int((counts > 0).sum()),
            "reference_method": reference,
            "agreement_level": level,
            "agreement": _agreement(data, level),
            "method_means": [m.to_dict() for m in means if m.reference is None],
            "differences": [m.to_dict() for m in means if m.reference is not None],
            "correlations": correlations,
            "mixed_models": models,
        }
    )
    plots: dict[str, dict[str, Any]] = {
        "ratings_by_method": {
            "kind": "method_means",
            "title": "Mean plausibility rating per method",
            "x_label": f"rating ({low} to {high}); mean with {options.level:.0%} interval",
            "scale": [low, high],
            "rows": section["method_means"],
            "control": CONTROL_METHOD,
            "explanation_means": {
                name: [
                    float(v)
                    for v, c, mth in zip(
                        explanation_means, counts, answers.explanation_method, strict=True
                    )
                    if c > 0 and int(mth) == k
                ]
                for k, name in enumerate(methods)
            },
        }
    }
    for metric in data.faithfulness:
        plots[f"plausibility_vs_{metric_slug(metric)}"] = json_safe(
            _scatter(data, metric, correlations)
        )
    return section, plots
