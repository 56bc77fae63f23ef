"""Pre-registration: a study's hypotheses, analysis plan and exclusion rules, frozen at launch.

While a study is a draft its plan (:class:`Preregistration`) is edited with the design
(``StudyDesign.preregistration``) or by :func:`preregistration_update`; both refuse once the
study has launched, like the consent text. :func:`preregistration_freeze` (called by
``study_launch``) writes the plan as canonical JSON (sorted keys, UTF-8, no spaces) with its
SHA-256, so anyone can check that the plan reported with the results is the one fixed
before the first participant: ``hashlib.sha256(json_text.encode()).hexdigest()``.

The plan also records the explanation's goal and intended user, Bastings & Filippova's
(2020) central recommendation: which tokens drove this prediction, for a model developer, is
a different question from whether a lay person should trust it.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analysis.services.options import INTERVALS, MAX_RESAMPLES, RESAMPLING
from explanations.compute import score_names
from studies.models import Study

SCHEMA = "elephant.preregistration/1"

# What each study type's analysis reports as its plausibility measure (analysis/types/).
MEASURES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "plausibility_rating": (("mean_rating", "Mean rating per explanation (Likert or slider)"),),
    "pairwise_preference": (("bradley_terry", "Bradley-Terry strength from pairwise choices"),),
    "forward_simulation": (
        ("simulation_effect", "Simulation effect: post - pre accuracy against the model"),
    ),
    "counterfactual_simulation": (
        ("simulation_effect", "Simulation effect: post - pre accuracy against the model"),
    ),
    "aided_task": (("aided_accuracy", "Task accuracy and time with vs without highlights"),),
    "rationale_annotation": (
        ("rationale_agreement", "Agreement of people's rationales with the explanations"),
    ),
    "expert_review": (("expert_judgement", "Expert ratings and flags"),),
}
# Whole faithfulness metrics the platform computes (bins and pairs are reported under these).
FAITHFULNESS_METRICS: tuple[str, ...] = (
    score_names.COMPREHENSIVENESS_AOPC,
    score_names.SUFFICIENCY_AOPC,
    score_names.DECISION_FLIP,
    score_names.TAU_LOO,
    score_names.RANDOMIZATION_SPEARMAN,
)
GOAL_HELP = (
    'What the explanation should tell whom, e.g. "which tokens drove this prediction" for a '
    'model developer, or "whether to trust this decision" for a lay person (Bastings & '
    "Filippova 2020)."
)


@dataclass
class Preregistration:
    """A study's plan: all optional; the exclusion rules default to the exclusion form's."""

    hypotheses: str = ""
    plausibility_measure: str = ""
    faithfulness_metrics: list[str] = field(default_factory=list)
    statistics: str = ""
    # Planned bootstrap settings of the analysis (AnalysisOptions); empty means unplanned.
    n_resamples: int | None = None
    level: float | None = None
    resampling: str = ""
    interval: str = ""
    # Planned exclusion rules (studies.services.exclusions.ExclusionRules) and notes.
    max_failed_checks: int | None = 0
    min_median_seconds: float | None = None
    straight_lining: bool = True
    straight_lining_min: int = 4
    exclusion_notes: str = ""
    explanation_goal: str = ""
    intended_user: str = ""
    intended_user_other: str = ""

    def is_empty(self) -> bool:
        """Return whether nothing was planned (every field at its default)."""
        return self == Preregistration()


PLAN_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Preregistration))
# Kept in their own columns (shown on the analysis page even without a plan).
_OWN_COLUMNS = ("explanation_goal", "intended_user", "intended_user_other")


def measure_choices(study_type: str) -> tuple[tuple[str, str], ...]:
    """Return the plausibility measures the analysis of ``study_type`` reports."""
    return MEASURES.get(study_type, ())


def preregistration_errors(plan: Preregistration, *, study_type: str) -> dict[str, str]:
    """Return a message per plan field that is out of range, by field name."""
    errors: dict[str, str] = {}
    measures = [value for value, _ in measure_choices(study_type)]
    if plan.plausibility_measure and plan.plausibility_measure not in measures:
        errors["plausibility_measure"] = (
            f"expected one of {', '.join(measures) or 'none'} for {study_type} studies, "
            f"got {plan.plausibility_measure!r}"
        )
    unknown = [m for m in plan.faithfulness_metrics if m not in FAITHFULNESS_METRICS]
    if unknown or len(set(plan.faithfulness_metrics)) != len(plan.faithfulness_metrics):
        errors["faithfulness_metrics"] = (
            f"expected distinct metrics among {', '.join(FAITHFULNESS_METRICS)}, "
            f"got {plan.faithfulness_metrics!r}"
        )
    if plan.n_resamples is not None and not 0 <= plan.n_resamples <= MAX_RESAMPLES:
        errors["n_resamples"] = f"expected 0 to {MAX_RESAMPLES}, got {plan.n_resamples}"
    if plan.level is not None and not 0.5 <= plan.level < 1:
        errors["level"] = f"expected a confidence level in [0.5, 1), got {plan.level}"
    if plan.resampling and plan.resampling not in RESAMPLING:
        errors["resampling"] = f"expected one of {', '.join(RESAMPLING)}, got {plan.resampling!r}"
    if plan.interval and plan.interval not in INTERVALS:
        errors["interval"] = f"expected one of {', '.join(INTERVALS)}, got {plan.interval!r}"
    if plan.max_failed_checks is not None and plan.max_failed_checks < 0:
        errors["max_failed_checks"] = f"expected a count >= 0, got {plan.max_failed_checks}"
    if plan.min_median_seconds is not None and plan.min_median_seconds < 0:
        errors["min_median_seconds"] = f"expected seconds >= 0, got {plan.min_median_seconds}"
    if plan.straight_lining_min < 2:
        errors["straight_lining_min"] = f"expected 2 or more trials, got {plan.straight_lining_min}"
    users = [value for value, _ in Study.IntendedUser.choices]
    if plan.intended_user and plan.intended_user not in users:
        errors["intended_user"] = f"expected one of {', '.join(users)}, got {plan.intended_user!r}"
    if plan.intended_user == Study.IntendedUser.OTHER and not plan.intended_user_other.strip():
        errors["intended_user_other"] = "describe the intended user when choosing other"
    return errors


def plan_of(study: Study) -> Preregistration:
    """Return the study's (draft or frozen) plan."""
    stored = {k: v for k, v in study.preregistration_plan.items() if k in PLAN_FIELDS}
    stored.update({name: getattr(study, name) for name in _OWN_COLUMNS})
    return Preregistration(**stored)


