"""Results of an expert review: criteria ratings, flags and adjudicated outcomes per method.

Expert studies are small, so these are descriptive summaries with counts
(:mod:`analysis.compute.review`): per criterion and method the mean, spread and the
reviewers' agreement; per method and flag how many of its reviewed explanations were
flagged; per method the final outcomes the lead reviewer or researcher adjudicated
(the latest decision per item and method counts).
"""

import json
from collections.abc import Sequence
from typing import Any

from analysis.compute.review import adjudications_by_method, criteria_by_method, flags_by_method
from studies.models import Adjudication, Study

from .inputs import control_status, included_rows, method_order
from .options import AnalysisOptions
from .tables import Table


def review_section(
    *, study: Study, responses: Table, study_methods: Sequence[str], options: AnalysisOptions
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Return the criteria, flag and adjudication summaries of an expert review."""
    rows = [
        (r, json.loads(r["answer_json"]))
        for r in included_rows(responses)
        if '"reviews"' in (r["answer_json"] or "")
    ]
    reviews = [(r, review) for r, answer in rows for review in answer.get("reviews", [])]
    methods = method_order([*study_methods, *(review["method"] for _, review in reviews)])
    section: dict[str, Any] = {
        "methods": list(methods),
        "control": control_status(methods, "it was not reviewed"),
        "n_answers": len(rows),
    }
    if not reviews:
        section["message"] = "No included reviews yet."
        return section, {}
    options_of_type = study.type_options or {}
    criteria = [c["key"] for c in options_of_type.get("criteria", [])] or sorted(
        {key for _, review in reviews for key in review["ratings"]}
    )
    flags = list(options_of_type.get("flags", [])) or sorted({rv["flag"] for _, rv in reviews})
    explanation: dict[tuple[int, str], int] = {}
    for r, review in reviews:
        explanation.setdefault((r["item_id"], review["method"]), len(explanation))
    method_of = [methods.index(method) for _, method in explanation]
    rating_rows = [
        (r["participant_id"], explanation[r["item_id"], rv["method"]], criteria.index(key), value)
        for r, rv in reviews
        for key, value in rv["ratings"].items()
        if key in criteria
    ]
    criteria_summary = criteria_by_method(
        [row[0] for row in rating_rows],
        [row[1] for row in rating_rows],
        [row[2] for row in rating_rows],
        [float(row[3]) for row in rating_rows],
        method_of,
        methods,
        criteria,
    )
    flag_rows = [
        (r["participant_id"], explanation[r["item_id"], rv["method"]], flags.index(rv["flag"]))
        for r, rv in reviews
        if rv["flag"] in flags
    ]
    flag_summary = flags_by_method(
        [row[0] for row in flag_rows],
        [row[1] for row in flag_rows],
        [row[2] for row in flag_rows],
        list(range(len(explanation))),
        method_of,
        methods,
        flags,
    )
    latest: dict[tuple[int, str], str] = {}
    for item_id, method, flag in (
        Adjudication.objects.filter(study=study)
        .order_by("created_at", "pk")
        .values_list("item_id", "method", "flag")
    ):
        latest[item_id, method] = flag
    decided = [(key, flag) for key, flag in latest.items() if key in explanation and flag in flags]
    adjudication_summary = adjudications_by_method(
        [explanation[key] for key, _ in decided],
        [flags.index(flag) for _, flag in decided],
        method_of,
        methods,
        flags,
    )
    section.update(
        {
            "n_reviewers": len({r["participant_id"] for r, _ in rows}),
            "n_items": len({r["item_id"] for r, _ in rows}),
            "criteria": criteria,
            "flags": flags,
            "criteria_summary": [c.to_dict() for c in criteria_summary],
            "flag_summary": [f.to_dict() for f in flag_summary],
            "adjudications": [a.to_dict() for a in adjudication_summary],
            "n_adjudicated": len(decided),
        }
    )
    return section, {}
