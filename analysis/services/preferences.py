"""Results of a pairwise-preference study: agreement, Bradley-Terry strengths, win counts,
and each method's faithfulness beside its strength.

Statistics come from :mod:`analysis.compute`; the faithfulness beside each strength is
the plain mean of the frozen scores of the explanations that were compared (a
description of what was shown, not an estimate).
"""

from collections.abc import Sequence
from typing import Any

import numpy as np

from analysis.compute.agreement import krippendorff_alpha_long
from analysis.compute.bradley_terry import PairwiseChoices, bradley_terry
from analysis.compute.result import finite_or_none
from studies.models import Study

from .inputs import (
    CONTROL_METHOD,
    control_status,
    headline_metrics,
    included_rows,
    method_order,
)
from .options import AnalysisOptions
from .tables import Table


def _agreement(rows: Sequence[dict[str, Any]], methods: tuple[str, ...]) -> list[dict[str, Any]]:
    """Return nominal alpha on the chosen method per compared pair, overall and per pair."""
    tie_code = len(methods)
    unit = np.asarray([r["item_id"] for r in rows], dtype=np.int64)
    value = np.asarray(
        [
            tie_code if r["choice_side"] == "tie" else methods.index(r["chosen_method"])
            for r in rows
        ],
        dtype=np.float64,
    )
    pair = [" vs ".join(sorted((r["left_method"], r["right_method"]))) for r in rows]
    results = [{"pair": None, **krippendorff_alpha_long(unit, value, "nominal").to_dict()}]
    for name in sorted(set(pair)):
        mask = np.asarray([p == name for p in pair])
        results.append(
            {"pair": name, **krippendorff_alpha_long(unit[mask], value[mask], "nominal").to_dict()}
        )
    return results


def _wins(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return, per pair of methods, how often each side of the pair was preferred."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        a, b = sorted((r["left_method"], r["right_method"]))
        cell = counts.setdefault((a, b), {"a": 0, "b": 0, "tie": 0})
        if r["choice_side"] == "tie":
            cell["tie"] += 1
        else:
            cell["a" if r["chosen_method"] == a else "b"] += 1
    return [
        {
            "method_a": a,
            "method_b": b,
            "a_preferred": c["a"],
            "b_preferred": c["b"],
            "ties": c["tie"],
        }
        for (a, b), c in sorted(counts.items())
    ]


def _mean_faithfulness(
    responses: Table, rows: Sequence[dict[str, Any]], methods: tuple[str, ...]
) -> dict[str, dict[str, float | None]]:
    """Return, per metric and method, the mean frozen score of the explanations compared."""
    seen: dict[tuple[str, int], dict[str, float]] = {}
    for side in ("left", "right"):
        for column in headline_metrics(responses, side=side):
            for r in rows:
                value = r.get(column.name)
                key = (r[f"{side}_method"], r[f"{side}_explanation_id"])
                if value is not None and column.metric is not None:
                    seen.setdefault(key, {})[column.metric] = float(value)
    metrics = sorted({m for scores in seen.values() for m in scores})
    result: dict[str, dict[str, float | None]] = {}
    for metric in metrics:
        result[metric] = {}
        for method in methods:
            values = [s[metric] for (m, _), s in seen.items() if m == method and metric in s]
            result[metric][method] = finite_or_none(np.mean(values)) if values else None
    return result


def preference_section(
    *, study: Study, responses: Table, study_methods: Sequence[str], options: AnalysisOptions
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Return the preference results and the data of their plots."""
    rows = [r for r in included_rows(responses) if r.get("choice_side") is not None]
    methods = method_order(
        [*study_methods, *(r["left_method"] for r in rows), *(r["right_method"] for r in rows)]
    )
    section: dict[str, Any] = {
        "methods": list(methods),
        "control": control_status(methods, "the strengths have no floor to be compared with"),
        "n_answers": len(rows),
    }
    if not rows:
        section["message"] = (
            "No included preferences yet: nothing to analyse until participants answer test trials."
        )
        return section, {}
    choices = pairwise_choices(rows, methods)
    strengths = bradley_terry(
        choices,
        n_resamples=options.n_resamples,
        level=options.level,
        resampling=options.resampling,
        interval=options.interval,
        seed=options.seed,
    )
    faithfulness = _mean_faithfulness(responses, rows, methods)
    section.update(
        {
            "n_participants": choices.n_participants,
            "n_items": choices.n_items,
            "agreement_level": "nominal",
            "agreement": _agreement(rows, methods),
            "strengths": strengths.to_dict(),
            "wins": _wins(rows),
            "mean_faithfulness": faithfulness,
        }
    )
    plots = {
        "strengths_by_method": {
            "kind": "strengths",
            "title": "Bradley-Terry log strength per method",
            "x_label": (
                f"log strength (sum to zero); {options.level:.0%} cluster-bootstrap interval"
            ),
            "rows": section["strengths"]["methods"],
            "control": CONTROL_METHOD,
            "reason": strengths.reason,
        }
    }
    return section, plots


def pairwise_choices(rows: Sequence[dict[str, Any]], methods: tuple[str, ...]) -> PairwiseChoices:
    """Return the preferences of ``rows``; a tie keeps the left method as ``winner``."""
    participant, item, winner, loser, tie = [], [], [], [], []
    for row in rows:
        is_tie = row["choice_side"] == "tie"
        first = row["left_method"] if is_tie else row["chosen_method"]
        second = row["right_method"] if is_tie else row["rejected_method"]
        participant.append(row["participant_id"])
        item.append(row["instance_id"])
        winner.append(methods.index(first))
        loser.append(methods.index(second))
        tie.append(is_tie)
    return PairwiseChoices(
        participant=np.asarray(participant, dtype=np.int64),
        item=np.asarray(item, dtype=np.int64),
        winner=np.asarray(winner, dtype=np.int64),
        loser=np.asarray(loser, dtype=np.int64),
        method_names=methods,
        tie=np.asarray(tie, dtype=bool),
    )
