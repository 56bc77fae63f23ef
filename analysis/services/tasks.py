"""Results of studies where people do a task: the aided task and rationale annotation.

* aided task: accuracy, reliance on the model and time per condition (highlight method or
  none, crossed with whether the model's prediction was shown), with differences to the
  condition without highlights (:func:`analysis.compute.aided.aided_task_summary`);
* rationale annotation: agreement among the participants' rationales (alpha over token
  selections and mean pairwise token F1, :func:`analysis.compute.rationales.rationale_agreement`).
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

from analysis.compute.aided import AidedAnswers, aided_task_summary
from analysis.compute.rationales import RationaleSet, rationale_agreement
from studies.models import Study

from .inputs import CONTROL_METHOD, NO_HIGHLIGHTS, control_status, included_rows, method_order
from .options import AnalysisOptions
from .tables import Table


def _condition(row: dict[str, Any]) -> str:
    name = row.get("method") or NO_HIGHLIGHTS
    return f"{name} + prediction" if row.get("prediction_shown") else name


def aided_section(
    *, study: Study, responses: Table, study_methods: Sequence[str], options: AnalysisOptions
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Return accuracy, reliance and time per condition, and the data of their plot."""
    rows = [
        r
        for r in included_rows(responses)
        if r.get("label") is not None and r.get("gold_label") is not None
    ]
    methods = method_order(study_methods)
    section: dict[str, Any] = {
        "methods": list(methods),
        "control": control_status(methods, "no highlight method can be compared with a floor"),
        "n_answers": len(rows),
        "n_without_gold": sum(
            r.get("label") is not None and r.get("gold_label") is None
            for r in included_rows(responses)
        ),
    }
    if not rows:
        section["message"] = (
            "No included answers with a gold label yet: accuracy needs the gold label."
        )
        return section, {}
    conditions = sorted({_condition(r) for r in rows}, key=lambda c: (c != NO_HIGHLIGHTS, c))
    answers = AidedAnswers(
        participant=np.asarray([r["participant_id"] for r in rows], dtype=np.int64),
        item=np.asarray([r["instance_id"] for r in rows], dtype=np.int64),
        condition=np.asarray([conditions.index(_condition(r)) for r in rows], dtype=np.int64),
        answer=np.asarray([r["label"] for r in rows], dtype=np.int64),
        gold=np.asarray([r["gold_label"] for r in rows], dtype=np.int64),
        model_output=np.asarray([r["model_label"] for r in rows], dtype=np.int64),
        seconds=np.asarray(
            [
                np.nan if r["server_duration_ms"] is None else r["server_duration_ms"] / 1000
                for r in rows
            ],
            dtype=np.float64,
        ),
        condition_names=tuple(conditions),
    )
    summaries = aided_task_summary(
        answers,
        reference_condition=NO_HIGHLIGHTS if NO_HIGHLIGHTS in conditions else None,
        n_resamples=options.n_resamples,
        level=options.level,
        resampling=options.resampling,
        interval=options.interval,
        seed=options.seed,
    )
    section.update(
        {
            "n_participants": answers.n_participants,
            "n_items": answers.n_items,
            "reference_condition": NO_HIGHLIGHTS if NO_HIGHLIGHTS in conditions else None,
            "conditions": [s.to_dict() for s in summaries],
        }
    )
    plots = {
        "accuracy_by_condition": {
            "kind": "estimates",
            "title": "Accuracy against the gold label per condition",
            "x_label": f"share of correct answers; {options.level:.0%} interval",
            "limits": [0.0, 1.0],
            "rows": [
                {
                    "label": s["condition"],
                    "method": s["condition"].split(" + ")[0],
                    "estimate": s["accuracy"]["value"],
                    "ci": s["accuracy"]["ci"],
                }
                for s in section["conditions"]
            ],
            "control": CONTROL_METHOD,
        }
    }
    return section, plots


def rationale_section(
    *, study: Study, responses: Table, study_methods: Sequence[str], options: AnalysisOptions
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Return how much the participants' rationales agree."""
    rows = [
        r
        for r in included_rows(responses)
        if r.get("indices") is not None and r.get("n_tokens") is not None
    ]
    methods = method_order(study_methods)
    section: dict[str, Any] = {
        "methods": list(methods),
        "control": control_status(
            methods, "the new rationales will not score a floor method in compute_scores"
        ),
        "n_answers": len(rows),
        "scoring_note": (
            "the rationales are stored as human rationales (source=study); run "
            "compute_scores to score each method's explanations against them"
        ),
    }
    if not rows:
        section["message"] = "No included rationales yet."
        return section, {}
    selections = []
    for r in rows:
        marked = np.zeros(int(r["n_tokens"]))
        marked[list(r["indices"])] = 1.0
        selections.append(marked)
    rationales = RationaleSet(
        annotator=np.asarray([r["participant_id"] for r in rows], dtype=np.int64),
        instance=np.asarray([r["instance_id"] for r in rows], dtype=np.int64),
        selections=tuple(selections),
    )
    agreement = rationale_agreement(
        rationales,
        n_resamples=options.n_resamples,
        level=options.level,
        interval=options.interval,
        seed=options.seed,
    )
    marked_counts = [int(r["n_marked"]) for r in rows]
    section.update(
        {
            "agreement": agreement.to_dict(),
            "mean_words_marked": float(np.mean(marked_counts)),
            "n_participants": len({r["participant_id"] for r in rows}),
            "n_items": len({r["instance_id"] for r in rows}),
        }
    )
    return section, {}