def plan_apply(study: Study, plan: Preregistration) -> None:
    """Copy ``plan`` onto ``study`` (not saved); the caller has checked the study is a draft."""
    data = asdict(plan)
    for name in _OWN_COLUMNS:
        setattr(study, name, data.pop(name))
    study.preregistration_plan = data


def preregistration_update(*, study: Study, plan: Preregistration) -> Study:
    """Replace a draft study's plan; raise ValidationError by field, or once it launched."""
    errors = preregistration_errors(plan, study_type=study.study_type)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.status != Study.Status.DRAFT:
            raise ValidationError(
                f"study {locked} is {locked.status}: the pre-registration is frozen at launch"
            )
        plan_apply(locked, plan)
        locked.save(update_fields=["preregistration_plan", *_OWN_COLUMNS])
    return locked


def canonical_json(payload: Mapping[str, Any]) -> str:
    """Return ``payload`` as canonical JSON: sorted keys, no spaces, non-ASCII kept as is."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sha256_of(text: str) -> str:
    """Return the SHA-256 hex digest of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def preregistration_payload(study: Study) -> dict[str, Any]:
    """Return what is frozen: the plan plus the check settings the exclusions rely on."""
    plan = plan_of(study)
    return {
        "schema": SCHEMA,
        "study_uid": str(study.uid),
        "study_type": study.study_type,
        "hypotheses": plan.hypotheses,
        "plausibility_measure": plan.plausibility_measure,
        "faithfulness_metrics": list(plan.faithfulness_metrics),
        "statistics": {
            "text": plan.statistics,
            "n_resamples": plan.n_resamples,
            "level": plan.level,
            "resampling": plan.resampling or None,
            "interval": plan.interval or None,
        },
        "exclusions": {
            "rules": {
                "max_failed_checks": plan.max_failed_checks,
                "min_median_seconds": plan.min_median_seconds,
                "straight_lining": plan.straight_lining,
                "straight_lining_min": plan.straight_lining_min,
            },
            # Taken from the study's own settings at launch: what the rules look at.
            "checks": {
                "attention_check_positions": list(study.attention_check_positions),
                "gold_positions": list(study.gold_positions),
                "practice_count": study.practice_count,
            },
            "notes": plan.exclusion_notes,
        },
        "explanation_goal": plan.explanation_goal,
        "intended_user": plan.intended_user,
        "intended_user_other": plan.intended_user_other,
    }


