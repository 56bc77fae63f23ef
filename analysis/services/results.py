"""One study's analysis: exclusions applied, counts, and the results its type produces.

:func:`study_analysis_build` returns every number the analysis page shows, as one
JSON-safe dict (``results``; the export writes it as ``results.json`` and the API
returns it), with the tidy tables it was computed from. :func:`study_analysis_get`
caches it per study until an answer arrives, an exclusion changes or a participant
moves on (see :func:`analysis_fingerprint`).
"""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone

from analysis.compute.bootstrap import RESAMPLING_DESCRIPTION
from analysis.compute.result import json_safe
from analysis.plots import plot_render, svg_inline
from analysis.types.base import registered
from studies.models import (
    Exclusion,
    Participant,
    ParticipantDeletion,
    QuestionnaireAnswer,
    Response,
    Study,
)
from studies.privacy_selectors import pseudonyms_of

from .inputs import included_rows
from .options import AnalysisOptions
from .tables import StudyTables, Table, study_tables

SCHEMA = "elephant.analysis/1"
CACHE_SECONDS = 3600


@dataclass(frozen=True)
class StudyAnalysis:
    """The results of one study (JSON-safe), the tables they came from, the plots as SVG."""

    results: dict[str, Any]
    tables: StudyTables
    svg_files: dict[str, bytes]  # each plot as a whole SVG document (the export's NAME.svg)

    @property
    def svgs(self) -> dict[str, str]:
        """Return each plot as an ``<svg>`` element to put straight into an HTML page."""
        return {name: svg_inline(svg) for name, svg in self.svg_files.items()}


def _exclusions(study: Study, responses: Table) -> dict[str, Any]:
    """Return the exclusion log, and how many participants and answers each rule removed."""
    labels = {str(value): str(label) for value, label in Exclusion.Rule.choices}
    # The log is exported (results.json, the API): participants by pseudonym only.
    pseudonyms = pseudonyms_of(study)
    rows = list(Exclusion.objects.filter(study=study).order_by("created_at", "pk"))
    log = [
        {
            "participant_id": pseudonyms[e.participant_id],
            "rule": e.rule,
            "rule_label": labels.get(e.rule, e.rule),
            "reason": e.reason,
            "created_at": e.created_at.isoformat(),
            "revoked_at": e.revoked_at.isoformat() if e.revoked_at else None,
            "active": e.revoked_at is None,
        }
        for e in rows
    ]
    active = [e for e in log if e["active"]]
    excluded = {e.participant_id for e in rows if e.revoked_at is None}
    tests = [r for r in responses.rows if r["role"] == "test"]
    by_rule = Counter(str(e["rule"]) for e in active)
    return {
        "n_participants_excluded": len(excluded),
        "n_test_answers_excluded": sum(r["participant_id"] in excluded for r in tests),
        "by_rule": [
            {"rule": rule, "label": labels.get(rule, rule), "n_participants": n}
            for rule, n in sorted(by_rule.items())
        ],
        "n_revoked": len(log) - len(active),
        "log": log,
        "rules": [{"rule": value, "label": label} for value, label in Exclusion.Rule.choices],
        "policy": (
            "participants with an active exclusion are left out entirely; the analysis uses "
            "test trials only (practice, attention checks and gold items decide exclusions)"
        ),
    }


def _counts(tables: StudyTables) -> dict[str, Any]:
    """Return participants and answers counted every way the page reports them."""
    people = tables.participants.rows
    answers = tables.responses.rows
    used = included_rows(tables.responses)
    used_people = {r["participant_id"] for r in used}
    return {
        "participants": len(people),
        "participants_with_answers": len({r["participant_id"] for r in answers}),
        "participants_completed": sum(p["status"] == "completed" for p in people),
        "participants_excluded": sum(bool(p["excluded"]) for p in people),
        "participants_included": len(used_people),
        "participants_simulated": sum(bool(p["simulated"]) for p in people),
        "participants_included_simulated": len(
            used_people & {p["participant_id"] for p in people if p["simulated"]}
        ),
        "answers": len(answers),
        "answers_by_role": dict(sorted(Counter(r["role"] for r in answers).items())),
        "trials_included": len(used),
        "trials_included_from_unfinished": sum(r["assignment_status"] != "completed" for r in used),
        "instances_included": len({r["instance_id"] for r in used}),
        "checks_failed": sum(r["passed"] is False for r in answers),
    }


