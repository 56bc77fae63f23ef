"""One study's analysis: exclusions applied, counts, and the results its type produces.

:func:`study_analysis_build` returns every number the analysis page shows, as one
JSON-safe dict (``results``; the export writes it as ``results.json`` and the API
returns it), with the tidy tables it was computed from, reporting its steps to an
optional ``progress`` callback. A result is kept in an :class:`~analysis.models.AnalysisResult`
row with the :func:`analysis_fingerprint` of the data it was computed from; it is current
until an answer arrives, an exclusion changes or a participant moves on. The pages read
kept results and let a background job build new ones (:mod:`analysis.services.jobs`);
:func:`study_analysis_get` returns a current one, building it in the caller's process when
there is none (the export command, scripts).
"""

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from analysis.compute.bootstrap import RESAMPLING_DESCRIPTION
from analysis.compute.result import json_safe
from analysis.models import AnalysisResult
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
from .tables import Column, StudyTables, Table, study_tables

SCHEMA = "elephant.analysis/1"
# The steps a build reports: the tables, exclusions and counts, the type's section, plots.
BUILD_STEPS = 4
# progress(step, steps, stage): step k of ``steps`` starts, doing ``stage``.
BuildProgress = Callable[[int, int, str], None]
# The kept result's large fields: loaded only to show or export it, never to check on it.
HEAVY_FIELDS = ("results_json", "tables_json", "svgs_json")


def _no_progress(step: int, steps: int, stage: str) -> None:
    """Report nothing (the default of :func:`study_analysis_build`)."""


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


def study_analysis_build(
    *,
    study: Study,
    options: AnalysisOptions | None = None,
    progress: BuildProgress = _no_progress,
) -> StudyAnalysis:
    """Return the study's analysis: exclusions applied, counts, the type's results, plots' data.

    ``progress`` is told as each of the :data:`BUILD_STEPS` steps starts, so a page can say
    "step k of n" while a background job builds it; it does not change the result.
    """
    options = options or AnalysisOptions()
    progress(1, BUILD_STEPS, "Reading the answers")
    tables = study_tables(study)
    progress(2, BUILD_STEPS, "Exclusions and counts")
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
    progress(3, BUILD_STEPS, analysis.section_title if analysis else "Tables and counts")
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
    progress(4, BUILD_STEPS, "Drawing the plots")
    svg_files: dict[str, bytes] = {}
    for k, (name, spec) in enumerate(safe["plots"].items(), start=1):
        progress(4, BUILD_STEPS, f"Drawing plot {k} of {len(safe['plots'])}")
        svg_files[name] = plot_render(spec, name=name, fmt="svg")
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


def last_deletion(study: Study) -> int:
    """Return the id of the study's last participant deletion (0 if none).

    A kept result read before a deletion may hold the deleted participant's answers: it is
    never shown again, not even as the last result while a new one is computed.
    """
    found = ParticipantDeletion.objects.filter(study=study).aggregate(last=Max("pk"))["last"]
    return int(found or 0)


def options_key(options: AnalysisOptions) -> str:
    """Return the key of one set of options (sha256 of their canonical JSON)."""
    return hashlib.sha256(json.dumps(options.to_dict(), sort_keys=True).encode()).hexdigest()


def _table_from(data: dict[str, Any]) -> Table:
    return Table(
        name=data["name"],
        description=data["description"],
        columns=tuple(Column(**column) for column in data["columns"]),
        rows=data["rows"],
    )


def analysis_from_result(result: AnalysisResult) -> StudyAnalysis:
    """Return the analysis kept in ``result`` (which must hold one), as it was built."""
    results, tables, svgs = (
        AnalysisResult.objects.filter(pk=result.pk).values_list(*HEAVY_FIELDS).get()
    )
    return StudyAnalysis(
        results=json.loads(results),
        tables=StudyTables(
            **{name: _table_from(data) for name, data in json.loads(tables).items()}
        ),
        svg_files={name: svg.encode() for name, svg in json.loads(svgs).items()},
    )


def result_store(
    *, result: AnalysisResult, analysis: StudyAnalysis, fingerprint: str, deletions: int
) -> bool:
    """Keep ``analysis``, computed from data with ``fingerprint``, in ``result``'s row.

    A current result already kept is not replaced by one computed from older data (a
    build that outlived a change). Return whether it was kept.
    """
    study = result.study
    with transaction.atomic():
        rows = AnalysisResult.objects.select_for_update().defer(*HEAVY_FIELDS)
        row = rows.filter(pk=result.pk).first()
        if row is None:  # the study was deleted meanwhile
            return False
        live = analysis_fingerprint(study)
        if row.has_result and row.fingerprint == live and fingerprint != live:
            return False
        AnalysisResult.objects.filter(pk=row.pk).update(
            fingerprint=fingerprint,
            results_json=json.dumps(analysis.results, allow_nan=False),
            tables_json=json.dumps(dataclasses.asdict(analysis.tables)),
            svgs_json=json.dumps({n: svg.decode() for n, svg in analysis.svg_files.items()}),
            computed_at=timezone.now(),
            deletions_seen=deletions,
        )
    return True


def result_for(*, study: Study, options: AnalysisOptions) -> AnalysisResult:
    """Return the row keeping the study's analysis with ``options`` (created if new)."""
    result, _ = AnalysisResult.objects.defer(*HEAVY_FIELDS).get_or_create(
        study=study, options_key=options_key(options), defaults={"options": options.to_dict()}
    )
    result.study = study  # the caller's instance: already checked, model and dataset loaded
    return result


def result_is_current(result: AnalysisResult, *, fingerprint: str, deletions: int) -> bool:
    """Return whether ``result`` keeps an analysis of exactly the data now stored."""
    return (
        result.has_result
        and result.fingerprint == fingerprint
        and result.deletions_seen == deletions
    )


def study_analysis_get(*, study: Study, options: AnalysisOptions | None = None) -> StudyAnalysis:
    """Return the study's current analysis: the one kept, or built here now and kept.

    For the export command and scripts, which want the current numbers and may wait;
    the pages never call it (they show the last result and queue a build instead).
    """
    options = options or AnalysisOptions()
    result = result_for(study=study, options=options)
    fingerprint = analysis_fingerprint(study)
    deletions = last_deletion(study)
    if result_is_current(result, fingerprint=fingerprint, deletions=deletions):
        return analysis_from_result(result)
    analysis = study_analysis_build(study=study, options=options)
    result_store(result=result, analysis=analysis, fingerprint=fingerprint, deletions=deletions)
    return analysis