def preregistration_freeze(*, study: Study) -> list[str]:
    """Freeze the plan of a study going live (no save); return the fields changed.

    A study with nothing planned stays "not pre-registered" (no JSON, no hash).
    """
    if plan_of(study).is_empty():
        return []
    text = canonical_json(preregistration_payload(study))
    study.preregistration_json = text
    study.preregistration_sha256 = sha256_of(text)
    study.preregistered_at = timezone.now()
    return ["preregistration_json", "preregistration_sha256", "preregistered_at"]


def frozen_plan(study: Study) -> dict[str, Any] | None:
    """Return the frozen pre-registration, or None if the study was not pre-registered."""
    return json.loads(study.preregistration_json) if study.preregistration_json else None


def _rules_planned(rules: Mapping[str, Any]) -> set[str]:
    planned: set[str] = set()
    if rules.get("max_failed_checks") is not None:
        planned.add("failed_checks")
    if rules.get("min_median_seconds") is not None:
        planned.add("too_fast")
    if rules.get("straight_lining"):
        planned.add("straight_lining")
    return planned


def departures(
    frozen: Mapping[str, Any],
    *,
    measures_reported: Sequence[str],
    metrics_used: Sequence[str],
    options: Mapping[str, Any],
    excluded_by_rule: Mapping[str, int],
) -> list[str]:
    """Return each way an analysis departs from the frozen plan, in words ("X: planned A, used B").

    ``measures_reported`` are the plausibility measures the analysis reported,
    ``metrics_used`` the faithfulness metrics it related them to, ``options`` its
    AnalysisOptions as a dict and ``excluded_by_rule`` the participants each active
    exclusion rule removed. An unplanned item (empty in the plan) is no departure.
    """
    found = []
    measure = frozen.get("plausibility_measure") or ""
    if measure and measure not in measures_reported:
        used = ", ".join(measures_reported) or "none (the analysis reported no results yet)"
        found.append(f"plausibility measure: planned {measure}, used {used}")
    planned_metrics = list(frozen.get("faithfulness_metrics") or [])
    if planned_metrics:
        for metric in planned_metrics:
            if metric not in metrics_used:
                found.append(f"faithfulness metric {metric}: planned, not used (no such scores)")
        for metric in metrics_used:
            if metric not in planned_metrics:
                found.append(f"faithfulness metric {metric}: used, not planned")
    statistics = frozen.get("statistics") or {}
    for key in ("n_resamples", "level", "resampling", "interval"):
        planned = statistics.get(key)
        if planned is not None and planned != options.get(key):
            found.append(f"{key}: planned {planned}, used {options.get(key)}")
    rules = (frozen.get("exclusions") or {}).get("rules") or {}
    planned_rules = _rules_planned(rules)
    for rule, n in sorted(excluded_by_rule.items()):
        if n and rule not in planned_rules:
            found.append(
                f"exclusion rule {rule}: not planned, applied to {n} participant"
                f"{'' if n == 1 else 's'}"
            )
    return found