def _study(study: Study) -> dict[str, Any]:
    return {
        "id": study.pk,
        "uid": str(study.uid),
        "name": study.name,
        "type": study.study_type,
        "status": study.status,
        "model": study.model.name,
        "dataset": study.dataset.name,
        "methods": sorted(study.methods.values_list("name", flat=True)),
        "condition_design": study.condition_design,
        "launched_at": study.launched_at.isoformat() if study.launched_at else None,
        "closed_at": study.closed_at.isoformat() if study.closed_at else None,
    }


def study_analysis_build(*, study: Study, options: AnalysisOptions | None = None) -> StudyAnalysis:
    """Return the study's analysis: exclusions applied, counts, the type's results, plots' data."""
    options = options or AnalysisOptions()
    tables = study_tables(study)
    counts = _counts(tables)
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "generated_at": timezone.now().isoformat(),
        "study": _study(study),
        "options": options.to_dict(),
        "resampling_description": RESAMPLING_DESCRIPTION[options.resampling],
        "exclusions": _exclusions(study, tables.responses),
        "counts": counts,
        "simulated": {
            "any": counts["participants_simulated"] > 0,
            "note": (
                f"{counts['participants_simulated']} of {counts['participants']} participants "
                "were simulated by the software, not people; their answers are marked "
                "simulated=TRUE in every table"
            )
            if counts["participants_simulated"]
            else None,
        },
        "sections": {},
        "plots": {},
        "messages": [],
    }
    if not tables.responses.rows:
        results["messages"].append("No answers yet: the analysis appears once participants answer.")
    elif counts["trials_included"] == 0:
        results["messages"].append(
            "No answers enter the analysis yet (only practice, checks, or excluded participants)."
        )
    elif counts["participants_included"] == 1:
        results["messages"].append(
            "Only one participant is included: agreement and intervals that generalise to new "
            "participants cannot be computed."
        )
    analysis = registered().get(study.study_type)
    if analysis is None:
        results["messages"].append(
            f"The analysis of {study.study_type} studies is not available yet; the tables and "
            "counts are."
        )
    else:
        section, plots = analysis.section(
            study=study,
            responses=tables.responses,
            study_methods=results["study"]["methods"],
            options=options,
        )
        results["sections"][analysis.section_key] = {"title": analysis.section_title, **section}
        results["plots"].update(plots)
    safe = json_safe(results)
    svg_files = {
        name: plot_render(spec, name=name, fmt="svg") for name, spec in safe["plots"].items()
    }
    return StudyAnalysis(results=safe, tables=tables, svg_files=svg_files)


def analysis_fingerprint(study: Study) -> str:
    """Return a key that changes whenever anything the analysis shows does.

    That is an answer, an exclusion, the study's status, what the participants table
    shows of a participant: arriving, consenting, their and their assignment's status,
    the questionnaire and completing, and a participant's data deleted at their request
    (so a cached result holding their answers is never served again).
    """
    answers = Response.objects.filter(participant__study=study).aggregate(
        n=Count("pk"), last=Max("pk")
    )
    exclusions = list(
        Exclusion.objects.filter(study=study).order_by("pk").values_list("pk", "revoked_at")
    )
    participants = list(
        Participant.objects.filter(study=study)
        .order_by("pk")
        .values_list(
            "pk",
            "status",
            "assignment__status",
            "consented_at",
            "questionnaire_at",
            "completed_at",
        )
    )
    questionnaire = QuestionnaireAnswer.objects.filter(participant__study=study).aggregate(
        n=Count("pk"), last=Max("pk")
    )
    deletions = list(
        ParticipantDeletion.objects.filter(study=study).order_by("pk").values_list("pk", flat=True)
    )
    text = repr(
        (
            study.pk,
            study.uid,
            study.status,
            answers["n"],
            answers["last"],
            exclusions,
            participants,
            questionnaire["n"],
            questionnaire["last"],
            deletions,
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def study_analysis_get(*, study: Study, options: AnalysisOptions | None = None) -> StudyAnalysis:
    """Return the study's analysis from the cache, or build and cache it."""
    options = options or AnalysisOptions()
    settings = hashlib.sha256(json.dumps(options.to_dict(), sort_keys=True).encode()).hexdigest()
    key = f"analysis:{study.pk}:{analysis_fingerprint(study)}:{settings[:16]}"
    found = cache.get(key)
    if isinstance(found, StudyAnalysis):
        return found
    analysis = study_analysis_build(study=study, options=options)
    cache.set(key, analysis, CACHE_SECONDS)
    return analysis
