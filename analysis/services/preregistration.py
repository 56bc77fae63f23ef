"""A study's pre-registration beside one analysis of it: the frozen plan and the departures.

The plan is frozen at launch (:mod:`studies.services.preregistration`); here it is compared
with what an analysis actually used: the plausibility measure its type reported, the
faithfulness metrics in its tables, its bootstrap options and the exclusion rules applied.
"""

from typing import Any

from analysis.types.base import registered
from studies.models import Study
from studies.services.preregistration import departures, frozen_plan, measure_choices

from .results import StudyAnalysis

NOT_PREREGISTERED = "not pre-registered"


def _metrics_used(analysis: StudyAnalysis) -> list[str]:
    """Return the whole faithfulness metrics in the analysis's responses table, in order."""
    used: list[str] = []
    for column in analysis.tables.responses.columns:
        metric = column.metric
        if column.kind != "faithfulness" or metric is None or "@" in metric or ":" in metric:
            continue
        if metric not in used:
            used.append(metric)
    return used


def _measures_reported(study: Study, analysis: StudyAnalysis) -> list[str]:
    """Return the plausibility measures of the study's type, if its section was computed."""
    kind = registered().get(study.study_type)
    if kind is None or kind.section_key not in analysis.results["sections"]:
        return []
    return [value for value, _ in measure_choices(study.study_type)]


def preregistration_report(study: Study, analysis: StudyAnalysis) -> dict[str, Any]:
    """Return the frozen plan (JSON text and SHA-256), the departures, goal and intended user.

    ``departures`` is None when the study was not pre-registered (nothing to depart from).
    """
    frozen = frozen_plan(study)
    user = study.get_intended_user_display() if study.intended_user else ""
    if study.intended_user_other:
        user = f"{user}: {study.intended_user_other}" if user else study.intended_user_other
    report: dict[str, Any] = {
        "status": "pre-registered" if frozen is not None else NOT_PREREGISTERED,
        "explanation_goal": study.explanation_goal,
        "intended_user": study.intended_user,
        "intended_user_label": user,
        "json": study.preregistration_json or None,
        "sha256": study.preregistration_sha256 or None,
        "frozen_at": study.preregistered_at.isoformat() if study.preregistered_at else None,
        "hash_note": (
            "sha256 is hashlib.sha256(json.encode('utf-8')).hexdigest() of the json text as "
            "given (canonical: sorted keys, no spaces, UTF-8)"
        ),
        "departures": None,
    }
    if frozen is None:
        return report
    excluded = {
        str(row["rule"]): int(row["n_participants"])
        for row in analysis.results["exclusions"]["by_rule"]
    }
    report["departures"] = departures(
        frozen,
        measures_reported=_measures_reported(study, analysis),
        metrics_used=_metrics_used(analysis),
        options=analysis.results["options"],
        excluded_by_rule=excluded,
    )
    return report
