"""Results of forward and counterfactual simulation studies: can people predict the model?

A prediction is correct when it matches the *model's* output (Hase & Bansal 2020). Per
condition (explanation method, or none): pre and post accuracy and the simulation effect
(post - pre), against the control without explanations
(:func:`analysis.compute.simulation.simulation_effects`); and whether the explanation
ratings given after post trials predict being right
(:func:`analysis.compute.simulation.rating_predicts_simulation`).
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

from analysis.compute.simulation import (
    SimulationAnswers,
    rating_predicts_simulation,
    simulation_effects,
)
from studies.models import Study

from .inputs import CONTROL_METHOD, NO_EXPLANATION, control_status, included_rows, method_order
from .options import AnalysisOptions
from .tables import Table

PHASES = ("pre", "post")


def _condition(row: dict[str, Any]) -> str:
    return str(row.get("method") or NO_EXPLANATION)


def simulation_section(
    *, study: Study, responses: Table, study_methods: Sequence[str], options: AnalysisOptions
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Return pre/post accuracy and the simulation effect per condition, and their plot."""
    rows = [
        r
        for r in included_rows(responses)
        if r.get("predicted_label") is not None and r["phase"] in PHASES
    ]
    methods = method_order(study_methods)
    section: dict[str, Any] = {
        "methods": list(methods),
        "control": control_status(
            methods, "the condition without explanations is the only baseline"
        ),
        "n_answers": len(rows),
    }
    if not rows:
        section["message"] = "No included pre or post predictions yet."
        return section, {}
    conditions = sorted({_condition(r) for r in rows}, key=lambda c: (c != NO_EXPLANATION, c))
    answers = SimulationAnswers(
        participant=np.asarray([r["participant_id"] for r in rows], dtype=np.int64),
        item=np.asarray([r["instance_id"] for r in rows], dtype=np.int64),
        method=np.asarray([conditions.index(_condition(r)) for r in rows], dtype=np.int64),
        post=np.asarray([r["phase"] == "post" for r in rows], dtype=bool),
        guess=np.asarray([r["predicted_label"] for r in rows], dtype=np.int64),
        model_output=np.asarray([r["model_label"] for r in rows], dtype=np.int64),
        method_names=tuple(conditions),
    )
    control = NO_EXPLANATION if NO_EXPLANATION in conditions else None
    effects = simulation_effects(
        answers,
        control_method=control,
        n_resamples=options.n_resamples,
        level=options.level,
        resampling=options.resampling,
        interval=options.interval,
        seed=options.seed,
    )
    # Ratings come in their own trials after post predictions: join them by person and item.
    excluded = {r["participant_id"] for r in responses.rows if r["excluded"]}
    ratings = {
        (r["participant_id"], r["instance_id"]): r["rating"]
        for r in responses.rows
        if r["role"] == "rating" and r.get("rating") is not None and not r["excluded"]
    }
    rated = [
        (r, ratings[r["participant_id"], r["instance_id"]])
        for r in rows
        if r["phase"] == "post" and (r["participant_id"], r["instance_id"]) in ratings
    ]
    logistic = None
    if rated:
        logistic = rating_predicts_simulation(
            [r["predicted_label"] == r["model_label"] for r, _ in rated],
            [float(value) for _, value in rated],
            [r["participant_id"] for r, _ in rated],
            [r["instance_id"] for r, _ in rated],
            level=options.level,
        ).to_dict()
    section.update(
        {
            "n_participants": answers.n_participants,
            "n_items": answers.n_items,
            "control_condition": control,
            "effects": [e.to_dict() for e in effects],
            "rating_predicts_correct": logistic,
            "n_excluded_ratings": sum(
                1
                for r in responses.rows
                if r["role"] == "rating" and r["participant_id"] in excluded
            ),
        }
    )
    plots = {
        "simulation_effect_by_condition": {
            "kind": "estimates",
            "title": "Simulation effect (post minus pre accuracy) per condition",
            "x_label": f"change in accuracy of predicting the model; {options.level:.0%} interval",
            "limits": [-1.0, 1.0],
            "rows": [
                {
                    "label": e["method"],
                    "method": e["method"],
                    "estimate": e["effect"]["value"],
                    "ci": e["effect"]["ci"],
                }
                for e in section["effects"]
            ],
            "control": CONTROL_METHOD,
        }
    }
    return section, plots
